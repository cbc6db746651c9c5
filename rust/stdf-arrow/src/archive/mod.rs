//! One STDF file -> every table of the archive, in one decoding pass (stdf-reference.md §4.11).
//!
//! The scan feeds two sinks at once: the results rows (written per stream, sorted by test, in
//! bounded memory: [`sort`]) and stdf-core's [`Lot`], whose tables (parts, tests, bins, wafers,
//! files, warnings) are written at the end of the file (the parts from the temporary files the
//! lot spilled them to, in bounded memory too: [`parts`]). Every table gets one Parquet file per
//! stream, under a temporary name in the caller's staging folder; the caller chooses each
//! stream's partition and publishes the files (stdf_duck.archive).

mod parts;
mod props;
mod results;
mod sort;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampSecondType;
use arrow_array::{ArrayRef, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use stdf_core::records::{Ftr, Mpr, Ptr, StrRec};
use stdf_core::scan::{Flow, OnError, RecCtx, ScanState, Scanner, Sink};
use stdf_core::semantics::lot::Lot;
use stdf_core::semantics::OpenPart;
use stdf_core::{ErrorKind, RawRecord, StdfError};

use crate::into_stdf;
use crate::lot::lot_batch;
use crate::results::ResultsSink;
use crate::schema::Table;
pub use crate::tables::archive::archive_result_columns;
use crate::tables::archive::ArchiveRows;
use results::{ResultsWriter, Target};

/// The archive's tables, in the order their files are listed.
pub const ARCHIVE_TABLES: [&str; 8] = [
    "parts",
    "results",
    "result_params",
    "tests",
    "bins",
    "wafers",
    "warnings",
    "files",
];

/// The partition columns: directories of the archive, not columns of its files.
const PARTITION_COLUMNS: [&str; 3] = ["part_typ", "test_stage", "lot_id"];

/// How [`write_archive`] writes.
#[derive(Clone, Debug)]
pub struct ArchiveOptions {
    /// What to do on damaged input (as for every table).
    pub on_error: OnError,
    /// Folder of the temporary files.
    pub staging: PathBuf,
    /// Prefix of the temporary files' names (unique per job).
    pub token: String,
    /// The name the warnings table gives the file (`path` column): the ledger's name.
    pub key: String,
    /// stdf_files.file_path (default: the path read).
    pub file_path: Option<String>,
    /// Results rows sorted in memory at a time (more are spilled and merged).
    pub run_rows: usize,
    /// Cores the job may use: with 2 or more the results are encoded in a thread of their own.
    pub threads: usize,
}

impl ArchiveOptions {
    pub fn new(staging: &Path, token: &str, key: &str) -> Self {
        ArchiveOptions {
            on_error: OnError::Raise,
            staging: staging.to_path_buf(),
            token: token.to_string(),
            key: key.to_string(),
            file_path: None,
            run_rows: 512 * 1024,
            threads: 1,
        }
    }
}

fn table_file(table: &'static str, path: &Path, rows: u64) -> TableFile {
    TableFile {
        table,
        path: path.to_string_lossy().into_owned(),
        rows,
    }
}

/// One written file: (table, temporary path, rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFile {
    pub table: &'static str,
    pub path: String,
    pub rows: u64,
}

/// What [`write_archive`] wrote: per stream (FAR..MRR) of the file, one file per archive table.
#[derive(Clone, Debug, Default)]
pub struct ArchiveOutput {
    pub file_id: String,
    /// `streams[i]`: the files of stream i, in [`ARCHIVE_TABLES`] order.
    pub streams: Vec<Vec<TableFile>>,
}

/// Write every archive table of `path` (see the module docs). On an error nothing is left in
/// the staging folder.
pub fn write_archive(path: &str, opts: &ArchiveOptions) -> Result<ArchiveOutput, StdfError> {
    let mut w = Writer {
        opts,
        written: Vec::new(),
    };
    let res = w.run(path);
    if res.is_err() {
        for p in &w.written {
            let _ = std::fs::remove_file(p);
        }
    }
    res
}

struct Writer<'o> {
    opts: &'o ArchiveOptions,
    /// every temporary file created so far (removed on an error)
    written: Vec<PathBuf>,
}

