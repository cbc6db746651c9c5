//! The `stdf_<table>(path, tests :=, on_error :=, filename :=, threads :=)` table functions.
//!
//! - bind: parse the arguments, expand globs (to fail early and size the scan), declare the
//!   columns from the Arrow schema. No file is decoded: DuckDB may bind a query twice.
//! - init (global): open a `TableReader` on the projected columns only; it decodes the files in
//!   parallel on its own threads.
//! - local init: one per DuckDB scan thread; holds the batch that thread is copying.
//! - scan: take the next RecordBatch from the shared reader when the thread's batch is used up,
//!   copy up to one vector (2048 rows) of it into the output chunk.
//!
//! One file is scanned by one DuckDB thread (rows come out in file order); several files are
//! scanned by up to one DuckDB thread per file (order across files is not defined, as in SQL).

use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use stdf_arrow::{OnError, ParamKind, ParamValue, ReadOptions, StdfError, TableReader};

use crate::capi::{
    self, types, BindInfo, DataChunk, FunctionInfo, InitInfo, OwnedType, OwnedValue, Value,
};
use crate::{copy, vector_size};

/// What bind decided; read by init.
struct BindData {
    patterns: Vec<String>,
    n_files: usize,
    opts: ReadOptions,
    /// Every column of the table (with `file_path` when `filename := true`).
    schema: SchemaRef,
}

/// Shared by the scan threads of one query.
struct GlobalState {
    reader: Mutex<Reader>,
    /// Output column j of the chunk -> column of the batches (None: a column DuckDB asked for that
    /// is not ours, e.g. a row id; written as NULL).
    map: Vec<Option<usize>>,
}

struct Reader {
    inner: Option<TableReader>,
    failed: bool,
}

/// One per scan thread.
#[derive(Default)]
struct LocalState {
    batch: Option<RecordBatch>,
    offset: usize,
}

// ---------------------------------------------------------------------------------------------
// registration

/// Register `stdf_<table>` on `con`.
///
/// # Safety
/// `con` must be an open connection of the database being extended.
pub unsafe fn register(con: capi::Connection, table: &str) -> Result<(), String> {
    // SAFETY: the caller's contract: `con` is an open connection; every handle created here is destroyed here.
    unsafe {
        let name = capi::cstring(&format!("stdf_{table}"));
        let mut f = capi::duckdb_create_table_function();
        capi::duckdb_table_function_set_name(f, name.as_ptr());

        let any = OwnedType(capi::duckdb_create_logical_type(types::ANY));
        capi::duckdb_table_function_add_parameter(f, any.0);
        let bigint = OwnedType(capi::duckdb_create_logical_type(types::BIGINT));
        let list_bigint = OwnedType(capi::duckdb_create_list_type(bigint.0));
        let varchar = OwnedType(capi::duckdb_create_logical_type(types::VARCHAR));
        let boolean = OwnedType(capi::duckdb_create_logical_type(types::BOOLEAN));
        for p in stdf_arrow::PARAMETERS {
            let ty = match p.kind {
                ParamKind::IntList => &list_bigint,
                ParamKind::Text => &varchar,
                ParamKind::Bool => &boolean,
                ParamKind::Int => &bigint,
            };
            let c = capi::cstring(p.name);
            capi::duckdb_table_function_add_named_parameter(f, c.as_ptr(), ty.0);
        }

        let extra = Box::into_raw(Box::new(table.to_string()));
        capi::duckdb_table_function_set_extra_info(f, extra.cast(), Some(drop_box::<String>));
        capi::duckdb_table_function_set_bind(f, Some(bind));
        capi::duckdb_table_function_set_init(f, Some(init));
        capi::duckdb_table_function_set_local_init(f, Some(local_init));
        capi::duckdb_table_function_set_function(f, Some(scan));
        capi::duckdb_table_function_supports_projection_pushdown(f, true);

        let state = capi::duckdb_register_table_function(con, f);
        capi::duckdb_destroy_table_function(&mut f);
        if state != capi::SUCCESS {
            return Err(format!("could not register table function stdf_{table}"));
        }
        Ok(())
    }
}

