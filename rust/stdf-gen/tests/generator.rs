//! The generator's output, read back with stdf-core's reader and recounted independently, must
//! agree with the `Stats` it returns, and must look like a real multi-site wafer-sort lot.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use stdf_core::records::Record;
use stdf_core::{ByteOrder, Compression, RecordReader};
use stdf_gen::{generate_lot, LotConfig, Stats};

fn small(order: ByteOrder, seed: u64) -> LotConfig {
    LotConfig {
        order,
        seed,
        wafers: 2,
        dice_per_wafer: 150,
        sites: 4,
        ..Default::default()
    }
}

fn gen(cfg: &LotConfig) -> (Vec<u8>, Stats) {
    let mut v = Vec::new();
    let s = generate_lot(cfg, &mut v).unwrap();
    (v, s)
}

fn reader(bytes: &[u8]) -> RecordReader {
    RecordReader::from_reader(
        "gen.stdf",
        Box::new(Cursor::new(bytes.to_vec())),
        Compression::None,
        bytes.len() as u64,
    )
    .unwrap()
}

/// Debug text of every record (for comparing two files by content).
fn dump(bytes: &[u8]) -> Vec<String> {
    let mut rd = reader(bytes);
    let mut out = Vec::new();
    while let Some(r) = rd.next_record().unwrap() {
        let (rec, _) = Record::decode(r.typ, r.sub, r.payload, r.order);
        out.push(format!("{rec:?}"));
    }
    out
}

#[derive(Default)]
struct Part {
    results: u16,
    failed: bool,
}

#[derive(Default, Debug)]
struct TestTally {
    exec: u64,
    fail: u64,
    values: u64,
    sum: f64,
    sum_rev: Vec<f64>,
    lo: Option<f32>,
    hi: Option<f32>,
    first_seen: bool,
}

