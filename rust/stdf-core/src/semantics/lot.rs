//! The lot tables' rules, as plain structs (stdf-reference.md §3.8-§3.11, §4.1-§4.6): what a
//! stream says about its parts, bins, wafers, tests and itself, and what is derived from it at
//! the end of the stream (retests and `is_final`, the `passed` / `pass_source` rule, bin names
//! and P/F, bin counts, wafer dice and yield, the stream's counts).
//!
//! [`Lot`] is a [`Sink`]: drive it with a [`Scanner`](crate::scan::Scanner), then read its
//! `parts`, `bins`, `wafers`, `tests`, `streams` and `file`. Columns are stdf-arrow's business.

use std::collections::{HashMap, HashSet};

use super::{clean, Context, IntMap, OpenPart, TestDef, TestType, Warning};
use crate::records::flags;
use crate::records::{
    Atr, Far, Ftr, Hbr, Mir, Mpr, Mrr, Pcr, Pmr, Prr, Ptr, Rdr, Sbr, StrRec, Tsr, Vur, Wcr, Wir,
    Wrr,
};
use crate::scan::{Flow, RecCtx, ScanState, Scanner, Sink};
use crate::{Cur, RawRecord};

/// The MIR's text fields, in spec order: the `stdf_files` columns of the same names.
pub const MIR_TEXT: &[&str] = &[
    "lot_id", "part_typ", "node_nam", "tstr_typ", "job_nam", "job_rev", "sblot_id", "oper_nam",
    "exec_typ", "exec_ver", "test_cod", "tst_temp", "user_txt", "aux_file", "pkg_typ", "famly_id",
    "date_cod", "facil_id", "floor_id", "proc_id", "oper_frq", "spec_nam", "spec_ver", "flow_id",
    "setup_id", "dsgn_rev", "eng_id", "rom_cod", "serl_num", "supr_nam",
];
/// Index of `MIR_TEXT[0]` among the MIR's fields.
const MIR_TEXT_FIRST_FIELD: usize = 8;

/// Bin type of an HBR (hard bin).
pub const HARD: &str = "H";
/// Bin type of an SBR (soft bin).
pub const SOFT: &str = "S";

/// One part (PIR ... PRR): a row of `stdf_parts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Part {
    /// Stream of the file the part is in.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`].
    pub ctx: usize,
    /// Ordinal of the part in the file (§3.2).
    pub part_index: u32,
    /// Wafer open on the part's head, if any.
    pub wafer_index: Option<u16>,
    /// HEAD_NUM.
    pub head: u8,
    /// SITE_NUM.
    pub site: u8,
    /// PRR.PART_ID (empty: None).
    pub part_id: Option<String>,
    /// PRR.PART_TXT.
    pub part_txt: Option<String>,
    /// PRR.X_COORD (-32768: None).
    pub x: Option<i16>,
    /// PRR.Y_COORD (-32768: None).
    pub y: Option<i16>,
    /// PRR.HARD_BIN.
    pub hard_bin: Option<u16>,
    /// PRR.SOFT_BIN (65535: None).
    pub soft_bin: Option<u16>,
    /// PRR.PART_FLG.
    pub part_flg: Option<u8>,
    /// PRR.NUM_TEST.
    pub num_test: Option<u16>,
    /// PRR.TEST_T in ms (0: None).
    pub test_t: Option<u32>,
    /// PRR.PART_FIX (empty: None).
    pub part_fix: Option<Vec<u8>>,
    /// A PRR closed the part.
    pub complete: bool,
    /// A PIR opened the part.
    pub has_pir: bool,
    /// Record index of the PIR.
    pub pir_rec: Option<u64>,
    /// Record index of the PRR.
    pub prr_rec: Option<u64>,
    /// Test records attached to the part.
    pub n_results: u32,
    /// Attached test records that failed.
    pub n_failed: u32,
    /// TEST_NUM of the first failing attached record.
    pub first_fail: Option<u32>,
    /// Catalog name of `first_fail`.
    pub first_fail_name: Option<String>,
    /// HBR name of the hard bin (§3.11).
    pub hbin_name: Option<String>,
    /// SBR name of the soft bin.
    pub sbin_name: Option<String>,
    /// HBR P/F of the hard bin.
    pub hbin_pf: Option<String>,
    /// SBR P/F of the soft bin.
    pub sbin_pf: Option<String>,
    /// Part pass/fail (§3.8): PART_FLG, else the bins' P/F; None for an incomplete part.
    pub passed: Option<bool>,
    /// Where `passed` came from: "part_flg", "hbin_pf", "sbin_pf".
    pub pass_source: Option<&'static str>,
    /// 0 for the first test of this die (or part id) in the stream, then 1, 2, ... (§3.10).
    pub retest_index: u16,
    /// No later part of the stream has the same identity.
    pub is_final: bool,
    /// `part_index` of the next test of the same die.
    pub superseded_by: Option<u32>,
}

