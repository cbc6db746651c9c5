//! One stream's results rows -> one Parquet file sorted by test_num, in bounded memory (and
//! the same for its parts, sorted by wafer_index).
//!
//! Rows arrive in file order. They are gathered in runs of at most `run_rows` rows; a run is
//! sorted by its key column (stable: file order within a key). When the stream ends with one run
//! (most files), that run is the file. Otherwise every run is spilled, sorted, to an Arrow IPC
//! file beside the target, and the runs are merged test by test: memory holds one run while
//! reading, then one small batch per run while merging, whatever the stream's size.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt16Type, UInt32Type};
use arrow_array::{RecordBatch, UInt32Array};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// Rows per batch in a spilled run (the merge holds one per run).
const SPILL_BATCH: usize = 4 * 1024;
/// Rows per sorted batch taken out of a run.
const SORTED_BATCH: usize = 64 * 1024;

/// The results of one stream being gathered.
pub(crate) struct SortedRows {
    schema: SchemaRef,
    /// the sort key: a UInt32 column, or a UInt16 one whose NULLs sort last
    key: &'static str,
    props: fn() -> WriterProperties,
    run: Vec<RecordBatch>,
    run_rows: usize,
    max_run_rows: usize,
    spills: Vec<PathBuf>,
    /// prefix of the spill files (`<prefix>.run<N>`)
    spill_prefix: PathBuf,
    pub rows: u64,
}

/// The sort key of every row of `b` (the values of column `key`; NULL: u32::MAX).
fn keys(b: &RecordBatch, key: &str) -> Result<UInt32Array, ArrowError> {
    let c = b
        .column_by_name(key)
        .ok_or_else(|| ArrowError::SchemaError(format!("rows without {key}")))?;
    if let Some(k) = c.as_primitive_opt::<UInt32Type>() {
        return Ok(k.clone());
    }
    match c.as_primitive_opt::<UInt16Type>() {
        Some(k) => Ok(k
            .iter()
            .map(|v| Some(v.map_or(u32::MAX, u32::from)))
            .collect()),
        None => Err(ArrowError::SchemaError(format!("{key}: not a sort key"))),
    }
}

