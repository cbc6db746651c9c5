//! The lot semantics of the derived tables, on streams written in memory by the project's
//! writer and read back through `TableReader` as `parts`, `bins`, `wafers`, `results`, `tests`,
//! `files` and `warnings`. Every expected value is derived by hand from the STDF V4 spec and the
//! rules stdf-reference.md writes down (section numbers below), never from what the code prints:
//!
//! * retests (§3.10): the identity of a die is (wafer, X, Y) when the coordinates are valid, else
//!   a non-empty PART_ID, within one stream; `retest_index` counts the earlier parts of the same
//!   identity, `is_final` marks the last one, `superseded_by` names the next one;
//! * part pass/fail (§3.8): PART_FLG bit 3 (failed) unless bit 4 (no pass/fail indication) is
//!   set; then the HBIN_PF of the part's hard bin, then the SBIN_PF of its soft bin; the source
//!   is named in `pass_source`; a part without PRR has no pass/fail;
//! * bins (§3.11, §4.5): names and P/F per (type, number), the HEAD 255 summary record first;
//!   `n_parts` counts the PRRs of the bin (same head/site on per-site rows, all on summary rows),
//!   `n_parts_final` the final ones; bins seen only in PRRs get a row of their own;
//! * wafers (§4.6): parts, distinct dice, dice tested more than once, final passes and
//!   `yield_final` = final passes / dice; files (§4.1): `yield_final` = final passes / final parts;
//! * default data (§3.5): the first PTR of a test number sets its limits, scales and units; a
//!   later PTR that omits them (short record, no OPT_FLAG) or marks them "use the default"
//!   (OPT_FLAG bits 0, 4, 5) takes them; one that gives its own keeps them for itself only;
//!   bits 6/7 mean "no limit" for that record;
//! * multi-site (§3.2, §3.3): results belong to the part open on their (head, site); part
//!   indexes follow PIR order, whatever the PRR order;
//! * a stream without MRR (§3.1) is reported (`no_mrr`) and its file row is not complete (§4.1).

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use stdf_arrow::{ReadOptions, TableReader};
use stdf_core::records::*;
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Record, Str};

// ---------------------------------------------------------------------------------------
// writing streams

/// PRR coordinates of a packaged part (the spec's missing value).
const NO_XY: i16 = -32768;

struct Stream(Writer<Vec<u8>>);

impl Stream {
    /// FAR and MIR.
    fn new() -> Self {
        let mut w = Writer::new(Vec::new(), ByteOrder::Little);
        w.far().unwrap();
        w.write(&Record::Mir(Mir {
            setup_t: Some(1),
            start_t: Some(2),
            stat_num: Some(1),
            lot_id: Some(Str::from("LOT1")),
            part_typ: Some(Str::from("DEV")),
            ..Default::default()
        }))
        .unwrap();
        Stream(w)
    }

    fn rec(&mut self, r: Record) -> &mut Self {
        self.0.write(&r).unwrap();
        self
    }

    fn pir(&mut self, head: u8, site: u8) -> &mut Self {
        self.rec(Record::Pir(Pir {
            head_num: Some(head),
            site_num: Some(site),
            ..Default::default()
        }))
    }

    /// A PRR with bins, flags and coordinates (PART_ID when `id` is given).
    #[allow(clippy::too_many_arguments)]
    fn prr(
        &mut self,
        (head, site): (u8, u8),
        part_flg: u8,
        hard_bin: u16,
        soft_bin: u16,
        (x, y): (i16, i16),
        id: Option<&'static str>,
    ) -> &mut Self {
        self.rec(Record::Prr(Prr {
            head_num: Some(head),
            site_num: Some(site),
            part_flg: Some(part_flg),
            num_test: Some(1),
            hard_bin: Some(hard_bin),
            soft_bin: Some(soft_bin),
            x_coord: Some(x),
            y_coord: Some(y),
            test_t: Some(0),
            part_id: id.map(Str::from),
            ..Default::default()
        }))
    }

    /// A whole part on head 1 site 1: PIR, PRR.
    fn part(&mut self, part_flg: u8, bins: (u16, u16), xy: (i16, i16), id: Option<&'static str>) {
        self.pir(1, 1);
        self.prr((1, 1), part_flg, bins.0, bins.1, xy, id);
    }

    /// A PTR with a result and no default data (the record ends after ALARM_ID).
    fn ptr_short(&mut self, test: u32, (head, site): (u8, u8), flg: u8, result: f32) -> &mut Self {
        self.rec(Record::Ptr(Ptr {
            test_num: Some(test),
            head_num: Some(head),
            site_num: Some(site),
            test_flg: Some(flg),
            parm_flg: Some(0),
            result: Some(result),
            test_txt: Some(Str::from("")),
            alarm_id: Some(Str::from("")),
            ..Default::default()
        }))
    }

    fn wir(&mut self, head: u8, id: &'static str) -> &mut Self {
        self.rec(Record::Wir(Wir {
            head_num: Some(head),
            site_grp: Some(255),
            start_t: Some(3),
            wafer_id: Some(Str::from(id)),
            ..Default::default()
        }))
    }

    fn wrr(&mut self, head: u8, part_cnt: u32) -> &mut Self {
        self.rec(Record::Wrr(Wrr {
            head_num: Some(head),
            site_grp: Some(255),
            finish_t: Some(4),
            part_cnt: Some(part_cnt),
            ..Default::default()
        }))
    }

