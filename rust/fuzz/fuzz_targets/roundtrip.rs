//! Fuzz target `roundtrip`: see `stdf_fuzz::roundtrip` (src/roundtrip.rs) for what it checks. Run with
//! `make fuzz FUZZ_TARGET=roundtrip` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stdf_fuzz::roundtrip::check(data));