impl Writer<'_> {
    fn tmp(&mut self, table: &str, stream: u16) -> PathBuf {
        let p = tmp_path(&self.opts.staging, &self.opts.token, table, stream);
        self.written.push(p.clone());
        p
    }

    fn run(&mut self, path: &str) -> Result<ArchiveOutput, StdfError> {
        let mut scanner = Scanner::open(path, self.opts.on_error)?;
        scanner.reader.enable_content_hash();
        let file_id = scanner.state.file_id.clone();
        let rows = ArchiveRows::new(&file_id);
        let target = Target {
            schema: rows.schema(),
            staging: self.opts.staging.clone(),
            token: self.opts.token.clone(),
            run_rows: self.opts.run_rows,
        };
        let mut lot = Lot::new(path, true);
        lot.spill_parts(self.opts.staging.join(&self.opts.token));
        let mut sink = ArchiveSink {
            lot,
            results: ResultsSink::new(rows, None, 64 * 1024, path),
            writer: ResultsWriter::new(target, self.opts.threads > 1),
            error: None,
        };
        loop {
            let more = scanner.run(&mut sink);
            let failed = match (sink.error.take(), more) {
                (Some(e), _) => Some(into_stdf(path, e)),
                (None, Err(e)) => Some(e),
                (None, Ok(true)) => None,
                (None, Ok(false)) => break,
            };
            if let Some(e) = failed {
                sink.writer.abort();
                return Err(e);
            }
        }
        let ArchiveSink {
            mut lot, writer, ..
        } = sink;
        let done = writer.finish().map_err(|e| into_stdf(path, e))?;
        for f in &done {
            self.written
                .extend([f.results.clone(), f.result_params.clone()]);
        }
        lot.finish_file(&mut scanner);
        let n = lot.streams.len();
        if n == 0 {
            let e = std::io::Error::new(std::io::ErrorKind::InvalidData, "no STDF stream found");
            return Err(StdfError::io(path, &e));
        }
        let mut results: Vec<Option<(TableFile, TableFile)>> = vec![None; n];
        for f in done {
            if let Some(slot) = results.get_mut(f.stream as usize) {
                *slot = Some((
                    table_file("results", &f.results, f.rows),
                    table_file("result_params", &f.result_params, f.params),
                ));
            }
        }
        let mut out = ArchiveOutput {
            file_id: file_id.clone(),
            streams: Vec::new(),
        };
        for (s, mut files) in self.lot_tables(path, &mut lot, n)?.into_iter().enumerate() {
            let (r, p) = match results[s].take() {
                Some(rp) => rp,
                None => self.empty_results(path, s as u16, &file_id)?,
            };
            files.insert(1, r);
            files.insert(2, p);
            out.streams.push(files);
        }
        Ok(out)
    }

    /// Results files without rows (a stream the results sink never saw end).
    fn empty_results(
        &mut self,
        path: &str,
        stream: u16,
        file_id: &str,
    ) -> Result<(TableFile, TableFile), StdfError> {
        let rows = ArchiveRows::new(file_id);
        let r = self.tmp("results", stream);
        write_parquet(path, &r, &rows.schema(), &[])?;
        let p = self.tmp("result_params", stream);
        write_parquet(path, &p, &ArchiveRows::params_schema(), &[])?;
        Ok((
            TableFile {
                table: "results",
                path: r.to_string_lossy().into_owned(),
                rows: 0,
            },
            TableFile {
                table: "result_params",
                path: p.to_string_lossy().into_owned(),
                rows: 0,
            },
        ))
    }

    /// parts, tests, bins, wafers, warnings, files: one file per stream each (in that order).
    fn lot_tables(
        &mut self,
        path: &str,
        lot: &mut Lot,
        n: usize,
    ) -> Result<Vec<Vec<TableFile>>, StdfError> {
        archive_order(lot);
        let mut out: Vec<Vec<TableFile>> = vec![Vec::new(); n];
        let schema = lot_schema(path, Table::Parts)?;
        for (s, f) in self
            .parts_files(path, lot, &schema, n)?
            .into_iter()
            .enumerate()
        {
            out[s].push(f);
        }
        for table in ["tests", "bins", "wafers", "warnings", "files"] {
            let t = Table::parse(table).expect("a lot table");
            let schema = lot_schema(path, t)?;
            let shown = lot.file.path.clone();
            if table == "warnings" {
                lot.file.path = self.opts.key.clone();
            } else if let Some(p) = &self.opts.file_path {
                lot.file.path = p.clone();
            }
            let built = lot_batch(lot, t, &schema);
            lot.file.path = shown;
            let mut b = built.map_err(|e| into_stdf(path, e))?;
            if table == "files" {
                b = source_context(&b).map_err(|e| into_stdf(path, e))?;
            } else if table == "warnings" {
                b = rename(&b, "file_path", "path").map_err(|e| into_stdf(path, e))?;
            }
            let parts = split_streams(path, &b, n)?;
            for (s, slice) in parts.into_iter().enumerate() {
                let tmp = self.tmp(table, s as u16);
                let rows = slice.as_ref().map_or(0, |b| b.num_rows() as u64);
                let batches: Vec<RecordBatch> = slice.into_iter().collect();
                write_parquet(path, &tmp, &b.schema(), &batches)?;
                let tmp = tmp.to_string_lossy().into_owned();
                out[s].push(TableFile {
                    table: archive_name(table),
                    path: tmp,
                    rows,
                });
            }
        }
        Ok(out)
    }
}

