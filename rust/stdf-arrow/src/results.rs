//! stdf_results: one row per test execution (per element for MPR), streamed in batches,
//! keyed to its part by (head, site), with limits, scales and units resolved (§3.5-3.7).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use stdf_core::records::flags::{test_flg, Status};
use stdf_core::records::{Ftr, Mpr, Pmr, Ptr, StrRec};
use stdf_core::scan::{Flow, RecCtx, ScanState, Sink};
use stdf_core::semantics::{Resolved, TestType};
use stdf_core::{Cur, RawRecord};

use crate::tables::results::{ResultCols, ResultRow, RowBase, NEED_DECODED_PTR};

/// Where the rows of a [`ResultsSink`] go: the builders of one table layout.
pub(crate) trait RowOut {
    /// Append one row.
    fn push(&mut self, row: &ResultRow);
    /// Whether column `name` is built (decides what must be decoded).
    fn builds(&self, name: &str) -> bool;
    /// The batch of the `n` rows pushed since the last call.
    fn finish(&mut self, n: usize, path: &str) -> Result<RecordBatch, arrow_schema::ArrowError>;
}

/// stdf_results itself, projected to a schema.
pub(crate) struct ContractRows {
    schema: SchemaRef,
    cols: ResultCols,
}

impl ContractRows {
    pub fn new(schema: SchemaRef) -> Self {
        let cols = ResultCols::for_schema(&schema);
        ContractRows { schema, cols }
    }
}

impl RowOut for ContractRows {
    #[inline]
    fn push(&mut self, row: &ResultRow) {
        self.cols.push(row);
    }
    fn builds(&self, name: &str) -> bool {
        self.cols.builds(name)
    }
    fn finish(&mut self, n: usize, path: &str) -> Result<RecordBatch, arrow_schema::ArrowError> {
        crate::tables::batch(&self.schema, self.cols.finish(), n, path)
    }
}

pub(crate) struct ResultsSink<O: RowOut = ContractRows> {
    pub out: O,
    rows: usize,
    pub batch_size: usize,
    pub batches: Vec<RecordBatch>,
    tests: Option<Vec<u32>>,
    str_continues: bool,
    path: String,
    /// some requested column needs the decoded PTR (names, units, limits)
    full_ptr: bool,
    want_test_id: bool,
}

/// An MPR element's own values.
#[derive(Default)]
struct Element {
    index: Option<u16>,
    pin: Option<u16>,
    rtn_stat: Option<u8>,
    input_value: Option<f32>,
}

impl<O: RowOut> ResultsSink<O> {
    pub fn new(out: O, tests: Option<Vec<u32>>, batch_size: usize, path: &str) -> Self {
        let full_ptr = NEED_DECODED_PTR.iter().any(|c| out.builds(c));
        let want_test_id = out.builds("test_id");
        let mut tests = tests;
        if let Some(t) = tests.as_mut() {
            t.sort_unstable();
            t.dedup();
        }
        ResultsSink {
            out,
            rows: 0,
            batch_size: batch_size.max(1),
            batches: Vec::new(),
            tests,
            str_continues: false,
            path: path.to_string(),
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

    /// Append one row.
    #[inline]
    fn push(&mut self, st: &ScanState, base: &RowBase, result: Option<f32>, e: Element) {
        let row = ResultRow {
            st,
            base,
            element: e.index,
            pin: e.pin,
            rtn_stat: e.rtn_stat,
            input_value: e.input_value,
            result,
            status: Status::of(base.test_flg, base.parm_flg),
        };
        self.out.push(&row);
        self.rows += 1;
    }

    /// A batch's worth of rows is waiting for [`ResultsSink::flush`].
    pub fn is_full(&self) -> bool {
        self.rows >= self.batch_size
    }

    /// Close the current batch (if any rows).
    pub fn flush(&mut self) -> Result<(), arrow_schema::ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let batch = self.out.finish(self.rows, &self.path)?;
        self.batches.push(batch);
        self.rows = 0;
        Ok(())
    }
}

impl<O: RowOut> Sink for ResultsSink<O> {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        self.record_test(st, raw, ctx);
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

impl<O: RowOut> ResultsSink<O> {
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
        self.push(st, &base, None, Element::default());
    }

