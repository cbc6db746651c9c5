//! stdf_results (stdf-reference.md §4.4): one row per test execution, per element for MPR.

use arrow_array::builder::{BooleanBuilder, Float32Builder, Int8Builder, PrimitiveBuilder};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use stdf_core::records::flags::{self, test_flg, Status};
use stdf_core::scan::ScanState;
use stdf_core::semantics::{Resolved, TestType};

use super::columns;
use crate::builders::DictCol;

/// Values shared by every element of one test record.
pub(crate) struct RowBase<'r> {
    pub part_index: Option<u32>,
    pub head: u8,
    pub site: u8,
    pub record_index: u64,
    pub rec_type: TestType,
    pub test_id: u32,
    pub test_num: u32,
    pub test_txt: Option<stdf_core::Str<'r>>,
    pub res: Resolved<'r>,
    pub test_flg: u8,
    pub parm_flg: Option<u8>,
}

/// One row: the record's values, the element's, and the stream's state.
pub(crate) struct ResultRow<'a, 'r> {
    pub st: &'a ScanState,
    pub base: &'a RowBase<'r>,
    /// MPR element: (element_index, pin_index, rtn_stat, input_value)
    pub element: Option<u16>,
    pub pin: Option<u16>,
    pub rtn_stat: Option<u8>,
    pub input_value: Option<f32>,
    pub result: Option<f32>,
    pub status: Status,
}

impl ResultRow<'_, '_> {
    fn tid(&self) -> usize {
        self.base.test_id as usize
    }
}

/// Columns that need the decoded PTR (names, units, limits); without them a PTR is read from
/// its fixed offsets.
pub(crate) const NEED_DECODED_PTR: &[&str] = &[
    "test_name",
    "test_txt",
    "units",
    "res_scal",
    "lo_limit",
    "hi_limit",
    "lo_spec",
    "hi_spec",
    "limits_overridden",
];

type B<T> = PrimitiveBuilder<T>;

