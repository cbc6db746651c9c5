//! A damaged REC_LEN, as a class: the REC_LEN of many records of the fixtures (written by the
//! project's writer) and of real tester files (`../shared/data/stdf`, skipped when absent) is
//! changed (off by one or a few, a flipped bit, any value, zero, exactly the size of the records
//! after it), and the tables are compared with those of the undamaged file:
//!
//! * raise mode fails with the offset of the damaged record (a REC_LEN cut short at the very end
//!   of the stream may instead leave a partial header there: a truncation at that offset);
//! * warn mode never fails; every part entirely before the damaged record and every part
//!   entirely after the resync point (the end of the skipped range its `desync` warning names)
//!   is the same part as in the undamaged file (head, site, part id, bins, pass/fail, number of
//!   results, complete); no part has results of two parts or a PRR of another part; every result
//!   row is a result row of the undamaged file.
//!
//! If raise mode does not fail, the damage changed no part at all.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use stdf_arrow::{OnError, ReadOptions, StdfError, TableReader};
use stdf_core::ByteOrder;

fn read(path: &str, table: &str, mode: OnError) -> Result<Vec<RecordBatch>, StdfError> {
    let mut o = ReadOptions::new(table);
    o.on_error = mode;
    o.threads = 1;
    let r = TableReader::open(&[path.to_string()], o)?;
    let mut out = Vec::new();
    for b in r {
        match b {
            Ok(b) => out.push(b),
            Err(e) => match stdf_arrow::stdf_error(&e) {
                Some(s) => return Err(s.clone()),
                None => panic!("{path}: {e}"),
            },
        }
    }
    Ok(out)
}

/// Integer column (any width) as i64.
fn ints(bs: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    let mut v = Vec::new();
    for b in bs {
        let c = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        macro_rules! put {
            ($t:ty) => {
                v.extend(c.as_primitive::<$t>().iter().map(|x| x.map(|x| x as i64)))
            };
        }
        match c.data_type() {
            DataType::UInt8 => put!(UInt8Type),
            DataType::UInt16 => put!(UInt16Type),
            DataType::UInt32 => put!(UInt32Type),
            DataType::UInt64 => put!(UInt64Type),
            DataType::Int16 => put!(Int16Type),
            DataType::Int32 => put!(Int32Type),
            t => panic!("{name}: {t}"),
        }
    }
    v
}

fn strs(bs: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    let mut v = Vec::new();
    for b in bs {
        let c = b.column_by_name(name).unwrap();
        if let Some(d) = c.as_dictionary_opt::<Int32Type>() {
            let values = d.values().as_string::<i32>();
            v.extend(
                d.keys()
                    .iter()
                    .map(|k| k.map(|k| values.value(k as usize).to_string())),
            );
        } else {
            v.extend(c.as_string::<i32>().iter().map(|x| x.map(String::from)));
        }
    }
    v
}

fn bools(bs: &[RecordBatch], name: &str) -> Vec<Option<bool>> {
    let mut v = Vec::new();
    for b in bs {
        v.extend(b.column_by_name(name).unwrap().as_boolean().iter());
    }
    v
}

/// What must not change for a part.
#[derive(Clone, Debug, PartialEq)]
struct Part {
    head: Option<i64>,
    site: Option<i64>,
    part_id: Option<String>,
    xy: (Option<i64>, Option<i64>),
    bins: (Option<i64>, Option<i64>),
    passed: Option<bool>,
    n_results: Option<i64>,
    complete: Option<bool>,
}

/// A decoded file: parts (with the byte offsets of their first and last record and of their
/// PRR), and result rows by (record offset, element index) -> part.
struct Decoded {
    parts: Vec<(Part, u64, u64, Option<u64>)>,
    results: HashMap<(u64, i64), usize>,
    warnings: Vec<(Option<i64>, String, String)>,
    /// Byte offsets of the records.
    records: HashSet<u64>,
}

