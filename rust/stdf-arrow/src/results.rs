//! stdf_results: one row per test execution (per element for MPR), streamed in batches,
//! keyed to its part by (head, site), with limits, scales and units resolved (§3.5-3.7).

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float32Builder, Int8Builder, PrimitiveBuilder};
use arrow_array::types::{Float32Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use stdf_core::records::{Ftr, Mpr, Ptr, StrRec};
use stdf_core::scan::{Flow, RecCtx, ScanState, Sink};
use stdf_core::semantics::{Resolved, TestType};
use stdf_core::{Cur, RawRecord};

use crate::builders::DictCol;

type B<T> = Option<PrimitiveBuilder<T>>;

const STATUS: [&str; 5] = ["pass", "pass_alt", "fail", "unknown", "not_executed"];

/// Columns of stdf_results in schema order.
#[derive(Default)]
struct Cols {
    file_id: Option<DictCol>,
    stream_index: B<UInt16Type>,
    part_typ: Option<DictCol>,
    test_stage: Option<DictCol>,
    lot_id: Option<DictCol>,
    part_index: B<UInt32Type>,
    head_num: B<UInt8Type>,
    site_num: B<UInt8Type>,
    record_index: B<UInt64Type>,
    rec_type: Option<DictCol>,
    test_id: B<UInt32Type>,
    test_num: B<UInt32Type>,
    test_name: Option<DictCol>,
    test_txt: Option<DictCol>,
    element_index: B<UInt16Type>,
    pin_index: B<UInt16Type>,
    pin_name: Option<DictCol>,
    result: Option<Float32Builder>,
    units: Option<DictCol>,
    res_scal: Option<Int8Builder>,
    lo_limit: B<Float32Type>,
    hi_limit: B<Float32Type>,
    lo_spec: B<Float32Type>,
    hi_spec: B<Float32Type>,
    limits_overridden: Option<BooleanBuilder>,
    input_value: B<Float32Type>,
    rtn_stat: B<UInt8Type>,
    test_flg: B<UInt8Type>,
    parm_flg: B<UInt8Type>,
    executed: Option<BooleanBuilder>,
    passed: Option<BooleanBuilder>,
    status: Option<DictCol>,
    result_valid: Option<BooleanBuilder>,
    alarm: Option<BooleanBuilder>,
    seq_name: Option<DictCol>,
    file_path: bool,
}

/// Per-row values shared by every element of one record.
struct RowBase<'r> {
    part_index: Option<u32>,
    head: u8,
    site: u8,
    record_index: u64,
    rec_type: TestType,
    test_id: u32,
    test_num: u32,
    test_txt: Option<stdf_core::Str<'r>>,
    res: Resolved<'r>,
    test_flg: u8,
    parm_flg: Option<u8>,
}

pub(crate) struct ResultsSink {
    schema: SchemaRef,
    idx: Vec<usize>,
    cols: Cols,
    rows: usize,
    pub batch_size: usize,
    pub batches: Vec<RecordBatch>,
    tests: Option<Vec<u32>>,
    str_continues: bool,
    path: String,
    /// per-stream context dictionary keys, refreshed per batch
    ctx_cached: bool,
    /// some requested column needs the decoded PTR (names, units, limits)
    full_ptr: bool,
    want_test_id: bool,
}

fn pb<T: arrow_array::types::ArrowPrimitiveType>(
    idx: &[usize],
    i: usize,
) -> Option<PrimitiveBuilder<T>> {
    if want(idx, i) {
        Some(PrimitiveBuilder::new())
    } else {
        None
    }
}

fn want(idx: &[usize], i: usize) -> bool {
    idx.contains(&i)
}