    /// HBR (`hard`) or SBR; `head` 255 = the all-sites summary.
    fn bin(
        &mut self,
        hard: bool,
        (head, site): (u8, u8),
        num: u16,
        cnt: u32,
        pf: u8,
        name: &'static str,
    ) -> &mut Self {
        let name = Some(Str::from(name));
        if hard {
            self.rec(Record::Hbr(Hbr {
                head_num: Some(head),
                site_num: Some(site),
                hbin_num: Some(num),
                hbin_cnt: Some(cnt),
                hbin_pf: Some(pf),
                hbin_nam: name,
                ..Default::default()
            }))
        } else {
            self.rec(Record::Sbr(Sbr {
                head_num: Some(head),
                site_num: Some(site),
                sbin_num: Some(num),
                sbin_cnt: Some(cnt),
                sbin_pf: Some(pf),
                sbin_nam: name,
                ..Default::default()
            }))
        }
    }

    fn mrr(&mut self) -> &mut Self {
        self.rec(Record::Mrr(Mrr {
            finish_t: Some(5),
            ..Default::default()
        }))
    }

    fn bytes(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.0, Writer::new(Vec::new(), ByteOrder::Little)).into_inner()
    }
}

// ---------------------------------------------------------------------------------------
// reading tables

/// The tables of one file written to a temporary folder.
struct File {
    _dir: tempfile::TempDir,
    path: String,
}

impl File {
    fn new(bytes: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lot.stdf");
        std::fs::write(&path, bytes).unwrap();
        File {
            path: path.to_string_lossy().into_owned(),
            _dir: dir,
        }
    }

    fn table(&self, name: &str) -> Table {
        let mut o = ReadOptions::new(name);
        o.threads = 1;
        let r = TableReader::open(std::slice::from_ref(&self.path), o).unwrap();
        Table(r.map(|b| b.unwrap()).collect())
    }
}

struct Table(Vec<RecordBatch>);

impl Table {
    fn len(&self) -> usize {
        self.0.iter().map(|b| b.num_rows()).sum()
    }

    fn col(&self, name: &str) -> Vec<&dyn Array> {
        self.0
            .iter()
            .map(|b| {
                b.column_by_name(name)
                    .unwrap_or_else(|| panic!("no column {name}"))
                    .as_ref()
            })
            .collect()
    }