/// # Safety
/// `p` is null or a `Box<T>` this module gave DuckDB as a raw pointer, dropped once.
unsafe extern "C" fn drop_box<T>(p: *mut c_void) {
    // SAFETY: the caller's contract: `p` came from `Box::<T>::into_raw` and is dropped once.
    unsafe {
        if !p.is_null() {
            // a panic in a destructor must not cross into DuckDB
            let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(p.cast::<T>()))));
        }
    }
}

/// Run a callback body, turning errors and panics into a message for DuckDB.
fn guarded(body: impl FnOnce() -> Result<(), String>) -> Option<String> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => None,
        Ok(Err(msg)) => Some(msg),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Some(format!(
                "internal error in stdf-duckdb (please report): {what}"
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bind

/// # Safety
/// Called by DuckDB with the live bind info of a `stdf_<table>(...)` call.
unsafe extern "C" fn bind(info: BindInfo) {
    // SAFETY: `info` is live for the duration of this callback.
    unsafe {
        if let Some(msg) = guarded(|| bind_impl(info)) {
            let c = capi::cstring(&msg);
            capi::duckdb_bind_set_error(info, c.as_ptr());
        }
    }
}

/// # Safety
/// `info` is the live bind info of a function made by [`register`] (its extra info is a `String`).
unsafe fn bind_impl(info: BindInfo) -> Result<(), String> {
    // SAFETY: the caller's contract: `info` is live and its extra info is the `String` `register` set.
    unsafe {
        let table = &*(capi::duckdb_bind_get_extra_info(info) as *const String);
        let fname = format!("stdf_{table}");

        if capi::duckdb_bind_get_parameter_count(info) != 1 {
            return Err(format!(
                "{fname} takes one path argument: a file, a glob or a list of them"
            ));
        }
        let path = OwnedValue(capi::duckdb_bind_get_parameter(info, 0));
        let patterns = string_list(path.0).map_err(|e| format!("{fname}: path {e}"))?;
        if patterns.is_empty() {
            return Err(format!("{fname}: the path list is empty"));
        }

        let mut opts = ReadOptions::new(table);
        for p in stdf_arrow::PARAMETERS {
            if let Some(v) = named(info, p.name) {
                let value = match p.kind {
                    ParamKind::IntList => ParamValue::IntList(int_list(v.0)),
                    ParamKind::Text => ParamValue::Text(get_string(v.0)?),
                    ParamKind::Bool => ParamValue::Bool(capi::duckdb_get_bool(v.0)),
                    ParamKind::Int => ParamValue::Int(capi::duckdb_get_int64(v.0)),
                };
                opts.set(p.name, value)
                    .map_err(|e| format!("{fname}: {e}"))?;
            }
        }

        let (_, schema) = stdf_arrow::schema_for(table, None, opts.filename)?;

        // globs are expanded here only to fail early (a pattern matching nothing, a missing file)
        // and to size the scan; the reader expands the same patterns again when the query runs.
        // Under on_error := 'warn' neither fails: the reader reports them in stdf_warnings.
        let paths =
            stdf_arrow::expand_for_read(&patterns, opts.on_error).map_err(|e| stdf_message(&e))?;
        let mut bytes = 0u64;
        for p in &paths {
            let len = match std::fs::metadata(p) {
                Ok(md) => md.len(),
                Err(_) if opts.on_error == OnError::Warn => 0,
                Err(e) => return Err(stdf_message(&StdfError::io(p, &e))),
            };
            // compressed STDF is typically 10-30x smaller than the stream
            let compressed = [".gz", ".bz2", ".zip", ".zst", ".xz"]
                .iter()
                .any(|x| p.to_ascii_lowercase().ends_with(x));
            bytes += if compressed { len * 15 } else { len };
        }

        for field in schema.fields() {
            let ty = crate::types::logical_type(field.data_type())?;
            let name = capi::cstring(field.name());
            capi::duckdb_bind_add_result_column(info, name.as_ptr(), ty.0);
        }
        capi::duckdb_bind_set_cardinality(
            info,
            estimate_rows(table, paths.len() as u64, bytes),
            false,
        );

        let data = Box::new(BindData {
            patterns,
            n_files: paths.len(),
            opts,
            schema,
        });
        capi::duckdb_bind_set_bind_data(
            info,
            Box::into_raw(data).cast(),
            Some(drop_box::<BindData>),
        );
        Ok(())
    }
}

/// A rough row count for the optimizer (join order), from the number and size of the files.
fn estimate_rows(table: &str, files: u64, bytes: u64) -> u64 {
    match table {
        "files" | "wafers" | "far" | "mir" | "mrr" | "atr" | "vur" | "wcr" | "wir" | "wrr" => {
            files.max(1)
        }
        "parts" | "pir" | "prr" => (bytes / 2_000).max(files),
        "tests" | "tsr" | "pgr" | "pmr" | "plr" | "bins" | "hbr" | "sbr" | "pcr" => files * 500,
        "warnings" => files,
        _ => (bytes / 32).max(files),
    }
}

/// # Safety
/// `info` is a live bind info.
unsafe fn named(info: BindInfo, name: &str) -> Option<OwnedValue> {
    // SAFETY: the caller's contract: `info` is live; the value returned is owned and destroyed by `OwnedValue`.
    unsafe {
        let c = capi::cstring(name);
        let v = OwnedValue(capi::duckdb_bind_get_named_parameter(info, c.as_ptr()));
        if v.0.is_null() || capi::duckdb_is_null_value(v.0) {
            None
        } else {
            Some(v)
        }
    }
}

/// # Safety
/// `v` is a live DuckDB value.
unsafe fn type_id(v: Value) -> capi::TypeId {
    // SAFETY: the caller's contract: `v` is live.
    unsafe {
        // the type belongs to the value: not destroyed here
        capi::duckdb_get_type_id(capi::duckdb_get_value_type(v))
    }
}

/// # Safety
/// `v` is a live DuckDB value.
unsafe fn get_string(v: Value) -> Result<String, String> {
    // SAFETY: the caller's contract: `v` is live; the string DuckDB returns is freed here once.
    unsafe {
        let p = capi::duckdb_get_varchar(v);
        if p.is_null() {
            return Err("expected a string".into());
        }
        let s = CStr::from_ptr(p as *const c_char)
            .to_string_lossy()
            .into_owned();
        capi::duckdb_free(p.cast());
        Ok(s)
    }
}

/// A VARCHAR or a LIST of VARCHAR.
///
/// # Safety
/// `v` is null or a live DuckDB value.
unsafe fn string_list(v: Value) -> Result<Vec<String>, String> {
    // SAFETY: the caller's contract: `v` is null (checked) or live; children are owned by `OwnedValue`.
    unsafe {
        if v.is_null() || capi::duckdb_is_null_value(v) {
            return Err("must not be NULL".into());
        }
        match type_id(v) {
            types::VARCHAR => Ok(vec![get_string(v)?]),
            types::LIST => {
                let n = capi::duckdb_get_list_size(v);
                let mut out = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let c = OwnedValue(capi::duckdb_get_list_child(v, i));
                    if c.0.is_null() || capi::duckdb_is_null_value(c.0) {
                        return Err("list must not contain NULL".into());
                    }
                    if type_id(c.0) != types::VARCHAR {
                        return Err("must be a VARCHAR or a LIST of VARCHAR".into());
                    }
                    out.push(get_string(c.0)?);
                }
                Ok(out)
            }
            _ => Err("must be a VARCHAR or a LIST of VARCHAR".into()),
        }
    }
}

/// The non-NULL items of a list value, as integers.
///
/// # Safety
/// `v` is a live DuckDB LIST value.
unsafe fn int_list(v: Value) -> Vec<i64> {
    // SAFETY: the caller's contract: `v` is a live list; children are owned by `OwnedValue`.
    unsafe {
        let n = capi::duckdb_get_list_size(v);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let c = OwnedValue(capi::duckdb_get_list_child(v, i));
            if !c.0.is_null() && !capi::duckdb_is_null_value(c.0) {
                out.push(capi::duckdb_get_int64(c.0));
            }
        }
        out
    }
}

