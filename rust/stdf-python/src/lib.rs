//! `stdf_duck._native`: thin bindings. Arguments in, Arrow out through the PyCapsule
//! interface (`__arrow_c_stream__`, `__arrow_c_schema__`), errors as `NativeError` with the
//! file, byte offset and record type (the Python package maps them to its exception classes).

use std::sync::{Arc, Mutex};

use arrow_array::ffi::FFI_ArrowSchema;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyList};
use stdf_arrow::{OnError, ParamValue, ReadOptions, StdfError, TableReader};

/// The module's allocator: mimalloc returns the memory of a phase that ends (a sorted run, a
/// merge) to the system, where the C allocator kept it as a high-water mark (a 2 GiB file peaked
/// at 260 MiB of RSS for 105 MiB of live allocations), and it is faster on the many small ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(
    _native,
    NativeError,
    PyException,
    "An STDF error: args = (kind, message, path, offset, record, io_kind)."
);

fn to_py(e: &StdfError) -> PyErr {
    NativeError::new_err((
        e.kind.name(),
        e.to_string(),
        e.path.clone(),
        e.offset,
        e.record.clone(),
        e.io_kind.clone(),
    ))
}

fn on_error_of(s: &str) -> PyResult<OnError> {
    stdf_arrow::on_error(s).map_err(PyValueError::new_err)
}

/// NativeError args: (kind, message, path, offset, record, io_kind).
type ErrorArgs = (
    String,
    String,
    String,
    Option<u64>,
    Option<String>,
    Option<String>,
);

/// A re-openable source of one table over files: every `__arrow_c_stream__` call starts a new
/// scan, so DuckDB views and repeated queries work.
#[pyclass(module = "stdf_duck._native", frozen)]
struct TableSource {
    paths: Vec<String>,
    opts: ReadOptions,
    schema: SchemaRef,
    last_error: Arc<Mutex<Option<StdfError>>>,
}

/// Wraps a TableReader to remember the STDF error that ended it.
struct Recording {
    inner: TableReader,
    slot: Arc<Mutex<Option<StdfError>>>,
}

impl Iterator for Recording {
    type Item = Result<RecordBatch, ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.inner.next();
        if let Some(Err(e)) = &r {
            if let (Some(se), Ok(mut slot)) = (stdf_arrow::stdf_error(e).cloned(), self.slot.lock())
            {
                *slot = Some(se);
            }
        }
        r
    }
}

impl RecordBatchReader for Recording {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

#[pymethods]
impl TableSource {
    #[new]
    #[pyo3(signature = (table, paths, columns=None, tests=None, on_error="raise", threads=0, batch_size=65536, filename=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        table: &str,
        paths: Vec<String>,
        columns: Option<Vec<String>>,
        tests: Option<Vec<i64>>,
        on_error: &str,
        threads: i64,
        batch_size: usize,
        filename: bool,
    ) -> PyResult<Self> {
        let mut opts = ReadOptions::new(table);
        let mut set = |name: &str, v| opts.set(name, v).map_err(PyValueError::new_err);
        if let Some(t) = tests {
            set("tests", ParamValue::IntList(t))?;
        }
        set("on_error", ParamValue::Text(on_error.to_string()))?;
        set("threads", ParamValue::Int(threads))?;
        set("filename", ParamValue::Bool(filename))?;
        opts.columns = columns;
        opts.batch_size = batch_size.max(1);
        let (_, schema) = stdf_arrow::schema_for(table, opts.columns.as_deref(), filename)
            .map_err(PyValueError::new_err)?;
        let paths = stdf_arrow::expand_for_read(&paths, opts.on_error).map_err(|e| to_py(&e))?;
        Ok(TableSource {
            paths,
            opts,
            schema,
            last_error: Arc::new(Mutex::new(None)),
        })
    }

    /// Files this source reads (globs expanded).
    #[getter]
    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }

    #[getter]
    fn table(&self) -> String {
        self.opts.table.clone()
    }

    /// Column names of the output.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let ffi = FFI_ArrowSchema::try_from(self.schema.as_ref())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, ffi, c"arrow_schema")
    }

    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema; // the schema is fixed by `columns`
        let paths = self.paths.clone();
        let opts = self.opts.clone();
        let reader = py
            .detach(|| TableReader::open(&paths, opts))
            .map_err(|e| to_py(&e))?;
        if let Ok(mut s) = self.last_error.lock() {
            *s = None;
        }
        let rec = Recording {
            inner: reader,
            slot: self.last_error.clone(),
        };
        let stream = FFI_ArrowArrayStream::new(Box::new(rec));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// The STDF error that ended the last stream, as NativeError args, or None.
    fn last_error(&self) -> Option<ErrorArgs> {
        let s = self.last_error.lock().ok()?;
        s.as_ref().map(|e| {
            (
                e.kind.name().to_string(),
                e.to_string(),
                e.path.clone(),
                e.offset,
                e.record.clone(),
                e.io_kind.clone(),
            )
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<stdf_duck source stdf_{} over {} file(s)>",
            self.opts.table.trim_start_matches("stdf_"),
            self.paths.len()
        )
    }
}