/// The archive's columns of lot table `t`: all but the partition columns (the files table keeps
/// them, renamed by [`source_context`]).
fn lot_schema(path: &str, t: Table) -> Result<SchemaRef, StdfError> {
    let full = t.full_schema(false);
    if t == Table::Files {
        return Ok(Arc::new(full));
    }
    let keep: Vec<usize> = (0..full.fields().len())
        .filter(|&i| !PARTITION_COLUMNS.contains(&full.field(i).name().as_str()))
        .collect();
    Ok(Arc::new(
        full.project(&keep).map_err(|e| into_stdf(path, e))?,
    ))
}

fn archive_name(table: &str) -> &'static str {
    ARCHIVE_TABLES
        .iter()
        .find(|t| **t == table)
        .copied()
        .unwrap_or("?")
}

/// The lot's rows in the archive's order: parts by wafer then part, tests by number, bins by
/// type, number, head, site (NULLs last), wafers by index; warnings by position (NULLs last).
fn archive_order(lot: &mut Lot) {
    lot.parts.sort_by_key(|p| {
        (
            p.stream_index,
            p.wafer_index.is_none(),
            p.wafer_index,
            p.part_index,
        )
    });
    lot.tests
        .sort_by_key(|t| (t.stream_index, t.def.test_num, t.def.test_id));
    lot.bins.sort_by(|a, b| {
        let k = |x: &stdf_core::semantics::lot::Bin| {
            (
                x.stream_index,
                x.bin_type,
                x.bin_num,
                x.head.is_none(),
                x.head,
                x.site.is_none(),
                x.site,
            )
        };
        k(a).cmp(&k(b))
    });
    lot.wafers
        .sort_by_key(|(w, _)| (w.stream_index, w.wafer_index));
    lot.file.warnings.sort_by_key(|w| {
        (
            w.byte_offset.is_none(),
            w.byte_offset,
            w.record_index.is_none(),
            w.record_index,
        )
    });
}

/// The files table: the MIR's context kept as source_* (the directories hold the partition
/// values the caller chose).
fn source_context(b: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = b.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut cols = Vec::new();
    let mut moved = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if PARTITION_COLUMNS.contains(&f.name().as_str()) {
            moved.push((
                Field::new(format!("source_{}", f.name()), f.data_type().clone(), true),
                i,
            ));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(b.column(i).clone());
        }
    }
    for (f, i) in moved {
        fields.push(f);
        cols.push(b.column(i).clone());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
}

fn rename(b: &RecordBatch, from: &str, to: &str) -> Result<RecordBatch, ArrowError> {
    let fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == from {
                f.as_ref().clone().with_name(to)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), b.columns().to_vec())
}

/// `b` cut by its stream_index (rows are in stream order); a table without one (warnings) goes
/// whole to stream 0.
fn split_streams(
    path: &str,
    b: &RecordBatch,
    n: usize,
) -> Result<Vec<Option<RecordBatch>>, StdfError> {
    let mut out: Vec<Option<RecordBatch>> = vec![None; n];
    if b.column_by_name("stream_index").is_none() {
        out[0] = Some(b.clone());
        return Ok(out);
    }
    for (s, slice) in crate::parquet_out::by_stream(path, b)? {
        let slot = out.get_mut(s as usize).ok_or_else(|| {
            StdfError::new(
                ErrorKind::Format,
                path,
                format!("row of stream {s}, the file has {n}"),
            )
        })?;
        *slot = Some(slice);
    }
    Ok(out)
}