fn decode(path: &str, mode: OnError) -> Result<Decoded, StdfError> {
    let recs = read(path, "records", mode)?;
    let offset: HashMap<i64, u64> = ints(&recs, "record_index")
        .into_iter()
        .zip(ints(&recs, "byte_offset"))
        .map(|(i, o)| (i.unwrap(), o.unwrap() as u64))
        .collect();
    let p = read(path, "parts", mode)?;
    let r = read(path, "results", mode)?;
    let w = read(path, "warnings", mode)?;
    let index: HashMap<i64, usize> = ints(&p, "part_index")
        .iter()
        .enumerate()
        .map(|(k, i)| (i.unwrap(), k))
        .collect();
    let mut results = HashMap::new();
    let mut span: Vec<Option<(u64, u64)>> = vec![None; index.len()];
    for ((pi, ri), e) in ints(&r, "part_index")
        .into_iter()
        .zip(ints(&r, "record_index"))
        .zip(ints(&r, "element_index"))
    {
        let k = index[&pi.expect("every result has a part")];
        let off = offset[&ri.unwrap()];
        results.insert((off, e.unwrap_or(-1)), k);
        let s = span[k].get_or_insert((off, off));
        *s = (s.0.min(off), s.1.max(off));
    }
    let (pir, prr) = (ints(&p, "pir_record_index"), ints(&p, "prr_record_index"));
    let (head, site) = (ints(&p, "head_num"), ints(&p, "site_num"));
    let (x, y) = (ints(&p, "x_coord"), ints(&p, "y_coord"));
    let (hb, sb) = (ints(&p, "hard_bin"), ints(&p, "soft_bin"));
    let (id, passed) = (strs(&p, "part_id"), bools(&p, "passed"));
    let (n, complete) = (ints(&p, "n_results"), bools(&p, "complete"));
    let mut parts = Vec::new();
    for k in 0..index.len() {
        let pir = pir[k].map(|i| offset[&i]);
        let prr = prr[k].map(|i| offset[&i]);
        let first = pir
            .or(span[k].map(|s| s.0))
            .or(prr)
            .expect("a part has a record");
        let last = prr.or(span[k].map(|s| s.1)).or(pir).unwrap();
        let part = Part {
            head: head[k],
            site: site[k],
            part_id: id[k].clone(),
            xy: (x[k], y[k]),
            bins: (hb[k], sb[k]),
            passed: passed[k],
            n_results: n[k],
            complete: complete[k],
        };
        parts.push((part, first, last, prr));
    }
    let warnings = ints(&w, "byte_offset")
        .into_iter()
        .zip(strs(&w, "code"))
        .zip(strs(&w, "message"))
        .map(|((o, c), m)| (o, c.unwrap(), m.unwrap()))
        .collect();
    let records = offset.values().copied().collect();
    Ok(Decoded {
        parts,
        results,
        warnings,
        records,
    })
}

