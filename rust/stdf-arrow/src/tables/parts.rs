//! stdf_parts (stdf-reference.md §4.2): one row per part (PIR ... PRR).

use arrow_array::builder::{BinaryBuilder, BooleanBuilder, PrimitiveBuilder, StringBuilder};
use arrow_array::types::{Int16Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use stdf_core::records::flags::part_flg;
use stdf_core::semantics::lot::Part;

use super::{columns, LotRow};

type B<T> = PrimitiveBuilder<T>;

/// A part with the wafer id of its wafer.
pub(crate) struct PartRow<'a> {
    pub lot: LotRow<'a>,
    pub p: &'a Part,
    pub wafer_id: Option<&'a str>,
}

columns! {
    /// The builders of stdf_parts.
    pub(crate) struct PartCols for PartRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.p.stream_index),
        /// MIR.PART_TYP.
        part_typ: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.p.ctx).part_typ.as_deref()),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.p.ctx).test_stage.as_deref()),
        /// MIR.LOT_ID.
        lot_id: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.p.ctx).lot_id.as_deref()),
        /// MIR.SBLOT_ID.
        sblot_id: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.p.ctx).sblot_id.as_deref()),
        /// Ordinal of the part in the file (§3.2).
        part_index: B<UInt32Type> => |b, r| b.append_value(r.p.part_index),
        /// Wafer open on the part's head; NULL if none.
        wafer_index: B<UInt16Type> => |b, r| b.append_option(r.p.wafer_index),
        /// WRR.WAFER_ID, else WIR.WAFER_ID.
        wafer_id: StringBuilder => |b, r| b.append_option(r.wafer_id),
        /// HEAD_NUM (PIR, else PRR).
        head_num: B<UInt8Type> => |b, r| b.append_value(r.p.head),
        /// SITE_NUM (PIR, else PRR).
        site_num: B<UInt8Type> => |b, r| b.append_value(r.p.site),
        /// PRR.PART_ID (empty: NULL).
        part_id: StringBuilder => |b, r| b.append_option(r.p.part_id.as_deref()),
        /// PRR.PART_TXT.
        part_txt: StringBuilder => |b, r| b.append_option(r.p.part_txt.as_deref()),
        /// PRR.X_COORD (-32768: NULL).
        x_coord: B<Int16Type> => |b, r| b.append_option(r.p.x),
        /// PRR.Y_COORD (-32768: NULL).
        y_coord: B<Int16Type> => |b, r| b.append_option(r.p.y),
        /// PRR.HARD_BIN.
        hard_bin: B<UInt16Type> => |b, r| b.append_option(r.p.hard_bin),
        /// PRR.SOFT_BIN (65535: NULL).
        soft_bin: B<UInt16Type> => |b, r| b.append_option(r.p.soft_bin),
        /// HBR name of the hard bin (§3.11).
        hbin_name: StringBuilder => |b, r| b.append_option(r.p.hbin_name.as_deref()),
        /// SBR name of the soft bin.
        sbin_name: StringBuilder => |b, r| b.append_option(r.p.sbin_name.as_deref()),
        /// 'P', 'F' or NULL, from the HBR.
        hbin_pf: StringBuilder => |b, r| b.append_option(r.p.hbin_pf.as_deref()),
        /// 'P', 'F' or NULL, from the SBR.
        sbin_pf: StringBuilder => |b, r| b.append_option(r.p.sbin_pf.as_deref()),
        /// Part pass/fail (§3.8); NULL for an incomplete part.
        passed: BooleanBuilder => |b, r| b.append_option(r.p.passed),
        /// 'part_flg', 'hbin_pf', 'sbin_pf' or NULL.
        pass_source: StringBuilder => |b, r| b.append_option(r.p.pass_source),
        /// PART_FLG bit 2: testing ended abnormally.
        abnormal_end: BooleanBuilder => |b, r| b.append_option(r.p.flag(part_flg::ABNORMAL_END)),
        /// PART_FLG bit 0: supersedes an earlier part with the same PART_ID.
        supersedes_id: BooleanBuilder => |b, r| b.append_option(r.p.flag(part_flg::SUPERSEDES_ID)),
        /// PART_FLG bit 1: supersedes an earlier part at the same X/Y.
        supersedes_xy: BooleanBuilder => |b, r| b.append_option(r.p.flag(part_flg::SUPERSEDES_XY)),
        /// 0 for the first test of this die (or part id) in the stream (§3.10).
        retest_index: B<UInt16Type> => |b, r| b.append_value(r.p.retest_index),
        /// No later part of the stream has the same identity.
        is_final: BooleanBuilder => |b, r| b.append_value(r.p.is_final),
        /// part_index of the next test of the same die.
        superseded_by: B<UInt32Type> => |b, r| b.append_option(r.p.superseded_by),
        /// PRR.NUM_TEST (tests executed, logged or not).
        num_test: B<UInt16Type> => |b, r| b.append_option(r.p.num_test),
        /// Test records attached (PTR/MPR/FTR/STR).
        n_results: B<UInt32Type> => |b, r| b.append_value(r.p.n_results),
        /// Attached records with passed = false.
        n_failed_results: B<UInt32Type> => |b, r| b.append_value(r.p.n_failed),
        /// TEST_NUM of the first failing attached record.
        first_fail_test_num: B<UInt32Type> => |b, r| b.append_option(r.p.first_fail),
        /// Its catalog name.
        first_fail_test_name: StringBuilder => |b, r| b.append_option(r.p.first_fail_name.as_deref()),
        /// PRR.TEST_T in ms (0: NULL).
        test_time_ms: B<UInt32Type> => |b, r| b.append_option(r.p.test_t),
        /// PRR.PART_FLG, raw.
        part_flg: B<UInt8Type> => |b, r| b.append_option(r.p.part_flg),
        /// PRR.PART_FIX, raw repair data.
        part_fix: BinaryBuilder => |b, r| b.append_option(r.p.part_fix.as_deref()),
        /// A PRR closed the part.
        complete: BooleanBuilder => |b, r| b.append_value(r.p.complete),
        /// A PIR opened the part.
        has_pir: BooleanBuilder => |b, r| b.append_value(r.p.has_pir),
        /// Record index of the PIR (NULL when absent).
        pir_record_index: B<UInt64Type> => |b, r| b.append_option(r.p.pir_rec),
        /// Record index of the PRR (NULL when absent).
        prr_record_index: B<UInt64Type> => |b, r| b.append_option(r.p.prr_rec),
    }
}