columns! {
    /// The builders of stdf_results.
    pub(crate) struct ResultCols for ResultRow<'_, '_> {
        /// Content id of the file.
        file_id: DictCol => |b, r| b.push_cached(0, || Some(r.st.file_id.as_str())),
        /// Stream of the file (0 unless streams are concatenated).
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.st.stream_index),
        /// MIR.PART_TYP.
        part_typ: DictCol => |b, r| b.push_cached(0, || r.st.context.part_typ.as_deref()),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: DictCol => |b, r| b.push_cached(0, || r.st.context.test_stage.as_deref()),
        /// MIR.LOT_ID.
        lot_id: DictCol => |b, r| b.push_cached(0, || r.st.context.lot_id.as_deref()),
        /// The owning part (join stdf_parts on file_id, part_index); NULL for orphan records.
        part_index: B<UInt32Type> => |b, r| b.append_option(r.base.part_index),
        /// HEAD_NUM of the record.
        head_num: B<UInt8Type> => |b, r| b.append_value(r.base.head),
        /// SITE_NUM of the record.
        site_num: B<UInt8Type> => |b, r| b.append_value(r.base.site),
        /// Ordinal of the PTR/MPR/FTR/STR in the file.
        record_index: B<UInt64Type> => |b, r| b.append_value(r.base.record_index),
        /// 'PTR', 'MPR', 'FTR', 'STR'.
        rec_type: DictCol => |b, r| {
            b.push_cached(r.base.rec_type as usize, || Some(r.base.rec_type.rec_name()))
        },
        /// Ordinal of the test in the stream's catalog.
        test_id: B<UInt32Type> => |b, r| b.append_value(r.base.test_id),
        /// TEST_NUM.
        test_num: B<UInt32Type> => |b, r| b.append_value(r.base.test_num),
        /// The catalog's name of the test (first TEST_TXT, else TSR.TEST_NAM).
        test_name: DictCol => |b, r| {
            b.push_cached(r.tid(), || r.st.catalog.tests[r.tid()].stream_name())
        },
        /// This record's TEST_TXT (trimmed; empty: NULL).
        test_txt: DictCol => |b, r| match r.base.test_txt {
            Some(s) if !s.trimmed_bytes().is_empty() => {
                b.push_bytes_for(r.tid(), s.trimmed_bytes(), || s.text().trim().to_string())
            }
            _ => b.push(None),
        },
        /// MPR element i; NULL otherwise.
        element_index: B<UInt16Type> => |b, r| b.append_option(r.element),
        /// MPR RTN_INDX[i] (the test's default when the record omits it).
        pin_index: B<UInt16Type> => |b, r| b.append_option(r.pin),
        /// PMR LOG_NAM, else PHY_NAM, else CHAN_NAM of pin_index.
        pin_name: DictCol => |b, r| match r.pin {
            Some(p) => b.push_cached(p as usize, || r.st.pins.name(p)),
            None => b.push(None),
        },
        /// PTR RESULT / MPR RTN_RSLT[i] in base units; NULL when not valid (§3.7) and for FTR/STR.
        result: Float32Builder => |b, r| b.append_option(r.result),
        /// Units in force (the record's own, else the test's default).
        units: DictCol => |b, r| match r.base.res.units_override {
            Some(u) => b.push(Some(u.text().trim())),
            None => b.push_cached(r.tid(), || {
                r.st.catalog.tests[r.tid()].defaults.units.as_deref().filter(|s| !s.is_empty())
            }),
        },
        /// RES_SCAL in force (display only).
        res_scal: Int8Builder => |b, r| b.append_option(r.base.res.res_scal),
        /// Low test limit in force, base units (NULL: none).
        lo_limit: Float32Builder => |b, r| b.append_option(r.base.res.lo_limit),
        /// High test limit in force.
        hi_limit: Float32Builder => |b, r| b.append_option(r.base.res.hi_limit),
        /// Low specification limit in force.
        lo_spec: Float32Builder => |b, r| b.append_option(r.base.res.lo_spec),
        /// High specification limit in force.
        hi_spec: Float32Builder => |b, r| b.append_option(r.base.res.hi_spec),
        /// This record carried its own limits.
        limits_overridden: BooleanBuilder => |b, r| b.append_value(r.base.res.limits_overridden),
        /// MPR START_IN + i * INCR_IN when valid.
        input_value: Float32Builder => |b, r| b.append_option(r.input_value),
        /// MPR RTN_STAT[i].
        rtn_stat: B<UInt8Type> => |b, r| b.append_option(r.rtn_stat),
        /// TEST_FLG, raw.
        test_flg: B<UInt8Type> => |b, r| b.append_value(r.base.test_flg),
        /// PARM_FLG, raw (NULL for FTR/STR).
        parm_flg: B<UInt8Type> => |b, r| b.append_option(r.base.parm_flg),
        /// TEST_FLG bit 4 clear.
        executed: BooleanBuilder => |b, r| b.append_value(flags::executed(r.base.test_flg)),
        /// Record-level pass/fail (§3.7); NULL when not executed or without indication.
        passed: BooleanBuilder => |b, r| b.append_option(flags::test_passed(r.base.test_flg)),
        /// 'pass', 'pass_alt', 'fail', 'unknown', 'not_executed'.
        status: DictCol => |b, r| b.push_cached(r.status as usize, || Some(r.status.as_str())),
        /// The spec's "useful result" rule (TEST_FLG bits 0-5, PARM_FLG bits 0-2 clear).
        result_valid: BooleanBuilder => |b, r| {
            b.append_value(flags::result_valid(r.base.test_flg, r.base.parm_flg))
        },
        /// TEST_FLG bit 0: an alarm occurred.
        alarm: BooleanBuilder => |b, r| b.append_value(r.base.test_flg & test_flg::ALARM != 0),
        /// Innermost BPS program section.
        seq_name: DictCol => |b, r| {
            b.push(r.st.sections.last().map(|s| s.as_str()).filter(|s| !s.is_empty()))
        },
    }
}