/// The temporary name of one table's file of one stream.
pub(crate) fn tmp_path(staging: &Path, token: &str, table: &str, stream: u16) -> PathBuf {
    staging.join(format!("{token}-{table}-{stream}.parquet.tmp"))
}

fn write_parquet(
    path: &str,
    target: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), StdfError> {
    let io = |e: std::io::Error| StdfError::io(&target.to_string_lossy(), &e);
    let perr = |e| StdfError::new(ErrorKind::Io, path, format!("writing parquet: {e}"));
    let file = File::create(target).map_err(io)?;
    let schema = micros_schema(schema);
    let mut w =
        ArrowWriter::try_new(file, schema.clone(), Some(props::table_props())).map_err(perr)?;
    for b in batches {
        let b = micros(b, &schema).map_err(|e| into_stdf(path, e))?;
        w.write(&b).map_err(perr)?;
    }
    w.close().map_err(perr)?;
    Ok(())
}

/// `schema` with timestamps in microseconds: Parquet has no unit of seconds (a column of
/// seconds would be written as plain integers).
fn micros_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Second, tz) => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Timestamp(TimeUnit::Microsecond, tz.clone())),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// `b` with its timestamps of seconds in microseconds (`schema`: [`micros_schema`]).
fn micros(b: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let cols = b
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Timestamp(TimeUnit::Second, tz) => {
                let s = c.as_primitive::<TimestampSecondType>();
                let us: TimestampMicrosecondArray = s.unary(|v| v.saturating_mul(1_000_000));
                Arc::new(us.with_timezone_opt(tz.clone())) as ArrayRef
            }
            _ => c.clone(),
        })
        .collect();
    RecordBatch::try_new(schema.clone(), cols)
}

/// The scan's sink: results rows to the results writer, everything to the Lot.
struct ArchiveSink {
    lot: Lot,
    results: ResultsSink<ArchiveRows>,
    writer: ResultsWriter,
    error: Option<ArrowError>,
}

impl ArchiveSink {
    /// The lot's error (spilling its parts) becomes the sink's.
    fn lot_error(&mut self) -> bool {
        if let Some(e) = self.lot.take_error() {
            self.error.get_or_insert(e.into());
        }
        self.error.is_some()
    }

    /// Move the finished results batches to the writer.
    fn drain(&mut self, stream: u16) -> Result<(), ArrowError> {
        for b in std::mem::take(&mut self.results.batches) {
            self.writer.rows(stream, b)?;
        }
        Ok(())
    }

    fn end_results(&mut self, st: &ScanState) -> Result<(), ArrowError> {
        self.results.flush()?;
        self.drain(st.stream_index)?;
        let params = self.results.out.take_params()?;
        self.writer.end(st.stream_index, params)
    }
}

impl Sink for ArchiveSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        if self.error.is_some() {
            return Flow::Pause;
        }
        match raw.code() {
            _ if self.lot_error() => Flow::Pause,
            Ptr::CODE | Mpr::CODE | Ftr::CODE | StrRec::CODE => {
                self.results.record_test(st, raw, ctx);
                self.lot.count_test(st, raw, ctx);
                if self.results.is_full() {
                    let r = self
                        .results
                        .flush()
                        .and_then(|_| self.drain(st.stream_index));
                    if let Err(e) = r {
                        self.error = Some(e);
                        return Flow::Pause;
                    }
                }
                Flow::Continue
            }
            _ => self.lot.record(st, raw, ctx),
        }
    }

    fn end_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) -> Flow {
        if self.error.is_none() {
            if let Err(e) = self.end_results(st) {
                self.error = Some(e);
            }
        }
        self.results.end_stream(st, incomplete);
        self.lot.end_stream(st, incomplete);
        if self.lot_error() {
            return Flow::Pause;
        }
        Flow::Continue
    }

    fn desync(&mut self, st: &mut ScanState, lost: &[OpenPart]) {
        self.lot.desync(st, lost);
    }
}