/// Opens the machine-readable part of an STDF error message (read by `stdf_duck/_errors.py`).
const MARKER: &str = "[stdf_error ";

/// The message DuckDB shows for a reader error: kind, file, offset and record type, then the same
/// facts machine-readable, ` [stdf_error {"kind", "message", "path", "offset", "record",
/// "io_kind"}]` (the args of stdf_duck._native.NativeError), from which the Python package raises
/// the matching `StdfError` with `.path`, `.offset` and `.record`, as on its other route.
fn stdf_message(e: &StdfError) -> String {
    let text = e.to_string();
    let opt = |v: &Option<String>| v.as_deref().map_or("null".to_string(), json_string);
    format!(
        "STDF {} error: {text} {MARKER}{{\"kind\":{},\"message\":{},\"path\":{},\"offset\":{},\"record\":{},\"io_kind\":{}}}]",
        e.kind.name(),
        json_string(e.kind.name()),
        json_string(&text),
        json_string(&e.path),
        e.offset.map_or("null".to_string(), |o| o.to_string()),
        opt(&e.record),
        opt(&e.io_kind),
    )
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn arrow_message(e: &ArrowError) -> String {
    match (stdf_arrow::stdf_error(e), e) {
        (Some(s), _) => stdf_message(s),
        (None, ArrowError::ExternalError(inner)) => inner.to_string(),
        (None, e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// init

/// # Safety
/// Called by DuckDB with the live init info of a scan whose bind data a [`bind`] set.
unsafe extern "C" fn init(info: InitInfo) {
    // SAFETY: `info` is live for the duration of this callback.
    unsafe {
        if let Some(msg) = guarded(|| init_impl(info)) {
            let c = capi::cstring(&msg);
            capi::duckdb_init_set_error(info, c.as_ptr());
        }
    }
}

/// A cheap column to build when DuckDB needs rows but no column of ours (`count(*)`).
fn cheapest_column(schema: &SchemaRef) -> usize {
    schema
        .fields()
        .iter()
        .position(|f| f.data_type().is_primitive())
        .unwrap_or(0)
}

/// # Safety
/// `info` is the live init info of a scan whose bind data is a `BindData`.
unsafe fn init_impl(info: InitInfo) -> Result<(), String> {
    // SAFETY: the caller's contract: `info` is live and its bind data is the `BindData` `bind` set.
    unsafe {
        let bind = &*(capi::duckdb_init_get_bind_data(info) as *const BindData);
        let ncols = bind.schema.fields().len();
        let mut names = Vec::new();
        let mut map = Vec::new();
        for j in 0..capi::duckdb_init_get_column_count(info) {
            let c = capi::duckdb_init_get_column_index(info, j) as usize;
            if c < ncols {
                map.push(Some(names.len()));
                names.push(bind.schema.field(c).name().clone());
            } else {
                map.push(None);
            }
        }
        if names.is_empty() {
            names.push(
                bind.schema
                    .field(cheapest_column(&bind.schema))
                    .name()
                    .clone(),
            );
        }
        let mut opts = bind.opts.clone();
        opts.columns = Some(names);
        let reader = TableReader::open(&bind.patterns, opts).map_err(|e| stdf_message(&e))?;

        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        capi::duckdb_init_set_max_threads(info, bind.n_files.clamp(1, cores) as u64);

        let state = Box::new(GlobalState {
            reader: Mutex::new(Reader {
                inner: Some(reader),
                failed: false,
            }),
            map,
        });
        capi::duckdb_init_set_init_data(
            info,
            Box::into_raw(state).cast(),
            Some(drop_box::<GlobalState>),
        );
        Ok(())
    }
}

/// # Safety
/// Called by DuckDB with the live init info of a scan thread.
unsafe extern "C" fn local_init(info: InitInfo) {
    // SAFETY: `info` is live for the duration of this callback; its bind and init data are ours.
    unsafe {
        if let Some(msg) = guarded(|| {
            let state = Box::<LocalState>::default();
            capi::duckdb_init_set_init_data(
                info,
                Box::into_raw(state).cast(),
                Some(drop_box::<LocalState>),
            );
            Ok(())
        }) {
            let c = capi::cstring(&msg);
            capi::duckdb_init_set_error(info, c.as_ptr());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scan

/// # Safety
/// Called by DuckDB with the live function info and output chunk of a scan.
unsafe extern "C" fn scan(info: FunctionInfo, chunk: DataChunk) {
    // SAFETY: `info` and `chunk` are live for the duration of this callback.
    unsafe {
        if let Some(msg) = guarded(|| scan_impl(info, chunk)) {
            capi::duckdb_data_chunk_set_size(chunk, 0);
            let c = capi::cstring(&msg);
            capi::duckdb_function_set_error(info, c.as_ptr());
        }
    }
}

impl GlobalState {
    /// The next non-empty batch of the shared reader (None at the end).
    fn next_batch(&self) -> Result<Option<RecordBatch>, String> {
        let mut r = self
            .reader
            .lock()
            .map_err(|_| "stdf reader lock poisoned".to_string())?;
        if r.failed {
            return Ok(None);
        }
        loop {
            let Some(reader) = r.inner.as_mut() else {
                return Ok(None);
            };
            match reader.next() {
                None => {
                    // finished: join the worker threads now rather than at query teardown
                    r.inner = None;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    r.failed = true;
                    r.inner = None;
                    return Err(arrow_message(&e));
                }
                Some(Ok(b)) if b.num_rows() == 0 => continue,
                Some(Ok(b)) => return Ok(Some(b)),
            }
        }
    }
}

/// # Safety
/// `info` and `chunk` are the live function info and output chunk of a scan set up by [`init`] and [`local_init`].
unsafe fn scan_impl(info: FunctionInfo, chunk: DataChunk) -> Result<(), String> {
    // SAFETY: the caller's contract: `info` and `chunk` are live, the init data ours.
    unsafe {
        let global = &*(capi::duckdb_function_get_init_data(info) as *const GlobalState);
        let local = &mut *(capi::duckdb_function_get_local_init_data(info) as *mut LocalState);

        let batch = loop {
            match &local.batch {
                Some(b) if local.offset < b.num_rows() => break b,
                _ => match global.next_batch()? {
                    Some(b) => {
                        local.batch = Some(b);
                        local.offset = 0;
                    }
                    None => {
                        local.batch = None;
                        capi::duckdb_data_chunk_set_size(chunk, 0);
                        return Ok(());
                    }
                },
            }
        };
        let start = local.offset;
        let n = (batch.num_rows() - start).min(vector_size());
        for (j, m) in global.map.iter().enumerate() {
            let vec = capi::duckdb_data_chunk_get_vector(chunk, j as u64);
            match m {
                Some(k) => copy::write(vec, batch.column(*k).as_ref(), start, n, 0)?,
                None => copy::write_nulls(vec, n),
            }
        }
        capi::duckdb_data_chunk_set_size(chunk, n as u64);
        local.offset += n;
        Ok(())
    }
}

// DuckDB may run scan threads against one global state.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<GlobalState>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_carries_the_facts_machine_readable() {
        let io = std::io::Error::other("ends\tinside");
        let e = StdfError::io("/d/a \"b\"\\c.stdf", &io)
            .at(1808)
            .record("PTR");
        let text = "/d/a \"b\"\\c.stdf: ends\tinside (record PTR at byte offset 1808)";
        let json = r#"{"kind":"io","message":"/d/a \"b\"\\c.stdf: ends\u0009inside (record PTR at byte offset 1808)","path":"/d/a \"b\"\\c.stdf","offset":1808,"record":"PTR","io_kind":"Other"}"#;
        assert_eq!(
            stdf_message(&e),
            format!("STDF io error: {text} [stdf_error {json}]")
        );
    }
}
