//! The checks behind the fuzz targets (`fuzz_targets/*.rs` are one line each). Every check
//! asserts invariants of the contract, not only the absence of a panic: a failed assertion is
//! a finding, reported by libFuzzer with the input that caused it.
//!
//! * [`decode`]: the reader, every record decoder and the scanner's part/test state machine;
//! * [`tables`]: every derived table (`parts`, `results`, `tests`, `bins`, `wafers`, `files`,
//!   `records`, `warnings`) in both error modes, and their cross-table invariants;
//! * [`raw`]: the raw record tables (`stdf_ptr`, ...) of every record type in the input;
//! * [`roundtrip`]: decode -> write (stdf-core's writer) -> decode gives the same records.

pub mod cols;
pub mod decode;
pub mod known;
pub mod raw;
pub mod roundtrip;
pub mod tables;

use std::path::PathBuf;

use stdf_core::Compression;

/// Write the input to a file of this process (the tables are read from paths) and return
/// its path. The file lives in /dev/shm when there is one (no disk write per input).
pub fn input_file(data: &[u8]) -> String {
    thread_local! {
        static PATH: PathBuf = {
            let shm = PathBuf::from("/dev/shm");
            let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
            dir.join(format!("stdf-fuzz-{}.stdf", std::process::id()))
        };
    }
    PATH.with(|p| {
        std::fs::write(p, data).expect("cannot write the fuzz input file");
        p.to_string_lossy().into_owned()
    })
}

/// Length of the decompressed stream when the input is not compressed (offsets in errors
/// and warnings must fall inside it); None for compressed input.
pub fn plain_len(data: &[u8]) -> Option<u64> {
    (Compression::sniff(data) == Compression::None).then_some(data.len() as u64)
}