impl Part {
    /// PART_FLG bit `mask` set (None without a PRR).
    pub fn flag(&self, mask: u8) -> Option<bool> {
        self.part_flg.map(|f| f & mask != 0)
    }
}

/// One HBR/SBR, or a bin seen only in PRRs: a row of `stdf_bins`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bin {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`].
    pub ctx: usize,
    /// [`HARD`] or [`SOFT`].
    pub bin_type: &'static str,
    /// Bin number.
    pub bin_num: u16,
    /// Bin name.
    pub bin_name: Option<String>,
    /// "P", "F" or None.
    pub bin_pf: Option<String>,
    /// A summary record (HEAD_NUM 255); None for a bin seen only in PRRs.
    pub is_summary: Option<bool>,
    /// HEAD_NUM of a per-site record.
    pub head: Option<u8>,
    /// SITE_NUM of a per-site record.
    pub site: Option<u8>,
    /// HBIN_CNT / SBIN_CNT.
    pub bin_cnt: Option<u32>,
    /// Complete parts in this bin (of this site for a per-site record).
    pub n_parts: u32,
    /// Of them, the final ones.
    pub n_parts_final: u32,
    /// Record index of the HBR/SBR.
    pub record_index: Option<u64>,
}

/// One wafer (WIR ... WRR): a row of `stdf_wafers` (with the stream's [`WaferConfig`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wafer {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`].
    pub ctx: usize,
    /// Ordinal of the wafer in the file.
    pub wafer_index: u16,
    /// HEAD_NUM.
    pub head: u8,
    /// SITE_GRP (255: None).
    pub site_grp: Option<u8>,
    /// WRR.WAFER_ID, else WIR.WAFER_ID.
    pub wafer_id: Option<String>,
    /// WRR.FABWF_ID.
    pub fabwf_id: Option<String>,
    /// WRR.FRAME_ID.
    pub frame_id: Option<String>,
    /// WRR.MASK_ID.
    pub mask_id: Option<String>,
    /// WRR.USR_DESC.
    pub usr_desc: Option<String>,
    /// WRR.EXC_DESC.
    pub exc_desc: Option<String>,
    /// WIR.START_T (0: None).
    pub start_time: Option<i64>,
    /// WRR.FINISH_T (0: None).
    pub finish_time: Option<i64>,
    /// The WRR's counts.
    pub counts: PartCounts,
    /// A WRR closed the wafer.
    pub complete: bool,
    /// Complete parts on the wafer.
    pub n_parts: u32,
    /// Dice: distinct (x, y), plus final parts without coordinates.
    pub n_dice: u32,
    /// Dice tested more than once.
    pub n_retested: u32,
    /// Final parts that passed.
    pub n_passed_final: u32,
}

impl Wafer {
    /// Final yield: passed final parts over dice (None without dice).
    pub fn yield_final(&self) -> Option<f64> {
        (self.n_dice > 0).then(|| self.n_passed_final as f64 / self.n_dice as f64)
    }
}

/// The WCR of a stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaferConfig {
    /// WAFR_SIZ (0: None).
    pub wafr_siz: Option<f32>,
    /// DIE_HT (0: None).
    pub die_ht: Option<f32>,
    /// DIE_WID (0: None).
    pub die_wid: Option<f32>,
    /// WF_UNITS as "in", "cm", "mm", "mil".
    pub wf_units: Option<String>,
    /// WF_FLAT.
    pub wf_flat: Option<String>,
    /// POS_X.
    pub pos_x: Option<String>,
    /// POS_Y.
    pub pos_y: Option<String>,
    /// CENTER_X (-32768: None).
    pub center_x: Option<i16>,
    /// CENTER_Y (-32768: None).
    pub center_y: Option<i16>,
}

/// PART_CNT, RTST_CNT, ABRT_CNT, GOOD_CNT, FUNC_CNT of a PCR or WRR (sentinel: None).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PartCounts {
    /// Parts tested.
    pub part_cnt: Option<u32>,
    /// Parts retested.
    pub rtst_cnt: Option<u32>,
    /// Aborts.
    pub abrt_cnt: Option<u32>,
    /// Good parts.
    pub good_cnt: Option<u32>,
    /// Functional parts.
    pub func_cnt: Option<u32>,
}

impl PartCounts {
    fn from_fields(v: [Option<u32>; 5]) -> Self {
        let s = |x: Option<u32>| x.filter(|&c| c != u32::MAX);
        PartCounts {
            part_cnt: s(v[0]),
            rtst_cnt: s(v[1]),
            abrt_cnt: s(v[2]),
            good_cnt: s(v[3]),
            func_cnt: s(v[4]),
        }
    }
    fn add(&mut self, o: &PartCounts) {
        let sum = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        };
        self.part_cnt = sum(self.part_cnt, o.part_cnt);
        self.rtst_cnt = sum(self.rtst_cnt, o.rtst_cnt);
        self.abrt_cnt = sum(self.abrt_cnt, o.abrt_cnt);
        self.good_cnt = sum(self.good_cnt, o.good_cnt);
        self.func_cnt = sum(self.func_cnt, o.func_cnt);
    }
}