    /// Integer column (any width) as i64.
    fn ints(&self, name: &str) -> Vec<Option<i64>> {
        let mut v = Vec::new();
        for c in self.col(name) {
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
                DataType::Int8 => put!(Int8Type),
                DataType::Int16 => put!(Int16Type),
                t => panic!("{name}: {t}"),
            }
        }
        v
    }

    fn floats(&self, name: &str) -> Vec<Option<f64>> {
        let mut v = Vec::new();
        for c in self.col(name) {
            match c.data_type() {
                DataType::Float32 => v.extend(
                    c.as_primitive::<Float32Type>()
                        .iter()
                        .map(|x| x.map(f64::from)),
                ),
                DataType::Float64 => v.extend(c.as_primitive::<Float64Type>().iter()),
                t => panic!("{name}: {t}"),
            }
        }
        v
    }

    /// String column (plain or dictionary).
    fn strs(&self, name: &str) -> Vec<Option<String>> {
        let mut v = Vec::new();
        for c in self.col(name) {
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

    fn bools(&self, name: &str) -> Vec<Option<bool>> {
        let mut v = Vec::new();
        for c in self.col(name) {
            v.extend(c.as_boolean().iter());
        }
        v
    }
}

impl Table {
    /// A column as one line: values separated by spaces, NULL as "-", floats as the f32 they
    /// were stored as (so 0.7 reads "0.7").
    fn show(&self, name: &str) -> String {
        let dt = self.col(name)[0].data_type().clone();
        let v: Vec<String> = match dt {
            DataType::Boolean => map_show(self.bools(name)),
            DataType::Float32 | DataType::Float64 => self
                .floats(name)
                .into_iter()
                .map(|x| x.map_or("-".into(), |x| (x as f32).to_string()))
                .collect(),
            DataType::Utf8 | DataType::Dictionary(..) => map_show(self.strs(name)),
            _ => map_show(self.ints(name)),
        };
        v.join(" ")
    }
}

fn map_show<T: ToString>(v: Vec<Option<T>>) -> Vec<String> {
    v.into_iter()
        .map(|x| x.map_or("-".into(), |x| x.to_string()))
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

// ---------------------------------------------------------------------------------------
// retests (§3.10)

/// Five PRRs on one wafer: die (0,0) tested three times (fail, fail, pass), (1,0) once (pass),
/// (1,1) once (fail). Only part 3 sets PART_FLG bit 1 (supersedes the same X/Y): the
/// unflagged re-probe (part 2) is a retest all the same.
#[test]
fn a_die_tested_again_on_its_wafer_is_a_retest_and_only_the_last_test_is_final() {
    let mut w = Stream::new();
    w.wir(1, "W1");
    w.part(0x08, (2, 2), (0, 0), None); // part 0
    w.part(0x00, (1, 1), (1, 0), None); // part 1
    w.part(0x08, (2, 2), (0, 0), None); // part 2: retest of part 0
    w.part(0x02, (1, 1), (0, 0), None); // part 3: retest of part 2 (flagged), passes
    w.part(0x08, (2, 2), (1, 1), None); // part 4
    w.wrr(1, 5).mrr();
    let f = File::new(&w.bytes());

    let p = f.table("parts");
    assert_eq!(p.ints("part_index"), (0..5).map(Some).collect::<Vec<_>>());
    assert_eq!(p.ints("retest_index"), [0, 0, 1, 2, 0].map(Some));
    assert_eq!(
        p.bools("is_final"),
        [false, true, false, true, true].map(Some)
    );
    assert_eq!(
        p.ints("superseded_by"),
        [Some(2), None, Some(3), None, None]
    );
    // PART_FLG bit 1 only says so; it changes neither the numbering nor the pass/fail (bit 3)
    assert_eq!(
        p.bools("supersedes_xy"),
        [false, false, false, true, false].map(Some)
    );
    assert_eq!(
        p.bools("passed"),
        [false, true, false, true, false].map(Some)
    );
    assert_eq!(p.ints("wafer_index"), [Some(0); 5]);
    assert_eq!(p.strs("wafer_id"), vec![s("W1"); 5]);

    // wafer: 5 parts, 3 dice, 1 die tested more than once; final passes: parts 1 and 3
    let wf = f.table("wafers");
    assert_eq!(wf.len(), 1);
    assert_eq!(wf.ints("n_parts"), [Some(5)]);
    assert_eq!(wf.ints("n_dice"), [Some(3)]);
    assert_eq!(wf.ints("n_retested"), [Some(1)]);
    assert_eq!(wf.ints("n_passed_final"), [Some(2)]);
    assert_eq!(wf.floats("yield_final"), [Some(2.0 / 3.0)]);
    assert_eq!(wf.ints("part_cnt"), [Some(5)]);

    // file: 5 parts, 3 final (1, 3, 4), 2 of them passed
    let fl = f.table("files");
    assert_eq!(fl.ints("n_parts"), [Some(5)]);
    assert_eq!(fl.ints("n_parts_final"), [Some(3)]);
    assert_eq!(fl.ints("n_passed_final"), [Some(2)]);
    assert_eq!(fl.floats("yield_final"), [Some(2.0 / 3.0)]);
}

/// Parts of a wafer without coordinates (X/Y -32 768, "missing"): each final one is a die of its
/// own, so the wafer's yield stays final passes / dice (a fraction), never above 1.
#[test]
fn parts_without_coordinates_on_a_wafer_count_as_dice() {
    let mut w = Stream::new();
    w.wir(1, "W1");
    w.part(0x00, (1, 1), (0, 0), None);
    w.part(0x08, (5, 5), (1, 0), None);
    w.part(0x00, (1, 1), (-32768, -32768), None);
    w.part(0x00, (1, 1), (-32768, -32768), None);
    w.wrr(1, 4).mrr();
    let f = File::new(&w.bytes());
    let wf = f.table("wafers");
    assert_eq!(wf.ints("n_parts"), [Some(4)]);
    assert_eq!(wf.ints("n_dice"), [Some(4)]);
    assert_eq!(wf.ints("n_passed_final"), [Some(3)]);
    assert_eq!(wf.floats("yield_final"), [Some(0.75)]);
}

/// Two heads probe two wafers at once; the same X/Y on the other wafer is another die, and so
/// is the same X/Y on the next wafer of the same head.
#[test]
fn the_same_xy_on_another_wafer_is_another_die() {
    let mut w = Stream::new();
    w.wir(1, "WA").wir(2, "WB");
    w.pir(1, 1).pir(2, 1);
    w.prr((1, 1), 0, 1, 1, (3, 4), None); // part 0, wafer 0
    w.prr((2, 1), 0, 1, 1, (3, 4), None); // part 1, wafer 1
    w.wrr(1, 1).wrr(2, 1);
    w.wir(1, "WC");
    w.part(0, (1, 1), (3, 4), None); // part 2, wafer 2
    w.wrr(1, 1).mrr();
    let f = File::new(&w.bytes());

    let p = f.table("parts");
    assert_eq!(p.ints("wafer_index"), [Some(0), Some(1), Some(2)]);
    assert_eq!(p.strs("wafer_id"), [s("WA"), s("WB"), s("WC")]);
    assert_eq!(p.ints("retest_index"), [Some(0); 3]);
    assert_eq!(p.bools("is_final"), [Some(true); 3]);
    let wf = f.table("wafers");
    assert_eq!(wf.ints("n_dice"), [Some(1); 3]);
    assert_eq!(wf.ints("n_retested"), [Some(0); 3]);
    assert_eq!(wf.floats("yield_final"), [Some(1.0); 3]);
}

/// Packaged parts (X/Y missing): the identity is PART_ID. Parts with neither coordinates nor a
/// PART_ID (an empty string is no PART_ID) have no identity and are each final. When the
/// coordinates are valid they are the identity, even if the PART_ID repeats.
#[test]
fn without_coordinates_the_part_id_identifies_the_part() {
    let mut w = Stream::new();
    w.part(0x08, (2, 2), (NO_XY, NO_XY), Some("P1")); // 0
    w.part(0x00, (1, 1), (NO_XY, NO_XY), Some("P2")); // 1
    w.part(0x00, (1, 1), (NO_XY, NO_XY), Some("P1")); // 2: retest of 0
    w.part(0x00, (1, 1), (NO_XY, NO_XY), None); // 3
    w.part(0x00, (1, 1), (NO_XY, NO_XY), Some("")); // 4
    w.part(0x01, (1, 1), (NO_XY, NO_XY), Some("P1")); // 5: retest of 2 (flagged)
    w.part(0x00, (1, 1), (7, 7), Some("Q")); // 6
    w.part(0x00, (1, 1), (8, 8), Some("Q")); // 7: another die
    w.mrr();
    let f = File::new(&w.bytes());

    let p = f.table("parts");
    assert_eq!(p.show("part_id"), "P1 P2 P1 - - P1 Q Q");
    assert_eq!(p.ints("x_coord")[..6], [None; 6]);
    assert_eq!(p.bools("supersedes_id")[5], Some(true));
    assert_eq!(p.ints("retest_index"), [0, 0, 1, 0, 0, 2, 0, 0].map(Some));
    assert_eq!(
        p.bools("is_final"),
        [false, true, false, true, true, true, true, true].map(Some)
    );
    assert_eq!(
        p.ints("superseded_by"),
        [Some(2), None, Some(5), None, None, None, None, None]
    );
    let fl = f.table("files");
    assert_eq!(fl.ints("n_parts"), [Some(8)]);
    assert_eq!(fl.ints("n_parts_final"), [Some(6)]);
    assert_eq!(fl.ints("n_passed_final"), [Some(6)]);
    assert_eq!(fl.floats("yield_final"), [Some(1.0)]);
}

/// Retests are counted within one stream: the same PART_ID in the next concatenated stream
/// (its own FAR..MRR) starts again at 0 and both are final.
#[test]
fn retests_do_not_cross_streams() {
    let mut a = Stream::new();
    a.part(0x08, (2, 2), (NO_XY, NO_XY), Some("P1"));
    a.mrr();
    let mut b = Stream::new();
    b.part(0x00, (1, 1), (NO_XY, NO_XY), Some("P1"));
    b.mrr();
    let mut bytes = a.bytes();
    bytes.extend(b.bytes());
    let f = File::new(&bytes);

    let p = f.table("parts");
    assert_eq!(p.ints("stream_index"), [Some(0), Some(1)]);
    assert_eq!(p.ints("part_index"), [Some(0), Some(1)]);
    assert_eq!(p.ints("retest_index"), [Some(0), Some(0)]);
    assert_eq!(p.bools("is_final"), [Some(true), Some(true)]);
    assert_eq!(p.ints("superseded_by"), [None, None]);
}

// ---------------------------------------------------------------------------------------
// part pass/fail (§3.8)

/// One part per source of `passed`. HBR: bin 1 P, bin 2 F, bin 4 with no P/F (space); SBR:
/// bin 7 F (only a per-site record: the lookup falls back to it), bin 8 P; hard bin 3 and soft
/// bin 9 have no bin record.
#[test]
fn passed_comes_from_part_flg_else_the_hard_bin_else_the_soft_bin() {
    let mut w = Stream::new();
    // 0: bit 3 clear, bit 4 clear -> passed by PART_FLG, even in a failing hard bin
    w.part(0x00, (2, 7), (0, 0), None);
    // 1: bit 3 set -> failed by PART_FLG, even in a passing hard bin
    w.part(0x08, (1, 8), (1, 0), None);
    // 2: bit 4 set: bit 3 (set here) is not valid; hard bin 1 is P
    w.part(0x18, (1, 7), (2, 0), None);
    // 3: bit 4 set, hard bin 2 is F (bit 3 clear here)
    w.part(0x10, (2, 8), (3, 0), None);
    // 4: bit 4 set, hard bin 3 has no HBR: soft bin 7 is F
    w.part(0x10, (3, 7), (4, 0), None);
    // 5: bit 4 set, hard bin 4 has no P/F: soft bin 8 is P
    w.part(0x10, (4, 8), (5, 0), None);
    // 6: bit 4 set, no P/F anywhere
    w.part(0x10, (3, 9), (6, 0), None);
    // 7: bit 4 set, hard bin 3 without HBR, no soft bin (65535)
    w.part(0x10, (3, 65535), (7, 0), None);
    // 8: a PIR whose part never gets its PRR (the next PIR on the same site replaces it)
    w.pir(1, 1);
    // 9
    w.part(0x00, (1, 8), (9, 0), None);
    w.bin(true, (255, 0), 1, 3, b'P', "GOOD");
    w.bin(true, (255, 0), 2, 2, b'F', "BAD");
    w.bin(true, (255, 0), 4, 1, b' ', "ODD");
    w.bin(false, (1, 1), 7, 3, b'F', "S_BAD");
    w.bin(false, (255, 0), 8, 3, b'P', "S_GOOD");
    w.mrr();
    let f = File::new(&w.bytes());

    let p = f.table("parts");
    assert_eq!(p.len(), 10);
    let (pass, src) = (p.show("passed"), p.show("pass_source"));
    assert_eq!(pass, "true false true false false true - - - true");
    assert_eq!(
        src,
        "part_flg part_flg hbin_pf hbin_pf sbin_pf sbin_pf - - - part_flg"
    );
    assert_eq!(p.show("hbin_pf"), "F P P F - - - - - P");
    assert_eq!(p.show("sbin_pf"), "F P F P F P - - - P");
    assert_eq!(p.show("hbin_name"), "BAD GOOD GOOD BAD - ODD - - - GOOD");
    assert_eq!(
        p.show("sbin_name"),
        "S_BAD S_GOOD S_BAD S_GOOD S_BAD S_GOOD - - - S_GOOD"
    );
    assert_eq!(p.ints("soft_bin")[7], None);
    let complete = p.bools("complete");
    assert_eq!(complete[8], Some(false));
    assert_eq!(complete.iter().filter(|c| **c == Some(true)).count(), 9);
    assert_eq!(p.ints("hard_bin")[8], None);
}

/// PART_FLG is the part's verdict: a failing test record (TEST_FLG bit 7) in a part whose PRR
/// says "passed" is counted in `n_failed_results` but does not make the part fail; the
/// project documents no fallback from test results to the part's pass/fail.
#[test]
fn failing_tests_do_not_override_part_flg() {
    let mut w = Stream::new();
    w.pir(1, 1);
    w.ptr_short(10, (1, 1), 0x00, 1.0);
    w.ptr_short(11, (1, 1), 0x80, 2.0); // failed
    w.ptr_short(12, (1, 1), 0xC0, 3.0); // bit 6: no pass/fail indication -> not a failure
    w.ptr_short(13, (1, 1), 0x90, 4.0); // bit 4: not executed -> not a failure
    w.ptr_short(14, (1, 1), 0x80, 5.0); // failed
    w.prr((1, 1), 0x00, 1, 1, (0, 0), None);
    w.mrr();
    let f = File::new(&w.bytes());
    let p = f.table("parts");
    assert_eq!(p.bools("passed"), [Some(true)]);
    assert_eq!(p.strs("pass_source"), [s("part_flg")]);
    assert_eq!(p.ints("n_results"), [Some(5)]);
    assert_eq!(p.ints("n_failed_results"), [Some(2)]);
    assert_eq!(p.ints("first_fail_test_num"), [Some(11)]);
    let r = f.table("results");
    assert_eq!(
        r.bools("passed"),
        [Some(true), Some(false), None, None, Some(false)]
    );
    assert_eq!(r.show("status"), "pass fail unknown not_executed fail");
}

// ---------------------------------------------------------------------------------------
// bins (§3.4, §3.11, §4.5)

/// A row of the bins table: (type, number, (head, site) or None for a summary, name, P/F,
/// bin_cnt, (n_parts, n_parts_final), has a record).
type BinRow = (
    String,
    i64,
    Option<(i64, i64)>,
    Option<String>,
    Option<String>,
    Option<i64>,
    (i64, i64),
    bool,
);

fn bin_rows(t: &Table) -> Vec<BinRow> {
    let (ty, num, sum) = (t.strs("bin_type"), t.ints("bin_num"), t.bools("is_summary"));
    let (h, si, name) = (t.ints("head_num"), t.ints("site_num"), t.strs("bin_name"));
    let (pf, cnt, n) = (t.strs("bin_pf"), t.ints("bin_cnt"), t.ints("n_parts"));
    let (nf, rec) = (t.ints("n_parts_final"), t.ints("record_index"));
    (0..t.len())
        .map(|i| {
            // a per-site row names its head and site, a summary row (or a PRR-only row) neither
            let hs = match (sum[i], h[i], si[i]) {
                (Some(false), Some(h), Some(s)) => Some((h, s)),
                (Some(true) | None, None, None) => None,
                x => panic!("row {i}: is_summary, head, site = {x:?}"),
            };
            let (ty, num, counts) = (
                ty[i].clone().unwrap(),
                num[i].unwrap(),
                (n[i].unwrap(), nf[i].unwrap()),
            );
            (
                ty,
                num,
                hs,
                name[i].clone(),
                pf[i].clone(),
                cnt[i],
                counts,
                rec[i].is_some(),
            )
        })
        .collect()
}

/// An expected bins row with a record.
fn bin(
    ty: &str,
    num: i64,
    hs: Option<(i64, i64)>,
    name: &str,
    pf: &str,
    cnt: i64,
    n: (i64, i64),
) -> BinRow {
    (ty.into(), num, hs, s(name), s(pf), Some(cnt), n, true)
}

/// Two sites; die (0,0) fails on site 1 (hard 2 / soft 20) and passes on its re-probe on site 2
/// (hard 1 / soft 10). Per-site HBRs come before the HEAD 255 summaries and carry other names:
/// the parts take the summary's. Hard bin 3 and soft bin 30 appear only in a PRR; hard bin 5 is
/// listed with count 0.
#[test]
fn bins_count_their_parts_per_site_and_in_total_and_prefer_the_summary_names() {
    let mut w = Stream::new();
    w.pir(1, 1).prr((1, 1), 0x08, 2, 20, (0, 0), None); // 0
    w.pir(1, 2).prr((1, 2), 0x00, 1, 10, (1, 0), None); // 1
    w.pir(1, 1).prr((1, 1), 0x00, 1, 10, (2, 0), None); // 2
    w.pir(1, 2).prr((1, 2), 0x00, 1, 10, (0, 0), None); // 3: retest of 0
    w.pir(1, 1).prr((1, 1), 0x08, 3, 30, (3, 0), None); // 4
    w.bin(true, (1, 1), 1, 1, b'P', "PASS_S1");
    w.bin(true, (1, 1), 2, 1, b'F', "FAIL_S1");
    w.bin(true, (1, 2), 1, 2, b'P', "PASS_S2");
    w.bin(true, (255, 0), 1, 3, b'P', "PASS");
    w.bin(true, (255, 0), 2, 1, b'F', "OPEN");
    w.bin(true, (255, 0), 5, 0, b'F', "UNUSED");
    w.bin(false, (255, 0), 10, 3, b'P', "S_PASS");
    w.bin(false, (255, 0), 20, 1, b'F', "S_OPEN");
    w.mrr();
    let f = File::new(&w.bytes());

    let p = f.table("parts");
    assert_eq!(
        p.strs("hbin_name"),
        [s("OPEN"), s("PASS"), s("PASS"), s("PASS"), None]
    );
    assert_eq!(
        p.strs("sbin_name"),
        [s("S_OPEN"), s("S_PASS"), s("S_PASS"), s("S_PASS"), None]
    );

    let b = bin_rows(&f.table("bins"));
    let expected = [
        // per-site rows: parts of that bin on that site; part 0 is not final
        bin("H", 1, Some((1, 1)), "PASS_S1", "P", 1, (1, 1)),
        bin("H", 2, Some((1, 1)), "FAIL_S1", "F", 1, (1, 0)),
        bin("H", 1, Some((1, 2)), "PASS_S2", "P", 2, (2, 2)),
        // summaries: every part of the bin
        bin("H", 1, None, "PASS", "P", 3, (3, 3)),
        bin("H", 2, None, "OPEN", "F", 1, (1, 0)),
        bin("H", 5, None, "UNUSED", "F", 0, (0, 0)),
        bin("S", 10, None, "S_PASS", "P", 3, (3, 3)),
        bin("S", 20, None, "S_OPEN", "F", 1, (1, 0)),
        // bins seen only in PRRs (part 4): no record, no name, no count, no head/site
        ("H".into(), 3, None, None, None, None, (1, 1), false),
        ("S".into(), 30, None, None, None, None, (1, 1), false),
    ];
    assert_eq!(b, expected);
}

/// The summary is preferred whichever comes first; where it lacks a field (no name, P/F a
/// space), that field falls back to a per-site record (§3.11: "preferring the summary record
/// and falling back to any per-site record"). Hard bin 1: a summary with neither name nor P/F
/// and a per-site record with both, in both orders.
#[test]
fn a_summary_without_name_or_pf_falls_back_to_a_per_site_record_in_either_order() {
    for summary_first in [false, true] {
        let mut w = Stream::new();
        w.part(0x10, (1, 1), (0, 0), None);
        if summary_first {
            w.bin(true, (255, 0), 1, 1, b' ', "");
            w.bin(true, (1, 1), 1, 1, b'P', "SITE_NAME");
        } else {
            w.bin(true, (1, 1), 1, 1, b'P', "SITE_NAME");
            w.bin(true, (255, 0), 1, 1, b' ', "");
        }
        w.mrr();
        let f = File::new(&w.bytes());
        let p = f.table("parts");
        let got = (p.show("hbin_name"), p.show("hbin_pf"), p.show("passed"));
        let want = ("SITE_NAME".into(), "P".into(), "true".into());
        assert_eq!(got, want, "summary first: {summary_first}");
    }
}

/// A crashed file without HBR/SBR: every bin is a PRR-only row, and its P/F is inferred from
/// the PART_FLG of its parts (§3.11: "files without HBR/SBR (crashed) get P/F inferred from
/// PART_FLG of parts in that bin").
#[test]

fn without_bin_records_bin_pf_is_inferred_from_part_flg() {
    let mut w = Stream::new();
    w.part(0x00, (1, 1), (0, 0), None);
    w.part(0x00, (1, 1), (1, 0), None);
    w.part(0x08, (6, 60), (2, 0), None);
    w.mrr();
    let f = File::new(&w.bytes());
    let b = f.table("bins");
    let pf: Vec<_> = b
        .strs("bin_type")
        .into_iter()
        .zip(b.ints("bin_num"))
        .zip(b.strs("bin_pf"))
        .map(|((t, n), pf)| (t.unwrap(), n.unwrap(), pf))
        .collect();
    let mut pf = pf;
    pf.sort();
    assert_eq!(
        pf,
        [
            ("H".to_string(), 1, s("P")),
            ("H".to_string(), 6, s("F")),
            ("S".to_string(), 1, s("P")),
            ("S".to_string(), 60, s("F")),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// default data (§3.5, §3.6)

/// A PTR with default data: OPT_FLAG, scales, limits, units (then nothing more).
fn ptr_full(
    test: u32,
    (head, site): (u8, u8),
    result: f32,
    opt_flag: u8,
    scal: i8,
    (lo, hi): (f32, f32),
    units: &'static str,
) -> Record<'static> {
    Record::Ptr(Ptr {
        test_num: Some(test),
        head_num: Some(head),
        site_num: Some(site),
        test_flg: Some(0),
        parm_flg: Some(0),
        result: Some(result),
        test_txt: Some(Str::from("")),
        alarm_id: Some(Str::from("")),
        opt_flag: Some(opt_flag),
        res_scal: Some(scal),
        llm_scal: Some(scal),
        hlm_scal: Some(scal),
        lo_limit: Some(lo),
        hi_limit: Some(hi),
        units: Some(Str::from(units)),
        ..Default::default()
    })
}

/// The results of test 100 across seven parts, each PTR saying something else about its default
/// data; test 200 has defaults of its own. OPT_FLAG bit 1 is reserved and written as 1 (0x02).
#[test]
fn later_ptrs_take_the_first_ptrs_limits_scales_and_units_unless_they_give_their_own() {
    let mut w = Stream::new();
    let part = |w: &mut Stream, r: Record<'static>| {
        w.pir(1, 1).rec(r);
        w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    };
    // 0: the first PTR of test 100 sets its defaults: 0.5..1.5 V, scale 3 (mV)
    part(&mut w, ptr_full(100, (1, 1), 1.0, 0x02, 3, (0.5, 1.5), "V"));
    // 1: the record ends after ALARM_ID (no OPT_FLAG): everything from the defaults
    w.pir(1, 1).ptr_short(100, (1, 1), 0, 1.1);
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    // 2: OPT_FLAG bits 0, 4, 5 "invalid, use the default": the stored 6 / 9.0 / 10.0 are ignored
    part(&mut w, ptr_full(100, (1, 1), 1.2, 0x33, 6, (9.0, 10.0), ""));
    // 3: its own limits, scales and units: for this record only
    part(&mut w, ptr_full(100, (1, 1), 1.3, 0x02, 6, (0.7, 1.2), "A"));
    // 4: omitted again: the first PTR's defaults, not record 3's
    w.pir(1, 1).ptr_short(100, (1, 1), 0, 1.4);
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    // 5: bits 6 and 7: no low and no high limit for this record; empty units -> the default
    part(&mut w, ptr_full(100, (1, 1), 1.5, 0xC2, 3, (0.0, 0.0), ""));
    // 6: test 200 has its own defaults, and its later record takes them, not test 100's
    part(
        &mut w,
        ptr_full(200, (1, 1), 15.0, 0x02, 0, (10.0, 20.0), "Hz"),
    );
    w.pir(1, 1).ptr_short(200, (1, 1), 0, 16.0);
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    w.mrr();
    let f = File::new(&w.bytes());

    let r = f.table("results");
    assert_eq!(
        r.ints("test_num"),
        [100, 100, 100, 100, 100, 100, 200, 200].map(Some)
    );
    assert_eq!(r.ints("part_index"), (0..8).map(Some).collect::<Vec<_>>());
    assert_eq!(r.show("lo_limit"), "0.5 0.5 0.5 0.7 0.5 - 10 10");
    assert_eq!(r.show("hi_limit"), "1.5 1.5 1.5 1.2 1.5 - 20 20");
    assert_eq!(r.show("res_scal"), "3 3 3 6 3 3 0 0");
    assert_eq!(r.show("units"), "V V V A V V Hz Hz");
    assert_eq!(
        r.bools("limits_overridden")[..5],
        [false, false, false, true, false].map(Some)
    );
    assert_eq!(r.show("result"), "1 1.1 1.2 1.3 1.4 1.5 15 16");

    // the catalog keeps the first PTR's defaults
    let t = f.table("tests");
    assert_eq!(t.ints("test_num"), [Some(100), Some(200)]);
    assert_eq!(t.floats("lo_limit"), [Some(0.5f32 as f64), Some(10.0)]);
    assert_eq!(t.floats("hi_limit"), [Some(1.5f32 as f64), Some(20.0)]);
    assert_eq!(t.strs("units"), [s("V"), s("Hz")]);
    assert_eq!(t.strs("display_units"), [s("mV"), s("Hz")]);
    assert_eq!(t.ints("res_scal"), [Some(3), Some(0)]);
    assert_eq!(t.ints("llm_scal"), [Some(3), Some(0)]);
    assert_eq!(t.bools("limits_overridden"), [Some(true), Some(false)]);
}

/// When the first PTR of a test already says "use the default" (bits 4, 5) there is nothing to
/// fall back on: no limits (§3.5 edge cases), and a later PTR with its own limits does not
/// become the default either.
#[test]
fn a_first_ptr_that_says_use_the_default_gives_no_limits() {
    let mut w = Stream::new();
    w.pir(1, 1)
        .rec(ptr_full(300, (1, 1), 1.0, 0x32, 0, (1.0, 2.0), "V"));
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    w.pir(1, 1)
        .rec(ptr_full(300, (1, 1), 1.0, 0x02, 0, (3.0, 4.0), "V"));
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    w.pir(1, 1).ptr_short(300, (1, 1), 0, 1.0);
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    w.mrr();
    let f = File::new(&w.bytes());
    let r = f.table("results");
    assert_eq!(r.floats("lo_limit"), [None, Some(3.0), None]);
    assert_eq!(r.floats("hi_limit"), [None, Some(4.0), None]);
    let t = f.table("tests");
    assert_eq!(t.floats("lo_limit"), [None]);
    assert_eq!(t.floats("hi_limit"), [None]);
}

/// Defaults are keyed by test number, not by site (§3.3): the first PTR of test 100 comes from
/// site 2; site 1's record omits them and takes site 2's. A defaults-only PTR (TEST_FLG bit 4,
/// PARM_FLG 0) outside any part feeds the catalog and gives no result row (§3.7).
#[test]
fn defaults_are_per_test_not_per_site_and_may_come_from_a_defaults_only_ptr() {
    let mut w = Stream::new();
    w.rec(Record::Ptr(Ptr {
        test_flg: Some(0x10),
        result: Some(0.0),
        ..match ptr_full(400, (1, 1), 0.0, 0x02, 9, (1e-9, 5e-9), "s") {
            Record::Ptr(p) => p,
            _ => unreachable!(),
        }
    }));
    w.pir(1, 1).pir(1, 2);
    w.rec(ptr_full(100, (1, 2), 1.0, 0x02, 3, (0.5, 1.5), "V"));
    w.ptr_short(100, (1, 1), 0, 0.9);
    w.ptr_short(400, (1, 1), 0, 2e-9);
    w.prr((1, 1), 0, 1, 1, (NO_XY, NO_XY), None);
    w.prr((1, 2), 0, 1, 1, (NO_XY, NO_XY), None);
    w.mrr();
    let f = File::new(&w.bytes());
    let r = f.table("results");
    assert_eq!(r.ints("test_num"), [Some(100), Some(100), Some(400)]);
    assert_eq!(r.ints("site_num"), [Some(2), Some(1), Some(1)]);
    assert_eq!(r.ints("part_index"), [Some(1), Some(0), Some(0)]);
    assert_eq!(
        r.floats("lo_limit"),
        [Some(0.5), Some(0.5), Some(1e-9f32 as f64)]
    );
    assert_eq!(
        r.floats("hi_limit"),
        [Some(1.5), Some(1.5), Some(5e-9f32 as f64)]
    );
    assert_eq!(r.strs("units"), [s("V"), s("V"), s("s")]);
    assert_eq!(r.ints("res_scal"), [Some(3), Some(3), Some(9)]);
    let p = f.table("parts");
    assert_eq!(p.ints("part_index"), [Some(0), Some(1)]);
    assert_eq!(p.ints("n_results"), [Some(2), Some(1)]);
    assert_eq!(p.bools("has_pir"), [Some(true), Some(true)]);
    let t = f.table("tests");
    assert_eq!(t.ints("test_num"), [Some(400), Some(100)]);
    assert_eq!(t.strs("display_units"), [s("ns"), s("mV")]);
}

// ---------------------------------------------------------------------------------------
// multi-site (§3.2, §3.3)

/// Three sites open at once (head 1 sites 1 and 2, head 2 site 1), results interleaved, PRRs in
/// completion order; site 2 finishes first and starts a second part while site 1 is still open.
#[test]
fn interleaved_sites_keep_each_result_with_the_part_open_on_its_head_and_site() {
    let mut w = Stream::new();
    w.pir(1, 1).pir(1, 2).pir(2, 1); // parts 0, 1, 2
    w.ptr_short(10, (1, 2), 0x00, 12.0);
    w.ptr_short(10, (1, 1), 0x00, 11.0);
    w.ptr_short(10, (2, 1), 0x00, 21.0);
    w.ptr_short(11, (1, 1), 0x80, 11.5);
    w.prr((1, 2), 0x00, 1, 1, (NO_XY, NO_XY), Some("B")); // closes part 1
    w.pir(1, 2); // part 3
    w.ptr_short(10, (1, 2), 0x00, 12.5);
    w.prr((1, 1), 0x08, 2, 2, (NO_XY, NO_XY), Some("A")); // closes part 0
    w.ptr_short(11, (2, 1), 0x00, 21.5);
    w.prr((1, 2), 0x00, 4, 4, (NO_XY, NO_XY), Some("D")); // closes part 3
    w.prr((2, 1), 0x00, 3, 3, (NO_XY, NO_XY), Some("C")); // closes part 2
    w.mrr();
    let f = File::new(&w.bytes());

    let r = f.table("results");
    assert_eq!(
        r.floats("result"),
        [12.0, 11.0, 21.0, 11.5, 12.5, 21.5].map(Some)
    );
    assert_eq!(r.ints("part_index"), [1, 0, 2, 0, 3, 2].map(Some));
    assert_eq!(r.ints("head_num"), [1, 1, 2, 1, 1, 2].map(Some));
    assert_eq!(r.ints("site_num"), [2, 1, 1, 1, 2, 1].map(Some));

    let p = f.table("parts");
    assert_eq!(p.ints("part_index"), [0, 1, 2, 3].map(Some));
    assert_eq!(p.ints("head_num"), [1, 1, 2, 1].map(Some));
    assert_eq!(p.ints("site_num"), [1, 2, 1, 2].map(Some));
    assert_eq!(p.strs("part_id"), [s("A"), s("B"), s("C"), s("D")]);
    assert_eq!(p.ints("hard_bin"), [2, 1, 3, 4].map(Some));
    assert_eq!(
        p.bools("passed"),
        [Some(false), Some(true), Some(true), Some(true)]
    );
    assert_eq!(p.ints("n_results"), [2, 1, 2, 1].map(Some));
    assert_eq!(p.ints("n_failed_results"), [1, 0, 0, 0].map(Some));
    assert_eq!(p.ints("first_fail_test_num"), [Some(11), None, None, None]);
    assert_eq!(p.bools("complete"), [Some(true); 4]);
    // PIR order, not PRR order: the PRR of part 0 is the third PRR
    let prr_rec = p.ints("prr_record_index");
    assert!(prr_rec[1] < prr_rec[0] && prr_rec[0] < prr_rec[3] && prr_rec[3] < prr_rec[2]);
    let fl = f.table("files");
    assert_eq!(fl.ints("n_sites"), [Some(3)]);
    assert_eq!(fl.ints("n_results"), [Some(6)]);
    assert_eq!(fl.bools("complete"), [Some(true)]);
}

// ---------------------------------------------------------------------------------------
// end of stream (§3.1, §4.1)

/// Codes of the warnings table.
fn codes(f: &File) -> Vec<String> {
    f.table("warnings")
        .strs("code")
        .into_iter()
        .flatten()
        .collect()
}

#[test]
fn a_stream_without_mrr_is_reported_and_not_complete() {
    let mut w = Stream::new();
    w.part(0x00, (1, 1), (0, 0), None);
    let f = File::new(&w.bytes());
    assert_eq!(codes(&f), ["no_mrr"]);
    let fl = f.table("files");
    assert_eq!(fl.bools("complete"), [Some(false)]);
    assert_eq!(fl.ints("n_warnings"), [Some(1)]);
    // the part itself is whole
    let p = f.table("parts");
    assert_eq!(p.bools("complete"), [Some(true)]);
    assert_eq!(p.bools("passed"), [Some(true)]);
    assert_eq!(fl.ints("n_parts_final"), [Some(1)]);

    // the same stream with its MRR: complete, nothing to report
    w = Stream::new();
    w.part(0x00, (1, 1), (0, 0), None);
    w.mrr();
    let f = File::new(&w.bytes());
    assert!(codes(&f).is_empty());
    assert_eq!(f.table("files").bools("complete"), [Some(true)]);
}

/// A crash: the last part has its PIR and results but no PRR, and there is no MRR. The part is
/// incomplete (no bins, no pass/fail) and both facts are reported.
#[test]
fn a_part_open_at_the_end_is_incomplete_and_reported() {
    let mut w = Stream::new();
    w.part(0x00, (1, 1), (0, 0), None);
    w.pir(1, 1).ptr_short(10, (1, 1), 0, 1.0);
    let f = File::new(&w.bytes());
    let mut c = codes(&f);
    c.sort();
    assert_eq!(c, ["no_mrr", "part_without_prr"]);
    let p = f.table("parts");
    assert_eq!(p.bools("complete"), [Some(true), Some(false)]);
    assert_eq!(p.bools("has_pir"), [Some(true), Some(true)]);
    assert_eq!(p.bools("passed"), [Some(true), None]);
    assert_eq!(p.strs("pass_source"), [s("part_flg"), None]);
    assert_eq!(p.ints("hard_bin"), [Some(1), None]);
    assert_eq!(p.ints("n_results"), [Some(0), Some(1)]);
    let fl = f.table("files");
    assert_eq!(fl.bools("complete"), [Some(false)]);
    assert_eq!(fl.ints("n_parts"), [Some(2)]);
    assert_eq!(fl.ints("n_parts_final"), [Some(1)]);
    assert_eq!(fl.ints("n_warnings"), [Some(2)]);

    // with its MRR the stream is still incomplete: a part is open at the end (§4.1)
    w = Stream::new();
    w.pir(1, 1);
    w.mrr();
    let f = File::new(&w.bytes());
    assert_eq!(codes(&f), ["part_without_prr"]);
    assert_eq!(f.table("files").bools("complete"), [Some(false)]);
}
