//! The committed fixtures under tests/fixtures/ are exactly what the writer produces today, and
//! hold what tests/fixtures/README.md says they hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stdf_core::records::Record;
use stdf_core::{ByteOrder, ErrorKind, RecordReader, StdfError};
use stdf_gen::fixtures;

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// `cargo test -p stdf-gen -- --ignored regenerate_fixtures` rewrites tests/fixtures/.
#[test]
#[ignore]
fn regenerate_fixtures() {
    let dir = committed_dir();
    let names = fixtures::write_all(&dir).unwrap();
    println!("wrote {} files to {}", names.len(), dir.display());
}

#[test]
fn fixtures_match_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let names = fixtures::write_all(tmp.path()).unwrap();
    assert_eq!(names.len(), 10);
    for n in &names {
        let fresh = std::fs::read(tmp.path().join(n)).unwrap();
        let committed = std::fs::read(committed_dir().join(n)).unwrap_or_else(|e| {
            panic!("tests/fixtures/{n} is missing ({e}); run the ignored test regenerate_fixtures")
        });
        assert!(
            fresh == committed,
            "tests/fixtures/{n} differs from what the writer produces now; regenerate with \
             `cargo test -p stdf-gen -- --ignored regenerate_fixtures` and review the diff"
        );
        if n.ends_with(".stdf") {
            assert!(
                committed.len() <= fixtures::MAX_FIXTURE_BYTES,
                "{n} over 50 KB"
            );
        }
    }
    // no stale .stdf file left behind in the directory
    for e in std::fs::read_dir(committed_dir()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".stdf") {
            assert!(
                names.contains(&name.as_str()),
                "tests/fixtures/{name} is not generated any more"
            );
        }
    }
}

struct Rec {
    typ: u8,
    sub: u8,
    offset: u64,
    order: ByteOrder,
    new_stream: bool,
    payload: Vec<u8>,
}

impl Rec {
    fn decode(&self) -> Record<'_> {
        Record::decode(self.typ, self.sub, &self.payload, self.order).0
    }
    fn name(&self) -> &'static str {
        stdf_core::records::display_name(self.typ, self.sub)
    }
}

/// Every record of a committed fixture, and the error that ended the reading (if any).
fn read(name: &str) -> (Vec<Rec>, Option<StdfError>) {
    let p = committed_dir().join(name);
    let mut rd = RecordReader::open(p.to_str().unwrap()).unwrap();
    let mut v = Vec::new();
    loop {
        match rd.next_record() {
            Ok(Some(r)) => v.push(Rec {
                typ: r.typ,
                sub: r.sub,
                offset: r.offset,
                order: r.order,
                new_stream: r.new_stream,
                payload: r.payload.to_vec(),
            }),
            Ok(None) => return (v, None),
            Err(e) => return (v, Some(e)),
        }
    }
}

fn counts(recs: &[Rec]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in recs {
        *m.entry(r.name().to_string()).or_default() += 1;
    }
    m
}

#[test]
fn multisite_le_and_be_hold_the_same_lot() {
    let (le, e1) = read("multisite_le.stdf");
    let (be, e2) = read("multisite_be.stdf");
    assert!(e1.is_none() && e2.is_none());
    assert_eq!(le[0].payload, vec![2, 4]);
    assert_eq!(be[0].payload, vec![1, 4]);
    assert!(le[1..].iter().all(|r| r.order == ByteOrder::Little));
    assert!(be[1..].iter().all(|r| r.order == ByteOrder::Big));
    assert_eq!(le.len(), be.len());
    for (a, b) in le.iter().zip(&be).skip(1) {
        assert_eq!(format!("{:?}", a.decode()), format!("{:?}", b.decode()));
    }
    // and the lot is the one the README describes (the generator's stats)
    let mut sink = Vec::new();
    let st =
        stdf_gen::generate_lot(&fixtures::multisite_config(ByteOrder::Little), &mut sink).unwrap();
    assert_eq!(counts(&le), st.record_counts);
    let mut parts = 0;
    let mut sums: BTreeMap<u32, f64> = BTreeMap::new();
    let mut max_sites_open = 0;
    let mut open = 0;
    for r in &le {
        match r.decode() {
            Record::Pir(_) => {
                open += 1;
                max_sites_open = max_sites_open.max(open);
            }
            Record::Prr(_) => {
                open -= 1;
                parts += 1;
            }
            Record::Ptr(p) => {
                *sums.entry(p.test_num.unwrap()).or_default() += p.result.unwrap() as f64
            }
            _ => {}
        }
    }
    assert_eq!(parts, st.parts);
    assert_eq!(max_sites_open, 4);
    for (n, s) in sums {
        assert_eq!(s, st.tests[&n].sum);
    }
}

