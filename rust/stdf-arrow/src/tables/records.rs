//! stdf_records (stdf-reference.md §4.7): one row per record (headers; the payload on demand).

use arrow_array::builder::{BinaryBuilder, PrimitiveBuilder};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use stdf_core::scan::{RecCtx, ScanState};
use stdf_core::RawRecord;

use super::columns;
use crate::builders::DictCol;

type B<T> = PrimitiveBuilder<T>;

/// A record as the scanner sees it.
pub(crate) struct RecordRow<'a, 'b> {
    pub st: &'a ScanState,
    pub raw: &'a RawRecord<'b>,
    pub ctx: &'a RecCtx,
}

/// How the payload decodes as its type: (dictionary key, value).
fn decode_status(raw: &RawRecord) -> (usize, &'static str) {
    if stdf_core::records::rec_name(raw.typ, raw.sub).is_none() {
        return if raw.typ == 180 || raw.typ == 181 || raw.typ >= 200 {
            (3, "reserved")
        } else {
            (4, "unknown_type")
        };
    }
    let (_, c) = stdf_core::Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
    if c.remaining() > 0 {
        (2, "long")
    } else if c.was_short() {
        (1, "short")
    } else {
        (0, "ok")
    }
}

columns! {
    /// The builders of stdf_records.
    pub(crate) struct RecordCols for RecordRow<'_, '_> {
        /// Content id of the file.
        file_id: DictCol => |b, r| b.push_cached(0, || Some(r.st.file_id.as_str())),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.st.stream_index),
        /// Ordinal of the record in the file.
        record_index: B<UInt64Type> => |b, r| b.append_value(r.raw.index),
        /// Offset of its header in the decompressed stream.
        byte_offset: B<UInt64Type> => |b, r| b.append_value(r.raw.offset),
        /// REC_TYP.
        rec_typ: B<UInt8Type> => |b, r| b.append_value(r.raw.typ),
        /// REC_SUB.
        rec_sub: B<UInt8Type> => |b, r| b.append_value(r.raw.sub),
        /// 'PTR', 'PIR', ... ('UNKNOWN' for a type the spec does not define).
        rec_name: DictCol => |b, r| {
            b.push_cached(((r.raw.typ as usize) << 8) | r.raw.sub as usize, || Some(r.raw.name()))
        },
        /// REC_LEN.
        rec_len: B<UInt16Type> => |b, r| b.append_value(r.raw.rec_len),
        /// HEAD_NUM of the part the record belongs to.
        head_num: B<UInt8Type> => |b, r| b.append_option(r.ctx.part.map(|p| p.head)),
        /// SITE_NUM of the part the record belongs to.
        site_num: B<UInt8Type> => |b, r| b.append_option(r.ctx.part.map(|p| p.site)),
        /// The part the record belongs to.
        part_index: B<UInt32Type> => |b, r| b.append_option(r.ctx.part.map(|p| p.part_index)),
        /// 'ok', 'short' (fields missing at the end), 'long' (bytes left), 'reserved', 'unknown_type'.
        decode_status: DictCol => |b, r| {
            let (k, s) = decode_status(r.raw);
            b.push_cached(k, || Some(s))
        },
        /// The payload bytes (after the header).
        payload: BinaryBuilder => |b, r| b.append_value(r.raw.payload),
    }
}
