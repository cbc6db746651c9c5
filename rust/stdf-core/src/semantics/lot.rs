//! The lot tables' rules, as plain structs (stdf-reference.md §3.8-§3.11, §4.1-§4.6): what a
//! stream says about its parts, bins, wafers, tests and itself, and what is derived from it at
//! the end of the stream (retests and `is_final`, the `passed` / `pass_source` rule, bin names
//! and P/F, bin counts, wafer dice and yield, the stream's counts).
//!
//! [`Lot`] is a [`Sink`]: drive it with a [`Scanner`], then read its
//! `parts`, `bins`, `wafers`, `tests`, `streams` and `file`. Columns are stdf-arrow's business.

use super::{clean, Context, IntMap, OpenPart, TestType};
use crate::records::flags;
use crate::records::{
    Atr, Far, Ftr, Hbr, Mir, Mpr, Mrr, Pcr, Pmr, Prr, Ptr, Rdr, Sbr, StrRec, Tsr, Vur, Wcr, Wir,
    Wrr,
};
use crate::scan::{Flow, RecCtx, ScanState, Scanner, Sink};
use crate::{Cur, RawRecord};
use std::path::PathBuf;

mod rows;
mod rules;
mod store;

use rows::MIR_TEXT_FIRST_FIELD;
pub use rows::{
    Bin, FileInfo, Part, PartCounts, StreamSummary, TestEntry, Wafer, WaferConfig, HARD, MIR_TEXT,
    SOFT,
};
pub use rules::{
    count_bins, count_wafers, derive_part, inferred_pf, mark_retests, BinNames, Retests, Tally,
};
pub use store::{PartReader, SpilledParts};
use store::{PartStore, SpillWriter};

/// Closed parts held until every part before them is closed too (a few per site), released
/// by batches of at least this many.
const RELEASE_AT: usize = 1024;

/// Collects a file's lot tables (see the module docs).
#[derive(Default)]
pub struct Lot {
    /// Collect the test catalog and pin names (`tests`).
    pub with_tests: bool,
    /// Lot context of each stream.
    pub contexts: Vec<Context>,
    /// Every part, by stream then part index (none of a stream whose parts were spilled).
    pub parts: Vec<Part>,
    /// Per stream whose parts went to a file ([`Lot::spill_parts`]): its parts, derived, in
    /// part order.
    pub spilled: Vec<(u16, SpilledParts)>,
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
    /// Prefix of the files of spilled parts.
    spill: Option<PathBuf>,
    /// The first error writing or reading them.
    error: Option<std::io::Error>,
    cur: StreamState,
}