impl ResultsSink {
    pub fn new(
        schema: SchemaRef,
        idx: Vec<usize>,
        tests: Option<Vec<u32>>,
        batch_size: usize,
        path: &str,
    ) -> Self {
        let w = |i| want(&idx, i);
        let d = |i| if w(i) { Some(DictCol::default()) } else { None };
        let b = |i| {
            if w(i) {
                Some(BooleanBuilder::new())
            } else {
                None
            }
        };
        let cols = Cols {
            file_id: d(0),
            stream_index: pb(&idx, 1),
            part_typ: d(2),
            test_stage: d(3),
            lot_id: d(4),
            part_index: pb(&idx, 5),
            head_num: pb(&idx, 6),
            site_num: pb(&idx, 7),
            record_index: pb(&idx, 8),
            rec_type: d(9),
            test_id: pb(&idx, 10),
            test_num: pb(&idx, 11),
            test_name: d(12),
            test_txt: d(13),
            element_index: pb(&idx, 14),
            pin_index: pb(&idx, 15),
            pin_name: d(16),
            result: pb(&idx, 17),
            units: d(18),
            res_scal: pb(&idx, 19),
            lo_limit: pb(&idx, 20),
            hi_limit: pb(&idx, 21),
            lo_spec: pb(&idx, 22),
            hi_spec: pb(&idx, 23),
            limits_overridden: b(24),
            input_value: pb(&idx, 25),
            rtn_stat: pb(&idx, 26),
            test_flg: pb(&idx, 27),
            parm_flg: pb(&idx, 28),
            executed: b(29),
            passed: b(30),
            status: d(31),
            result_valid: b(32),
            alarm: b(33),
            seq_name: d(34),
            file_path: w(35),
        };
        let full_ptr = [12, 13, 18, 19, 20, 21, 22, 23, 24]
            .iter()
            .any(|i| idx.contains(i));
        let want_test_id = idx.contains(&10);
        let mut tests = tests;
        if let Some(t) = tests.as_mut() {
            t.sort_unstable();
            t.dedup();
        }
        ResultsSink {
            schema,
            idx,
            cols,
            rows: 0,
            batch_size: batch_size.max(1),
            batches: Vec::new(),
            tests,
            str_continues: false,
            path: path.to_string(),
            ctx_cached: false,
            full_ptr,
            want_test_id,
        }
    }

    fn selected(&self, test_num: u32) -> bool {
        match &self.tests {
            None => true,
            Some(t) => t.binary_search(&test_num).is_ok(),
        }
    }

