//! stdf_wafers (stdf-reference.md §4.6): one row per wafer (WIR ... WRR, with the WCR).

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, PrimitiveBuilder, StringBuilder,
    TimestampSecondBuilder,
};
use arrow_array::types::{Int16Type, UInt16Type, UInt32Type, UInt8Type};
use stdf_core::semantics::lot::{Wafer, WaferConfig};

use super::{columns, LotRow};

type B<T> = PrimitiveBuilder<T>;

/// A wafer and its stream's WCR.
pub(crate) struct WaferRow<'a> {
    pub lot: LotRow<'a>,
    pub w: &'a Wafer,
    pub wcr: Option<&'a WaferConfig>,
}

impl<'a> WaferRow<'a> {
    fn wcr<T>(&self, f: impl Fn(&'a WaferConfig) -> Option<T>) -> Option<T> {
        self.wcr.and_then(f)
    }
}

columns! {
    /// The builders of stdf_wafers.
    pub(crate) struct WaferCols for WaferRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.w.stream_index),
        /// MIR.PART_TYP.
        part_typ: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.w.ctx).part_typ.as_deref()),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.w.ctx).test_stage.as_deref()),
        /// MIR.LOT_ID.
        lot_id: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.w.ctx).lot_id.as_deref()),
        /// Ordinal of the wafer in the file (stdf_parts.wafer_index).
        wafer_index: B<UInt16Type> => |b, r| b.append_value(r.w.wafer_index),
        /// HEAD_NUM.
        head_num: B<UInt8Type> => |b, r| b.append_value(r.w.head),
        /// SITE_GRP (255: NULL).
        site_grp: B<UInt8Type> => |b, r| b.append_option(r.w.site_grp),
        /// WRR.WAFER_ID, else WIR.WAFER_ID.
        wafer_id: StringBuilder => |b, r| b.append_option(r.w.wafer_id.as_deref()),
        /// WRR.FABWF_ID.
        fabwf_id: StringBuilder => |b, r| b.append_option(r.w.fabwf_id.as_deref()),
        /// WRR.FRAME_ID.
        frame_id: StringBuilder => |b, r| b.append_option(r.w.frame_id.as_deref()),
        /// WRR.MASK_ID.
        mask_id: StringBuilder => |b, r| b.append_option(r.w.mask_id.as_deref()),
        /// WRR.USR_DESC.
        usr_desc: StringBuilder => |b, r| b.append_option(r.w.usr_desc.as_deref()),
        /// WRR.EXC_DESC.
        exc_desc: StringBuilder => |b, r| b.append_option(r.w.exc_desc.as_deref()),
        /// WIR.START_T.
        start_time: TimestampSecondBuilder => |b, r| b.append_option(r.w.start_time),
        /// WRR.FINISH_T.
        finish_time: TimestampSecondBuilder => |b, r| b.append_option(r.w.finish_time),
        /// WRR.PART_CNT.
        part_cnt: B<UInt32Type> => |b, r| b.append_option(r.w.counts.part_cnt),
        /// WRR.RTST_CNT.
        rtst_cnt: B<UInt32Type> => |b, r| b.append_option(r.w.counts.rtst_cnt),
        /// WRR.ABRT_CNT.
        abrt_cnt: B<UInt32Type> => |b, r| b.append_option(r.w.counts.abrt_cnt),
        /// WRR.GOOD_CNT.
        good_cnt: B<UInt32Type> => |b, r| b.append_option(r.w.counts.good_cnt),
        /// WRR.FUNC_CNT.
        func_cnt: B<UInt32Type> => |b, r| b.append_option(r.w.counts.func_cnt),
        /// A WRR closed the wafer.
        complete: BooleanBuilder => |b, r| b.append_value(r.w.complete),
        /// WCR.WAFR_SIZ (0: NULL).
        wafr_siz: Float32Builder => |b, r| b.append_option(r.wcr(|c| c.wafr_siz)),
        /// WCR.DIE_HT (0: NULL).
        die_ht: Float32Builder => |b, r| b.append_option(r.wcr(|c| c.die_ht)),
        /// WCR.DIE_WID (0: NULL).
        die_wid: Float32Builder => |b, r| b.append_option(r.wcr(|c| c.die_wid)),
        /// WCR.WF_UNITS as 'in', 'cm', 'mm', 'mil'.
        wf_units: StringBuilder => |b, r| b.append_option(r.wcr(|c| c.wf_units.as_deref())),
        /// WCR.WF_FLAT ('U', 'D', 'L', 'R').
        wf_flat: StringBuilder => |b, r| b.append_option(r.wcr(|c| c.wf_flat.as_deref())),
        /// WCR.POS_X ('L', 'R').
        pos_x: StringBuilder => |b, r| b.append_option(r.wcr(|c| c.pos_x.as_deref())),
        /// WCR.POS_Y ('U', 'D').
        pos_y: StringBuilder => |b, r| b.append_option(r.wcr(|c| c.pos_y.as_deref())),
        /// WCR.CENTER_X (-32768: NULL).
        center_x: B<Int16Type> => |b, r| b.append_option(r.wcr(|c| c.center_x)),
        /// WCR.CENTER_Y (-32768: NULL).
        center_y: B<Int16Type> => |b, r| b.append_option(r.wcr(|c| c.center_y)),
        /// Complete parts on the wafer.
        n_parts: B<UInt32Type> => |b, r| b.append_value(r.w.n_parts),
        /// Dice: distinct (x, y), plus final parts without coordinates.
        n_dice: B<UInt32Type> => |b, r| b.append_value(r.w.n_dice),
        /// Dice tested more than once.
        n_retested: B<UInt32Type> => |b, r| b.append_value(r.w.n_retested),
        /// Final parts that passed.
        n_passed_final: B<UInt32Type> => |b, r| b.append_value(r.w.n_passed_final),
        /// n_passed_final / n_dice.
        yield_final: Float64Builder => |b, r| b.append_option(r.w.yield_final()),
    }
}