/// Recount everything from the bytes and compare with the stats.
fn verify(bytes: &[u8], st: &Stats, cfg: &LotConfig) {
    assert_eq!(bytes.len() as u64, st.bytes);
    let mut rd = reader(bytes);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut open: BTreeMap<u8, Part> = BTreeMap::new();
    let mut parts = 0u64;
    let mut good = 0u64;
    let mut retests = 0u64;
    let mut hb: BTreeMap<u16, u64> = BTreeMap::new();
    let mut sb: BTreeMap<u16, u64> = BTreeMap::new();
    let mut per_site: BTreeMap<u8, u64> = BTreeMap::new();
    let mut last: BTreeMap<(usize, i16, i16), u16> = BTreeMap::new();
    let mut wafer = 0usize;
    let mut wafer_parts = 0u64;
    let mut wafer_retests = 0u64;
    let mut wafer_good = 0u64;
    let mut tests: BTreeMap<u32, TestTally> = BTreeMap::new();
    let mut mpr_first: BTreeSet<u32> = BTreeSet::new();
    let mut max_open = 0usize;
    let mut shuffled = false;
    let mut prr_run: Vec<u8> = Vec::new();
    let mut hbr255: BTreeMap<u16, u64> = BTreeMap::new();
    let mut sbr255: BTreeMap<u16, u64> = BTreeMap::new();
    let mut hbr_sites: BTreeMap<u16, u64> = BTreeMap::new();
    let mut tsr255: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
    let mut pcr255 = None;
    let mut wrrs = Vec::new();
    let mut records = 0u64;
    let mut prev_was_prr = false;
    while let Some(raw) = rd.next_record().unwrap() {
        records += 1;
        *counts.entry(raw.label()).or_default() += 1;
        let (rec, cur) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        assert_eq!(cur.remaining(), 0, "no trailing bytes in generated records");
        if !matches!(rec, Record::Prr(_)) {
            if prev_was_prr {
                let mut sorted = prr_run.clone();
                sorted.sort_unstable();
                shuffled |= sorted != prr_run;
                prr_run.clear();
            }
            prev_was_prr = false;
        }
        match &rec {
            Record::Pir(p) => {
                let s = p.site_num.unwrap();
                assert!(
                    open.insert(s, Part::default()).is_none(),
                    "PIR on a site with an open part"
                );
                max_open = max_open.max(open.len());
            }
            Record::Ptr(_) | Record::Mpr(_) | Record::Ftr(_) => {
                let (num, site, flg) = match &rec {
                    Record::Ptr(p) => (
                        p.test_num.unwrap(),
                        p.site_num.unwrap(),
                        p.test_flg.unwrap(),
                    ),
                    Record::Mpr(p) => (
                        p.test_num.unwrap(),
                        p.site_num.unwrap(),
                        p.test_flg.unwrap(),
                    ),
                    Record::Ftr(p) => (
                        p.test_num.unwrap(),
                        p.site_num.unwrap(),
                        p.test_flg.unwrap(),
                    ),
                    _ => unreachable!(),
                };
                if cfg.write_pir {
                    let part = open
                        .get_mut(&site)
                        .expect("result for a site with no open part");
                    part.results += 1;
                    part.failed |= flg & 0x80 != 0;
                } else {
                    let part = open.entry(site).or_default();
                    part.results += 1;
                    part.failed |= flg & 0x80 != 0;
                }
                let t = tests.entry(num).or_default();
                t.exec += 1;
                if flg & 0x80 != 0 {
                    t.fail += 1;
                }
                let first = !t.first_seen;
                t.first_seen = true;
                match &rec {
                    Record::Ptr(p) => {
                        // default data only in the first PTR of a test
                        assert_eq!(p.opt_flag.is_some(), first, "PTR {num} opt_flag");
                        assert_eq!(p.units.is_some(), first);
                        if first {
                            let f = p.opt_flag.unwrap();
                            assert_eq!(f & 0x02, 0x02, "reserved bit 1 set");
                            t.lo = (f & 0x40 == 0).then(|| p.lo_limit.unwrap());
                            t.hi = (f & 0x80 == 0).then(|| p.hi_limit.unwrap());
                            assert_eq!(p.lo_spec.is_some(), f & 0x0C != 0x0C);
                        }
                        let v = p.result.unwrap();
                        let in_limits = t.lo.is_none_or(|l| v >= l) && t.hi.is_none_or(|h| v <= h);
                        assert_eq!(
                            in_limits,
                            flg & 0x80 == 0,
                            "PTR pass flag matches the limits"
                        );
                        t.values += 1;
                        t.sum += v as f64;
                        t.sum_rev.push(v as f64);
                    }
                    Record::Mpr(m) => {
                        assert_eq!(
                            m.rtn_indx.is_some(),
                            mpr_first.insert(num),
                            "RTN_INDX only in the first MPR"
                        );
                        assert_eq!(m.rtn_icnt, Some(cfg.pins));
                        assert_eq!(m.rslt_cnt, Some(cfg.pins));
                        if first {
                            let f = m.opt_flag.unwrap();
                            t.lo = (f & 0x40 == 0).then(|| m.lo_limit.unwrap());
                            t.hi = (f & 0x80 == 0).then(|| m.hi_limit.unwrap());
                        } else {
                            assert!(m.opt_flag.is_none());
                        }
                        let all_in =
                            m.rtn_rslt.as_ref().unwrap().iter().all(|&v| {
                                t.lo.is_none_or(|l| v >= l) && t.hi.is_none_or(|h| v <= h)
                            });
                        assert_eq!(all_in, flg & 0x80 == 0);
                        for &v in m.rtn_rslt.as_ref().unwrap() {
                            t.values += 1;
                            t.sum += v as f64;
                            t.sum_rev.push(v as f64);
                        }
                    }
                    Record::Ftr(f) => {
                        assert_eq!(f.patg_num.is_some(), first);
                        if flg & 0x80 != 0 {
                            let n = f.num_fail.unwrap();
                            assert!(n >= 1);
                            assert_eq!(f.rtn_icnt, Some(n as u16));
                            assert_eq!(f.fail_pin.unwrap().set_bits(), f.rtn_indx.clone().unwrap());
                        } else {
                            assert_eq!(f.num_fail, Some(0));
                        }
                    }
                    _ => unreachable!(),
                }
            }
            Record::Prr(p) => {
                prev_was_prr = true;
                let s = p.site_num.unwrap();
                prr_run.push(s);
                let part = open.remove(&s).unwrap_or_else(|| {
                    assert!(!cfg.write_pir, "PRR without PIR");
                    Part::default()
                });
                let flg = p.part_flg.unwrap();
                assert_eq!(flg & 0x03, 0, "no supersede flags");
                assert_eq!(
                    flg & 0x08 != 0,
                    part.failed,
                    "PART_FLG bit 3 = some test failed"
                );
                assert_eq!(p.num_test, Some(part.results));
                let h = p.hard_bin.unwrap();
                assert_eq!(h == 1, !part.failed);
                parts += 1;
                wafer_parts += 1;
                if h == 1 {
                    good += 1;
                    wafer_good += 1;
                }
                *hb.entry(h).or_default() += 1;
                *sb.entry(p.soft_bin.unwrap()).or_default() += 1;
                *per_site.entry(s).or_default() += 1;
                let key = (wafer, p.x_coord.unwrap(), p.y_coord.unwrap());
                if last.insert(key, h).is_some() {
                    retests += 1;
                    wafer_retests += 1;
                }
            }
            Record::Wrr(w) => {
                wrrs.push((
                    w.wafer_id.unwrap().text().to_string(),
                    w.part_cnt.unwrap() as u64,
                    w.rtst_cnt.unwrap() as u64,
                    w.good_cnt.unwrap() as u64,
                ));
                assert_eq!(w.part_cnt.unwrap() as u64, wafer_parts);
                assert_eq!(w.rtst_cnt.unwrap() as u64, wafer_retests);
                assert_eq!(w.good_cnt.unwrap() as u64, wafer_good);
                wafer += 1;
                wafer_parts = 0;
                wafer_retests = 0;
                wafer_good = 0;
            }
            Record::Hbr(h) => {
                if h.head_num == Some(255) {
                    hbr255.insert(h.hbin_num.unwrap(), h.hbin_cnt.unwrap() as u64);
                } else {
                    *hbr_sites.entry(h.hbin_num.unwrap()).or_default() +=
                        h.hbin_cnt.unwrap() as u64;
                }
            }
            Record::Sbr(h) if h.head_num == Some(255) => {
                sbr255.insert(h.sbin_num.unwrap(), h.sbin_cnt.unwrap() as u64);
            }
            Record::Tsr(t) if t.head_num == Some(255) => {
                tsr255.insert(
                    t.test_num.unwrap(),
                    (t.exec_cnt.unwrap(), t.fail_cnt.unwrap()),
                );
            }
            Record::Pcr(p) if p.head_num == Some(255) => {
                pcr255 = Some((
                    p.part_cnt.unwrap(),
                    p.rtst_cnt.unwrap(),
                    p.good_cnt.unwrap(),
                ));
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "every part is closed");
    assert_eq!(records, st.records);
    assert_eq!(counts, st.record_counts);
    assert_eq!(parts, st.parts);
    assert_eq!(good, st.good_parts);
    assert_eq!(retests, st.retests);
    assert_eq!(hb, st.hard_bins);
    assert_eq!(sb, st.soft_bins);
    assert_eq!(per_site, st.parts_per_site);
    assert_eq!(last.len() as u64, st.dice);
    let mut fin: BTreeMap<u16, u64> = BTreeMap::new();
    for h in last.values() {
        *fin.entry(*h).or_default() += 1;
    }
    assert_eq!(fin, st.final_hard_bins);
    assert_eq!(fin.get(&1).copied().unwrap_or(0), st.final_good);
    // summaries
    for (b, n) in &hbr255 {
        assert_eq!(*n, hb.get(b).copied().unwrap_or(0), "HBR 255 bin {b}");
        assert_eq!(*n, hbr_sites[b], "per-site HBRs add up to the summary");
    }
    for (b, n) in &hb {
        assert_eq!(hbr255.get(b), Some(n));
    }
    for (b, n) in &sb {
        assert_eq!(sbr255.get(b), Some(n));
    }
    assert_eq!(pcr255, Some((parts as u32, retests as u32, good as u32)));
    assert_eq!(wrrs.len(), st.wafers.len());
    for (w, s) in wrrs.iter().zip(&st.wafers) {
        assert_eq!(
            (w.0.as_str(), w.1, w.2, w.3),
            (s.wafer_id.as_str(), s.parts, s.retests, s.good)
        );
    }
    // tests
    assert_eq!(tests.len(), st.tests.len());
    for (num, t) in &tests {
        let s = &st.tests[num];
        assert_eq!(
            (t.exec, t.fail, t.values),
            (s.executions, s.failures, s.values),
            "test {num}"
        );
        assert_eq!(t.sum.to_bits(), s.sum.to_bits(), "exact sum of test {num}");
        // the sum is exact: any order gives the same bits
        let rev = t.sum_rev.iter().rev().fold(0.0f64, |a, b| a + b);
        assert_eq!(
            rev.to_bits(),
            s.sum.to_bits(),
            "order-independent sum of test {num}"
        );
        assert_eq!(tsr255[num], (s.executions as u32, s.failures as u32));
        assert_eq!((t.lo, t.hi), (s.lo_limit, s.hi_limit));
    }
    assert_eq!(counts.get("PTR").copied().unwrap_or(0), st.ptr_records);
    assert_eq!(counts.get("MPR").copied().unwrap_or(0), st.mpr_records);
    assert_eq!(counts.get("FTR").copied().unwrap_or(0), st.ftr_records);
    let ftr_fail: u64 = st
        .tests
        .values()
        .filter(|t| t.kind == 'F')
        .map(|t| t.failures)
        .sum();
    assert_eq!(ftr_fail, st.ftr_failures);
    if cfg.sites > 1 {
        assert!(max_open > 1 || !cfg.write_pir, "several parts open at once");
        assert!(shuffled, "PRRs come in completion order, not site order");
    }
}

#[test]
fn stats_match_the_file_little_endian() {
    let cfg = small(ByteOrder::Little, 11);
    let (b, s) = gen(&cfg);
    verify(&b, &s, &cfg);
    assert!(
        s.parts > 250 && s.retests > 0 && s.good_parts < s.parts,
        "{s:?}"
    );
    assert_eq!(s.wafers.len(), 2);
    assert_eq!(s.parts_per_site.len(), 4);
}

#[test]
fn stats_match_the_file_big_endian_and_content_equals_little_endian() {
    let le = small(ByteOrder::Little, 5);
    let be = small(ByteOrder::Big, 5);
    let (bl, sl) = gen(&le);
    let (bb, sbig) = gen(&be);
    verify(&bb, &sbig, &be);
    assert_eq!(&bb[..6], &[0, 2, 0, 10, 1, 4]);
    assert_eq!(&bl[..6], &[2, 0, 0, 10, 2, 4]);
    assert_ne!(bl, bb);
    let (dl, db) = (dump(&bl), dump(&bb));
    assert_eq!(dl.len(), db.len());
    // identical decoded content except the FAR's CPU_TYPE
    assert_eq!(&dl[1..], &db[1..]);
    let mut s2 = sbig.clone();
    s2.byte_order = sl.byte_order;
    assert_eq!(s2, sl);
}

#[test]
fn output_is_deterministic_per_seed() {
    let cfg = small(ByteOrder::Little, 99);
    let (a, sa) = gen(&cfg);
    let (b, sb) = gen(&cfg);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    let (c, _) = gen(&small(ByteOrder::Little, 100));
    assert_ne!(a, c);
}

#[test]
fn single_site_many_tests_and_no_retest() {
    let cfg = LotConfig {
        sites: 1,
        wafers: 1,
        dice_per_wafer: 60,
        ptr_tests: 25,
        mpr_tests: 5,
        ftr_tests: 7,
        pins: 3,
        retest: false,
        seed: 3,
        ..Default::default()
    };
    let (b, s) = gen(&cfg);
    verify(&b, &s, &cfg);
    assert_eq!(s.retests, 0);
    assert_eq!(s.tests.len(), 37);
    assert_eq!(s.parts, s.dice);
}

#[test]
fn no_pir_variant() {
    let cfg = LotConfig {
        write_pir: false,
        first_site: 0,
        wafers: 1,
        dice_per_wafer: 40,
        seed: 8,
        ..Default::default()
    };
    let (b, s) = gen(&cfg);
    verify(&b, &s, &cfg);
    assert!(!s.record_counts.contains_key("PIR"));
    assert!(s.parts_per_site.contains_key(&0));
}

#[test]
fn target_size_adds_wafers() {
    let cfg = LotConfig {
        wafers: 1,
        dice_per_wafer: 100,
        target_mb: Some(0.5),
        seed: 4,
        ..Default::default()
    };
    let (b, s) = gen(&cfg);
    assert!(b.len() as u64 >= 512 * 1024);
    assert!(s.wafers.len() > 1);
    // one wafer less would not have reached the target: the last wafer is at most a wafer's worth
    let one = gen(&LotConfig {
        target_mb: None,
        ..cfg.clone()
    })
    .1
    .bytes;
    assert!(s.bytes < 512 * 1024 + one);
    verify(&b, &s, &cfg);
}

#[test]
fn invalid_config_is_rejected() {
    for cfg in [
        LotConfig {
            sites: 0,
            ..Default::default()
        },
        LotConfig {
            pins: 0,
            ..Default::default()
        },
        LotConfig {
            first_site: 250,
            sites: 8,
            ..Default::default()
        },
        LotConfig {
            dice_per_wafer: 0,
            ..Default::default()
        },
    ] {
        let e = generate_lot(&cfg, Vec::new()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[test]
fn binary_writes_gzip_and_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lot.stdf.gz");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stdf-gen"))
        .arg(&out)
        .args([
            "--sites",
            "2",
            "--wafers",
            "1",
            "--dice",
            "50",
            "--seed",
            "7",
            "--big-endian",
            "--gzip",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("{\"kind\":\"lot\""));
    assert!(lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')));
    // same lot through the library
    let cfg = LotConfig {
        sites: 2,
        wafers: 1,
        dice_per_wafer: 50,
        seed: 7,
        order: ByteOrder::Big,
        ..Default::default()
    };
    let (plain, st) = gen(&cfg);
    assert_eq!(st.json_lines().join("\n"), text.trim_end());
    let mut rd = RecordReader::open(out.to_str().unwrap()).unwrap();
    assert_eq!(rd.compression, Compression::Gzip);
    let mut n = 0u64;
    while rd.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, st.records);
    assert_eq!(rd.position(), plain.len() as u64);

    // usage errors
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stdf-gen"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A source that hands out at most 7 bytes per read.
struct Trickle(Cursor<Vec<u8>>);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

/// A stream of several MiB (more than the reader's buffer) read through a source that returns
/// tiny chunks: every record is found at the offset where the previous one ended.
#[test]
fn multi_megabyte_stream_through_a_trickling_source() {
    let cfg = LotConfig {
        wafers: 1,
        dice_per_wafer: 2000,
        target_mb: Some(6.0),
        seed: 12,
        ..Default::default()
    };
    let (bytes, st) = gen(&cfg);
    assert!(bytes.len() > 6 << 20);
    let n = bytes.len() as u64;
    let mut rd = RecordReader::from_reader(
        "trickle",
        Box::new(Trickle(Cursor::new(bytes))),
        Compression::None,
        n,
    )
    .unwrap();
    let (mut records, mut next, mut prrs) = (0u64, 0u64, 0u64);
    while let Some(r) = rd.next_record().unwrap() {
        assert_eq!(r.offset, next);
        next += 4 + r.rec_len as u64;
        records += 1;
        prrs += (r.typ == 5 && r.sub == 20) as u64;
    }
    assert_eq!((records, next, prrs), (st.records, n, st.parts));
}
