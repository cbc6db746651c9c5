//! Regression tests of the findings of the fuzz targets (rust/fuzz) on the tables: each input
//! is rebuilt here with the project's writer (the fuzzer's came from real files, never
//! committed), with the invariant it broke. An `#[ignore]`d test names a finding not fixed yet
//! (rust/fuzz/src/known.rs lists the same ones): un-ignore it with the fix.

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type};
use arrow_array::RecordBatch;
use stdf_arrow::{OnError, ReadOptions, TableReader};
use stdf_core::records::{Mir, Mrr, Pir, Prr, Ptr};
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Record, Str};

fn read(path: &str, table: &str) -> Vec<RecordBatch> {
    let mut opts = ReadOptions::new(table);
    opts.on_error = OnError::Warn;
    opts.threads = 1;
    TableReader::open(&[path.to_string()], opts)
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn u32s(b: &[RecordBatch], col: &str) -> Vec<Option<u32>> {
    b.iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .unwrap()
                .as_primitive::<UInt32Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect()
}

/// F5 (target `tables`): the bytes right after the FAR are damaged, so the walk resyncs past
/// the FAR. The one part after the resync (PIR, PTR, PRR) is named by stdf_records and
/// stdf_results; it must be in stdf_parts too (it was not: no stream was open, so no part was
/// ever emitted).
#[test]

fn parts_after_a_resync_past_the_far_are_kept() {
    let mut w = Writer::new(Vec::new(), ByteOrder::Little);
    w.far().unwrap();
    let mut bytes = w.into_inner();
    bytes.extend_from_slice(&[0x7a, 0x0f, 0x1e, 0x14, 0x26, 0xb2]);
    let mut w = Writer::new(bytes, ByteOrder::Little);
    w.write(&Record::Mir(Mir {
        lot_id: Some(Str::from("LOT")),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Pir(Pir {
        head_num: Some(1),
        site_num: Some(1),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Ptr(Ptr {
        test_num: Some(100),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0),
        result: Some(1.5),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Prr(Prr {
        head_num: Some(1),
        site_num: Some(1),
        hard_bin: Some(3),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Mrr(Mrr::default())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk_after_far.stdf");
    std::fs::write(&path, w.into_inner()).unwrap();
    let path = path.to_string_lossy().into_owned();

    assert_eq!(u32s(&read(&path, "results"), "part_index"), vec![Some(0)]);
    let parts = read(&path, "parts");
    assert_eq!(
        u32s(&parts, "part_index"),
        vec![Some(0)],
        "the part is missing"
    );
    let hard_bin: Vec<Option<u16>> = parts
        .iter()
        .flat_map(|b| {
            b.column_by_name("hard_bin")
                .unwrap()
                .as_primitive::<UInt16Type>()
                .iter()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(hard_bin, vec![Some(3)]);
    // the damage is the 6 bytes after the FAR (a complete FAR's REC_LEN cannot be wrong)
    let w = read(&path, "warnings");
    let at: Vec<Option<u64>> = w
        .iter()
        .flat_map(|b| {
            let off = b
                .column_by_name("byte_offset")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let code = b.column_by_name("code").unwrap();
            let code = arrow_cast_codes(code);
            off.iter()
                .zip(code)
                .filter(|(_, c)| c == "desync")
                .map(|(o, _)| o)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(at, vec![Some(6)]);
}

/// The values of a string column (plain or dictionary-encoded).
fn arrow_cast_codes(c: &arrow_array::ArrayRef) -> Vec<String> {
    use arrow_array::types::Int32Type;
    match c.as_dictionary_opt::<Int32Type>() {
        Some(d) => {
            let v = d.values().as_string::<i32>();
            d.keys()
                .iter()
                .map(|k| v.value(k.unwrap() as usize).to_string())
                .collect()
        }
        None => c
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect(),
    }
}
