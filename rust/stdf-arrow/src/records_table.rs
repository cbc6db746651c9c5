//! stdf_records: one row per record (headers only, unless the payload is asked for).

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, PrimitiveBuilder};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{ArrowError, SchemaRef};
use stdf_core::scan::{Flow, RecCtx, ScanState, Sink};
use stdf_core::RawRecord;

use crate::builders::DictCol;

pub(crate) struct RecordsSink {
    schema: SchemaRef,
    idx: Vec<usize>,
    file_id: DictCol,
    stream_index: PrimitiveBuilder<UInt16Type>,
    record_index: PrimitiveBuilder<UInt64Type>,
    byte_offset: PrimitiveBuilder<UInt64Type>,
    rec_typ: PrimitiveBuilder<UInt8Type>,
    rec_sub: PrimitiveBuilder<UInt8Type>,
    rec_name: DictCol,
    rec_len: PrimitiveBuilder<UInt16Type>,
    head_num: PrimitiveBuilder<UInt8Type>,
    site_num: PrimitiveBuilder<UInt8Type>,
    part_index: PrimitiveBuilder<UInt32Type>,
    decode_status: DictCol,
    payload: Option<BinaryBuilder>,
    rows: usize,
    batch_size: usize,
    path: String,
    pub batches: Vec<RecordBatch>,
}

impl RecordsSink {
    pub fn new(schema: SchemaRef, idx: Vec<usize>, batch_size: usize, path: &str) -> Self {
        let payload = if idx.contains(&12) {
            Some(BinaryBuilder::new())
        } else {
            None
        };
        RecordsSink {
            schema,
            idx,
            file_id: DictCol::default(),
            stream_index: PrimitiveBuilder::new(),
            record_index: PrimitiveBuilder::new(),
            byte_offset: PrimitiveBuilder::new(),
            rec_typ: PrimitiveBuilder::new(),
            rec_sub: PrimitiveBuilder::new(),
            rec_name: DictCol::default(),
            rec_len: PrimitiveBuilder::new(),
            head_num: PrimitiveBuilder::new(),
            site_num: PrimitiveBuilder::new(),
            part_index: PrimitiveBuilder::new(),
            decode_status: DictCol::default(),
            payload,
            rows: 0,
            batch_size: batch_size.max(1),
            path: path.to_string(),
            batches: Vec::new(),
        }
    }

    pub fn flush(&mut self) -> Result<(), ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let n = self.rows;
        let mut all: Vec<ArrayRef> = vec![
            self.file_id.finish(),
            Arc::new(self.stream_index.finish()),
            Arc::new(self.record_index.finish()),
            Arc::new(self.byte_offset.finish()),
            Arc::new(self.rec_typ.finish()),
            Arc::new(self.rec_sub.finish()),
            self.rec_name.finish(),
            Arc::new(self.rec_len.finish()),
            Arc::new(self.head_num.finish()),
            Arc::new(self.site_num.finish()),
            Arc::new(self.part_index.finish()),
            self.decode_status.finish(),
        ];
        all.push(match self.payload.as_mut() {
            Some(b) => Arc::new(b.finish()),
            None => Arc::new(arrow_array::new_null_array(
                &arrow_schema::DataType::Binary,
                n,
            )),
        });
        all.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(self.path.as_str(), n),
        )));
        let arrays = self.idx.iter().map(|&i| all[i].clone()).collect();
        let b = RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        self.batches.push(b);
        self.rows = 0;
        Ok(())
    }
}

impl Sink for RecordsSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        self.file_id.push_cached(0, || Some(st.file_id.as_str()));
        self.stream_index.append_value(st.stream_index);
        self.record_index.append_value(raw.index);
        self.byte_offset.append_value(raw.offset);
        self.rec_typ.append_value(raw.typ);
        self.rec_sub.append_value(raw.sub);
        self.rec_name
            .push_cached(((raw.typ as usize) << 8) | raw.sub as usize, || {
                Some(raw.name())
            });
        self.rec_len.append_value(raw.rec_len);
        self.head_num.append_option(ctx.part.map(|p| p.head));
        self.site_num.append_option(ctx.part.map(|p| p.site));
        self.part_index
            .append_option(ctx.part.map(|p| p.part_index));
        let status = if stdf_core::records::rec_name(raw.typ, raw.sub).is_none() {
            if raw.typ == 180 || raw.typ == 181 || raw.typ >= 200 {
                "reserved"
            } else {
                "unknown_type"
            }
        } else if self.idx.contains(&11) {
            let (_, c) = stdf_core::Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
            if c.remaining() > 0 {
                "long"
            } else if c.was_short() {
                "short"
            } else {
                "ok"
            }
        } else {
            "ok"
        };
        self.decode_status.push_cached(
            match status {
                "ok" => 0,
                "short" => 1,
                "long" => 2,
                "reserved" => 3,
                _ => 4,
            },
            || Some(status),
        );
        if let Some(b) = self.payload.as_mut() {
            b.append_value(raw.payload);
        }
        self.rows += 1;
        if self.rows >= self.batch_size {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }
}