impl SortedRows {
    /// Rows of `schema` sorted by column `key`, written with `props`.
    pub fn new(
        schema: SchemaRef,
        (key, props): (&'static str, fn() -> WriterProperties),
        spill_prefix: PathBuf,
        max_run_rows: usize,
    ) -> Self {
        SortedRows {
            schema,
            key,
            props,
            run: Vec::new(),
            run_rows: 0,
            max_run_rows: max_run_rows.max(1),
            spills: Vec::new(),
            spill_prefix,
            rows: 0,
        }
    }

    pub fn push(&mut self, b: RecordBatch) -> Result<(), ArrowError> {
        self.run_rows += b.num_rows();
        self.rows += b.num_rows() as u64;
        self.run.push(b);
        if self.run_rows >= self.max_run_rows {
            self.spill()?;
        }
        Ok(())
    }

    /// The current run, sorted by test_num (file order within a test), handed to `out` in
    /// batches of [`SORTED_BATCH`] rows: memory holds the run twice while it is concatenated,
    /// then once and one sorted batch.
    fn sorted_run(
        &mut self,
        mut out: impl FnMut(&RecordBatch) -> Result<(), ArrowError>,
    ) -> Result<(), ArrowError> {
        let run = std::mem::take(&mut self.run);
        self.run_rows = 0;
        let mut keys: Vec<(u32, u32, u32)> = Vec::new(); // (key, batch, row)
        for (bi, b) in run.iter().enumerate() {
            let tn = self::keys(b, self.key)?;
            keys.extend(
                tn.values()
                    .iter()
                    .enumerate()
                    .map(|(r, &t)| (t, bi as u32, r as u32)),
            );
        }
        if keys.windows(2).all(|w| w[0].0 <= w[1].0) {
            return run.iter().try_for_each(&mut out);
        }
        keys.sort_by_key(|k| k.0); // stable: file order within a test
                                   // one batch (a copy of the run, the batches dropped), then gathers of SORTED_BATCH rows
        let starts: Vec<u32> = run
            .iter()
            .scan(0u32, |at, b| {
                let s = *at;
                *at += b.num_rows() as u32;
                Some(s)
            })
            .collect();
        let all = arrow_select::concat::concat_batches(&self.schema, &run)?;
        drop(run);
        for chunk in keys.chunks(SORTED_BATCH) {
            let idx: UInt32Array = chunk
                .iter()
                .map(|&(_, b, r)| starts[b as usize] + r)
                .collect();
            out(&arrow_select::take::take_record_batch(&all, &idx)?)?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), ArrowError> {
        let path = PathBuf::from(format!(
            "{}.run{}",
            self.spill_prefix.display(),
            self.spills.len()
        ));
        let file = File::create(&path)?;
        self.spills.push(path);
        // the stream format: each sorted batch may bring its own dictionaries
        let mut w = StreamWriter::try_new(std::io::BufWriter::new(file), &self.schema)?;
        self.sorted_run(|b| {
            let mut at = 0;
            while at < b.num_rows() {
                let n = SPILL_BATCH.min(b.num_rows() - at);
                w.write(&b.slice(at, n))?;
                at += n;
            }
            Ok(())
        })?;
        w.finish()
    }

    /// Write the stream's rows, sorted, to `target` (Parquet, zstd); the spills are removed.
    pub fn finish(mut self, target: &Path) -> Result<u64, ArrowError> {
        let out = File::create(target)?;
        let mut w = ArrowWriter::try_new(out, self.schema.clone(), Some((self.props)()))
            .map_err(parquet_err)?;
        let res = if self.spills.is_empty() {
            self.sorted_run(|b| w.write(b).map_err(parquet_err))
        } else {
            if self.run_rows > 0 {
                self.spill()?;
            }
            merge(&self.spills, self.key, &mut w)
        };
        for p in &self.spills {
            let _ = std::fs::remove_file(p);
        }
        res?;
        w.close().map_err(parquet_err)?;
        Ok(self.rows)
    }

    /// Remove the spill files (a failed write).
    pub fn discard(self) {
        for p in &self.spills {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(crate) fn parquet_err(e: parquet::errors::ParquetError) -> ArrowError {
    ArrowError::ExternalError(Box::new(e))
}

/// A sorted run being read back.
struct Cursor {
    reader: StreamReader<std::io::BufReader<File>>,
    key: &'static str,
    batch: Option<(RecordBatch, UInt32Array)>,
    pos: usize,
}

impl Cursor {
    fn open(path: &Path, key: &'static str) -> Result<Self, ArrowError> {
        let reader = StreamReader::try_new(std::io::BufReader::new(File::open(path)?), None)?;
        let mut c = Cursor {
            reader,
            key,
            batch: None,
            pos: 0,
        };
        c.load()?;
        Ok(c)
    }

    /// The next non-empty batch (None at the end of the run).
    fn load(&mut self) -> Result<(), ArrowError> {
        self.batch = None;
        self.pos = 0;
        for b in self.reader.by_ref() {
            let b = b?;
            if b.num_rows() > 0 {
                let tn = keys(&b, self.key)?;
                self.batch = Some((b, tn));
                break;
            }
        }
        Ok(())
    }

    fn head(&self) -> Option<u32> {
        self.batch.as_ref().map(|(_, tn)| tn.value(self.pos))
    }
}

/// Runs sorted by their key -> one writer: for each key in order, its rows of run 0, then of
/// run 1, ... (file order within a key, as the runs are in file order).
fn merge(
    spills: &[PathBuf],
    key: &'static str,
    w: &mut ArrowWriter<File>,
) -> Result<(), ArrowError> {
    let mut runs = spills
        .iter()
        .map(|p| Cursor::open(p, key))
        .collect::<Result<Vec<_>, _>>()?;
    while let Some(t) = runs.iter().filter_map(Cursor::head).min() {
        for c in runs.iter_mut() {
            while c.head() == Some(t) {
                let (b, tn) = c.batch.as_ref().expect("head implies a batch");
                let start = c.pos;
                let mut end = start;
                while end < tn.len() && tn.value(end) == t {
                    end += 1;
                }
                w.write(&b.slice(start, end - start)).map_err(parquet_err)?;
                c.pos = end;
                if end == tn.len() {
                    c.load()?;
                }
            }
        }
    }
    Ok(())
}
