//! stdf_tests (stdf-reference.md §4.3): the test catalog, one row per (file, stream, test).

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Int8Builder, ListBuilder, PrimitiveBuilder, StringBuilder,
    UInt16Builder,
};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use stdf_core::semantics::lot::TestEntry;

use super::{columns, LotRow};

type B<T> = PrimitiveBuilder<T>;

/// A test of the catalog.
pub(crate) struct TestRow<'a> {
    pub lot: LotRow<'a>,
    pub t: &'a TestEntry,
}

/// The SI prefix of a RES_SCAL (§3.6), for display units.
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

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

columns! {
    /// The builders of stdf_tests.
    pub(crate) struct TestCols for TestRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.t.stream_index),
        /// MIR.PART_TYP.
        part_typ: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.t.ctx).part_typ.as_deref()),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.t.ctx).test_stage.as_deref()),
        /// MIR.LOT_ID.
        lot_id: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.t.ctx).lot_id.as_deref()),
        /// Ordinal of the test in first-seen order (stdf_results.test_id).
        test_id: B<UInt32Type> => |b, r| b.append_value(r.t.def.test_id),
        /// TEST_NUM.
        test_num: B<UInt32Type> => |b, r| b.append_value(r.t.def.test_num),
        /// TSR.TEST_NAM if any, else the first non-empty TEST_TXT.
        test_name: StringBuilder => |b, r| b.append_option(r.t.def.name()),
        /// The first non-empty TEST_TXT of its result records.
        test_txt: StringBuilder => |b, r| b.append_option(r.t.def.test_txt.as_deref()),
        /// 'P', 'M', 'F', 'S' from the record type, else TSR.TEST_TYP.
        test_type: StringBuilder => |b, r| {
            b.append_option(r.t.def.test_type.map(|x| x.code()).or(r.t.def.tsr.test_typ.as_deref()))
        },
        /// TSR.SEQ_NAME, else the innermost BPS at the first execution.
        seq_name: StringBuilder => |b, r| {
            b.append_option(r.t.def.tsr.seq_name.as_deref().or(r.t.def.seq_name.as_deref()))
        },
        /// TSR.TEST_LBL.
        test_lbl: StringBuilder => |b, r| b.append_option(r.t.def.tsr.test_lbl.as_deref()),
        /// Default UNITS.
        units: StringBuilder => |b, r| b.append_option(non_empty(&r.t.def.defaults.units)),
        /// prefix(res_scal) then units, e.g. 'mV'.
        display_units: StringBuilder => |b, r| {
            let d = &r.t.def.defaults;
            b.append_option(non_empty(&d.units).map(|u| format!("{}{}", prefix(d.res_scal), u)))
        },
        /// Default RES_SCAL.
        res_scal: Int8Builder => |b, r| b.append_option(r.t.def.defaults.res_scal),
        /// Default LLM_SCAL.
        llm_scal: Int8Builder => |b, r| b.append_option(r.t.def.defaults.llm_scal),
        /// Default HLM_SCAL.
        hlm_scal: Int8Builder => |b, r| b.append_option(r.t.def.defaults.hlm_scal),
        /// Default low limit, base units (NULL: no limit).
        lo_limit: Float32Builder => |b, r| b.append_option(r.t.def.defaults.lo_limit),
        /// Default high limit.
        hi_limit: Float32Builder => |b, r| b.append_option(r.t.def.defaults.hi_limit),
        /// Default low specification limit.
        lo_spec: Float32Builder => |b, r| b.append_option(r.t.def.defaults.lo_spec),
        /// Default high specification limit.
        hi_spec: Float32Builder => |b, r| b.append_option(r.t.def.defaults.hi_spec),
        /// C_RESFMT.
        c_resfmt: StringBuilder => |b, r| b.append_option(r.t.def.defaults.c_resfmt.as_deref()),
        /// C_LLMFMT.
        c_llmfmt: StringBuilder => |b, r| b.append_option(r.t.def.defaults.c_llmfmt.as_deref()),
        /// C_HLMFMT.
        c_hlmfmt: StringBuilder => |b, r| b.append_option(r.t.def.defaults.c_hlmfmt.as_deref()),
        /// OPT_FLAG of the defining record.
        opt_flag: B<UInt8Type> => |b, r| b.append_option(r.t.def.defaults.opt_flag),
        /// MPR: pins per execution.
        rtn_icnt: B<UInt16Type> => |b, r| {
            b.append_option(r.t.def.defaults.rtn_indx.as_ref().map(|v| v.len() as u16))
        },
        /// MPR default pins (RTN_INDX).
        rtn_indx: ListBuilder<UInt16Builder> => |b, r| match &r.t.def.defaults.rtn_indx {
            Some(v) => b.append_value(v.iter().map(|&x| Some(x))),
            None => b.append_null(),
        },
        /// LOG_NAM (else PHY_NAM, CHAN_NAM) of each default pin.
        pin_names: ListBuilder<StringBuilder> => |b, r| match &r.t.pin_names {
            Some(v) => b.append_value(v.iter().map(|x| x.as_deref())),
            None => b.append_null(),
        },
        /// MPR START_IN.
        start_in: Float32Builder => |b, r| b.append_option(r.t.def.defaults.start_in),
        /// MPR INCR_IN.
        incr_in: Float32Builder => |b, r| b.append_option(r.t.def.defaults.incr_in),
        /// MPR UNITS_IN.
        units_in: StringBuilder => |b, r| b.append_option(non_empty(&r.t.def.defaults.units_in)),
        /// FTR default PATG_NUM (255: NULL).
        patg_num: B<UInt8Type> => |b, r| b.append_option(r.t.def.defaults.patg_num),
        /// Some execution carried its own limits.
        limits_overridden: BooleanBuilder => |b, r| b.append_value(r.t.def.limits_overridden),
        /// Logged executions (TEST_FLG bit 4 clear).
        n_executed: B<UInt64Type> => |b, r| b.append_value(r.t.def.n_executed),
        /// Logged executions that failed.
        n_failed: B<UInt64Type> => |b, r| b.append_value(r.t.def.n_failed),
        /// Logged executions with an alarm.
        n_alarmed: B<UInt64Type> => |b, r| b.append_value(r.t.def.n_alarmed),
        /// TSR.EXEC_CNT (§3.4 rule; sentinel: NULL).
        tsr_exec_cnt: B<UInt64Type> => |b, r| b.append_option(r.t.def.tsr.exec_cnt),
        /// TSR.FAIL_CNT.
        tsr_fail_cnt: B<UInt64Type> => |b, r| b.append_option(r.t.def.tsr.fail_cnt),
        /// TSR.ALRM_CNT.
        tsr_alrm_cnt: B<UInt64Type> => |b, r| b.append_option(r.t.def.tsr.alrm_cnt),
        /// TSR.TEST_TIM (NULL when its OPT_FLAG bit is set, §3.12).
        tsr_test_tim: Float32Builder => |b, r| b.append_option(r.t.def.tsr.test_tim),
        /// TSR.TEST_MIN.
        tsr_test_min: Float32Builder => |b, r| b.append_option(r.t.def.tsr.test_min),
        /// TSR.TEST_MAX.
        tsr_test_max: Float32Builder => |b, r| b.append_option(r.t.def.tsr.test_max),
        /// TSR.TST_SUMS.
        tsr_sums: Float32Builder => |b, r| b.append_option(r.t.def.tsr.tst_sums),
        /// TSR.TST_SQRS.
        tsr_sqrs: Float32Builder => |b, r| b.append_option(r.t.def.tsr.tst_sqrs),
        /// 'summary', 'site_sum' or NULL: which TSRs the tsr_ columns come from.
        tsr_source: StringBuilder => |b, r| b.append_option(r.t.def.tsr.source),
        /// Record index of the defining record.
        first_record_index: B<UInt64Type> => |b, r| b.append_option(r.t.def.first_record_index),
    }
}
