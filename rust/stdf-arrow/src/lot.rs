//! The per-file driver of every table, and the "lot" tables built from small per-stream
//! state: stdf_files, stdf_parts, stdf_tests, stdf_bins, stdf_wafers, stdf_warnings.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    ListBuilder, StringBuilder, StructBuilder, TimestampSecondBuilder, UInt16Builder,
};
use arrow_array::*;
use arrow_schema::{ArrowError, Field, Fields, SchemaRef};
use stdf_core::records::{
    Atr, Far, Ftr, Hbr, Mir, Mpr, Mrr, Pcr, Pmr, Prr, Ptr, Rdr, Sbr, Tsr, Vur, Wcr, Wir, Wrr,
};
use stdf_core::scan::{Flow, RecCtx, ScanState, Scanner, Sink};
use stdf_core::semantics::{clean, OpenPart};
use stdf_core::{Cur, RawRecord, StdfError};

use crate::schema::{self, Table};
use crate::ReadOptions;

type Send<'a> = dyn FnMut(Result<RecordBatch, ArrowError>) -> bool + 'a;

/// Read one file as `table`, sending batches; Ok(false) when the consumer went away.
pub(crate) fn read_table(
    table: Table,
    schema: &SchemaRef,
    idx: &[usize],
    opts: &ReadOptions,
    path: &str,
    send: &mut Send,
) -> Result<bool, StdfError> {
    let mut scanner = match Scanner::open(path, opts.on_error) {
        Ok(s) => s,
        Err(e) if opts.on_error == stdf_core::scan::OnError::Warn => {
            // the file cannot be opened at all: skip it, report it in stdf_warnings
            if table == Table::Warnings {
                let mut sink = LotSink::new(table, path);
                sink.warnings.push(stdf_core::semantics::Warning {
                    record_index: None,
                    byte_offset: e.offset,
                    code: "unreadable",
                    message: e.to_string(),
                });
                let full = sink.build(table, false).map_err(|x| {
                    StdfError::new(stdf_core::ErrorKind::Format, path, x.to_string())
                })?;
                let batch = full.project(idx).map_err(|x| {
                    StdfError::new(stdf_core::ErrorKind::Format, path, x.to_string())
                })?;
                return Ok(send(Ok(batch)));
            }
            return Ok(true);
        }
        Err(e) => return Err(e),
    };
    match table {
        Table::Results => {
            let mut sink = crate::results::ResultsSink::new(
                schema.clone(),
                idx.to_vec(),
                opts.tests.clone(),
                opts.batch_size,
                path,
            );
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        Table::Records => {
            let mut sink = crate::records_table::RecordsSink::new(
                schema.clone(),
                idx.to_vec(),
                opts.batch_size,
                path,
            );
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        Table::Raw(name, typ, sub) => {
            let mut sink = crate::raw::RawSink::new(
                name,
                typ,
                sub,
                schema.clone(),
                idx.to_vec(),
                opts.tests.clone(),
                opts.batch_size,
                path,
            );
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        _ => {
            if table == Table::Files {
                scanner.reader.enable_content_hash();
            }
            let mut sink = LotSink::new(table, path);
            loop {
                if !scanner.run(&mut sink)? {
                    break;
                }
            }
            sink.finish_file(&mut scanner);
            let full = sink
                .build(table, opts.filename)
                .map_err(|e| StdfError::new(stdf_core::ErrorKind::Format, path, e.to_string()))?;
            let batch = full
                .project(idx)
                .map_err(|e| StdfError::new(stdf_core::ErrorKind::Format, path, e.to_string()))?;
            let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
                .map_err(|e| StdfError::new(stdf_core::ErrorKind::Format, path, e.to_string()))?;
            Ok(send(Ok(batch)))
        }
    }
}

fn drive<S: Sink>(
    scanner: &mut Scanner,
    sink: &mut S,
    send: &mut Send,
    mut take: impl FnMut(&mut S) -> Result<Vec<RecordBatch>, ArrowError>,
) -> Result<bool, StdfError> {
    loop {
        let more = scanner.run(sink);
        let batches = take(sink).map_err(|e| {
            StdfError::new(
                stdf_core::ErrorKind::Format,
                &scanner.state.path,
                e.to_string(),
            )
        })?;
        for b in batches {
            if !send(Ok(b)) {
                return Ok(false);
            }
        }
        if !more? {
            return Ok(true);
        }
    }
}

fn u32s(v: Option<u32>) -> Option<u32> {
    v.filter(|&x| x != u32::MAX)
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

#[derive(Clone, Debug, Default)]
struct PartRow {
    stream_index: u16,
    ctx: usize,
    part_index: u32,
    wafer_index: Option<u16>,
    head: u8,
    site: u8,
    part_id: Option<String>,
    part_txt: Option<String>,
    x: Option<i16>,
    y: Option<i16>,
    hard_bin: Option<u16>,
    soft_bin: Option<u16>,
    part_flg: Option<u8>,
    num_test: Option<u16>,
    test_t: Option<u32>,
    part_fix: Option<Vec<u8>>,
    complete: bool,
    has_pir: bool,
    pir_rec: Option<u64>,
    prr_rec: Option<u64>,
    n_results: u32,
    n_failed: u32,
    first_fail: Option<u32>,
    first_fail_name: Option<String>,
    // derived at end of stream
    hbin_name: Option<String>,
    sbin_name: Option<String>,
    hbin_pf: Option<String>,
    sbin_pf: Option<String>,
    passed: Option<bool>,
    pass_source: Option<&'static str>,
    retest_index: u16,
    is_final: bool,
    superseded_by: Option<u32>,
}

#[derive(Clone, Debug, Default)]
struct BinRow {
    stream_index: u16,
    ctx: usize,
    bin_type: &'static str,
    bin_num: u16,
    bin_name: Option<String>,
    bin_pf: Option<String>,
    is_summary: Option<bool>,
    head: Option<u8>,
    site: Option<u8>,
    bin_cnt: Option<u32>,
    n_parts: u32,
    n_parts_final: u32,
    record_index: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct WaferRow {
    stream_index: u16,
    ctx: usize,
    wafer_index: u16,
    head: u8,
    site_grp: Option<u8>,
    wafer_id: Option<String>,
    fabwf_id: Option<String>,
    frame_id: Option<String>,
    mask_id: Option<String>,
    usr_desc: Option<String>,
    exc_desc: Option<String>,
    start_time: Option<i64>,
    finish_time: Option<i64>,
    part_cnt: Option<u32>,
    rtst_cnt: Option<u32>,
    abrt_cnt: Option<u32>,
    good_cnt: Option<u32>,
    func_cnt: Option<u32>,
    complete: bool,
    n_parts: u32,
    n_dice: u32,
    n_retested: u32,
    n_passed_final: u32,
}

#[derive(Clone, Debug, Default)]
struct WcrInfo {
    wafr_siz: Option<f32>,
    die_ht: Option<f32>,
    die_wid: Option<f32>,
    wf_units: Option<String>,
    wf_flat: Option<String>,
    pos_x: Option<String>,
    pos_y: Option<String>,
    center_x: Option<i16>,
    center_y: Option<i16>,
}

#[derive(Clone, Debug, Default)]
struct TestRow {
    stream_index: u16,
    ctx: usize,
    def: stdf_core::semantics::TestDef,
    pin_names: Option<Vec<Option<String>>>,
}

#[derive(Clone, Debug, Default)]
struct FileRow {
    stream_index: u16,
    ctx: usize,
    byte_order: Option<&'static str>,
    cpu_type: Option<u8>,
    stdf_ver: Option<u8>,
    extensions: Vec<String>,
    setup_time: Option<i64>,
    start_time: Option<i64>,
    finish_time: Option<i64>,
    stat_num: Option<u8>,
    codes: [Option<String>; 4],
    burn_tim: Option<u16>,
    mir_text: Vec<Option<String>>,
    disp_cod: Option<String>,
    usr_desc: Option<String>,
    exc_desc: Option<String>,
    pcr_summary: Option<[Option<u32>; 5]>,
    pcr_sites: Option<[Option<u32>; 5]>,
    retest_bins: Option<Vec<u16>>,
    audit: Vec<(Option<i64>, Option<String>)>,
    n_records: u64,
    n_parts: u32,
    n_parts_final: u32,
    n_passed_final: u32,
    n_wafers: u16,
    n_sites: u16,
    n_tests: u32,
    n_results: u64,
    complete: bool,
}

/// Collects the small per-stream state and emits the lot tables.
pub(crate) struct LotSink {
    table: Table,
    path: String,
    contexts: Vec<stdf_core::semantics::Context>,
    // per stream
    cur_parts: Vec<PartRow>,
    open_counts: stdf_core::semantics::IntMap<u32, (u32, u32, Option<u32>)>,
    cur_bins: Vec<BinRow>,
    cur_wafers: Vec<WaferRow>,
    wcr: Option<WcrInfo>,
    cur_file: FileRow,
    first_record_of_stream: u64,
    // output
    parts: Vec<PartRow>,
    bins: Vec<BinRow>,
    wafers: Vec<(WaferRow, Option<WcrInfo>)>,
    tests: Vec<TestRow>,
    files: Vec<FileRow>,
    file_id: String,
    warnings: Vec<stdf_core::semantics::Warning>,
    file_size: u64,
    compression: &'static str,
    stream_size: u64,
    content_hash: Option<String>,
    stream_count: u16,
}

impl LotSink {
    pub fn new(table: Table, path: &str) -> Self {
        LotSink {
            table,
            path: path.to_string(),
            contexts: Vec::new(),
            cur_parts: Vec::new(),
            open_counts: Default::default(),
            cur_bins: Vec::new(),
            cur_wafers: Vec::new(),
            wcr: None,
            cur_file: FileRow::default(),
            first_record_of_stream: 0,
            parts: Vec::new(),
            bins: Vec::new(),
            wafers: Vec::new(),
            tests: Vec::new(),
            files: Vec::new(),
            file_id: String::new(),
            warnings: Vec::new(),
            file_size: 0,
            compression: "none",
            stream_size: 0,
            content_hash: None,
            stream_count: 0,
        }
    }

    fn need_tests(&self) -> bool {
        self.table == Table::Tests
    }

    fn wafer_row(&mut self, st: &ScanState, w: u16, head: u8) -> &mut WaferRow {
        if let Some(i) = self.cur_wafers.iter().position(|r| r.wafer_index == w) {
            return &mut self.cur_wafers[i];
        }
        self.cur_wafers.push(WaferRow {
            stream_index: st.stream_index,
            wafer_index: w,
            head,
            ..Default::default()
        });
        self.cur_wafers.last_mut().expect("just pushed")
    }

    fn close_part(&mut self, st: &ScanState, p: &OpenPart, prr: Option<(&Prr, u64)>) {
        let (n, nf, ff) = self
            .open_counts
            .remove(&p.part_index)
            .unwrap_or((0, 0, None));
        let mut row = PartRow {
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
        self.cur_parts.push(row);
    }

    fn finish_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) {
        for p in incomplete {
            self.close_part(st, p, None);
        }
        let ctx = self.contexts.len();
        self.contexts.push(st.context.clone());
        let mut parts = std::mem::take(&mut self.cur_parts);
        parts.sort_by_key(|p| p.part_index);
        // bin name and P/F per (type, number), each field from the summary record (HEAD 255)
        // when it gives one, else from the first per-site record that does, whatever their
        // order in the file (stdf-reference §3.11): [summary name, summary P/F, site name, site P/F]
        let mut bin_info: HashMap<(&'static str, u16), [Option<String>; 4]> = HashMap::new();
        for bn in &self.cur_bins {
            let k = if bn.is_summary == Some(true) { 0 } else { 2 };
            let e = bin_info.entry((bn.bin_type, bn.bin_num)).or_default();
            if e[k].is_none() {
                e[k] = bn.bin_name.clone();
            }
            if e[k + 1].is_none() {
                e[k + 1] = bn.bin_pf.clone();
            }
        }
        let lookup = |ty: &'static str, num: u16| -> (Option<String>, Option<String>) {
            match bin_info.get(&(ty, num)) {
                Some([n, f, sn, sf]) => (n.clone().or(sn.clone()), f.clone().or(sf.clone())),
                None => (None, None),
            }
        };
        // retests by (wafer, x, y) else part_id
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
        for p in parts.iter_mut() {
            p.ctx = ctx;
            if let Some(h) = p.hard_bin {
                let (n, f) = lookup("H", h);
                p.hbin_name = n;
                p.hbin_pf = f;
            }
            if let Some(s) = p.soft_bin {
                let (n, f) = lookup("S", s);
                p.sbin_name = n;
                p.sbin_pf = f;
            }
            let (passed, src) = match p.part_flg {
                Some(f) if f & 0x10 == 0 => (Some(f & 0x08 == 0), Some("part_flg")),
                _ => match (&p.hbin_pf, &p.sbin_pf) {
                    (Some(h), _) => (Some(h == "P"), Some("hbin_pf")),
                    (None, Some(s)) => (Some(s == "P"), Some("sbin_pf")),
                    _ => (None, None),
                },
            };
            if !p.complete {
                p.passed = None;
                p.pass_source = None;
            } else {
                p.passed = passed;
                p.pass_source = src;
            }
            if let Some(ff) = p.first_fail {
                p.first_fail_name = st
                    .catalog
                    .lookup(ff)
                    .and_then(|i| st.catalog.tests[i as usize].name().map(String::from));
            }
        }
        // bins: counts from parts, PRR-only bins
        let mut bins = std::mem::take(&mut self.cur_bins);
        // parts per (type, bin, site) and per (type, bin) for all sites: (all, final)
        let mut per_site: HashMap<(&'static str, u16, u8, u8), (u32, u32)> = HashMap::new();
        let mut per_bin: HashMap<(&'static str, u16), (u32, u32)> = HashMap::new();
        for p in parts.iter().filter(|p| p.complete) {
            for (ty, num) in [("H", p.hard_bin), ("S", p.soft_bin)] {
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
            b.ctx = ctx;
            let (n, nf) = if b.is_summary == Some(true) {
                per_bin.get(&(b.bin_type, b.bin_num)).copied()
            } else {
                match (b.head, b.site) {
                    (Some(h), Some(si)) => per_site.get(&(b.bin_type, b.bin_num, h, si)).copied(),
                    _ => None,
                }
            }
            .unwrap_or((0, 0));
            b.n_parts = n;
            b.n_parts_final = nf;
        }
        let known: std::collections::HashSet<(&'static str, u16)> =
            bins.iter().map(|b| (b.bin_type, b.bin_num)).collect();
        let mut extra: Vec<BinRow> = per_bin
            .iter()
            .filter(|(k, _)| !known.contains(*k))
            .map(|(&(ty, num), &(n, nf))| BinRow {
                stream_index: st.stream_index,
                ctx,
                bin_type: ty,
                bin_num: num,
                n_parts: n,
                n_parts_final: nf,
                ..Default::default()
            })
            .collect();
        extra.sort_by_key(|b| (b.bin_type, b.bin_num));
        // a stream without HBR (SBR) records (a crashed run): a bin's P/F is inferred from the
        // PART_FLG of its parts (§3.11): 'P' when all passed, 'F' when all failed, else none
        for ty in ["H", "S"] {
            if bins.iter().any(|b| b.bin_type == ty) {
                continue;
            }
            for b in extra.iter_mut().filter(|b| b.bin_type == ty) {
                b.bin_pf = inferred_pf(&parts, ty, b.bin_num);
            }
        }
        bins.extend(extra);
        // wafers
        let mut wafers = std::mem::take(&mut self.cur_wafers);
        wafers.sort_by_key(|w| w.wafer_index);
        // per wafer: parts, dice (x, y) with their test count, final passes
        #[derive(Default)]
        struct WaferAcc {
            n_parts: u32,
            dice: HashMap<(i16, i16), u32>,
            uncoordinated: u32,
            n_passed_final: u32,
        }
        let mut acc: HashMap<u16, WaferAcc> = HashMap::new();
        for p in parts.iter().filter(|p| p.complete) {
            let Some(wi) = p.wafer_index else { continue };
            let a = acc.entry(wi).or_default();
            a.n_parts += 1;
            if let (Some(x), Some(y)) = (p.x, p.y) {
                *a.dice.entry((x, y)).or_default() += 1;
            } else if p.is_final {
                // no coordinates: the part is a die of its own (once, by part_id when it repeats),
                // so that yield_final = n_passed_final / n_dice stays a fraction of the dice
                a.uncoordinated += 1;
            }
            if p.is_final && p.passed == Some(true) {
                a.n_passed_final += 1;
            }
        }
        for w in wafers.iter_mut() {
            w.ctx = ctx;
            if let Some(a) = acc.get(&w.wafer_index) {
                w.n_parts = a.n_parts;
                w.n_dice = a.dice.len() as u32 + a.uncoordinated;
                w.n_retested = a.dice.values().filter(|&&c| c > 1).count() as u32;
                w.n_passed_final = a.n_passed_final;
            }
        }
        // tests
        if self.need_tests() {
            for def in st.catalog.tests.iter() {
                let pin_names = def.defaults.rtn_indx.as_ref().map(|ix| {
                    ix.iter()
                        .map(|&i| st.pins.name(i).map(String::from))
                        .collect()
                });
                self.tests.push(TestRow {
                    stream_index: st.stream_index,
                    ctx,
                    def: def.clone(),
                    pin_names,
                });
            }
        }
        // file row
        let mut f = std::mem::take(&mut self.cur_file);
        f.stream_index = st.stream_index;
        f.ctx = ctx;
        f.n_records = st_records(st, self.first_record_of_stream);
        f.n_parts = parts.len() as u32;
        f.n_parts_final = parts.iter().filter(|p| p.is_final && p.complete).count() as u32;
        f.n_passed_final = parts
            .iter()
            .filter(|p| p.is_final && p.passed == Some(true))
            .count() as u32;
        f.n_wafers = wafers.len() as u16;
        let mut sites: Vec<(u8, u8)> = parts.iter().map(|p| (p.head, p.site)).collect();
        sites.sort_unstable();
        sites.dedup();
        f.n_sites = sites.len() as u16;
        f.n_tests = st.catalog.tests.len() as u32;
        f.complete = st.mrr_seen && incomplete.is_empty() && st.damage.is_none() && st.desyncs == 0;
        self.files.push(f);
        for w in wafers {
            self.wafers.push((w, self.wcr.clone()));
        }
        self.wcr = None;
        self.parts.extend(parts);
        self.bins.extend(bins);
    }

    pub fn finish_file(&mut self, scanner: &mut Scanner) {
        self.file_id = scanner.state.file_id.clone();
        self.warnings = scanner.state.warnings.clone();
        self.file_size = scanner.reader.file_size;
        self.compression = scanner.reader.compression.name();
        self.stream_size = scanner.reader.total_size();
        self.content_hash = scanner.reader.content_hash();
        self.stream_count = scanner.state.stream_count;
        let damaged = scanner.state.damage.is_some() || scanner.state.desyncs > 0;
        for f in self.files.iter_mut() {
            if damaged {
                f.complete = false;
            }
        }
    }
}

fn st_records(st: &ScanState, _first: u64) -> u64 {
    st.records_in_stream
}

impl Sink for LotSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        let mut c = Cur::new(raw.payload, raw.order);
        match (raw.typ, raw.sub) {
            (15, 10) | (15, 15) | (15, 20) | (15, 30) => {
                self.cur_file.n_results += 1;
                let (tnum, flg) = raw.test_num_flg().unwrap_or((0, 0));
                let p = raw.payload;
                let id = st.catalog.get_or_add(tnum) as usize;
                let needs_decode = self.need_tests()
                    || !st.catalog.tests[id].captured
                    || st.catalog.tests[id].test_txt.is_none();
                if needs_decode {
                    let mut cc = Cur::new(p, raw.order);
                    match raw.sub {
                        10 => {
                            st.catalog.resolve_ptr(&Ptr::decode(&mut cc), raw.index);
                        }
                        15 => {
                            let m = Mpr::decode(&mut cc);
                            st.catalog.resolve_mpr(&m, raw.index);
                        }
                        20 => {
                            st.catalog.note_ftr(&Ftr::decode(&mut cc), raw.index);
                        }
                        _ => {
                            st.catalog
                                .note_str(&stdf_core::records::StrRec::decode(&mut cc), raw.index);
                        }
                    }
                    if st.catalog.tests[id].seq_name.is_none() {
                        st.catalog.tests[id].seq_name =
                            st.sections.last().cloned().filter(|s| !s.is_empty());
                    }
                } else {
                    let ty = match raw.sub {
                        10 => stdf_core::semantics::TestType::Ptr,
                        15 => stdf_core::semantics::TestType::Mpr,
                        20 => stdf_core::semantics::TestType::Ftr,
                        _ => stdf_core::semantics::TestType::Str,
                    };
                    st.catalog.note_light(ty, tnum, flg, raw.index);
                }
                if let Some(part) = ctx.part {
                    let e = self
                        .open_counts
                        .entry(part.part_index)
                        .or_insert((0, 0, None));
                    e.0 += 1;
                    let failed = flg & 0x10 == 0 && flg & 0x40 == 0 && flg & 0x80 != 0;
                    if failed {
                        e.1 += 1;
                        if e.2.is_none() {
                            e.2 = Some(tnum);
                        }
                    }
                }
            }
            (5, 10) => {
                if let Some(r) = ctx.replaced {
                    self.close_part(st, &r, None);
                }
            }
            (5, 20) => {
                let r = Prr::decode(&mut c);
                if let Some(p) = ctx.part {
                    self.close_part(st, &p, Some((&r, raw.index)));
                }
            }
            (0, 10) => {
                self.first_record_of_stream = raw.index;
                let r = Far::decode(&mut c);
                self.cur_file.cpu_type = r.cpu_type;
                self.cur_file.stdf_ver = r.stdf_ver;
                self.cur_file.byte_order = Some(raw.order.name());
            }
            (0, 20) => {
                let r = Atr::decode(&mut c);
                self.cur_file
                    .audit
                    .push((time(r.mod_tim), r.cmd_line.map(|s| s.text().into_owned())));
            }
            (0, 30) => {
                let r = Vur::decode(&mut c);
                for n in r.upd_nam.unwrap_or_default() {
                    self.cur_file.extensions.push(n.text().trim().to_string());
                }
            }
            (1, 10) => {
                let m = Mir::decode(&mut c);
                let f = &mut self.cur_file;
                f.setup_time = time(m.setup_t);
                f.start_time = time(m.start_t);
                f.stat_num = m.stat_num;
                f.codes = [
                    c1(m.mode_cod),
                    c1(m.rtst_cod),
                    c1(m.prot_cod),
                    c1(m.cmod_cod),
                ];
                f.burn_tim = m.burn_tim.filter(|&b| b != 65535);
                f.mir_text = schema::MIR_TEXT
                    .iter()
                    .enumerate()
                    .map(|(i, _)| match m.field(8 + i) {
                        stdf_core::records::FieldValue::Str(s) => clean(s),
                        _ => None,
                    })
                    .collect();
            }
            (1, 20) => {
                let m = Mrr::decode(&mut c);
                let f = &mut self.cur_file;
                f.finish_time = time(m.finish_t);
                f.disp_cod = c1(m.disp_cod);
                f.usr_desc = clean(m.usr_desc);
                f.exc_desc = clean(m.exc_desc);
            }
            (1, 30) => {
                let r = Pcr::decode(&mut c);
                let vals = [
                    r.part_cnt.filter(|&x| x != u32::MAX),
                    u32s(r.rtst_cnt),
                    u32s(r.abrt_cnt),
                    u32s(r.good_cnt),
                    u32s(r.func_cnt),
                ];
                if r.head_num == Some(255) {
                    self.cur_file.pcr_summary = Some(vals);
                } else {
                    let acc = self.cur_file.pcr_sites.get_or_insert([None; 5]);
                    for i in 0..5 {
                        acc[i] = match (acc[i], vals[i]) {
                            (Some(a), Some(b)) => Some(a.saturating_add(b)),
                            (a, b) => a.or(b),
                        };
                    }
                }
            }
            (1, 70) => {
                let r = Rdr::decode(&mut c);
                self.cur_file.retest_bins = Some(r.rtst_bin.unwrap_or_default());
            }
            (1, 40) => {
                let r = Hbr::decode(&mut c);
                self.cur_bins.push(bin_row(
                    st, raw, "H", r.head_num, r.site_num, r.hbin_num, r.hbin_cnt, r.hbin_pf,
                    r.hbin_nam,
                ));
            }
            (1, 50) => {
                let r = Sbr::decode(&mut c);
                self.cur_bins.push(bin_row(
                    st, raw, "S", r.head_num, r.site_num, r.sbin_num, r.sbin_cnt, r.sbin_pf,
                    r.sbin_nam,
                ));
            }
            (1, 60) if self.need_tests() => st.pins.add(&Pmr::decode(&mut c)),
            (10, 30) => st.catalog.add_tsr(&Tsr::decode(&mut c)),
            (2, 10) => {
                let r = Wir::decode(&mut c);
                let w = ctx.wafer_index.unwrap_or(0);
                let row = self.wafer_row(st, w, r.head_num.unwrap_or(0));
                row.site_grp = r.site_grp.filter(|&g| g != 255);
                row.start_time = time(r.start_t);
                row.wafer_id = clean(r.wafer_id);
            }
            (2, 20) => {
                let r = Wrr::decode(&mut c);
                let w = ctx.wafer_index.unwrap_or(0);
                let row = self.wafer_row(st, w, r.head_num.unwrap_or(0));
                row.complete = true;
                if row.site_grp.is_none() {
                    row.site_grp = r.site_grp.filter(|&g| g != 255);
                }
                row.finish_time = time(r.finish_t);
                row.part_cnt = u32s(r.part_cnt);
                row.rtst_cnt = u32s(r.rtst_cnt);
                row.abrt_cnt = u32s(r.abrt_cnt);
                row.good_cnt = u32s(r.good_cnt);
                row.func_cnt = u32s(r.func_cnt);
                if let Some(id) = clean(r.wafer_id) {
                    row.wafer_id = Some(id);
                }
                row.fabwf_id = clean(r.fabwf_id);
                row.frame_id = clean(r.frame_id);
                row.mask_id = clean(r.mask_id);
                row.usr_desc = clean(r.usr_desc);
                row.exc_desc = clean(r.exc_desc);
            }
            (2, 30) => {
                let r = Wcr::decode(&mut c);
                let units = match r.wf_units {
                    Some(1) => Some("in"),
                    Some(2) => Some("cm"),
                    Some(3) => Some("mm"),
                    Some(4) => Some("mil"),
                    _ => None,
                };
                let nz = |v: Option<f32>| v.filter(|&x| x != 0.0);
                self.wcr = Some(WcrInfo {
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

#[allow(clippy::too_many_arguments)]
fn bin_row(
    st: &ScanState,
    raw: &RawRecord,
    ty: &'static str,
    head: Option<u8>,
    site: Option<u8>,
    num: Option<u16>,
    cnt: Option<u32>,
    pfc: Option<u8>,
    name: Option<stdf_core::Str>,
) -> BinRow {
    let summary = head == Some(255);
    BinRow {
        stream_index: st.stream_index,
        ctx: 0,
        bin_type: ty,
        bin_num: num.unwrap_or(0),
        bin_name: clean(name),
        bin_pf: pf(pfc),
        is_summary: Some(summary),
        head: if summary { None } else { head },
        site: if summary { None } else { site },
        bin_cnt: cnt,
        n_parts: 0,
        n_parts_final: 0,
        record_index: Some(raw.index),
    }
}

// ---------------------------------------------------------------------------------------
// building the batches

macro_rules! arr {
    ($ty:ident, $rows:expr, |$r:ident| $e:expr) => {
        Arc::new($ty::from_iter($rows.iter().map(|$r| $e))) as ArrayRef
    };
}

fn str_arr<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

fn u16_list(items: impl Iterator<Item = Option<Vec<u16>>>) -> ArrayRef {
    let mut b = ListBuilder::new(UInt16Builder::new());
    for it in items {
        match it {
            Some(v) => {
                for x in v {
                    b.values().append_value(x);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

fn str_list(items: impl Iterator<Item = Option<Vec<Option<String>>>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for it in items {
        match it {
            Some(v) => {
                for x in v {
                    b.values().append_option(x);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

fn ts_arr(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampSecondArray::from_iter(it))
}

fn prefix(scal: Option<i8>) -> &'static str {
    match scal {
        Some(15) => "f",
        Some(12) => "p",
        Some(9) => "n",
        Some(6) => "u",
        Some(3) => "m",
        Some(2) => "%",
        Some(-3) => "K",
        Some(-6) => "M",
        Some(-9) => "G",
        Some(-12) => "T",
        _ => "",
    }
}

impl LotSink {
    fn ctxs(&self, i: usize) -> &stdf_core::semantics::Context {
        &self.contexts[i]
    }

    fn context_cols(&self, ctxs: impl Iterator<Item = usize> + Clone) -> Vec<ArrayRef> {
        vec![
            str_arr(ctxs.clone().map(|c| self.ctxs(c).part_typ.as_deref())),
            str_arr(ctxs.clone().map(|c| self.ctxs(c).test_stage.as_deref())),
            str_arr(ctxs.map(|c| self.ctxs(c).lot_id.as_deref())),
        ]
    }

    fn id_cols(&self, n: usize, streams: impl Iterator<Item = u16>) -> Vec<ArrayRef> {
        vec![
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.file_id.as_str(),
                n,
            ))) as ArrayRef,
            Arc::new(UInt16Array::from_iter_values(streams)) as ArrayRef,
        ]
    }

    pub fn build(&self, table: Table, filename: bool) -> Result<RecordBatch, ArrowError> {
        let mut cols: Vec<ArrayRef>;
        let n;
        match table {
            Table::Parts => {
                let r = &self.parts;
                let wafer_ids: HashMap<(u16, u16), Option<&str>> = self
                    .wafers
                    .iter()
                    .map(|(w, _)| ((w.stream_index, w.wafer_index), w.wafer_id.as_deref()))
                    .collect();
                n = r.len();
                cols = self.id_cols(n, r.iter().map(|p| p.stream_index));
                cols.extend(self.context_cols(r.iter().map(|p| p.ctx)));
                cols.extend([
                    str_arr(r.iter().map(|p| self.ctxs(p.ctx).sblot_id.as_deref())),
                    arr!(UInt32Array, r, |p| Some(p.part_index)),
                    arr!(UInt16Array, r, |p| p.wafer_index),
                    str_arr(r.iter().map(|p| {
                        p.wafer_index
                            .and_then(|w| wafer_ids.get(&(p.stream_index, w)).copied())
                            .flatten()
                    })),
                    arr!(UInt8Array, r, |p| Some(p.head)),
                    arr!(UInt8Array, r, |p| Some(p.site)),
                    str_arr(r.iter().map(|p| p.part_id.as_deref())),
                    str_arr(r.iter().map(|p| p.part_txt.as_deref())),
                    arr!(Int16Array, r, |p| p.x),
                    arr!(Int16Array, r, |p| p.y),
                    arr!(UInt16Array, r, |p| p.hard_bin),
                    arr!(UInt16Array, r, |p| p.soft_bin),
                    str_arr(r.iter().map(|p| p.hbin_name.as_deref())),
                    str_arr(r.iter().map(|p| p.sbin_name.as_deref())),
                    str_arr(r.iter().map(|p| p.hbin_pf.as_deref())),
                    str_arr(r.iter().map(|p| p.sbin_pf.as_deref())),
                    arr!(BooleanArray, r, |p| p.passed),
                    str_arr(r.iter().map(|p| p.pass_source)),
                    arr!(BooleanArray, r, |p| p.part_flg.map(|f| f & 0x04 != 0)),
                    arr!(BooleanArray, r, |p| p.part_flg.map(|f| f & 0x01 != 0)),
                    arr!(BooleanArray, r, |p| p.part_flg.map(|f| f & 0x02 != 0)),
                    arr!(UInt16Array, r, |p| Some(p.retest_index)),
                    arr!(BooleanArray, r, |p| Some(p.is_final)),
                    arr!(UInt32Array, r, |p| p.superseded_by),
                    arr!(UInt16Array, r, |p| p.num_test),
                    arr!(UInt32Array, r, |p| Some(p.n_results)),
                    arr!(UInt32Array, r, |p| Some(p.n_failed)),
                    arr!(UInt32Array, r, |p| p.first_fail),
                    str_arr(r.iter().map(|p| p.first_fail_name.as_deref())),
                    arr!(UInt32Array, r, |p| p.test_t),
                    arr!(UInt8Array, r, |p| p.part_flg),
                    Arc::new(BinaryArray::from_iter(
                        r.iter().map(|p| p.part_fix.as_deref()),
                    )) as ArrayRef,
                    arr!(BooleanArray, r, |p| Some(p.complete)),
                    arr!(BooleanArray, r, |p| Some(p.has_pir)),
                    arr!(UInt64Array, r, |p| p.pir_rec),
                    arr!(UInt64Array, r, |p| p.prr_rec),
                ]);
            }
            Table::Bins => {
                let r = &self.bins;
                n = r.len();
                cols = self.id_cols(n, r.iter().map(|p| p.stream_index));
                cols.extend(self.context_cols(r.iter().map(|p| p.ctx)));
                cols.extend([
                    str_arr(r.iter().map(|b| Some(b.bin_type))),
                    arr!(UInt16Array, r, |b| Some(b.bin_num)),
                    str_arr(r.iter().map(|b| b.bin_name.as_deref())),
                    str_arr(r.iter().map(|b| b.bin_pf.as_deref())),
                    arr!(BooleanArray, r, |b| b.is_summary),
                    arr!(UInt8Array, r, |b| b.head),
                    arr!(UInt8Array, r, |b| b.site),
                    arr!(UInt32Array, r, |b| b.bin_cnt),
                    arr!(UInt32Array, r, |b| Some(b.n_parts)),
                    arr!(UInt32Array, r, |b| Some(b.n_parts_final)),
                    arr!(UInt64Array, r, |b| b.record_index),
                ]);
            }
            Table::Wafers => {
                let r = &self.wafers;
                n = r.len();
                cols = self.id_cols(n, r.iter().map(|(w, _)| w.stream_index));
                cols.extend(self.context_cols(r.iter().map(|(w, _)| w.ctx)));
                let wc = |f: fn(&WcrInfo) -> Option<f32>| -> ArrayRef {
                    arr!(Float32Array, r, |x| x.1.as_ref().and_then(f))
                };
                cols.extend([
                    arr!(UInt16Array, r, |x| Some(x.0.wafer_index)),
                    arr!(UInt8Array, r, |x| Some(x.0.head)),
                    arr!(UInt8Array, r, |x| x.0.site_grp),
                    str_arr(r.iter().map(|x| x.0.wafer_id.as_deref())),
                    str_arr(r.iter().map(|x| x.0.fabwf_id.as_deref())),
                    str_arr(r.iter().map(|x| x.0.frame_id.as_deref())),
                    str_arr(r.iter().map(|x| x.0.mask_id.as_deref())),
                    str_arr(r.iter().map(|x| x.0.usr_desc.as_deref())),
                    str_arr(r.iter().map(|x| x.0.exc_desc.as_deref())),
                    ts_arr(r.iter().map(|x| x.0.start_time)),
                    ts_arr(r.iter().map(|x| x.0.finish_time)),
                    arr!(UInt32Array, r, |x| x.0.part_cnt),
                    arr!(UInt32Array, r, |x| x.0.rtst_cnt),
                    arr!(UInt32Array, r, |x| x.0.abrt_cnt),
                    arr!(UInt32Array, r, |x| x.0.good_cnt),
                    arr!(UInt32Array, r, |x| x.0.func_cnt),
                    arr!(BooleanArray, r, |x| Some(x.0.complete)),
                    wc(|w| w.wafr_siz),
                    wc(|w| w.die_ht),
                    wc(|w| w.die_wid),
                    str_arr(
                        r.iter()
                            .map(|x| x.1.as_ref().and_then(|w| w.wf_units.as_deref())),
                    ),
                    str_arr(
                        r.iter()
                            .map(|x| x.1.as_ref().and_then(|w| w.wf_flat.as_deref())),
                    ),
                    str_arr(
                        r.iter()
                            .map(|x| x.1.as_ref().and_then(|w| w.pos_x.as_deref())),
                    ),
                    str_arr(
                        r.iter()
                            .map(|x| x.1.as_ref().and_then(|w| w.pos_y.as_deref())),
                    ),
                    arr!(Int16Array, r, |x| x.1.as_ref().and_then(|w| w.center_x)),
                    arr!(Int16Array, r, |x| x.1.as_ref().and_then(|w| w.center_y)),
                    arr!(UInt32Array, r, |x| Some(x.0.n_parts)),
                    arr!(UInt32Array, r, |x| Some(x.0.n_dice)),
                    arr!(UInt32Array, r, |x| Some(x.0.n_retested)),
                    arr!(UInt32Array, r, |x| Some(x.0.n_passed_final)),
                    arr!(Float64Array, r, |x| if x.0.n_dice > 0 {
                        Some(x.0.n_passed_final as f64 / x.0.n_dice as f64)
                    } else {
                        None
                    }),
                ]);
            }
            Table::Tests => {
                let r = &self.tests;
                n = r.len();
                cols = self.id_cols(n, r.iter().map(|t| t.stream_index));
                cols.extend(self.context_cols(r.iter().map(|t| t.ctx)));
                let d = |t: &TestRow| t.def.defaults.clone();
                cols.extend([
                    arr!(UInt32Array, r, |t| Some(t.def.test_id)),
                    arr!(UInt32Array, r, |t| Some(t.def.test_num)),
                    str_arr(r.iter().map(|t| t.def.name())),
                    str_arr(r.iter().map(|t| t.def.test_txt.as_deref())),
                    str_arr(r.iter().map(|t| {
                        t.def
                            .test_type
                            .map(|x| x.code())
                            .or(t.def.tsr.test_typ.as_deref())
                    })),
                    str_arr(
                        r.iter()
                            .map(|t| t.def.tsr.seq_name.as_deref().or(t.def.seq_name.as_deref())),
                    ),
                    str_arr(r.iter().map(|t| t.def.tsr.test_lbl.as_deref())),
                    str_arr(
                        r.iter()
                            .map(|t| t.def.defaults.units.as_deref().filter(|s| !s.is_empty())),
                    ),
                    Arc::new(StringArray::from_iter(r.iter().map(|t| {
                        t.def
                            .defaults
                            .units
                            .as_deref()
                            .filter(|s| !s.is_empty())
                            .map(|u| format!("{}{}", prefix(t.def.defaults.res_scal), u))
                    }))) as ArrayRef,
                    arr!(Int8Array, r, |t| t.def.defaults.res_scal),
                    arr!(Int8Array, r, |t| t.def.defaults.llm_scal),
                    arr!(Int8Array, r, |t| t.def.defaults.hlm_scal),
                    arr!(Float32Array, r, |t| t.def.defaults.lo_limit),
                    arr!(Float32Array, r, |t| t.def.defaults.hi_limit),
                    arr!(Float32Array, r, |t| t.def.defaults.lo_spec),
                    arr!(Float32Array, r, |t| t.def.defaults.hi_spec),
                    str_arr(r.iter().map(|t| t.def.defaults.c_resfmt.as_deref())),
                    str_arr(r.iter().map(|t| t.def.defaults.c_llmfmt.as_deref())),
                    str_arr(r.iter().map(|t| t.def.defaults.c_hlmfmt.as_deref())),
                    arr!(UInt8Array, r, |t| t.def.defaults.opt_flag),
                    arr!(UInt16Array, r, |t| t
                        .def
                        .defaults
                        .rtn_indx
                        .as_ref()
                        .map(|v| v.len() as u16)),
                    u16_list(r.iter().map(|t| d(t).rtn_indx)),
                    str_list(r.iter().map(|t| t.pin_names.clone())),
                    arr!(Float32Array, r, |t| t.def.defaults.start_in),
                    arr!(Float32Array, r, |t| t.def.defaults.incr_in),
                    str_arr(
                        r.iter()
                            .map(|t| t.def.defaults.units_in.as_deref().filter(|s| !s.is_empty())),
                    ),
                    arr!(UInt8Array, r, |t| t.def.defaults.patg_num),
                    arr!(BooleanArray, r, |t| Some(t.def.limits_overridden)),
                    arr!(UInt64Array, r, |t| Some(t.def.n_executed)),
                    arr!(UInt64Array, r, |t| Some(t.def.n_failed)),
                    arr!(UInt64Array, r, |t| Some(t.def.n_alarmed)),
                    arr!(UInt64Array, r, |t| t.def.tsr.exec_cnt),
                    arr!(UInt64Array, r, |t| t.def.tsr.fail_cnt),
                    arr!(UInt64Array, r, |t| t.def.tsr.alrm_cnt),
                    arr!(Float32Array, r, |t| t.def.tsr.test_tim),
                    arr!(Float32Array, r, |t| t.def.tsr.test_min),
                    arr!(Float32Array, r, |t| t.def.tsr.test_max),
                    arr!(Float32Array, r, |t| t.def.tsr.tst_sums),
                    arr!(Float32Array, r, |t| t.def.tsr.tst_sqrs),
                    str_arr(r.iter().map(|t| t.def.tsr.source)),
                    arr!(UInt64Array, r, |t| t.def.first_record_index),
                ]);
            }
            Table::Files => return self.build_files(),
            Table::Warnings => {
                let r = &self.warnings;
                n = r.len();
                cols = vec![
                    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                        self.file_id.as_str(),
                        n,
                    ))) as ArrayRef,
                    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                        self.path.as_str(),
                        n,
                    ))) as ArrayRef,
                    arr!(UInt64Array, r, |w| w.record_index),
                    arr!(UInt64Array, r, |w| w.byte_offset),
                    str_arr(r.iter().map(|w| Some(w.code))),
                    str_arr(r.iter().map(|w| Some(w.message.as_str()))),
                ];
                let schema = Arc::new(table.full_schema(false));
                return RecordBatch::try_new(schema, cols);
            }
            _ => unreachable!("streaming tables are not built here"),
        }
        if filename {
            cols.push(Arc::new(StringArray::from_iter_values(
                std::iter::repeat_n(self.path.as_str(), n),
            )));
        }
        RecordBatch::try_new(Arc::new(table.full_schema(filename)), cols)
    }

    fn build_files(&self) -> Result<RecordBatch, ArrowError> {
        let r = &self.files;
        let n = r.len();
        let name = std::path::Path::new(&self.path)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rep = |s: &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(s, n)))
        };
        let mut cols: Vec<ArrayRef> = vec![
            rep(&self.file_id),
            rep(&self.path),
            rep(&name),
            str_arr(std::iter::repeat_n(self.content_hash.as_deref(), n)),
            Arc::new(UInt64Array::from_iter_values(std::iter::repeat_n(
                self.file_size,
                n,
            ))),
            Arc::new(UInt64Array::from_iter_values(std::iter::repeat_n(
                self.stream_size,
                n,
            ))),
            rep(self.compression),
            arr!(UInt16Array, r, |f| Some(f.stream_index)),
            Arc::new(UInt16Array::from_iter_values(std::iter::repeat_n(
                self.stream_count,
                n,
            ))),
            str_arr(r.iter().map(|f| f.byte_order)),
            arr!(UInt8Array, r, |f| f.cpu_type),
            arr!(UInt8Array, r, |f| f.stdf_ver),
            str_list(
                r.iter()
                    .map(|f| Some(f.extensions.iter().cloned().map(Some).collect())),
            ),
            ts_arr(r.iter().map(|f| f.setup_time)),
            ts_arr(r.iter().map(|f| f.start_time)),
            ts_arr(r.iter().map(|f| f.finish_time)),
            arr!(UInt8Array, r, |f| f.stat_num),
        ];
        for i in 0..4 {
            cols.push(str_arr(r.iter().map(|f| f.codes[i].as_deref())));
        }
        cols.push(arr!(UInt16Array, r, |f| f.burn_tim));
        for i in 0..schema::MIR_TEXT.len() {
            cols.push(str_arr(
                r.iter()
                    .map(|f| f.mir_text.get(i).and_then(|s| s.as_deref())),
            ));
        }
        cols.extend([
            str_arr(r.iter().map(|f| self.ctxs(f.ctx).test_stage.as_deref())),
            str_arr(r.iter().map(|f| f.disp_cod.as_deref())),
            str_arr(r.iter().map(|f| f.usr_desc.as_deref())),
            str_arr(r.iter().map(|f| f.exc_desc.as_deref())),
        ]);
        for i in 0..5 {
            cols.push(arr!(UInt32Array, r, |f| f
                .pcr_summary
                .map(|s| s[i])
                .unwrap_or_else(|| f.pcr_sites.and_then(|s| s[i]))));
        }
        cols.push(u16_list(r.iter().map(|f| f.retest_bins.clone())));
        // audit trail
        let fields = Fields::from(vec![
            Field::new(
                "mod_time",
                arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Second, None),
                true,
            ),
            Field::new("cmd_line", arrow_schema::DataType::Utf8, true),
        ]);
        let sb = StructBuilder::new(
            fields.clone(),
            vec![
                Box::new(TimestampSecondBuilder::new()),
                Box::new(StringBuilder::new()),
            ],
        );
        let mut lb = ListBuilder::new(sb);
        for f in r {
            for (t, c) in &f.audit {
                let s = lb.values();
                s.field_builder::<TimestampSecondBuilder>(0)
                    .expect("ts")
                    .append_option(*t);
                s.field_builder::<StringBuilder>(1)
                    .expect("str")
                    .append_option(c.as_deref());
                s.append(true);
            }
            lb.append(true);
        }
        cols.push(Arc::new(lb.finish()));
        cols.extend([
            arr!(UInt64Array, r, |f| Some(f.n_records)),
            arr!(UInt32Array, r, |f| Some(f.n_parts)),
            arr!(UInt32Array, r, |f| Some(f.n_parts_final)),
            arr!(UInt32Array, r, |f| Some(f.n_passed_final)),
            arr!(Float64Array, r, |f| if f.n_parts_final > 0 {
                Some(f.n_passed_final as f64 / f.n_parts_final as f64)
            } else {
                None
            }),
            arr!(UInt16Array, r, |f| Some(f.n_wafers)),
            arr!(UInt16Array, r, |f| Some(f.n_sites)),
            arr!(UInt32Array, r, |f| Some(f.n_tests)),
            arr!(UInt64Array, r, |f| Some(f.n_results)),
            arr!(BooleanArray, r, |f| Some(f.complete)),
            Arc::new(UInt32Array::from_iter_values(std::iter::repeat_n(
                self.warnings.len() as u32,
                n,
            ))),
        ]);
        let schema = Arc::new(Table::Files.full_schema(false));
        RecordBatch::try_new(schema, cols)
    }
}

/// P/F of a bin from the PART_FLG of its complete parts: 'P' when every one says passed, 'F'
/// when every one says failed, None when they differ or none says (a bin without HBR/SBR).
fn inferred_pf(parts: &[PartRow], ty: &str, num: u16) -> Option<String> {
    let mut seen = None;
    for p in parts.iter().filter(|p| p.complete) {
        let bin = if ty == "H" { p.hard_bin } else { p.soft_bin };
        if bin != Some(num) {
            continue;
        }
        let passed = match p.part_flg {
            Some(f) if f & 0x10 == 0 => f & 0x08 == 0,
            _ => return None,
        };
        match seen {
            None => seen = Some(passed),
            Some(s) if s != passed => return None,
            _ => {}
        }
    }
    seen.map(|p| if p { "P" } else { "F" }.to_string())
}