/// What is gathered while a stream is read.
#[derive(Default)]
struct StreamState {
    /// closed parts not yet released: some part before them is still open
    pending: Vec<Part>,
    /// the released parts, in part order, their retest_index marked
    ordered: PartStore,
    retests: Retests,
    /// pending parts that trigger a release (grows while a part stays open long)
    release_at: usize,
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
        self.cur.pending.push(row);
        if self.cur.pending.len() >= RELEASE_AT.max(self.cur.release_at) {
            let below = st.parts.min_open().unwrap_or(st.parts.next_part);
            self.release(st, below);
        }
    }

    /// Keep every stream's parts in files `<prefix>-parts<stream>[.raw]` rather than in
    /// [`Lot::parts`] (memory bounded whatever the stream's size); read them in
    /// [`Lot::spilled`]. Errors: [`Lot::take_error`].
    pub fn spill_parts(&mut self, prefix: PathBuf) {
        self.spill = Some(prefix);
    }

    fn flow(&self) -> Flow {
        if self.error.is_some() {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }

    /// The first I/O error of the spilled parts (the scan was paused at it).
    pub fn take_error(&mut self) -> Option<std::io::Error> {
        self.error.take()
    }

    fn spill_path(&self, stream: u16, ext: &str) -> Option<PathBuf> {
        let p = self.spill.as_ref()?;
        Some(PathBuf::from(format!("{}-parts{stream}{ext}", p.display())))
    }

    /// Move the pending parts before part `below` to the stream's ordered parts.
    fn release(&mut self, st: &ScanState, below: u32) {
        self.cur.pending.sort_unstable_by_key(|p| p.part_index);
        let n = self.cur.pending.partition_point(|p| p.part_index < below);
        let fresh = matches!(&self.cur.ordered, PartStore::Memory(v) if v.is_empty());
        if let Some(path) = self.spill_path(st.stream_index, ".raw").filter(|_| fresh) {
            match SpillWriter::create(path) {
                Ok(w) => self.cur.ordered = PartStore::File(w),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        let cur = &mut self.cur;
        for mut p in cur.pending.drain(..n) {
            cur.retests.mark(&mut p);
            if let Err(e) = cur.ordered.push(p) {
                self.error.get_or_insert(e);
            }
        }
        cur.retests.marked_below(below);
        // a part left open for long holds the others back: release less often
        cur.release_at = RELEASE_AT.max(cur.pending.len() * 2);
    }

    /// The end of a stream: derive what needs the whole stream, move its rows to the output.
    fn finish_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) {
        for p in incomplete {
            self.close_part(st, p, None);
        }
        self.release(st, u32::MAX);
        let ctx = self.contexts.len();
        self.contexts.push(st.context.clone());
        let mut cur = std::mem::take(&mut self.cur);
        let names = BinNames::of(&cur.bins);
        let derive = |i: usize, p: &mut Part| {
            cur.retests.settle(i, p);
            p.ctx = ctx;
            derive_part(p, &names, st);
        };
        let mut tally = Tally::default();
        match std::mem::take(&mut cur.ordered) {
            PartStore::Memory(mut parts) => {
                for (i, p) in parts.iter_mut().enumerate() {
                    derive(i, p);
                    tally.add(p);
                }
                if self.parts.is_empty() {
                    self.parts = parts; // the usual one stream: moved, not copied
                } else {
                    self.parts.extend(parts);
                }
            }
            PartStore::File(raw) => {
                let path = self.spill_path(st.stream_index, "");
                match derive_spilled(raw, path, derive, &mut tally) {
                    Ok(done) => self.spilled.push((st.stream_index, done)),
                    Err(e) => {
                        self.error.get_or_insert(e);
                    }
                }
            }
        }
        let mut bins = tally.bins(std::mem::take(&mut cur.bins), st.stream_index);
        for b in bins.iter_mut() {
            b.ctx = ctx;
        }
        let mut wafers = std::mem::take(&mut cur.wafers);
        wafers.sort_by_key(|w| w.wafer_index);
        tally.wafers(&mut wafers);
        if self.with_tests {
            self.collect_tests(st, ctx);
        }
        let mut s = cur.summary;
        s.stream_index = st.stream_index;
        s.ctx = ctx;
        s.n_records = st.records_in_stream;
        tally.summarize(&mut s, wafers.len(), st);
        s.complete = st.mrr_seen && incomplete.is_empty() && st.damage.is_none() && st.desyncs == 0;
        self.streams.push(s);
        for mut w in wafers {
            w.ctx = ctx;
            self.wafers.push((w, cur.wcr.clone()));
        }
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
        } else {
            let ty = match raw.code() {
                Ptr::CODE => TestType::Ptr,
                Mpr::CODE => TestType::Mpr,
                Ftr::CODE => TestType::Ftr,
                _ => TestType::Str,
            };
            st.catalog.note_light(ty, tnum, flg, raw.index);
        }
        self.count_test(st, raw, ctx);
    }

    /// The part's and the stream's counts of a test record whose catalog entry was already
    /// resolved (by [`Lot::record`], or by a sink that decodes every result record itself and
    /// feeds this one), and the test's section.
    pub fn count_test(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) {
        let (tnum, flg) = raw.test_num_flg().unwrap_or((0, 0));
        if self.with_tests {
            let id = st.catalog.get_or_add(tnum) as usize;
            if st.catalog.tests[id].seq_name.is_none() {
                st.catalog.tests[id].seq_name =
                    st.sections.last().cloned().filter(|s| !s.is_empty());
            }
        }
        self.cur.summary.n_results += 1;
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
                self.cur.retests.wafer_closed(w, st.parts.next_part);
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
        self.flow()
    }

    fn end_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) -> Flow {
        self.finish_stream(st, incomplete);
        self.flow()
    }

    fn desync(&mut self, st: &mut ScanState, lost: &[OpenPart]) {
        // open across the damage: incomplete (no bins, no pass/fail), never another part's PRR
        for p in lost {
            self.close_part(st, p, None);
        }
    }
}

/// The second pass over a stream's spilled parts: each read back, derived, tallied and written
/// to the file at `path` (the raw file is removed).
fn derive_spilled(
    raw: SpillWriter,
    path: Option<PathBuf>,
    mut derive: impl FnMut(usize, &mut Part),
    tally: &mut Tally,
) -> std::io::Result<SpilledParts> {
    let raw = raw.finish()?;
    let path = path.ok_or(std::io::ErrorKind::NotFound)?;
    let mut out = SpillWriter::create(path)?;
    for (i, p) in raw.read()?.enumerate() {
        let mut p = p?;
        derive(i, &mut p);
        tally.add(&p);
        out.push(&p)?;
    }
    out.finish()
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

#[cfg(test)]
mod tests;
