//! Damaged input never panics: every table, both error modes, on many mutated and truncated
//! copies of a small file written by the project's writer. Errors name the file and an offset.

use std::io::Write;

use stdf_arrow::{OnError, ReadOptions, TableReader};
use stdf_core::records::*;
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Record, Str};

fn sample(order: ByteOrder) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    w.write(&Record::Mir(Mir {
        setup_t: Some(1),
        start_t: Some(2),
        stat_num: Some(1),
        lot_id: Some(Str::from("LOT")),
        part_typ: Some(Str::from("P")),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Pmr(Pmr {
        pmr_indx: Some(1),
        log_nam: Some(Str::from("VDD")),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Wir(Wir {
        head_num: Some(1),
        site_grp: Some(255),
        start_t: Some(3),
        wafer_id: Some(Str::from("W1")),
        ..Default::default()
    }))
    .unwrap();
    for part in 0..4u8 {
        for site in 0..2u8 {
            w.write(&Record::Pir(Pir {
                head_num: Some(1),
                site_num: Some(site),
                ..Default::default()
            }))
            .unwrap();
        }
        for t in 0..5u32 {
            for site in 0..2u8 {
                w.write(&Record::Ptr(Ptr {
                    test_num: Some(100 + t),
                    head_num: Some(1),
                    site_num: Some(site),
                    test_flg: Some(0),
                    parm_flg: Some(0),
                    result: Some(part as f32 + t as f32 / 10.0),
                    test_txt: Some(Str::from("t")),
                    alarm_id: Some(Str::from("")),
                    opt_flag: Some(0x0e),
                    res_scal: Some(0),
                    llm_scal: Some(0),
                    hlm_scal: Some(0),
                    lo_limit: Some(0.0),
                    hi_limit: Some(9.0),
                    units: Some(Str::from("V")),
                    ..Default::default()
                }))
                .unwrap();
            }
        }
        w.write(&Record::Mpr(Mpr {
            test_num: Some(7),
            head_num: Some(1),
            site_num: Some(0),
            test_flg: Some(0),
            parm_flg: Some(0),
            rtn_icnt: Some(1),
            rslt_cnt: Some(1),
            rtn_stat: Some(vec![1]),
            rtn_rslt: Some(vec![0.5]),
            ..Default::default()
        }))
        .unwrap();
        w.write(&Record::Ftr(Ftr {
            test_num: Some(9),
            head_num: Some(1),
            site_num: Some(1),
            test_flg: Some(0x80),
            ..Default::default()
        }))
        .unwrap();
        for site in 0..2u8 {
            w.write(&Record::Prr(Prr {
                head_num: Some(1),
                site_num: Some(site),
                part_flg: Some(0),
                num_test: Some(6),
                hard_bin: Some(1),
                soft_bin: Some(1),
                x_coord: Some(part as i16),
                y_coord: Some(site as i16),
                ..Default::default()
            }))
            .unwrap();
        }
    }
    w.write(&Record::Wrr(Wrr {
        head_num: Some(1),
        site_grp: Some(255),
        finish_t: Some(4),
        part_cnt: Some(8),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Hbr(Hbr {
        head_num: Some(255),
        site_num: Some(0),
        hbin_num: Some(1),
        hbin_cnt: Some(8),
        hbin_pf: Some(b'P'),
        hbin_nam: Some(Str::from("PASS")),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Tsr(Tsr {
        head_num: Some(255),
        site_num: Some(0),
        test_num: Some(100),
        exec_cnt: Some(8),
        ..Default::default()
    }))
    .unwrap();
    w.write(&Record::Mrr(Mrr {
        finish_t: Some(5),
        ..Default::default()
    }))
    .unwrap();
    w.into_inner()
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn read_all(path: &str, table: &str, on_error: OnError) -> Result<usize, String> {
    let mut o = ReadOptions::new(table);
    o.on_error = on_error;
    o.threads = 1;
    let r = TableReader::open(&[path.to_string()], o).map_err(|e| e.to_string())?;
    let mut n = 0;
    for b in r {
        n += b.map_err(|e| e.to_string())?.num_rows();
    }
    Ok(n)
}

const TABLES: &[&str] = &[
    "results", "parts", "tests", "bins", "wafers", "files", "records", "warnings", "ptr", "mpr",
    "ftr", "prr", "gdr", "mir",
];

#[test]
fn clean_file_reads_fully() {
    let dir = tempfile::tempdir().unwrap();
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let p = dir.path().join(format!("s-{}.stdf", order.name()));
        std::fs::write(&p, sample(order)).unwrap();
        let path = p.to_str().unwrap();
        // 4 touchdowns x 2 sites x 5 PTR + 4 MPR + 4 FTR
        assert_eq!(
            read_all(path, "results", OnError::Raise).unwrap(),
            4 * 2 * 5 + 4 + 4
        );
        assert_eq!(read_all(path, "parts", OnError::Raise).unwrap(), 8);
        assert_eq!(read_all(path, "tests", OnError::Raise).unwrap(), 7);
        assert_eq!(read_all(path, "warnings", OnError::Raise).unwrap(), 0);
    }
}

#[test]
fn mutated_and_truncated_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let base = sample(ByteOrder::Little);
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for case in 0..120 {
        let mut bytes = base.clone();
        match case % 3 {
            0 => {
                let cut = 6 + (rng.next() as usize) % (bytes.len() - 6);
                bytes.truncate(cut);
            }
            1 => {
                for _ in 0..1 + rng.next() % 8 {
                    let i = 6 + (rng.next() as usize) % (bytes.len() - 6);
                    bytes[i] = rng.next() as u8;
                }
            }
            _ => {
                let i = 6 + (rng.next() as usize) % (bytes.len() - 6);
                let n = (rng.next() as usize % 64).min(bytes.len() - i);
                for b in &mut bytes[i..i + n] {
                    *b = 0;
                }
            }
        }
        let p = dir.path().join(format!("m{case}.stdf"));
        std::fs::File::create(&p)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let path = p.to_str().unwrap();
        for t in TABLES {
            for mode in [OnError::Raise, OnError::Warn] {
                match read_all(path, t, mode) {
                    Ok(_) => {}
                    Err(e) => {
                        assert!(!e.contains("internal error"), "case {case} table {t}: {e}");
                        assert!(e.contains(path), "error must name the file: {e}");
                        assert!(e.contains("offset"), "error must give an offset: {e}");
                        assert_eq!(mode, OnError::Raise, "warn mode must not fail: {e}");
                    }
                }
            }
        }
    }
}
