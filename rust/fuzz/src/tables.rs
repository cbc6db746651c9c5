//! Fuzz check of every derived table, read from a file holding the input.
//!
//! Invariants (`warn` mode, where every table must be returned without an error):
//! * `stdf_parts.part_index` is set and unique; every part_index of `stdf_records` and
//!   `stdf_results` names a part of `stdf_parts`; a result row has the part_index of its
//!   record in `stdf_records` and the head and site of its part; a part's `n_results` is its
//!   number of test records;
//! * `stdf_records`: record_index counts from 0, byte offsets strictly increase, every record
//!   lies inside the stream;
//! * `stdf_files` counts (n_parts, n_records, n_results) equal the rows of those tables
//!   (n_results counts test records);
//! * every warning's offset lies inside the stream.
//!
//! And `raise` mode: either the same rows as `warn`, or an error naming the file and an offset
//! inside the stream at which `stdf_warnings` (warn mode) reports the damage.

use std::collections::HashMap;

use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::RecordBatch;
use stdf_arrow::OnError;
use stdf_core::records::rec_codes;

use crate::cols::{prim, read, rows};
use crate::decode::check_error;
use crate::{input_file, plain_len};

/// Tables read in warn mode (all the derived ones).
const WARN_TABLES: &[&str] = &[
    "files", "parts", "tests", "results", "bins", "wafers", "records", "warnings",
];
/// Tables also read in raise mode (one per kind of sink: lot, results, records).
const RAISE_TABLES: &[&str] = &["parts", "tests", "results", "records"];

type Tables = HashMap<&'static str, Vec<RecordBatch>>;

/// The fuzz check of the `tables` target.
pub fn check(data: &[u8]) {
    let path = input_file(data);
    let len = plain_len(data);
    let mut warn: Tables = HashMap::new();
    for &t in WARN_TABLES {
        match read(&path, t, OnError::Warn) {
            Ok(b) => warn.insert(t, b),
            Err(e) => panic!("stdf_{t} with on_error=warn returned an error: {e}"),
        };
    }
    check_warnings(&warn["warnings"], len);
    check_records(&warn["records"], len);
    check_parts_results(&warn["parts"], &warn["results"], &warn["records"]);
    check_files(&warn);
    let offsets = prim::<UInt64Type>(&warn["warnings"], "byte_offset");
    for &t in RAISE_TABLES {
        match read(&path, t, OnError::Raise) {
            Ok(b) => assert!(
                b == warn[t],
                "stdf_{t}: raise returned normally but other rows than warn ({} vs {})",
                rows(&b),
                rows(&warn[t])
            ),
            Err(e) => {
                check_error(&e, &path, len);
                assert!(
                    offsets.contains(&e.offset),
                    "stdf_{t}: raise failed at {:?} ({e}) but stdf_warnings has nothing there: {offsets:?}",
                    e.offset
                );
            }
        }
    }
}

fn check_warnings(w: &[RecordBatch], len: Option<u64>) {
    let Some(len) = len else { return };
    for o in prim::<UInt64Type>(w, "byte_offset").into_iter().flatten() {
        assert!(o <= len, "warning at offset {o}, past the stream ({len})");
    }
}