/// One test of a stream's catalog: a row of `stdf_tests`.
#[derive(Clone, Debug, Default)]
pub struct TestEntry {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`].
    pub ctx: usize,
    /// The catalog's definition.
    pub def: TestDef,
    /// Pin names of the MPR default pins.
    pub pin_names: Option<Vec<Option<String>>>,
}

/// One stream (FAR ... MRR): a row of `stdf_files`.
#[derive(Clone, Debug, Default)]
pub struct StreamSummary {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`].
    pub ctx: usize,
    /// "little" or "big".
    pub byte_order: Option<&'static str>,
    /// FAR.CPU_TYPE.
    pub cpu_type: Option<u8>,
    /// FAR.STDF_VER.
    pub stdf_ver: Option<u8>,
    /// VUR.UPD_NAM values.
    pub extensions: Vec<String>,
    /// MIR.SETUP_T.
    pub setup_time: Option<i64>,
    /// MIR.START_T.
    pub start_time: Option<i64>,
    /// MRR.FINISH_T.
    pub finish_time: Option<i64>,
    /// MIR.STAT_NUM.
    pub stat_num: Option<u8>,
    /// MIR.MODE_COD.
    pub mode_cod: Option<String>,
    /// MIR.RTST_COD.
    pub rtst_cod: Option<String>,
    /// MIR.PROT_COD.
    pub prot_cod: Option<String>,
    /// MIR.CMOD_COD.
    pub cmod_cod: Option<String>,
    /// MIR.BURN_TIM (65535: None).
    pub burn_tim: Option<u16>,
    /// The MIR's text fields, as [`MIR_TEXT`] names them.
    pub mir_text: Vec<Option<String>>,
    /// MRR.DISP_COD.
    pub disp_cod: Option<String>,
    /// MRR.USR_DESC.
    pub usr_desc: Option<String>,
    /// MRR.EXC_DESC.
    pub exc_desc: Option<String>,
    /// The summary PCR (HEAD_NUM 255).
    pub pcr_summary: Option<PartCounts>,
    /// The per-site PCRs, summed.
    pub pcr_sites: Option<PartCounts>,
    /// RDR.RTST_BIN.
    pub retest_bins: Option<Vec<u16>>,
    /// ATRs: (MOD_TIM, CMD_LINE).
    pub audit: Vec<(Option<i64>, Option<String>)>,
    /// Records in the stream.
    pub n_records: u64,
    /// Parts.
    pub n_parts: u32,
    /// Final complete parts.
    pub n_parts_final: u32,
    /// Final parts that passed.
    pub n_passed_final: u32,
    /// Wafers.
    pub n_wafers: u16,
    /// Distinct (head, site).
    pub n_sites: u16,
    /// Tests in the catalog.
    pub n_tests: u32,
    /// Test records.
    pub n_results: u64,
    /// MRR seen, no part left open, no damage.
    pub complete: bool,
}

impl StreamSummary {
    /// The MIR text field `name` (one of [`MIR_TEXT`]).
    pub fn mir(&self, name: &str) -> Option<&str> {
        let i = MIR_TEXT.iter().position(|n| *n == name)?;
        self.mir_text.get(i)?.as_deref()
    }
    /// The stream's part counts: the summary PCR, else the sum of the per-site PCRs.
    pub fn part_counts(&self) -> PartCounts {
        self.pcr_summary.or(self.pcr_sites).unwrap_or_default()
    }
    /// Final yield: passed over final complete parts (None without parts).
    pub fn yield_final(&self) -> Option<f64> {
        (self.n_parts_final > 0).then(|| self.n_passed_final as f64 / self.n_parts_final as f64)
    }
}

/// What the whole file says of itself.
#[derive(Clone, Debug, Default)]
pub struct FileInfo {
    /// The file's id (content based).
    pub file_id: String,
    /// Its path as given.
    pub path: String,
    /// Every warning of the read.
    pub warnings: Vec<Warning>,
    /// Bytes on disk.
    pub file_size: u64,
    /// "none", "gzip", ...
    pub compression: &'static str,
    /// Bytes of STDF (decompressed).
    pub stream_size: u64,
    /// Content hash, when enabled on the reader.
    pub content_hash: Option<String>,
    /// Streams in the file.
    pub stream_count: u16,
}

/// Collects a file's lot tables (see the module docs).
#[derive(Default)]
pub struct Lot {
    /// Collect the test catalog and pin names (`tests`).
    pub with_tests: bool,
    /// Lot context of each stream.
    pub contexts: Vec<Context>,
    /// Every part, by stream then part index.
    pub parts: Vec<Part>,
    /// Every bin.
    pub bins: Vec<Bin>,
    /// Every wafer, with its stream's WCR.
    pub wafers: Vec<(Wafer, Option<WaferConfig>)>,
    /// Every test (when `with_tests`).
    pub tests: Vec<TestEntry>,
    /// One summary per stream.
    pub streams: Vec<StreamSummary>,
    /// The file (after [`Lot::finish_file`]).
    pub file: FileInfo,
    cur: StreamState,
}

