//! Fuzz target `decode`: see `stdf_fuzz::decode` (src/decode.rs) for what it checks. Run with
//! `make fuzz FUZZ_TARGET=decode` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stdf_fuzz::decode::check(data));
