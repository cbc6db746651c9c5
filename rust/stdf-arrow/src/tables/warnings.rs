//! stdf_warnings: every tolerance decision and damage of a read, one row each.

use arrow_array::builder::{PrimitiveBuilder, StringBuilder};
use arrow_array::types::UInt64Type;
use stdf_core::semantics::Warning;

use super::{columns, LotRow};

/// A warning of the file.
pub(crate) struct WarningRow<'a> {
    pub lot: LotRow<'a>,
    pub w: &'a Warning,
}

columns! {
    /// The builders of stdf_warnings.
    pub(crate) struct WarningCols for WarningRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// The file's path as given.
        file_path: StringBuilder => |b, r| b.append_value(r.lot.path()),
        /// Record the warning is about (NULL: the stream or the file).
        record_index: PrimitiveBuilder<UInt64Type> => |b, r| b.append_option(r.w.record_index),
        /// Byte offset in the decompressed stream.
        byte_offset: PrimitiveBuilder<UInt64Type> => |b, r| b.append_option(r.w.byte_offset),
        /// Machine-readable code ('desync', 'no_mrr', 'part_without_prr', ...).
        code: StringBuilder => |b, r| b.append_value(r.w.code),
        /// What happened and what was done about it.
        message: StringBuilder => |b, r| b.append_value(&r.w.message),
    }
}