/// What is gathered while a stream is read.
#[derive(Default)]
struct StreamState {
    parts: Vec<Part>,
    /// per open part: (results, failed, first failing test number)
    open_counts: IntMap<u32, (u32, u32, Option<u32>)>,
    bins: Vec<Bin>,
    wafers: Vec<Wafer>,
    wcr: Option<WaferConfig>,
    summary: StreamSummary,
}

fn time(v: Option<u32>) -> Option<i64> {
    v.filter(|&t| t != 0).map(|t| t as i64)
}
fn c1(v: Option<u8>) -> Option<String> {
    v.filter(|&c| c != b' ' && c != 0)
        .map(|c| (c as char).to_string())
}
fn pf(v: Option<u8>) -> Option<String> {
    match v {
        Some(b'P') => Some("P".into()),
        Some(b'F') => Some("F".into()),
        _ => None,
    }
}

impl Lot {
    /// A collector for the file at `path`.
    pub fn new(path: &str, with_tests: bool) -> Self {
        Lot {
            with_tests,
            file: FileInfo {
                path: path.to_string(),
                compression: "none",
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Take the file-level facts from the scanner once it has read everything.
    pub fn finish_file(&mut self, scanner: &mut Scanner) {
        let f = &mut self.file;
        f.file_id = scanner.state.file_id.clone();
        f.warnings = scanner.state.warnings.clone();
        f.file_size = scanner.reader.file_size;
        f.compression = scanner.reader.compression.name();
        f.stream_size = scanner.reader.total_size();
        f.content_hash = scanner.reader.content_hash();
        f.stream_count = scanner.state.stream_count;
        if scanner.state.damage.is_some() || scanner.state.desyncs > 0 {
            for s in self.streams.iter_mut() {
                s.complete = false;
            }
        }
    }

    fn wafer_row(&mut self, st: &ScanState, w: u16, head: u8) -> &mut Wafer {
        let wafers = &mut self.cur.wafers;
        if let Some(i) = wafers.iter().position(|r| r.wafer_index == w) {
            return &mut wafers[i];
        }
        wafers.push(Wafer {
            stream_index: st.stream_index,
            wafer_index: w,
            head,
            ..Default::default()
        });
        wafers.last_mut().expect("just pushed")
    }

    fn close_part(&mut self, st: &ScanState, p: &OpenPart, prr: Option<(&Prr, u64)>) {
        let (n, nf, ff) = self
            .cur
            .open_counts
            .remove(&p.part_index)
            .unwrap_or((0, 0, None));
        let mut row = Part {
            stream_index: st.stream_index,
            part_index: p.part_index,
            wafer_index: p.wafer_index,
            head: p.head,
            site: p.site,
            has_pir: p.has_pir,
            pir_rec: p.pir_record_index,
            n_results: n,
            n_failed: nf,
            first_fail: ff,
            ..Default::default()
        };
        if let Some((r, rec)) = prr {
            row.complete = true;
            row.prr_rec = Some(rec);
            row.part_flg = r.part_flg;
            row.num_test = r.num_test;
            row.hard_bin = r.hard_bin;
            row.soft_bin = r.soft_bin.filter(|&b| b != 65535);
            row.x = r.x_coord.filter(|&v| v != -32768);
            row.y = r.y_coord.filter(|&v| v != -32768);
            row.test_t = r.test_t.filter(|&t| t != 0);
            row.part_id = clean(r.part_id);
            row.part_txt = clean(r.part_txt);
            row.part_fix = r.part_fix.filter(|b| !b.is_empty()).map(|b| b.to_vec());
        }
        self.cur.parts.push(row);
    }

    /// The end of a stream: derive what needs the whole stream, move its rows to the output.
    fn finish_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) {
        for p in incomplete {
            self.close_part(st, p, None);
        }
        let ctx = self.contexts.len();
        self.contexts.push(st.context.clone());
        let mut cur = std::mem::take(&mut self.cur);
        let mut parts = std::mem::take(&mut cur.parts);
        parts.sort_by_key(|p| p.part_index);
        mark_retests(&mut parts);
        let names = BinNames::of(&cur.bins);
        for p in parts.iter_mut() {
            p.ctx = ctx;
            derive_part(p, &names, st);
        }
        let mut bins = count_bins(std::mem::take(&mut cur.bins), &parts, st.stream_index);
        for b in bins.iter_mut() {
            b.ctx = ctx;
        }
        let mut wafers = std::mem::take(&mut cur.wafers);
        wafers.sort_by_key(|w| w.wafer_index);
        count_wafers(&mut wafers, &parts);
        if self.with_tests {
            self.collect_tests(st, ctx);
        }
        let mut s = cur.summary;
        s.stream_index = st.stream_index;
        s.ctx = ctx;
        s.n_records = st.records_in_stream;
        summarize(&mut s, &parts, wafers.len(), st);
        s.complete = st.mrr_seen && incomplete.is_empty() && st.damage.is_none() && st.desyncs == 0;
        self.streams.push(s);
        for mut w in wafers {
            w.ctx = ctx;
            self.wafers.push((w, cur.wcr.clone()));
        }
        self.parts.extend(parts);
        self.bins.extend(bins);
    }

    fn collect_tests(&mut self, st: &ScanState, ctx: usize) {
        for def in st.catalog.tests.iter() {
            let pin_names = def.defaults.rtn_indx.as_ref().map(|ix| {
                ix.iter()
                    .map(|&i| st.pins.name(i).map(String::from))
                    .collect()
            });
            self.tests.push(TestEntry {
                stream_index: st.stream_index,
                ctx,
                def: def.clone(),
                pin_names,
            });
        }
    }

    /// A test record: the catalog (decoding only what it still lacks) and the part's counts.
    fn test_record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) {
        self.cur.summary.n_results += 1;
        let (tnum, flg) = raw.test_num_flg().unwrap_or((0, 0));
        let id = st.catalog.get_or_add(tnum) as usize;
        let needs_decode = self.with_tests
            || !st.catalog.tests[id].captured
            || st.catalog.tests[id].test_txt.is_none();
        if needs_decode {
            let mut c = Cur::new(raw.payload, raw.order);
            match raw.code() {
                Ptr::CODE => {
                    st.catalog.resolve_ptr(&Ptr::decode(&mut c), raw.index);
                }
                Mpr::CODE => {
                    st.catalog.resolve_mpr(&Mpr::decode(&mut c), raw.index);
                }
                Ftr::CODE => {
                    st.catalog.note_ftr(&Ftr::decode(&mut c), raw.index);
                }
                _ => {
                    st.catalog.note_str(&StrRec::decode(&mut c), raw.index);
                }
            }
            if st.catalog.tests[id].seq_name.is_none() {
                st.catalog.tests[id].seq_name =
                    st.sections.last().cloned().filter(|s| !s.is_empty());
            }
        } else {
            let ty = match raw.code() {
                Ptr::CODE => TestType::Ptr,
                Mpr::CODE => TestType::Mpr,
                Ftr::CODE => TestType::Ftr,
                _ => TestType::Str,
            };
            st.catalog.note_light(ty, tnum, flg, raw.index);
        }
        if let Some(part) = ctx.part {
            let e = self
                .cur
                .open_counts
                .entry(part.part_index)
                .or_insert((0, 0, None));
            e.0 += 1;
            if flags::test_passed(flg) == Some(false) {
                e.1 += 1;
                if e.2.is_none() {
                    e.2 = Some(tnum);
                }
            }
        }
    }

    /// FAR, ATR, VUR, MIR, MRR, PCR, RDR: the stream's own row.
    fn stream_record(&mut self, raw: &RawRecord) {
        let mut c = Cur::new(raw.payload, raw.order);
        let f = &mut self.cur.summary;
        match raw.code() {
            Far::CODE => {
                let r = Far::decode(&mut c);
                f.cpu_type = r.cpu_type;
                f.stdf_ver = r.stdf_ver;
                f.byte_order = Some(raw.order.name());
            }
            Atr::CODE => {
                let r = Atr::decode(&mut c);
                f.audit
                    .push((time(r.mod_tim), r.cmd_line.map(|s| s.text().into_owned())));
            }
            Vur::CODE => {
                let r = Vur::decode(&mut c);
                for n in r.upd_nam.unwrap_or_default() {
                    f.extensions.push(n.text().trim().to_string());
                }
            }
            Mir::CODE => {
                let m = Mir::decode(&mut c);
                f.setup_time = time(m.setup_t);
                f.start_time = time(m.start_t);
                f.stat_num = m.stat_num;
                f.mode_cod = c1(m.mode_cod);
                f.rtst_cod = c1(m.rtst_cod);
                f.prot_cod = c1(m.prot_cod);
                f.cmod_cod = c1(m.cmod_cod);
                f.burn_tim = m.burn_tim.filter(|&b| b != 65535);
                f.mir_text = (0..MIR_TEXT.len())
                    .map(|i| match m.field(MIR_TEXT_FIRST_FIELD + i) {
                        crate::records::FieldValue::Str(s) => clean(s),
                        _ => None,
                    })
                    .collect();
            }
            Mrr::CODE => {
                let m = Mrr::decode(&mut c);
                f.finish_time = time(m.finish_t);
                f.disp_cod = c1(m.disp_cod);
                f.usr_desc = clean(m.usr_desc);
                f.exc_desc = clean(m.exc_desc);
            }
            Pcr::CODE => {
                let r = Pcr::decode(&mut c);
                let counts = PartCounts::from_fields([
                    r.part_cnt, r.rtst_cnt, r.abrt_cnt, r.good_cnt, r.func_cnt,
                ]);
                if r.head_num == Some(255) {
                    f.pcr_summary = Some(counts);
                } else {
                    f.pcr_sites
                        .get_or_insert_with(Default::default)
                        .add(&counts);
                }
            }
            Rdr::CODE => {
                let r = Rdr::decode(&mut c);
                f.retest_bins = Some(r.rtst_bin.unwrap_or_default());
            }
            _ => {}
        }
    }

    /// WIR, WRR, WCR.
    fn wafer_record(&mut self, st: &ScanState, raw: &RawRecord, ctx: &RecCtx) {
        let mut c = Cur::new(raw.payload, raw.order);
        let w = ctx.wafer_index.unwrap_or(0);
        match raw.code() {
            Wir::CODE => {
                let r = Wir::decode(&mut c);
                let row = self.wafer_row(st, w, r.head_num.unwrap_or(0));
                row.site_grp = r.site_grp.filter(|&g| g != 255);
                row.start_time = time(r.start_t);
                row.wafer_id = clean(r.wafer_id);
            }
            Wrr::CODE => {
                let r = Wrr::decode(&mut c);
                let row = self.wafer_row(st, w, r.head_num.unwrap_or(0));
                row.complete = true;
                if row.site_grp.is_none() {
                    row.site_grp = r.site_grp.filter(|&g| g != 255);
                }
                row.finish_time = time(r.finish_t);
                row.counts = PartCounts::from_fields([
                    r.part_cnt, r.rtst_cnt, r.abrt_cnt, r.good_cnt, r.func_cnt,
                ]);
                if let Some(id) = clean(r.wafer_id) {
                    row.wafer_id = Some(id);
                }
                row.fabwf_id = clean(r.fabwf_id);
                row.frame_id = clean(r.frame_id);
                row.mask_id = clean(r.mask_id);
                row.usr_desc = clean(r.usr_desc);
                row.exc_desc = clean(r.exc_desc);
            }
            Wcr::CODE => {
                let r = Wcr::decode(&mut c);
                let units = match r.wf_units {
                    Some(1) => Some("in"),
                    Some(2) => Some("cm"),
                    Some(3) => Some("mm"),
                    Some(4) => Some("mil"),
                    _ => None,
                };
                let nz = |v: Option<f32>| v.filter(|&x| x != 0.0);
                self.cur.wcr = Some(WaferConfig {
                    wafr_siz: nz(r.wafr_siz),
                    die_ht: nz(r.die_ht),
                    die_wid: nz(r.die_wid),
                    wf_units: units.map(String::from),
                    wf_flat: c1(r.wf_flat),
                    pos_x: c1(r.pos_x),
                    pos_y: c1(r.pos_y),
                    center_x: r.center_x.filter(|&v| v != -32768),
                    center_y: r.center_y.filter(|&v| v != -32768),
                });
            }
            _ => {}
        }
    }
}

impl Sink for Lot {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        let mut c = Cur::new(raw.payload, raw.order);
        match raw.code() {
            Ptr::CODE | Mpr::CODE | Ftr::CODE | StrRec::CODE => self.test_record(st, raw, ctx),
            crate::records::Pir::CODE => {
                if let Some(r) = ctx.replaced {
                    self.close_part(st, &r, None);
                }
            }
            Prr::CODE => {
                let r = Prr::decode(&mut c);
                if let Some(p) = ctx.part {
                    self.close_part(st, &p, Some((&r, raw.index)));
                }
            }
            Hbr::CODE => {
                let r = Hbr::decode(&mut c);
                let b = bin_record(
                    st,
                    raw,
                    HARD,
                    (r.head_num, r.site_num),
                    r.hbin_num,
                    r.hbin_cnt,
                );
                self.cur.bins.push(Bin {
                    bin_pf: pf(r.hbin_pf),
                    bin_name: clean(r.hbin_nam),
                    ..b
                });
            }
            Sbr::CODE => {
                let r = Sbr::decode(&mut c);
                let b = bin_record(
                    st,
                    raw,
                    SOFT,
                    (r.head_num, r.site_num),
                    r.sbin_num,
                    r.sbin_cnt,
                );
                self.cur.bins.push(Bin {
                    bin_pf: pf(r.sbin_pf),
                    bin_name: clean(r.sbin_nam),
                    ..b
                });
            }
            Pmr::CODE if self.with_tests => st.pins.add(&Pmr::decode(&mut c)),
            Tsr::CODE => st.catalog.add_tsr(&Tsr::decode(&mut c)),
            Wir::CODE | Wrr::CODE | Wcr::CODE => self.wafer_record(st, raw, ctx),
            _ => self.stream_record(raw),
        }
        Flow::Continue
    }

