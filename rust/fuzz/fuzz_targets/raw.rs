//! Fuzz target `raw`: see `stdf_fuzz::raw` (src/raw.rs) for what it checks. Run with
//! `make fuzz FUZZ_TARGET=raw` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stdf_fuzz::raw::check(data));