    /// Append one row. `elem`: (element_index, result, pin, rtn_stat, input_value).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        st: &ScanState,
        b: &RowBase,
        element: Option<u16>,
        result: Option<f32>,
        pin: Option<u16>,
        rtn_stat: Option<u8>,
        input_value: Option<f32>,
    ) {
        let c = &mut self.cols;
        let tid = b.test_id as usize;
        if let Some(x) = c.file_id.as_mut() {
            x.push_cached(0, || Some(st.file_id.as_str()));
        }
        if let Some(x) = c.stream_index.as_mut() {
            x.append_value(st.stream_index);
        }
        if let Some(x) = c.part_typ.as_mut() {
            x.push_cached(0, || st.context.part_typ.as_deref());
        }
        if let Some(x) = c.test_stage.as_mut() {
            x.push_cached(0, || st.context.test_stage.as_deref());
        }
        if let Some(x) = c.lot_id.as_mut() {
            x.push_cached(0, || st.context.lot_id.as_deref());
        }
        if let Some(x) = c.part_index.as_mut() {
            x.append_option(b.part_index);
        }
        if let Some(x) = c.head_num.as_mut() {
            x.append_value(b.head);
        }
        if let Some(x) = c.site_num.as_mut() {
            x.append_value(b.site);
        }
        if let Some(x) = c.record_index.as_mut() {
            x.append_value(b.record_index);
        }
        if let Some(x) = c.rec_type.as_mut() {
            x.push_cached(b.rec_type as usize, || Some(b.rec_type.rec_name()));
        }
        if let Some(x) = c.test_id.as_mut() {
            x.append_value(b.test_id);
        }
        if let Some(x) = c.test_num.as_mut() {
            x.append_value(b.test_num);
        }
        if let Some(x) = c.test_name.as_mut() {
            x.push_cached(tid, || st.catalog.tests[tid].stream_name());
        }
        if let Some(x) = c.test_txt.as_mut() {
            match b.test_txt {
                Some(s) if !s.trimmed_bytes().is_empty() => {
                    x.push_bytes_for(tid, s.trimmed_bytes(), || s.text().trim().to_string())
                }
                _ => x.push(None),
            }
        }
        if let Some(x) = c.element_index.as_mut() {
            x.append_option(element);
        }
        if let Some(x) = c.pin_index.as_mut() {
            x.append_option(pin);
        }
        if let Some(x) = c.pin_name.as_mut() {
            match pin {
                Some(p) => x.push_cached(p as usize, || st.pins.name(p)),
                None => x.push(None),
            }
        }
        if let Some(x) = c.result.as_mut() {
            x.append_option(result);
        }
        if let Some(x) = c.units.as_mut() {
            match b.res.units_override {
                Some(u) => x.push(Some(u.text().trim())),
                None => x.push_cached(tid, || {
                    st.catalog.tests[tid]
                        .defaults
                        .units
                        .as_deref()
                        .filter(|s| !s.is_empty())
                }),
            }
        }
        if let Some(x) = c.res_scal.as_mut() {
            x.append_option(b.res.res_scal);
        }
        if let Some(x) = c.lo_limit.as_mut() {
            x.append_option(b.res.lo_limit);
        }
        if let Some(x) = c.hi_limit.as_mut() {
            x.append_option(b.res.hi_limit);
        }
        if let Some(x) = c.lo_spec.as_mut() {
            x.append_option(b.res.lo_spec);
        }
        if let Some(x) = c.hi_spec.as_mut() {
            x.append_option(b.res.hi_spec);
        }
        if let Some(x) = c.limits_overridden.as_mut() {
            x.append_value(b.res.limits_overridden);
        }
        if let Some(x) = c.input_value.as_mut() {
            x.append_option(input_value);
        }
        if let Some(x) = c.rtn_stat.as_mut() {
            x.append_option(rtn_stat);
        }
        if let Some(x) = c.test_flg.as_mut() {
            x.append_value(b.test_flg);
        }
        if let Some(x) = c.parm_flg.as_mut() {
            x.append_option(b.parm_flg);
        }
        let f = b.test_flg;
        let executed = f & 0x10 == 0;
        let passed = if !executed || f & 0x40 != 0 {
            None
        } else {
            Some(f & 0x80 == 0)
        };
        if let Some(x) = c.executed.as_mut() {
            x.append_value(executed);
        }
        if let Some(x) = c.passed.as_mut() {
            x.append_option(passed);
        }
        if let Some(x) = c.status.as_mut() {
            let s = if !executed {
                4
            } else if f & 0x40 != 0 {
                3
            } else if f & 0x80 != 0 {
                2
            } else if b.parm_flg.unwrap_or(0) & 0x20 != 0 {
                1
            } else {
                0
            };
            x.push_cached(s, || Some(STATUS[s]));
        }
        if let Some(x) = c.result_valid.as_mut() {
            x.append_value(f & 0x3f == 0 && b.parm_flg.unwrap_or(0) & 0x07 == 0);
        }
        if let Some(x) = c.alarm.as_mut() {
            x.append_value(f & 0x01 != 0);
        }
        if let Some(x) = c.seq_name.as_mut() {
            x.push(
                st.sections
                    .last()
                    .map(|s| s.as_str())
                    .filter(|s| !s.is_empty()),
            );
        }
        self.rows += 1;
    }

    /// Close the current batch (if any rows).
    pub fn flush(&mut self) -> Result<(), arrow_schema::ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let n = self.rows;
        let c = &mut self.cols;
        let mut all: Vec<Option<ArrayRef>> = Vec::with_capacity(36);
        fn p<T: arrow_array::types::ArrowPrimitiveType>(b: &mut B<T>) -> Option<ArrayRef> {
            b.as_mut().map(|b| Arc::new(b.finish()) as ArrayRef)
        }
        fn d(b: &mut Option<DictCol>) -> Option<ArrayRef> {
            b.as_mut().map(|b| b.finish())
        }
        fn bo(b: &mut Option<BooleanBuilder>) -> Option<ArrayRef> {
            b.as_mut().map(|b| Arc::new(b.finish()) as ArrayRef)
        }
        all.push(d(&mut c.file_id));
        all.push(p(&mut c.stream_index));
        all.push(d(&mut c.part_typ));
        all.push(d(&mut c.test_stage));
        all.push(d(&mut c.lot_id));
        all.push(p(&mut c.part_index));
        all.push(p(&mut c.head_num));
        all.push(p(&mut c.site_num));
        all.push(p(&mut c.record_index));
        all.push(d(&mut c.rec_type));
        all.push(p(&mut c.test_id));
        all.push(p(&mut c.test_num));
        all.push(d(&mut c.test_name));
        all.push(d(&mut c.test_txt));
        all.push(p(&mut c.element_index));
        all.push(p(&mut c.pin_index));
        all.push(d(&mut c.pin_name));
        all.push(p(&mut c.result));
        all.push(d(&mut c.units));
        all.push(p(&mut c.res_scal));
        all.push(p(&mut c.lo_limit));
        all.push(p(&mut c.hi_limit));
        all.push(p(&mut c.lo_spec));
        all.push(p(&mut c.hi_spec));
        all.push(bo(&mut c.limits_overridden));
        all.push(p(&mut c.input_value));
        all.push(p(&mut c.rtn_stat));
        all.push(p(&mut c.test_flg));
        all.push(p(&mut c.parm_flg));
        all.push(bo(&mut c.executed));
        all.push(bo(&mut c.passed));
        all.push(d(&mut c.status));
        all.push(bo(&mut c.result_valid));
        all.push(bo(&mut c.alarm));
        all.push(d(&mut c.seq_name));
        all.push(if c.file_path {
            Some(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                self.path.as_str(),
                n,
            ))) as ArrayRef)
        } else {
            None
        });
        let arrays: Vec<ArrayRef> = self
            .idx
            .iter()
            .map(|&i| all[i].clone().expect("projected column built"))
            .collect();
        let opts = arrow_array::RecordBatchOptions::new().with_row_count(Some(n));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), arrays, &opts)?;
        self.batches.push(batch);
        self.rows = 0;
        self.ctx_cached = false;
        Ok(())
    }
}

