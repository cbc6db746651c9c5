//! Reading many files: globs expanded, files decoded in parallel on worker threads, batches
//! handed to the consumer through a bounded channel (memory stays bounded).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use stdf_core::{ErrorKind, StdfError};

use crate::schema::{schema_for, Table};
use crate::{to_arrow, OnError, ReadOptions};

pub use crate::paths::expand_paths;

/// The files a read goes through: `expand_paths`, except that under `on_error = warn` a pattern
/// that gives no file (it matches nothing, or a folder it must list cannot be listed) stays in
/// the list as it is: its reader then reports it in `stdf_warnings` (code `unreadable`) and the
/// other patterns are read, as a missing file is (design.md: warn goes on with the other files).
pub fn expand_for_read(patterns: &[String], on_error: OnError) -> Result<Vec<String>, StdfError> {
    if on_error != OnError::Warn {
        return expand_paths(patterns);
    }
    let mut out = Vec::new();
    for p in patterns {
        match expand_paths(std::slice::from_ref(p)) {
            Ok(found) => out.extend(found),
            Err(_) => out.push(p.clone()),
        }
    }
    Ok(out)
}

type Msg = Result<RecordBatch, ArrowError>;

/// A stream of RecordBatches of one table over many files.
pub struct TableReader {
    schema: SchemaRef,
    rx: Option<Receiver<Msg>>,
    cancel: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    failed: bool,
}

/// Read one file and send its batches; returns false when the consumer went away.
fn read_file(
    table: Table,
    schema: &SchemaRef,
    opts: &ReadOptions,
    path: &str,
    tx: &SyncSender<Msg>,
    cancel: &AtomicBool,
) -> bool {
    let mut send = |m: Msg| -> bool { !cancel.load(Ordering::Relaxed) && tx.send(m).is_ok() };
    let result = catch_unwind(AssertUnwindSafe(|| {
        crate::lot::read_table(table, schema, opts, path, &mut send)
    }));
    match result {
        Ok(Ok(alive)) => alive,
        Ok(Err(e)) => {
            send(Err(to_arrow(e)));
            false
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            send(Err(to_arrow(StdfError::new(
                ErrorKind::Format,
                path,
                format!("internal error while decoding (please report): {msg}"),
            ))));
            false
        }
    }
}

impl TableReader {
    /// Open a table over files, globs or both.
    pub fn open(patterns: &[String], opts: ReadOptions) -> Result<TableReader, StdfError> {
        let (table, schema) = schema_for(&opts.table, opts.columns.as_deref(), opts.filename)
            .map_err(|m| StdfError::new(ErrorKind::Format, &opts.table, m))?;
        let paths = expand_for_read(patterns, opts.on_error)?;
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            opts.threads
        };
        let nworkers = threads.min(paths.len()).max(1);
        let (tx, rx) = sync_channel::<Msg>(2 * nworkers + 2);
        let cancel = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(paths);
        let mut workers = Vec::new();
        for _ in 0..nworkers {
            let (tx, cancel, next, paths, schema, opts) = (
                tx.clone(),
                cancel.clone(),
                next.clone(),
                paths.clone(),
                schema.clone(),
                opts.clone(),
            );
            workers.push(std::thread::spawn(move || loop {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { return };
                if !read_file(table, &schema, &opts, path, &tx, &cancel) {
                    return;
                }
            }));
        }
        Ok(TableReader {
            schema,
            rx: Some(rx),
            cancel,
            workers,
            failed: false,
        })
    }
}

impl Iterator for TableReader {
    type Item = Msg;
    fn next(&mut self) -> Option<Msg> {
        if self.failed {
            return None;
        }
        let rx = self.rx.as_ref()?;
        match rx.recv() {
            Ok(Err(e)) => {
                self.failed = true;
                self.cancel.store(true, Ordering::Relaxed);
                Some(Err(e))
            }
            Ok(ok) => Some(ok),
            Err(_) => {
                self.rx = None;
                for w in self.workers.drain(..) {
                    let _ = w.join();
                }
                None
            }
        }
    }
}

impl RecordBatchReader for TableReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Drop for TableReader {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        // dropping the receiver unblocks workers waiting to send
        self.rx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