#[test]
fn mpr_ftr_holds_the_hand_written_values() {
    let (recs, err) = read("mpr_ftr.stdf");
    assert!(err.is_none());
    assert_eq!(recs.len(), 44);
    let mut sums: BTreeMap<u32, (u64, f64)> = BTreeMap::new();
    let mut ftr_fail = 0;
    let mut bins = Vec::new();
    let mut rtn_indx_seen = Vec::new();
    for r in &recs {
        match r.decode() {
            Record::Mpr(m) => {
                let e = sums.entry(m.test_num.unwrap()).or_default();
                for v in m.rtn_rslt.unwrap_or_default() {
                    e.0 += 1;
                    e.1 += v as f64;
                }
                if let Some(ix) = m.rtn_indx {
                    rtn_indx_seen.push((m.test_num.unwrap(), ix));
                }
            }
            Record::Ftr(f) if f.test_flg == Some(0x80) => {
                ftr_fail += 1;
                if f.vect_off == Some(0) {
                    assert_eq!(f.fail_pin.unwrap().set_bits(), vec![2, 4]);
                    assert_eq!(f.rtn_stat, Some(vec![5, 6]));
                    assert_eq!(f.pgm_stat, Some(vec![2, 3]));
                    assert_eq!((f.xfail_ad, f.yfail_ad), (Some(10), Some(-3)));
                }
            }
            Record::Prr(p) => bins.push((
                p.part_flg.unwrap(),
                p.num_test.unwrap(),
                p.hard_bin.unwrap(),
                p.soft_bin.unwrap(),
            )),
            _ => {}
        }
    }
    assert_eq!(sums[&100], (12, 8.5));
    assert_eq!(sums[&110], (10, 6.375));
    assert_eq!(sums[&120], (0, 0.0));
    assert_eq!(sums[&130], (0, 0.0));
    assert_eq!(sums[&140], (6, 21.0));
    assert_eq!(ftr_fail, 2);
    assert_eq!(bins, vec![(0, 7, 1, 1), (8, 7, 3, 30), (8, 1, 2, 20)]);
    assert_eq!(
        rtn_indx_seen,
        vec![
            (100, vec![1, 2, 3, 4]),
            (110, vec![]),
            (120, vec![1, 2, 3]),
            (130, vec![]),
            (140, vec![1, 2])
        ]
    );
}

#[test]
fn v4_2007_has_both_vur_layouts_and_every_scan_record() {
    let (recs, err) = read("v4_2007.stdf");
    assert!(err.is_none());
    let names: Vec<&str> = recs.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        vec![
            "FAR", "VUR", "VUR", "MIR", "PMR", "PMR", "PMR", "PMR", "PSR", "NMR", "CNR", "CNR",
            "SSR", "CDR", "PIR", "STR", "STR", "PRR", "TSR", "HBR", "SBR", "PCR", "MRR"
        ]
    );
    assert!(recs.iter().all(|r| r.order == ByteOrder::Big));
    let Record::Vur(v1) = recs[1].decode() else {
        panic!()
    };
    assert_eq!(v1.upd_cnt, Some(1));
    assert_eq!(v1.upd_nam.unwrap()[0].text(), "V4-2007");
    let Record::Vur(v2) = recs[2].decode() else {
        panic!()
    };
    assert_eq!(v2.upd_cnt, None);
    assert_eq!(v2.upd_nam.unwrap()[0].text(), "Scan:2007.1");
    let mut logged = 0;
    for r in &recs[15..17] {
        let Record::StrRec(s) = r.decode() else {
            panic!()
        };
        logged += s.cyc_ofst.unwrap().len();
        assert_eq!(s.totl_cnt, Some(3));
    }
    assert_eq!(logged, 3);
}