/// (offset, REC_LEN, big-endian) of every record of an uncompressed file (each stream in the
/// byte order of its FAR).
fn headers(bytes: &[u8]) -> Vec<(u64, u16, bool)> {
    let (mut o, mut be, mut out) = (0usize, false, Vec::new());
    while o + 4 <= bytes.len() {
        let b = [bytes[o], bytes[o + 1]];
        if bytes[o + 2..o + 4] == [0, 10] && (b == [0, 2] || b == [2, 0]) {
            be = b == [0, 2];
        }
        let n = if be {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        };
        out.push((o as u64, n, be));
        o += 4 + n as usize;
    }
    assert_eq!(o, bytes.len(), "the undamaged file walks to its end");
    out
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A new REC_LEN for record `i`: off by a little, a flipped bit, any value, zero, or exactly the
/// size of the next one or two records (it swallows them).
fn mutate(rng: &mut Rng, hs: &[(u64, u16, bool)], i: usize) -> u16 {
    let len = hs[i].1;
    let swallow = |k: usize| -> u16 {
        let extra: u32 = hs[i + 1..(i + 1 + k).min(hs.len())]
            .iter()
            .map(|h| 4 + h.1 as u32)
            .sum();
        (len as u32 + extra).min(65535) as u16
    };
    match rng.next() % 8 {
        0 => len.wrapping_sub(1 + (rng.next() % 3) as u16),
        1 => len.wrapping_add(1 + (rng.next() % 12) as u16),
        2 | 3 => len ^ (1 << (rng.next() % 16)),
        4 => rng.next() as u16,
        5 => 0,
        6 => swallow(1),
        _ => swallow(2),
    }
}

/// The damage the reader cannot see (documented in stdf-core `reader/check.rs`): a REC_LEN
/// grown by exactly the size of the records after it (its walk goes on from a valid header),
/// to no more than the length of the previous record of its kind (a test record: of its test
/// number), so that it is not looked inside; or swallowing a record unlike those before it.
fn blind_spot(bytes: &[u8], hs: &[(u64, u16, bool)], i: usize, new: u16) -> bool {
    let end = hs[i].0 + 4 + new as u64;
    let lands = hs.iter().any(|h| h.0 == end) || end == bytes.len() as u64;
    let kind = |k: usize| {
        let o = hs[k].0 as usize;
        let (t, s) = (bytes[o + 2], bytes[o + 3]);
        let test = t == 15 && matches!(s, 10 | 15 | 20) && hs[k].1 >= 4;
        (
            t,
            s,
            if test {
                bytes[o + 4..o + 8].to_vec()
            } else {
                Vec::new()
            },
        )
    };
    let prev = (0..i).rev().find(|&k| kind(k) == kind(i));
    if !lands || new <= hs[i].1 {
        return false;
    }
    if prev.is_some_and(|k| new <= hs[k].1) {
        return true;
    }
    // or a swallowed record is a FAR/ATR/VUR code or empty (never taken for a swallowed one),
    // or, when the damaged record's fields do not end exactly where it really ends, of a kind
    // not seen before it
    let o = hs[i].0 as usize;
    let order = if hs[i].2 {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    let mut bad = bytes.to_vec();
    let b = if hs[i].2 {
        new.to_be_bytes()
    } else {
        new.to_le_bytes()
    };
    bad[o..o + 2].copy_from_slice(&b);
    let (_, c) =
        stdf_core::Record::decode(bytes[o + 2], bytes[o + 3], &bad[o + 4..end as usize], order);
    let exact = c.pos() == hs[i].1 as usize && !c.was_short();
    let swallowed: Vec<usize> = (i + 1..hs.len()).take_while(|&k| hs[k].0 < end).collect();
    swallowed
        .iter()
        .any(|&k| bytes[hs[k].0 as usize + 2] == 0 || hs[k].1 == 0)
        || (!exact
            && swallowed
                .iter()
                .any(|&k| !(0..i).any(|j| kind(j) == kind(k))))
}

/// Outcome of one case: damage reported in raise mode, harmless, or in the blind spot.
#[derive(Debug, PartialEq)]
enum Seen {
    Reported,
    Harmless,
    Blind,
}

fn check_one(
    name: &str,
    path: &str,
    bytes: &[u8],
    clean: &Decoded,
    at: u64,
    new: u16,
    blind: bool,
) -> Seen {
    let case = format!("{name}: REC_LEN of the record at byte {at} set to {new}");
    let end = bytes.len() as u64;
    let raise = decode(path, OnError::Raise);
    let warn = decode(path, OnError::Warn).unwrap_or_else(|e| panic!("{case}: warn failed: {e}"));
    let mut unseen = false;
    match &raise {
        Err(e) => {
            let o = e.offset.unwrap_or_else(|| panic!("{case}: {e}"));
            let tail = e.kind == stdf_core::ErrorKind::Truncated && o + 4 > end;
            assert!(o == at || tail, "{case}: raise reports offset {o}: {e}");
        }
        Ok(d) => {
            let got: Vec<_> = d.parts.iter().map(|p| &p.0).collect();
            let want: Vec<_> = clean.parts.iter().map(|p| &p.0).collect();
            unseen = got != want;
            assert!(!unseen || blind, "{case}: no error, so no part may change");
        }
    }
    // the skipped range: [at, resync point) as the desync warning says, or to the end
    let desync: Vec<_> = warn.warnings.iter().filter(|w| w.1 == "desync").collect();
    let resync = match desync.first() {
        Some((off, _, msg)) => {
            assert_eq!(*off, Some(at as i64), "{case}: {msg}");
            let r = msg
                .split(&format!("bytes {at}.."))
                .nth(1)
                .unwrap_or_else(|| panic!("{case}: {msg}"));
            r.split(' ').next().unwrap().parse::<u64>().unwrap()
        }
        None if raise.is_err() => end,
        // unseen: the records it swallowed are lost, with the parts they belong to
        None if unseen || blind => at + 4 + new as u64,
        None => 0,
    };
    if raise.is_err() && desync.is_empty() {
        assert!(
            warn.warnings.iter().any(|w| w.1 == "truncated"),
            "{case}: the damage must be reported: {:?}",
            warn.warnings
        );
    }
    // every part entirely before the damage or entirely after the resync point is unchanged
    let by_first: HashMap<u64, &(Part, u64, u64, Option<u64>)> =
        warn.parts.iter().map(|p| (p.1, p)).collect();
    for (p, first, last, _) in &clean.parts {
        if *last < at || *first >= resync {
            let got = by_first
                .get(first)
                .unwrap_or_else(|| panic!("{case}: part at {first} lost"));
            assert_eq!(&got.0, p, "{case}: part at byte {first}");
        }
    }
    // no part mixes: the results of each part come from one part of the undamaged file, whose
    // PRR it is when it has one; no result row that the undamaged file does not have
    let clean_prr: HashMap<u64, usize> = clean
        .parts
        .iter()
        .enumerate()
        .filter_map(|(k, p)| p.3.map(|o| (o, k)))
        .collect();
    let mut owners: HashMap<usize, HashSet<usize>> = HashMap::new();
    for (key, k) in &warn.results {
        match clean.results.get(key) {
            Some(c) => {
                owners.entry(*k).or_default().insert(*c);
            }
            // a continued STR after the resync point whose first record was skipped makes a
            // row of its own: still a record of the file, never garbage
            None => assert!(
                key.0 >= resync && clean.records.contains(&key.0),
                "{case}: result row {key:?} is not in the file"
            ),
        }
    }
    for (k, (p, first, _, prr)) in warn.parts.iter().enumerate() {
        let of = owners.get(&k).cloned().unwrap_or_default();
        assert!(
            of.len() <= 1,
            "{case}: part at {first} has results of parts {of:?}"
        );
        if let Some(prr) = prr {
            let c = *clean_prr
                .get(prr)
                .unwrap_or_else(|| panic!("{case}: a PRR at {prr} that the file does not have"));
            assert!(
                of.is_empty() || of.contains(&c),
                "{case}: part at {first} closed by another part's PRR"
            );
            assert_eq!(p.bins, clean.parts[c].0.bins);
        }
    }
    match (raise.is_err(), unseen) {
        (true, _) => Seen::Reported,
        (false, false) => Seen::Harmless,
        (false, true) => Seen::Blind,
    }
}

fn fixtures() -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    [
        "multisite_le",
        "multisite_be",
        "mpr_ftr",
        "no_pir",
        "concat",
        "v4_2007",
        "latin1",
    ]
    .iter()
    .map(|n| d.join(format!("{n}.stdf")))
    .collect()
}

/// Real tester files (uncompressed ones), with the number of records to damage in each.
fn real_files() -> Vec<(PathBuf, usize)> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stdf");
    [
        ("Metis/test.std", 60),
        ("stdf2xls4/d10_1.std", 30),
        ("stdf2xls/sort_4die_20times.stdf", 30),
        (
            "stdf2xls/ATLAS_E_FT_REVF_PROGRAM_SN9_T25c_Lot1234_Step1_20131204155442.stdf",
            20,
        ),
        ("stdf2xls/11_2014_07_18_11.38.42.stdf", 12),
        ("stdf2xls/bcdm_S11189_c_01.stdf", 10),
        ("stdf2xls/main_Lot_1_Jan_12_17h35m56s.stdf", 8),
        (
            "stdf2xls/WS_Virgo_7OLT36325_7OLT36325.25E4_PS1_20190110_20h59m18s.stdf",
            8,
        ),
        ("perl6-Parse-STDF/gdr.stdf", 8),
        ("pystdf-dugloon/tfile.std", 20),
    ]
    .iter()
    .map(|(p, n)| (d.join(p), *n))
    .filter(|(p, _)| p.exists())
    .collect()
}