impl Sink for ResultsSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        self.record_inner(st, raw, ctx);
        // pause as soon as a batch is complete (full, or closed at the end of a stream)
        if self.rows >= self.batch_size || !self.batches.is_empty() {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }

    fn end_stream(
        &mut self,
        _st: &mut ScanState,
        _incomplete: &[stdf_core::semantics::OpenPart],
    ) -> Flow {
        // context columns are per stream: close the batch so dictionaries stay per stream
        let _ = self.flush();
        self.str_continues = false;
        Flow::Continue
    }
}

impl ResultsSink {
    /// One row for a functional record (FTR, or the first STR of a chain): no value, no limits.
    #[allow(clippy::too_many_arguments)]
    fn push_functional(
        &mut self,
        st: &ScanState,
        raw: &RawRecord,
        part_index: Option<u32>,
        rec_type: TestType,
        test_id: u32,
        test_num: u32,
        (head, site, test_flg): (Option<u8>, Option<u8>, Option<u8>),
        test_txt: Option<stdf_core::Str>,
    ) {
        let base = RowBase {
            part_index,
            head: head.unwrap_or(0),
            site: site.unwrap_or(0),
            record_index: raw.index,
            rec_type,
            test_id,
            test_num,
            test_txt,
            res: Resolved::default(),
            test_flg: test_flg.unwrap_or(0),
            parm_flg: None,
        };
        self.push(st, &base, None, None, None, None, None);
    }