    fn end_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) -> Flow {
        self.finish_stream(st, incomplete);
        Flow::Continue
    }

    fn desync(&mut self, st: &mut ScanState, lost: &[OpenPart]) {
        // open across the damage: incomplete (no bins, no pass/fail), never another part's PRR
        for p in lost {
            self.close_part(st, p, None);
        }
    }
}

/// An HBR/SBR's common fields (name and P/F are the caller's).
fn bin_record(
    st: &ScanState,
    raw: &RawRecord,
    ty: &'static str,
    (head, site): (Option<u8>, Option<u8>),
    num: Option<u16>,
    cnt: Option<u32>,
) -> Bin {
    let summary = head == Some(255);
    Bin {
        stream_index: st.stream_index,
        bin_type: ty,
        bin_num: num.unwrap_or(0),
        is_summary: Some(summary),
        head: if summary { None } else { head },
        site: if summary { None } else { site },
        bin_cnt: cnt,
        record_index: Some(raw.index),
        ..Default::default()
    }
}

/// Retests (§3.10): parts (in part order) with the same identity, (wafer, x, y) when both
/// coordinates are known, else PART_ID; the last one of each identity is final.
pub fn mark_retests(parts: &mut [Part]) {
    let mut last_by_key: HashMap<(Option<u16>, i32, i32, String), usize> = HashMap::new();
    for i in 0..parts.len() {
        let p = &parts[i];
        let key = match (p.x, p.y, &p.part_id) {
            (Some(x), Some(y), _) => Some((p.wafer_index, x as i32, y as i32, String::new())),
            (_, _, Some(id)) => Some((None, i32::MIN, i32::MIN, id.clone())),
            _ => None,
        };
        parts[i].is_final = true;
        if let Some(k) = key {
            if let Some(&prev) = last_by_key.get(&k) {
                parts[prev].is_final = false;
                parts[prev].superseded_by = Some(parts[i].part_index);
                parts[i].retest_index = parts[prev].retest_index.saturating_add(1);
            }
            last_by_key.insert(k, i);
        }
    }
}