fn check_parts_results(parts: &[RecordBatch], results: &[RecordBatch], rec: &[RecordBatch]) {
    let idx = prim::<UInt32Type>(parts, "part_index");
    let head = prim::<UInt8Type>(parts, "head_num");
    let site = prim::<UInt8Type>(parts, "site_num");
    let n_results = prim::<UInt32Type>(parts, "n_results");
    let mut by_index = HashMap::new();
    for i in 0..idx.len() {
        let p = idx[i].expect("a part without part_index");
        let old = by_index.insert(p, (head[i], site[i], n_results[i], 0u32));
        assert!(old.is_none(), "part_index {p} twice in stdf_parts");
    }
    // the part of every record (stdf_records), and the test records of each part
    let rec_part = prim::<UInt32Type>(rec, "part_index");
    let tests = test_records(rec);
    for (i, p) in rec_part.iter().enumerate() {
        let Some(p) = p else { continue };
        let part = by_index
            .get_mut(p)
            .unwrap_or_else(|| panic!("record {i} names part_index {p}, absent from stdf_parts"));
        if tests[i] {
            part.3 += 1;
        }
    }
    for (p, (_, _, n, seen)) in &by_index {
        assert_eq!(
            *n,
            Some(*seen),
            "part {p}: n_results {n:?} but {seen} test records"
        );
    }
    let r_idx = prim::<UInt32Type>(results, "part_index");
    let r_rec = prim::<UInt64Type>(results, "record_index");
    let r_head = prim::<UInt8Type>(results, "head_num");
    let r_site = prim::<UInt8Type>(results, "site_num");
    for i in 0..r_idx.len() {
        let ri = r_rec[i].expect("a result without record_index") as usize;
        assert_eq!(
            r_idx[i],
            rec_part.get(ri).copied().flatten(),
            "result row {i} (record {ri}): part_index differs from stdf_records"
        );
        let Some(p) = r_idx[i] else { continue };
        let part = by_index.get(&p).unwrap_or_else(|| {
            panic!("result row {i} names part_index {p}, absent from stdf_parts")
        });
        assert_eq!(
            (r_head[i], r_site[i]),
            (part.0, part.1),
            "result row {i} (head/site {:?}/{:?}) joined to part {p} of head/site {:?}/{:?}",
            r_head[i],
            r_site[i],
            part.0,
            part.1
        );
    }
}

/// Which rows of `stdf_records` are test records (PTR, MPR, FTR, STR).
fn test_records(rec: &[RecordBatch]) -> Vec<bool> {
    let codes: Vec<(u8, u8)> = ["PTR", "MPR", "FTR", "STR"]
        .iter()
        .map(|n| rec_codes(n).expect("a spec record"))
        .collect();
    let typ = prim::<UInt8Type>(rec, "rec_typ");
    let sub = prim::<UInt8Type>(rec, "rec_sub");
    typ.iter()
        .zip(&sub)
        .map(|(t, s)| codes.contains(&(t.unwrap_or(0), s.unwrap_or(0))))
        .collect()
}

fn check_records(rec: &[RecordBatch], len: Option<u64>) {
    let index = prim::<UInt64Type>(rec, "record_index");
    let offset = prim::<UInt64Type>(rec, "byte_offset");
    let rec_len = prim::<UInt16Type>(rec, "rec_len");
    let mut prev: Option<u64> = None;
    for i in 0..index.len() {
        assert_eq!(
            index[i],
            Some(i as u64),
            "stdf_records row {i}: record_index"
        );
        let o = offset[i].expect("a record without byte_offset");
        assert!(
            prev.is_none_or(|p| o > p),
            "record {i} at {o} after {prev:?}"
        );
        prev = Some(o);
        let end = o + 4 + rec_len[i].expect("a record without rec_len") as u64;
        if let Some(len) = len {
            assert!(
                end <= len,
                "record {i} at {o} ends at {end}, past the stream ({len})"
            );
        }
    }
}

fn check_files(t: &Tables) {
    let f = &t["files"];
    let n_parts: u64 = prim::<UInt32Type>(f, "n_parts")
        .into_iter()
        .flatten()
        .map(u64::from)
        .sum();
    let n_records: u64 = prim::<UInt64Type>(f, "n_records")
        .into_iter()
        .flatten()
        .sum();
    let n_results: u64 = prim::<UInt64Type>(f, "n_results")
        .into_iter()
        .flatten()
        .sum();
    let test_records = test_records(&t["records"])
        .into_iter()
        .filter(|&t| t)
        .count();
    assert_eq!(
        n_parts,
        rows(&t["parts"]) as u64,
        "stdf_files.n_parts vs stdf_parts"
    );
    assert_eq!(
        n_records,
        rows(&t["records"]) as u64,
        "stdf_files.n_records vs stdf_records"
    );
    assert_eq!(
        n_results, test_records as u64,
        "stdf_files.n_results vs test records"
    );
}