fn damage_file(src: &Path, cases: usize, seed: u64) -> Vec<Seen> {
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(src).unwrap();
    let hs = headers(&bytes);
    let clean = decode(src.to_str().unwrap(), OnError::Raise).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(&name);
    let p = path.to_str().unwrap();
    let mut rng = Rng(seed ^ bytes.len() as u64);
    let mut done = Vec::new();
    for _ in 0..cases {
        let i = 1 + (rng.next() as usize) % (hs.len() - 1);
        let new = mutate(&mut rng, &hs, i);
        if new == hs[i].1 {
            continue;
        }
        let mut bad = bytes.clone();
        let at = hs[i].0 as usize;
        let be = hs[i].2;
        let b = if be {
            new.to_be_bytes()
        } else {
            new.to_le_bytes()
        };
        bad[at..at + 2].copy_from_slice(&b);
        std::fs::write(&path, &bad).unwrap();
        done.push(check_one(
            &name,
            p,
            &bad,
            &clean,
            hs[i].0,
            new,
            blind_spot(&bytes, &hs, i, new),
        ));
    }
    done
}

/// Most damage is reported; what is not changed nothing or is the documented blind spot, in at
/// most `blind_pct` % of the cases.
fn summary(all: &[Seen], at_least: usize, blind_pct: usize) {
    let n = |k: Seen| all.iter().filter(|s| **s == k).count();
    let (rep, harm, blind) = (n(Seen::Reported), n(Seen::Harmless), n(Seen::Blind));
    eprintln!(
        "{} cases: {rep} reported, {harm} harmless, {blind} in the blind spot",
        all.len()
    );
    assert!(all.len() >= at_least, "{} cases", all.len());
    assert!(rep * 10 >= all.len() * 9, "{rep} of {} reported", all.len());
    assert!(
        blind * 100 <= all.len() * blind_pct,
        "{blind} of {} in the blind spot",
        all.len()
    );
}