/// Names of every table.
#[pyfunction]
fn table_names() -> Vec<String> {
    stdf_arrow::table_names()
}

/// STDF -> Parquet for parts, tests and results, written by Rust (GIL released):
/// `partitions[i]` holds the (column, value) directory levels of stream i, taken verbatim.
#[pyfunction]
#[pyo3(signature = (stdf_path, output_dir, partitions, on_error="raise"))]
fn parse_to_parquet<'py>(
    py: Python<'py>,
    stdf_path: &str,
    output_dir: &str,
    partitions: Vec<stdf_arrow::Partition>,
    on_error: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let on_error = on_error_of(on_error)?;
    let (a, b) = (stdf_path.to_string(), output_dir.to_string());
    let stats = py
        .detach(move || stdf_arrow::parse_to_parquet(&a, &b, &partitions, on_error))
        .map_err(|e| to_py(&e))?;
    let out = PyDict::new(py);
    out.set_item("parts", stats.parts)?;
    out.set_item("tests", stats.tests)?;
    out.set_item("results", stats.results)?;
    out.set_item("files", stats.files)?;
    Ok(out)
}

/// Every archive table of one STDF file, in one pass (GIL released), as temporary Parquet files
/// in `staging` named after `token`: {"file_id": str, "streams": [[{"table", "path", "rows"}, ...]]},
/// one list per stream (FAR..MRR) in the archive's table order. `threads` > 1: the results are
/// encoded in a thread of their own while the file is decoded.
#[pyfunction]
#[pyo3(signature = (stdf_path, staging, token, key, on_error="raise", file_path=None, run_rows=524288, threads=1))]
#[allow(clippy::too_many_arguments)]
fn write_archive<'py>(
    py: Python<'py>,
    stdf_path: &str,
    staging: &str,
    token: &str,
    key: &str,
    on_error: &str,
    file_path: Option<String>,
    run_rows: usize,
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let mut opts = stdf_arrow::ArchiveOptions::new(std::path::Path::new(staging), token, key);
    opts.on_error = on_error_of(on_error)?;
    opts.file_path = file_path;
    opts.run_rows = run_rows;
    opts.threads = threads;
    let path = stdf_path.to_string();
    let written = py
        .detach(move || stdf_arrow::write_archive(&path, &opts))
        .map_err(|e| to_py(&e))?;
    let out = PyDict::new(py);
    out.set_item("file_id", &written.file_id)?;
    let streams = PyList::empty(py);
    for files in &written.streams {
        let l = PyList::empty(py);
        for f in files {
            let d = PyDict::new(py);
            d.set_item("table", f.table)?;
            d.set_item("path", &f.path)?;
            d.set_item("rows", f.rows)?;
            l.append(d)?;
        }
        streams.append(l)?;
    }
    out.set_item("streams", streams)?;
    Ok(out)
}

/// (column, table) of each stdf_results column in an archive: "results", "result_params" or
/// "partition", in stdf_results order.
#[pyfunction]
fn archive_result_columns() -> Vec<(&'static str, &'static str)> {
    stdf_arrow::archive_result_columns()
}

/// Every `sql/**/*.sql` of the build (path under `sql/`, text), in path order: the analysis
/// macros (`analysis/`) and the archive templates (`archive/`).
#[pyfunction]
fn sql_files() -> Vec<(&'static str, &'static str)> {
    stdf_sql::FILES.to_vec()
}

/// file_id of a file: hash of its size and first MiB of decompressed content.
#[pyfunction]
fn file_id(py: Python<'_>, path: &str) -> PyResult<String> {
    let p = path.to_string();
    py.detach(move || stdf_arrow::file_id(&p))
        .map_err(|e| to_py(&e))
}

/// Names of the named parameters every table function takes (`stdf_<table>(path, name := ...)`).
#[pyfunction]
fn table_parameters() -> Vec<&'static str> {
    stdf_arrow::PARAMETERS.iter().map(|p| p.name).collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TableSource>()?;
    m.add_function(wrap_pyfunction!(table_names, m)?)?;
    m.add_function(wrap_pyfunction!(parse_to_parquet, m)?)?;
    m.add_function(wrap_pyfunction!(file_id, m)?)?;
    m.add_function(wrap_pyfunction!(write_archive, m)?)?;
    m.add_function(wrap_pyfunction!(archive_result_columns, m)?)?;
    m.add_function(wrap_pyfunction!(sql_files, m)?)?;
    m.add_function(wrap_pyfunction!(table_parameters, m)?)?;
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