    /// One record: a PMR names pins, a PTR/MPR/FTR/STR makes its rows (and feeds the catalog).
    pub fn record_test(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) {
        let ty = match raw.code() {
            Pmr::CODE => {
                let mut c = Cur::new(raw.payload, raw.order);
                st.pins.add(&Pmr::decode(&mut c));
                return;
            }
            Ptr::CODE => TestType::Ptr,
            Mpr::CODE => TestType::Mpr,
            Ftr::CODE => TestType::Ftr,
            StrRec::CODE => TestType::Str,
            _ => return,
        };
        let tnum = raw.test_num_flg().map(|(n, _)| n).unwrap_or(0);
        if !self.selected(tnum) {
            st.catalog.get_or_add(tnum);
            return;
        }
        let part_index = ctx.part.map(|p| p.part_index);
        let mut c = Cur::new(raw.payload, raw.order);
        match ty {
            // a defaults-only PTR/MPR (no part) feeds the catalog and makes no row
            TestType::Ptr if !self.full_ptr => {
                if part_index.is_some() {
                    self.ptr_value_only(st, raw, part_index, tnum);
                }
            }
            TestType::Ptr => {
                let r = Ptr::decode(&mut c);
                let (id, res) = st.catalog.resolve_ptr(&r, raw.index);
                if part_index.is_some() {
                    let f = r.test_flg.unwrap_or(0);
                    let result = if f & test_flg::NO_RESULT != 0 {
                        None
                    } else {
                        r.result
                    };
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
                    self.push(st, &base, result, Element::default());
                }
            }
            TestType::Mpr => {
                let r = Mpr::decode(&mut c);
                let (id, res, pins) = st.catalog.resolve_mpr(&r, raw.index);
                if part_index.is_some() {
                    let pins = pins.to_vec();
                    self.mpr_rows(st, raw, part_index, (id, tnum), res, &pins, r);
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
                if !continuation {
                    let id = st.catalog.note_str(&r, raw.index);
                    let flags = (r.head_num, r.site_num, r.test_flg);
                    self.push_functional(st, raw, part_index, ty, id, tnum, flags, r.test_txt);
                }
            }
        }
    }

    /// A PTR row when no column needs its limits, units or text: the flags and the value are
    /// read from their fixed offsets, without decoding the record.
    fn ptr_value_only(
        &mut self,
        st: &mut ScanState,
        raw: &RawRecord,
        part_index: Option<u32>,
        tnum: u32,
    ) {
        let p = raw.payload;
        let f = p.get(6).copied().unwrap_or(0);
        let result = match p.get(8..12) {
            Some(b) if f & test_flg::NO_RESULT == 0 => {
                let b = [b[0], b[1], b[2], b[3]];
                Some(match raw.order {
                    stdf_core::ByteOrder::Little => f32::from_le_bytes(b),
                    stdf_core::ByteOrder::Big => f32::from_be_bytes(b),
                })
            }
            _ => None,
        };
        let test_id = if self.want_test_id {
            st.catalog.get_or_add(tnum)
        } else {
            0
        };
        let base = RowBase {
            part_index,
            head: p.get(4).copied().unwrap_or(0),
            site: p.get(5).copied().unwrap_or(0),
            record_index: raw.index,
            rec_type: TestType::Ptr,
            test_id,
            test_num: tnum,
            test_txt: None,
            res: Resolved::default(),
            test_flg: f,
            parm_flg: p.get(7).copied(),
        };
        self.push(st, &base, result, Element::default());
    }

    /// One row per pin of an MPR (one row without a value when it has none).
    #[allow(clippy::too_many_arguments)]
    fn mpr_rows(
        &mut self,
        st: &mut ScanState,
        raw: &RawRecord,
        part_index: Option<u32>,
        (test_id, tnum): (u32, u32),
        res: Resolved,
        pins: &[u16],
        r: Mpr,
    ) {
        let f = r.test_flg.unwrap_or(0);
        let vals = r.rtn_rslt.as_deref().unwrap_or(&[]);
        let stats = r.rtn_stat.as_deref().unwrap_or(&[]);
        let n = vals.len().max(stats.len());
        if !vals.is_empty() && !stats.is_empty() && vals.len() != stats.len() {
            let msg = format!(
                "MPR test {tnum}: RTN_ICNT {} differs from RSLT_CNT {}",
                stats.len(),
                vals.len()
            );
            st.warn_once(Some(raw), "mpr_count_mismatch", msg);
        }
        let (start_in, incr_in) = (res.start_in, res.incr_in);
        let base = RowBase {
            part_index,
            head: r.head_num.unwrap_or(0),
            site: r.site_num.unwrap_or(0),
            record_index: raw.index,
            rec_type: TestType::Mpr,
            test_id,
            test_num: tnum,
            test_txt: r.test_txt,
            res,
            test_flg: f,
            parm_flg: r.parm_flg,
        };
        if n == 0 {
            self.push(st, &base, None, Element::default());
        }
        for i in 0..n {
            let v = if f & test_flg::NOT_EXECUTED != 0 {
                None
            } else {
                vals.get(i).copied()
            };
            let input = match (start_in, incr_in) {
                (Some(s), Some(d)) => Some(s + d * i as f32),
                (Some(s), None) => Some(s),
                _ => None,
            };
            let e = Element {
                index: Some(i as u16),
                pin: pins.get(i).copied(),
                rtn_stat: stats.get(i).copied(),
                input_value: input,
            };
            self.push(st, &base, v, e);
        }
    }
}
