//! stdf_bins (stdf-reference.md §4.5): one row per HBR/SBR, plus bins seen only in PRRs.

use arrow_array::builder::{BooleanBuilder, PrimitiveBuilder, StringBuilder};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use stdf_core::semantics::lot::Bin;

use super::{columns, LotRow};

type B<T> = PrimitiveBuilder<T>;

/// A bin row.
pub(crate) struct BinRow<'a> {
    pub lot: LotRow<'a>,
    pub b: &'a Bin,
}

columns! {
    /// The builders of stdf_bins.
    pub(crate) struct BinCols for BinRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.b.stream_index),
        /// MIR.PART_TYP.
        part_typ: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.b.ctx).part_typ.as_deref()),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.b.ctx).test_stage.as_deref()),
        /// MIR.LOT_ID.
        lot_id: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.b.ctx).lot_id.as_deref()),
        /// 'H' (hard) or 'S' (soft).
        bin_type: StringBuilder => |b, r| b.append_value(r.b.bin_type),
        /// Bin number.
        bin_num: B<UInt16Type> => |b, r| b.append_value(r.b.bin_num),
        /// HBIN_NAM / SBIN_NAM.
        bin_name: StringBuilder => |b, r| b.append_option(r.b.bin_name.as_deref()),
        /// 'P', 'F' or NULL (inferred from PART_FLG when the stream has no HBR/SBR).
        bin_pf: StringBuilder => |b, r| b.append_option(r.b.bin_pf.as_deref()),
        /// A summary record (HEAD_NUM 255); NULL for a bin seen only in PRRs.
        is_summary: BooleanBuilder => |b, r| b.append_option(r.b.is_summary),
        /// HEAD_NUM of a per-site record.
        head_num: B<UInt8Type> => |b, r| b.append_option(r.b.head),
        /// SITE_NUM of a per-site record.
        site_num: B<UInt8Type> => |b, r| b.append_option(r.b.site),
        /// HBIN_CNT / SBIN_CNT as the tester wrote it.
        bin_cnt: B<UInt32Type> => |b, r| b.append_option(r.b.bin_cnt),
        /// Complete parts in the bin (of the site, for a per-site record).
        n_parts: B<UInt32Type> => |b, r| b.append_value(r.b.n_parts),
        /// Of them, the final ones.
        n_parts_final: B<UInt32Type> => |b, r| b.append_value(r.b.n_parts_final),
        /// Record index of the HBR/SBR.
        record_index: B<UInt64Type> => |b, r| b.append_option(r.b.record_index),
    }
}
