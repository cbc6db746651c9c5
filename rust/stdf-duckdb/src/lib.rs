//! stdf-duckdb: a DuckDB loadable extension (`stdf.duckdb_extension`) on DuckDB's stable C
//! extension API (v1.2.0, ABI `C_STRUCT`), registering one table function per stdf table:
//! `stdf_files`, `stdf_parts`, `stdf_tests`, `stdf_results`, ..., `stdf_far` ... `stdf_dtr`.
//!
//! ```sql
//! LOAD 'stdf.duckdb_extension';   -- duckdb -unsigned, or config allow_unsigned_extensions
//! SELECT test_num, avg(result) FROM stdf_results('lots/*.stdf.gz', tests := [1000, 1001]) GROUP BY ALL;
//! ```
//!
//! The shared library is turned into an extension by appending DuckDB's metadata footer
//! (`stdf-duckdb-footer`, see `footer`). No DuckDB library is linked: DuckDB hands the entry point
//! its table of C API functions.

pub mod capi;
mod copy;
pub mod footer;
mod table;
mod types;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

static VECTOR_SIZE: AtomicUsize = AtomicUsize::new(2048);

/// Rows per DuckDB vector (STANDARD_VECTOR_SIZE of the loading DuckDB).
pub(crate) fn vector_size() -> usize {
    VECTOR_SIZE.load(Ordering::Relaxed)
}

/// # Safety
/// `access` points at DuckDB's extension access struct and `info` is this load's extension info.
unsafe fn init_extension(
    info: capi::ExtensionInfo,
    access: *const capi::ExtensionAccess,
) -> Result<(), String> {
    // SAFETY: the caller's contract: `access` and `info` are DuckDB's, alive during the load.
    unsafe {
        let access = &*access;
        let version = capi::cstring(capi::API_VERSION);
        let api = (access.get_api)(info, version.as_ptr());
        if api.is_null() {
            // DuckDB has already set an error explaining the refusal
            return Err(String::new());
        }
        capi::install(api)?;
        VECTOR_SIZE.store(capi::duckdb_vector_size() as usize, Ordering::Relaxed);

        let db = (access.get_database)(info);
        if db.is_null() {
            return Err("DuckDB gave no database to register the stdf functions in".into());
        }
        let mut con: capi::Connection = std::ptr::null_mut();
        if capi::duckdb_connect(*db, &mut con) != capi::SUCCESS {
            return Err("could not connect to the database to register the stdf functions".into());
        }
        let mut result = Ok(());
        for name in stdf_arrow::table_names() {
            if let Err(e) = table::register(con, &name) {
                result = Err(e);
                break;
            }
        }
        if result.is_ok() {
            apply_analysis_sql(con);
        }
        capi::duckdb_disconnect(&mut con);
        result
    }
}

/// The analysis macros of `sql/analysis/` (embedded by stdf-sql), created in the default
/// database so that every connection sees them. A database that refuses them (opened read-only)
/// keeps the table functions without the macros: nothing is written into it.
///
/// # Safety
/// `con` is a connection of the loading database, open for the duration of the call.
unsafe fn apply_analysis_sql(con: capi::Connection) {
    for (_path, text) in stdf_sql::analysis() {
        let sql = capi::cstring(text);
        let mut res = capi::QueryResult::new();
        // SAFETY: `con` is open (caller's contract), `sql` is a NUL-terminated string alive
        // for the call, and `res` is destroyed whatever the outcome, as the C API asks.
        unsafe {
            let ok = capi::duckdb_query(con, sql.as_ptr(), &mut res) == capi::SUCCESS;
            capi::duckdb_destroy_result(&mut res);
            if !ok {
                return;
            }
        }
    }
}

/// The entry point DuckDB looks up in `stdf.duckdb_extension` (`<file base name>_init_c_api`).
///
/// # Safety
/// Called by DuckDB with its extension info and access struct.
#[no_mangle]
pub unsafe extern "C" fn stdf_init_c_api(
    info: capi::ExtensionInfo,
    access: *const capi::ExtensionAccess,
) -> bool {
    // SAFETY: DuckDB's call contract: `info` and `access` (checked non-null) are alive during the load.
    unsafe {
        if access.is_null() {
            return false;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| init_extension(info, access)));
        let msg = match outcome {
            Ok(Ok(())) => return true,
            Ok(Err(m)) => m,
            Err(_) => "internal error while loading the stdf extension".to_string(),
        };
        if !msg.is_empty() {
            let c = capi::cstring(&format!("stdf extension: {msg}"));
            ((*access).set_error)(info, c.as_ptr());
        }
        false
    }
}

/// Version string of this extension (`v` + crate version), written into the footer.
pub fn extension_version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}
