//! stdf_records: one row per record (headers only, unless the payload is asked for); its
//! columns are in `tables/records.rs`.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use stdf_core::scan::{Flow, RecCtx, ScanState, Sink};
use stdf_core::RawRecord;

use crate::tables::records::{RecordCols, RecordRow};

pub(crate) struct RecordsSink {
    schema: SchemaRef,
    cols: RecordCols,
    rows: usize,
    batch_size: usize,
    path: String,
    pub batches: Vec<RecordBatch>,
}

impl RecordsSink {
    pub fn new(schema: SchemaRef, batch_size: usize, path: &str) -> Self {
        RecordsSink {
            cols: RecordCols::for_schema(&schema),
            schema,
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
        let b = crate::tables::batch(&self.schema, self.cols.finish(), self.rows, &self.path)?;
        self.batches.push(b);
        self.rows = 0;
        Ok(())
    }
}

impl Sink for RecordsSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        self.cols.push(&RecordRow { st, raw, ctx });
        self.rows += 1;
        if self.rows >= self.batch_size {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }
}