#[test]
fn a_damaged_rec_len_in_a_fixture_never_mixes_parts() {
    let mut all = Vec::new();
    for (k, f) in fixtures().iter().enumerate() {
        all.extend(damage_file(f, 60, 0x9e37_79b9_7f4a_7c15 + k as u64));
    }
    // the fixtures are small: more of the records a REC_LEN swallows are the first of their kind
    // in the file, which the reader does not take for swallowed (see reader/check.rs)
    summary(&all, 350, 3);
}

#[test]
fn a_damaged_rec_len_in_a_real_file_never_mixes_parts() {
    let files = real_files();
    if files.is_empty() {
        eprintln!("skipped: ../shared/data/stdf is absent");
        return;
    }
    let mut all = Vec::new();
    for (k, (f, cases)) in files.iter().enumerate() {
        all.extend(damage_file(f, *cases, 0x51_7c_c1_b7_27_22_0a_95 + k as u64));
    }
    summary(&all, 150, 2);
}

/// The corrupt real file of the collection (MANIFEST: a PMR at byte 2152 declares REC_LEN 24,
/// but a valid FTR header follows at 2168; a naive walk reads zero headers from 2180 and then
/// a REC_LEN 29285 running past the end at 2217). Raise mode fails at the PMR; warn mode
/// resynchronises at 2168 and reads the 188 records after it, to the MRR.
#[test]
fn the_corrupt_real_file_fails_at_its_damage_and_resyncs_at_2168() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stdf/stdf2xls");
    let path = d.join("STS_001SRAM_8435_-30c_Nov_10_23h05m08s.stdf");
    if !path.exists() {
        eprintln!("skipped: ../shared/data/stdf is absent");
        return;
    }
    let p = path.to_str().unwrap();
    let e = read(p, "records", OnError::Raise).expect_err("the damage is an error");
    assert_eq!(e.offset, Some(2152), "{e}");
    assert_eq!(e.record.as_deref(), Some("PMR"), "{e}");
    let recs = read(p, "records", OnError::Warn).unwrap();
    let offsets: Vec<i64> = ints(&recs, "byte_offset")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let types = strs(&recs, "rec_name");
    let at = offsets
        .iter()
        .position(|&o| o == 2168)
        .expect("a record at the resync point");
    assert_eq!(types[at].as_deref(), Some("FTR"));
    assert_eq!(
        offsets.len() - at,
        188,
        "records from the resync point to the end"
    );
    assert_eq!(types.last().unwrap().as_deref(), Some("MRR"));
    assert!(
        offsets[..at].iter().all(|&o| o < 2152),
        "nothing between the damage and the resync"
    );
    let w = read(p, "warnings", OnError::Warn).unwrap();
    let codes = strs(&w, "code");
    let k = codes
        .iter()
        .position(|c| c.as_deref() == Some("desync"))
        .expect("a desync warning");
    assert_eq!(ints(&w, "byte_offset")[k], Some(2152));
    assert!(strs(&w, "message")[k]
        .as_ref()
        .unwrap()
        .contains("bytes 2152..2168 skipped"));
}
