//! Fuzz target `tables`: see `stdf_fuzz::tables` (src/tables.rs) for what it checks. Run with
//! `make fuzz FUZZ_TARGET=tables` from the repository root.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stdf_fuzz::tables::check(data));
