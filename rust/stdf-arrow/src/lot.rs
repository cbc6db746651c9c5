//! The per-file driver of every table: the streaming tables (results, records, raw) are sent
//! batch by batch; the lot tables (files, parts, tests, bins, wafers, warnings) are built from
//! stdf-core's [`Lot`] at the end of the file, through their column registries.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use stdf_core::scan::{OnError, Scanner, Sink};
use stdf_core::semantics::lot::Lot;
use stdf_core::semantics::Warning;
use stdf_core::StdfError;

use crate::schema::Table;
use crate::tables::{self, LotRow};
use crate::{into_stdf, ReadOptions};

/// Where a read sends its batches; false when the consumer went away.
type BatchSink<'a> = dyn FnMut(Result<RecordBatch, ArrowError>) -> bool + 'a;

/// An Arrow failure while building a batch of `path`, as the read's error.
/// Read one file as `table` (projected to `schema`), sending batches; Ok(false) when the
/// consumer went away.
pub(crate) fn read_table(
    table: Table,
    schema: &SchemaRef,
    opts: &ReadOptions,
    path: &str,
    send: &mut BatchSink,
) -> Result<bool, StdfError> {
    let mut scanner = match Scanner::open(path, opts.on_error) {
        Ok(s) => s,
        Err(e) if opts.on_error == OnError::Warn => {
            // the file cannot be opened at all: skip it, report it in stdf_warnings
            if table != Table::Warnings {
                return Ok(true);
            }
            let mut lot = Lot::new(path, false);
            lot.file.warnings.push(Warning {
                record_index: None,
                byte_offset: e.offset,
                code: "unreadable",
                message: e.to_string(),
            });
            let batch = lot_batch(&lot, table, schema).map_err(|x| into_stdf(path, x))?;
            return Ok(send(Ok(batch)));
        }
        Err(e) => return Err(e),
    };
    let (batch_size, tests) = (opts.batch_size, opts.tests.clone());
    match table {
        Table::Results => {
            let mut sink = crate::results::ResultsSink::new(
                crate::results::ContractRows::new(schema.clone()),
                tests,
                batch_size,
                path,
            );
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        Table::Records => {
            let mut sink = crate::records_table::RecordsSink::new(schema.clone(), batch_size, path);
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        Table::Raw(name, typ, sub) => {
            let mut sink =
                crate::raw::RawSink::new(name, typ, sub, schema.clone(), tests, batch_size, path);
            drive(&mut scanner, &mut sink, send, |s| {
                s.flush().map(|_| std::mem::take(&mut s.batches))
            })
        }
        _ => {
            if table == Table::Files {
                scanner.reader.enable_content_hash();
            }
            let mut lot = Lot::new(path, table == Table::Tests);
            while scanner.run(&mut lot)? {}
            lot.finish_file(&mut scanner);
            let batch = lot_batch(&lot, table, schema).map_err(|e| into_stdf(path, e))?;
            Ok(send(Ok(batch)))
        }
    }
}

fn drive<S: Sink>(
    scanner: &mut Scanner,
    sink: &mut S,
    send: &mut BatchSink,
    mut take: impl FnMut(&mut S) -> Result<Vec<RecordBatch>, ArrowError>,
) -> Result<bool, StdfError> {
    loop {
        let more = scanner.run(sink);
        let batches = take(sink).map_err(|e| into_stdf(&scanner.state.path, e))?;
        for b in batches {
            if !send(Ok(b)) {
                return Ok(false);
            }
        }
        if !more? {
            return Ok(true);
        }
    }
}

/// One lot table of a file, projected to `schema`.
pub(crate) fn lot_batch(
    lot: &Lot,
    table: Table,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    let l = LotRow(lot);
    macro_rules! build {
        ($Cols:ty, $rows:expr) => {{
            let mut cols = <$Cols>::for_schema(schema);
            let mut n = 0;
            for row in $rows {
                cols.push(&row);
                n += 1;
            }
            tables::batch(schema, cols.finish(), n, &lot.file.path)
        }};
    }
    match table {
        Table::Parts => {
            let wafer_ids: HashMap<(u16, u16), Option<&str>> = lot
                .wafers
                .iter()
                .map(|(w, _)| ((w.stream_index, w.wafer_index), w.wafer_id.as_deref()))
                .collect();
            build!(
                tables::parts::PartCols,
                lot.parts.iter().map(|p| tables::parts::PartRow {
                    lot: l,
                    p,
                    wafer_id: p
                        .wafer_index
                        .and_then(|w| wafer_ids.get(&(p.stream_index, w)).copied())
                        .flatten(),
                })
            )
        }
        Table::Bins => build!(
            tables::bins::BinCols,
            lot.bins.iter().map(|b| tables::bins::BinRow { lot: l, b })
        ),
        Table::Wafers => build!(
            tables::wafers::WaferCols,
            lot.wafers.iter().map(|(w, c)| tables::wafers::WaferRow {
                lot: l,
                w,
                wcr: c.as_ref()
            })
        ),
        Table::Tests => build!(
            tables::tests::TestCols,
            lot.tests
                .iter()
                .map(|t| tables::tests::TestRow { lot: l, t })
        ),
        Table::Files => build!(
            tables::files::FileCols,
            lot.streams
                .iter()
                .map(|s| tables::files::FileRow { lot: l, s })
        ),
        Table::Warnings => build!(
            tables::warnings::WarningCols,
            lot.file
                .warnings
                .iter()
                .map(|w| tables::warnings::WarningRow { lot: l, w })
        ),
        _ => unreachable!("streaming tables are not built here"),
    }
}
