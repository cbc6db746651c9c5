//! Not a fuzzer: `show FILE` prints the tables of an input once (libFuzzer runs the file
//! given), to read a finding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stdf_fuzz::cols::show(data));