/// Bin name and P/F per (type, number), each field from the summary record (HEAD 255) when
/// it gives one, else from the first per-site record that does, whatever their order (§3.11).
pub struct BinNames(HashMap<(&'static str, u16), BinName>);

#[derive(Default)]
struct BinName {
    summary_name: Option<String>,
    summary_pf: Option<String>,
    site_name: Option<String>,
    site_pf: Option<String>,
}

impl BinNames {
    /// The names and P/F of a stream's HBR/SBR records.
    pub fn of(bins: &[Bin]) -> Self {
        let mut m: HashMap<(&'static str, u16), BinName> = HashMap::new();
        for b in bins {
            let e = m.entry((b.bin_type, b.bin_num)).or_default();
            let (name, pf) = if b.is_summary == Some(true) {
                (&mut e.summary_name, &mut e.summary_pf)
            } else {
                (&mut e.site_name, &mut e.site_pf)
            };
            if name.is_none() {
                name.clone_from(&b.bin_name);
            }
            if pf.is_none() {
                pf.clone_from(&b.bin_pf);
            }
        }
        BinNames(m)
    }
    /// (name, P/F) of bin `num` of type `ty`.
    pub fn get(&self, ty: &'static str, num: u16) -> (Option<String>, Option<String>) {
        match self.0.get(&(ty, num)) {
            Some(b) => (
                b.summary_name.clone().or(b.site_name.clone()),
                b.summary_pf.clone().or(b.site_pf.clone()),
            ),
            None => (None, None),
        }
    }
}

/// A part's bin names, pass/fail (§3.8: PART_FLG, else the hard bin's P/F, else the soft
/// bin's; nothing for an incomplete part) and first failing test's name.
pub fn derive_part(p: &mut Part, names: &BinNames, st: &ScanState) {
    if let Some(h) = p.hard_bin {
        (p.hbin_name, p.hbin_pf) = names.get(HARD, h);
    }
    if let Some(s) = p.soft_bin {
        (p.sbin_name, p.sbin_pf) = names.get(SOFT, s);
    }
    let (passed, src) = match p.part_flg.and_then(flags::part_passed) {
        Some(passed) => (Some(passed), Some("part_flg")),
        None => match (&p.hbin_pf, &p.sbin_pf) {
            (Some(h), _) => (Some(h == "P"), Some("hbin_pf")),
            (None, Some(s)) => (Some(s == "P"), Some("sbin_pf")),
            _ => (None, None),
        },
    };
    if p.complete {
        p.passed = passed;
        p.pass_source = src;
    } else {
        p.passed = None;
        p.pass_source = None;
    }
    if let Some(ff) = p.first_fail {
        p.first_fail_name = st
            .catalog
            .lookup(ff)
            .and_then(|i| st.catalog.tests[i as usize].name().map(String::from));
    }
}

/// Bin counts from the complete parts (per site for a per-site record, all sites for a summary),
/// plus a row for each bin seen only in PRRs; without HBR (SBR) records a bin's P/F is inferred
/// from its parts' PART_FLG.
pub fn count_bins(mut bins: Vec<Bin>, parts: &[Part], stream_index: u16) -> Vec<Bin> {
    let mut per_site: HashMap<(&'static str, u16, u8, u8), (u32, u32)> = HashMap::new();
    let mut per_bin: HashMap<(&'static str, u16), (u32, u32)> = HashMap::new();
    for p in parts.iter().filter(|p| p.complete) {
        for (ty, num) in [(HARD, p.hard_bin), (SOFT, p.soft_bin)] {
            let Some(num) = num else { continue };
            let e = per_site.entry((ty, num, p.head, p.site)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
            let e = per_bin.entry((ty, num)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
        }
    }
    for b in bins.iter_mut() {
        let (n, nf) = if b.is_summary == Some(true) {
            per_bin.get(&(b.bin_type, b.bin_num)).copied()
        } else {
            match (b.head, b.site) {
                (Some(h), Some(s)) => per_site.get(&(b.bin_type, b.bin_num, h, s)).copied(),
                _ => None,
            }
        }
        .unwrap_or((0, 0));
        b.n_parts = n;
        b.n_parts_final = nf;
    }
    let known: HashSet<(&'static str, u16)> =
        bins.iter().map(|b| (b.bin_type, b.bin_num)).collect();
    let mut extra: Vec<Bin> = per_bin
        .iter()
        .filter(|(k, _)| !known.contains(*k))
        .map(|(&(ty, num), &(n, nf))| Bin {
            stream_index,
            bin_type: ty,
            bin_num: num,
            n_parts: n,
            n_parts_final: nf,
            ..Default::default()
        })
        .collect();
    extra.sort_by_key(|b| (b.bin_type, b.bin_num));
    for ty in [HARD, SOFT] {
        if bins.iter().any(|b| b.bin_type == ty) {
            continue;
        }
        for b in extra.iter_mut().filter(|b| b.bin_type == ty) {
            b.bin_pf = inferred_pf(parts, ty, b.bin_num);
        }
    }
    bins.extend(extra);
    bins
}

/// P/F of a bin from the PART_FLG of its complete parts: 'P' when every one says passed, 'F'
/// when every one says failed, None when they differ or none says (a bin without HBR/SBR).
pub fn inferred_pf(parts: &[Part], ty: &str, num: u16) -> Option<String> {
    let mut seen = None;
    for p in parts.iter().filter(|p| p.complete) {
        let bin = if ty == HARD { p.hard_bin } else { p.soft_bin };
        if bin != Some(num) {
            continue;
        }
        let passed = p.part_flg.and_then(flags::part_passed)?;
        match seen {
            None => seen = Some(passed),
            Some(s) if s != passed => return None,
            _ => {}
        }
    }
    seen.map(|p| if p { "P" } else { "F" }.to_string())
}

/// Per wafer: complete parts, dice (distinct x, y; a final part without coordinates is a die of
/// its own, so that yield stays a fraction of dice), dice tested more than once, final passes.
pub fn count_wafers(wafers: &mut [Wafer], parts: &[Part]) {
    #[derive(Default)]
    struct Acc {
        n_parts: u32,
        dice: HashMap<(i16, i16), u32>,
        uncoordinated: u32,
        n_passed_final: u32,
    }
    let mut acc: HashMap<u16, Acc> = HashMap::new();
    for p in parts.iter().filter(|p| p.complete) {
        let Some(wi) = p.wafer_index else { continue };
        let a = acc.entry(wi).or_default();
        a.n_parts += 1;
        if let (Some(x), Some(y)) = (p.x, p.y) {
            *a.dice.entry((x, y)).or_default() += 1;
        } else if p.is_final {
            a.uncoordinated += 1;
        }
        if p.is_final && p.passed == Some(true) {
            a.n_passed_final += 1;
        }
    }
    for w in wafers.iter_mut() {
        if let Some(a) = acc.get(&w.wafer_index) {
            w.n_parts = a.n_parts;
            w.n_dice = a.dice.len() as u32 + a.uncoordinated;
            w.n_retested = a.dice.values().filter(|&&c| c > 1).count() as u32;
            w.n_passed_final = a.n_passed_final;
        }
    }
}

/// The stream's counts of parts, final parts and passes, wafers, sites and tests.
fn summarize(s: &mut StreamSummary, parts: &[Part], n_wafers: usize, st: &ScanState) {
    s.n_parts = parts.len() as u32;
    s.n_parts_final = parts.iter().filter(|p| p.is_final && p.complete).count() as u32;
    s.n_passed_final = parts
        .iter()
        .filter(|p| p.is_final && p.passed == Some(true))
        .count() as u32;
    s.n_wafers = n_wafers as u16;
    let mut sites: Vec<(u8, u8)> = parts.iter().map(|p| (p.head, p.site)).collect();
    sites.sort_unstable();
    sites.dedup();
    s.n_sites = sites.len() as u16;
    s.n_tests = st.catalog.tests.len() as u32;
}

#[cfg(test)]
mod tests;
