//! Fuzz check of the raw record tables (`stdf_far` ... `stdf_dtr`): each is read, in warn mode,
//! for every record type the input holds.
//!
//! Invariants: a raw table has one row per record of its type in `stdf_records`, with the
//! same record_index, byte_offset, rec_len and (test and part records) part_index; in raise
//! mode it returns the same rows or an error at an offset `stdf_warnings` reports.

use std::collections::BTreeMap;

use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::RecordBatch;
use stdf_arrow::OnError;
use stdf_core::records::ALL_TYPES;

use crate::cols::{prim, read, rows};
use crate::decode::check_error;
use crate::{input_file, plain_len};

/// (record_index, byte_offset, rec_len, part_index) of the records of one type.
type Rows = Vec<(Option<u64>, Option<u64>, Option<u16>, Option<u32>)>;

fn by_type(rec: &[RecordBatch]) -> BTreeMap<(u8, u8), Rows> {
    let typ = prim::<UInt8Type>(rec, "rec_typ");
    let sub = prim::<UInt8Type>(rec, "rec_sub");
    let index = prim::<UInt64Type>(rec, "record_index");
    let offset = prim::<UInt64Type>(rec, "byte_offset");
    let len = prim::<UInt16Type>(rec, "rec_len");
    let part = prim::<UInt32Type>(rec, "part_index");
    let mut out: BTreeMap<(u8, u8), Rows> = BTreeMap::new();
    for i in 0..typ.len() {
        let k = (typ[i].unwrap_or(0), sub[i].unwrap_or(0));
        out.entry(k)
            .or_default()
            .push((index[i], offset[i], len[i], part[i]));
    }
    out
}

/// The fuzz check of the `raw` target.
pub fn check(data: &[u8]) {
    let path = input_file(data);
    let len = plain_len(data);
    let rec = read(&path, "records", OnError::Warn)
        .unwrap_or_else(|e| panic!("stdf_records with on_error=warn returned an error: {e}"));
    let types = by_type(&rec);
    let mut first = None;
    for &(name, typ, sub) in ALL_TYPES {
        let Some(expected) = types.get(&(typ, sub)) else {
            continue;
        };
        let table = name.to_ascii_lowercase();
        let b = read(&path, &table, OnError::Warn)
            .unwrap_or_else(|e| panic!("stdf_{table} with on_error=warn returned an error: {e}"));
        let index = prim::<UInt64Type>(&b, "record_index");
        let offset = prim::<UInt64Type>(&b, "byte_offset");
        let rec_len = prim::<UInt16Type>(&b, "rec_len");
        // the tables of part records (PIR, PRR, PTR, ...) have a part_index column
        let has_part = b
            .first()
            .is_some_and(|b| b.schema().column_with_name("part_index").is_some());
        let part = if has_part {
            prim::<UInt32Type>(&b, "part_index")
        } else {
            vec![None; index.len()]
        };
        let got: Rows = (0..index.len())
            .map(|i| (index[i], offset[i], rec_len[i], part[i]))
            .collect();
        let want: Rows = if has_part {
            expected.clone()
        } else {
            expected.iter().map(|r| (r.0, r.1, r.2, None)).collect()
        };
        assert_eq!(
            got, want,
            "stdf_{table} rows differ from its records in stdf_records"
        );
        first.get_or_insert((table, b));
    }
    let Some((table, warn_rows)) = first else {
        return;
    };
    match read(&path, &table, OnError::Raise) {
        Ok(b) => assert!(
            b == warn_rows,
            "stdf_{table}: raise returned normally but other rows than warn ({} vs {})",
            rows(&b),
            rows(&warn_rows)
        ),
        Err(e) => {
            check_error(&e, &path, len);
            let w = read(&path, "warnings", OnError::Warn).expect("stdf_warnings in warn mode");
            let offsets = prim::<UInt64Type>(&w, "byte_offset");
            assert!(
                offsets.contains(&e.offset),
                "stdf_{table}: raise failed at {:?} ({e}) but stdf_warnings has nothing there",
                e.offset
            );
        }
    }
}