    fn record_inner(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        if raw.typ == 1 && raw.sub == 60 {
            let mut c = Cur::new(raw.payload, raw.order);
            st.pins.add(&stdf_core::records::Pmr::decode(&mut c));
            return Flow::Continue;
        }
        if raw.typ != 15 {
            return Flow::Continue;
        }
        let ty = match raw.sub {
            10 => TestType::Ptr,
            15 => TestType::Mpr,
            20 => TestType::Ftr,
            30 => TestType::Str,
            _ => return Flow::Continue,
        };
        let tnum = raw.test_num_flg().map(|(n, _)| n).unwrap_or(0);
        if !self.selected(tnum) {
            st.catalog.get_or_add(tnum);
            return Flow::Continue;
        }
        let part_index = ctx.part.map(|p| p.part_index);
        let mut c = Cur::new(raw.payload, raw.order);
        match ty {
            TestType::Ptr if !self.full_ptr => {
                // only flags and the value are needed: read them from their fixed offsets
                if ctx.part.is_none() {
                    return Flow::Continue; // defaults-only record
                }
                let p = raw.payload;
                let f = p.get(6).copied().unwrap_or(0);
                let result = match p.get(8..12) {
                    Some(b) if f & 0x12 == 0 => {
                        let b = [b[0], b[1], b[2], b[3]];
                        Some(match raw.order {
                            stdf_core::ByteOrder::Little => f32::from_le_bytes(b),
                            stdf_core::ByteOrder::Big => f32::from_be_bytes(b),
                        })
                    }
                    _ => None,
                };
                let id = if self.want_test_id {
                    st.catalog.get_or_add(tnum)
                } else {
                    0
                };
                let base = RowBase {
                    part_index,
                    head: p.get(4).copied().unwrap_or(0),
                    site: p.get(5).copied().unwrap_or(0),
                    record_index: raw.index,
                    rec_type: ty,
                    test_id: id,
                    test_num: tnum,
                    test_txt: None,
                    res: Resolved::default(),
                    test_flg: f,
                    parm_flg: p.get(7).copied(),
                };
                self.push(st, &base, None, result, None, None, None);
            }
            TestType::Ptr => {
                let r = Ptr::decode(&mut c);
                let (id, res) = st.catalog.resolve_ptr(&r, raw.index);
                if ctx.part.is_none() {
                    return Flow::Continue; // defaults-only record
                }
                let f = r.test_flg.unwrap_or(0);
                let result = if f & 0x12 != 0 { None } else { r.result };
                let base = RowBase {
                    part_index,
                    head: r.head_num.unwrap_or(0),
                    site: r.site_num.unwrap_or(0),
                    record_index: raw.index,
                    rec_type: ty,
                    test_id: id,
                    test_num: tnum,
                    test_txt: r.test_txt,
                    res,
                    test_flg: f,
                    parm_flg: r.parm_flg,
                };
                self.push(st, &base, None, result, None, None, None);
            }
            TestType::Mpr => {
                let r = Mpr::decode(&mut c);
                let (id, res, pins) = st.catalog.resolve_mpr(&r, raw.index);
                if ctx.part.is_none() {
                    return Flow::Continue;
                }
                let pins = pins.to_vec();
                let f = r.test_flg.unwrap_or(0);
                let vals = r.rtn_rslt.as_deref().unwrap_or(&[]);
                let stats = r.rtn_stat.as_deref().unwrap_or(&[]);
                let n = vals.len().max(stats.len());
                if !vals.is_empty() && !stats.is_empty() && vals.len() != stats.len() {
                    st.warn_once(
                        Some(raw),
                        "mpr_count_mismatch",
                        format!(
                            "MPR test {tnum}: RTN_ICNT {} differs from RSLT_CNT {}",
                            stats.len(),
                            vals.len()
                        ),
                    );
                }
                let (start_in, incr_in) = (res.start_in, res.incr_in);
                let base = RowBase {
                    part_index,
                    head: r.head_num.unwrap_or(0),
                    site: r.site_num.unwrap_or(0),
                    record_index: raw.index,
                    rec_type: ty,
                    test_id: id,
                    test_num: tnum,
                    test_txt: r.test_txt,
                    res,
                    test_flg: f,
                    parm_flg: r.parm_flg,
                };
                if n == 0 {
                    self.push(st, &base, None, None, None, None, None);
                } else {
                    for i in 0..n {
                        let v = if f & 0x10 != 0 {
                            None
                        } else {
                            vals.get(i).copied()
                        };
                        let input = match (start_in, incr_in) {
                            (Some(s), Some(d)) => Some(s + d * i as f32),
                            (Some(s), None) => Some(s),
                            _ => None,
                        };
                        self.push(
                            st,
                            &base,
                            Some(i as u16),
                            v,
                            pins.get(i).copied(),
                            stats.get(i).copied(),
                            input,
                        );
                    }
                }
            }
            TestType::Ftr => {
                let r = Ftr::decode(&mut c);
                let id = st.catalog.note_ftr(&r, raw.index);
                let flags = (r.head_num, r.site_num, r.test_flg);
                self.push_functional(st, raw, part_index, ty, id, tnum, flags, r.test_txt);
            }
            TestType::Str => {
                let r = StrRec::decode(&mut c);
                let continuation = self.str_continues;
                self.str_continues = r.cont_flg.unwrap_or(0) != 0;
                if continuation {
                    return Flow::Continue;
                }
                let id = st.catalog.note_str(&r, raw.index);
                let flags = (r.head_num, r.site_num, r.test_flg);
                self.push_functional(st, raw, part_index, ty, id, tnum, flags, r.test_txt);
            }
        }
        Flow::Continue
    }
}