#[test]
fn truncated_ends_inside_a_ptr() {
    let (recs, err) = read("truncated.stdf");
    let e = err.expect("an error");
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(e.record.as_deref(), Some("PTR"));
    let (_, cut, off, _) = fixtures::truncated_parts();
    assert_eq!(e.offset, Some(off));
    let size = std::fs::metadata(committed_dir().join("truncated.stdf"))
        .unwrap()
        .len();
    assert_eq!(size as usize, cut);
    assert_eq!(size, off + 4 + 10);
    let last = recs.last().unwrap();
    assert_eq!(last.offset + 4 + last.payload.len() as u64, off);
    let readme = std::fs::read_to_string(committed_dir().join("README.md")).unwrap();
    assert!(readme.contains(&format!(
        "error kind `Truncated`, offset {off}, record `PTR`"
    )));
}

#[test]
fn corrupt_rec_len_overruns_the_file() {
    let (recs, err) = read("corrupt.stdf");
    let names: Vec<&str> = recs.iter().map(|r| r.name()).collect();
    assert_eq!(names, vec!["FAR", "MIR", "PIR", "PTR", "PRR"]);
    let offs: Vec<u64> = recs.iter().map(|r| r.offset).collect();
    assert_eq!(offs, vec![0, 6, 42, 48, 67]);
    let e = err.unwrap();
    assert_eq!(
        (e.kind, e.offset, e.record.as_deref()),
        (ErrorKind::Truncated, Some(84), Some("DTR"))
    );
    assert_eq!(
        std::fs::metadata(committed_dir().join("corrupt.stdf"))
            .unwrap()
            .len(),
        100
    );
}

#[test]
fn no_pir_has_results_and_prrs_only() {
    let (recs, err) = read("no_pir.stdf");
    assert!(err.is_none());
    let c = counts(&recs);
    assert!(!c.contains_key("PIR"));
    let st = stdf_gen::generate_lot(&fixtures::no_pir_config(), Vec::new()).unwrap();
    assert_eq!(c, st.record_counts);
    assert_eq!(c["PRR"], st.parts);
    let sites: std::collections::BTreeSet<u8> = recs
        .iter()
        .filter_map(|r| match r.decode() {
            Record::Prr(p) => p.site_num,
            _ => None,
        })
        .collect();
    assert_eq!(sites.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
}

#[test]
fn concat_has_two_streams_with_their_own_byte_order() {
    let (recs, err) = read("concat.stdf");
    assert!(err.is_none());
    let starts: Vec<(u64, ByteOrder)> = recs
        .iter()
        .filter(|r| r.new_stream)
        .map(|r| (r.offset, r.order))
        .collect();
    let [a, b] = fixtures::concat_configs();
    let sa = stdf_gen::generate_lot(&a, Vec::new()).unwrap();
    let sb = stdf_gen::generate_lot(&b, Vec::new()).unwrap();
    assert_eq!(
        starts,
        vec![(0, ByteOrder::Little), (sa.bytes, ByteOrder::Big)]
    );
    assert_eq!(recs.len() as u64, sa.records + sb.records);
    let mrrs: Vec<usize> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.name() == "MRR")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(mrrs, vec![sa.records as usize - 1, recs.len() - 1]);
}

#[test]
fn latin1_bytes_are_kept() {
    let (recs, err) = read("latin1.stdf");
    assert!(err.is_none());
    let Record::Mir(m) = recs[1].decode() else {
        panic!()
    };
    assert_eq!(m.tst_temp.unwrap().0, b"25\xB0C");
    assert_eq!(m.tst_temp.unwrap().text(), "25°C");
    let Record::Ptr(p) = recs[3].decode() else {
        panic!()
    };
    assert_eq!(p.test_txt.unwrap().0, b"I_LEAK \xB5A");
    assert_eq!(p.test_txt.unwrap().text(), "I_LEAK µA");
    assert_eq!(p.result, Some(1.0 / 1_048_576.0)); // 2^-20
    let Record::Dtr(d) = recs[4].decode() else {
        panic!()
    };
    assert!(d.text_dat.unwrap().is_latin1());
}
