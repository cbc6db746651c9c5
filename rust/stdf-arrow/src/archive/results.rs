//! The results files of a file's streams: rows sorted per stream ([`SortedRows`]) and the
//! stream's parameter sets, written in the scanning thread or, for a job given more than one
//! core, in a writer thread fed through a bounded channel (decoding and Parquet encoding then
//! run side by side).

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ArrowWriter;

use super::props;
use super::sort::{parquet_err, SortedRows};

/// Batches in flight between the scanner and the writer thread.
const IN_FLIGHT: usize = 4;

/// The results files of one stream.
#[derive(Clone, Debug)]
pub(crate) struct StreamFiles {
    pub stream: u16,
    pub rows: u64,
    pub params: u64,
    pub results: PathBuf,
    pub result_params: PathBuf,
}

/// Where the files go and how big a sorted run may be.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub schema: SchemaRef,
    pub staging: PathBuf,
    pub token: String,
    pub run_rows: usize,
}

impl Target {
    pub fn tmp(&self, table: &str, stream: u16) -> PathBuf {
        super::tmp_path(&self.staging, &self.token, table, stream)
    }
}

/// Results rows sorted by test, written as results files.
fn by_test() -> (
    &'static str,
    fn() -> parquet::file::properties::WriterProperties,
) {
    ("test_num", props::results_props)
}

/// The writing itself (in one thread or the other).
pub(crate) struct Inner {
    t: Target,
    current: Option<(u16, SortedRows)>,
    done: Vec<StreamFiles>,
}

impl Inner {
    fn rows(&mut self, stream: u16, b: RecordBatch) -> Result<(), ArrowError> {
        if self.current.is_none() {
            let spill = self.t.tmp("spill", stream);
            let sorter = SortedRows::new(self.t.schema.clone(), by_test(), spill, self.t.run_rows);
            self.current = Some((stream, sorter));
        }
        let (_, cur) = self.current.as_mut().expect("just set");
        cur.push(b)
    }

    fn end(&mut self, stream: u16, params: RecordBatch) -> Result<(), ArrowError> {
        let cur = match self.current.take() {
            Some((_, c)) => c,
            None => SortedRows::new(
                self.t.schema.clone(),
                by_test(),
                self.t.tmp("spill", stream),
                1,
            ),
        };
        let results = self.t.tmp("results", stream);
        let result_params = self.t.tmp("result_params", stream);
        // listed first: removed on an error, even half written
        self.done.push(StreamFiles {
            stream,
            rows: 0,
            params: params.num_rows() as u64,
            results: results.clone(),
            result_params: result_params.clone(),
        });
        let rows = cur.finish(&results)?;
        let mut w = ArrowWriter::try_new(
            File::create(&result_params)?,
            params.schema(),
            Some(props::table_props()),
        )
        .map_err(parquet_err)?;
        w.write(&params).map_err(parquet_err)?;
        w.close().map_err(parquet_err)?;
        self.done.last_mut().expect("pushed above").rows = rows;
        Ok(())
    }

    /// Remove every file written or being written.
    fn discard(&mut self) {
        if let Some((_, c)) = self.current.take() {
            c.discard();
        }
        for f in self.done.drain(..) {
            let _ = std::fs::remove_file(&f.results);
            let _ = std::fs::remove_file(&f.result_params);
        }
    }
}

pub(crate) enum Msg {
    Rows(u16, RecordBatch),
    End(u16, RecordBatch),
}

/// The results writer of one file.
pub(crate) enum ResultsWriter {
    Inline(Inner),
    Thread {
        tx: Option<SyncSender<Msg>>,
        handle: Option<JoinHandle<Result<Vec<StreamFiles>, ArrowError>>>,
    },
}

fn serve(mut inner: Inner, rx: Receiver<Msg>) -> Result<Vec<StreamFiles>, ArrowError> {
    for m in rx {
        let r = match m {
            Msg::Rows(s, b) => inner.rows(s, b),
            Msg::End(s, p) => inner.end(s, p),
        };
        if let Err(e) = r {
            inner.discard();
            return Err(e);
        }
    }
    Ok(std::mem::take(&mut inner.done))
}

impl ResultsWriter {
    /// In the calling thread, or (`threaded`) in a thread of its own.
    pub fn new(t: Target, threaded: bool) -> Self {
        let inner = Inner {
            t,
            current: None,
            done: Vec::new(),
        };
        if !threaded {
            return ResultsWriter::Inline(inner);
        }
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let t = inner.t.clone();
        match std::thread::Builder::new()
            .name("stdf-archive-writer".into())
            .spawn(move || serve(inner, rx))
        {
            Ok(h) => ResultsWriter::Thread {
                tx: Some(tx),
                handle: Some(h),
            },
            // no thread to be had: write in this one
            Err(_) => ResultsWriter::Inline(Inner {
                t,
                current: None,
                done: Vec::new(),
            }),
        }
    }

    fn send(&mut self, m: Msg) -> Result<(), ArrowError> {
        match self {
            ResultsWriter::Inline(inner) => match m {
                Msg::Rows(s, b) => inner.rows(s, b),
                Msg::End(s, p) => inner.end(s, p),
            },
            ResultsWriter::Thread { tx, handle } => {
                let sent = tx.as_ref().map(|t| t.send(m).is_ok()).unwrap_or(false);
                if sent {
                    return Ok(());
                }
                // the writer stopped on an error: that error is the answer
                tx.take();
                match handle.take().map(|h| h.join()) {
                    Some(Ok(Err(e))) => Err(e),
                    _ => Err(ArrowError::ComputeError(
                        "the results writer thread stopped".into(),
                    )),
                }
            }
        }
    }

    /// Rows of `stream` (in file order).
    pub fn rows(&mut self, stream: u16, b: RecordBatch) -> Result<(), ArrowError> {
        self.send(Msg::Rows(stream, b))
    }

    /// The end of `stream`: its rows are written, with its new parameter sets.
    pub fn end(&mut self, stream: u16, params: RecordBatch) -> Result<(), ArrowError> {
        self.send(Msg::End(stream, params))
    }

    /// Every stream's files, once all are written.
    pub fn finish(self) -> Result<Vec<StreamFiles>, ArrowError> {
        match self {
            ResultsWriter::Inline(mut inner) => Ok(std::mem::take(&mut inner.done)),
            ResultsWriter::Thread { tx, handle } => {
                drop(tx);
                match handle.map(|h| h.join()) {
                    Some(Ok(r)) => r,
                    _ => Err(ArrowError::ComputeError(
                        "the results writer thread panicked".into(),
                    )),
                }
            }
        }
    }

    /// Stop and remove every file written (the scan failed).
    pub fn abort(self) {
        match self {
            ResultsWriter::Inline(mut inner) => inner.discard(),
            ResultsWriter::Thread { tx, handle } => {
                drop(tx);
                if let Some(Ok(Ok(files))) = handle.map(|h| h.join()) {
                    for f in files {
                        let _ = std::fs::remove_file(&f.results);
                        let _ = std::fs::remove_file(&f.result_params);
                    }
                }
            }
        }
    }
}
