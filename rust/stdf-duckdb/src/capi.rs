//! Minimal bindings to DuckDB's stable C extension API, version v1.2.0 (struct `duckdb_ext_api_v1`).
//!
//! A loadable extension does not link against libduckdb: at load time DuckDB hands the entry point a
//! table of function pointers (`access->get_api(info, "v1.2.0")`). The table is append-only across
//! DuckDB releases, so a function keeps its slot forever; we record the slot of each function we
//! call (its 0-based position in the v1.2.0 struct, checked against the v1.2.0 header and against a
//! 2026 header, whose v1.2.0 band is identical) and call through it.
//!
//! Only the ~50 functions a table function needs are bound. Handles are opaque pointers.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// The C API version we ask DuckDB for (and write in the footer): every DuckDB >= 1.2.0 provides it.
pub const API_VERSION: &str = "v1.2.0";

pub type Idx = u64;
/// `duckdb_state`: 0 = DuckDBSuccess, 1 = DuckDBError.
pub type State = i32;
pub const SUCCESS: State = 0;
/// `duckdb_type` (enum values from duckdb.h).
pub type TypeId = i32;

pub type Database = *mut c_void;
pub type Connection = *mut c_void;
pub type ExtensionInfo = *mut c_void;
pub type LogicalType = *mut c_void;
pub type Value = *mut c_void;
pub type DataChunk = *mut c_void;
pub type Vector = *mut c_void;
pub type TableFunction = *mut c_void;
pub type BindInfo = *mut c_void;
pub type InitInfo = *mut c_void;
pub type FunctionInfo = *mut c_void;

/// `duckdb_result`: six pointer-sized fields, read only through the C API.
#[repr(C)]
pub struct QueryResult {
    _fields: [usize; 6],
}

impl QueryResult {
    pub fn new() -> Self {
        QueryResult { _fields: [0; 6] }
    }
}

impl Default for QueryResult {
    fn default() -> Self {
        Self::new()
    }
}

pub type DeleteCallback = unsafe extern "C" fn(*mut c_void);
pub type BindCallback = unsafe extern "C" fn(BindInfo);
pub type InitCallback = unsafe extern "C" fn(InitInfo);
pub type ScanCallback = unsafe extern "C" fn(FunctionInfo, DataChunk);

/// `struct duckdb_extension_access` (duckdb.h): what the entry point receives.
#[repr(C)]
pub struct ExtensionAccess {
    pub set_error: unsafe extern "C" fn(ExtensionInfo, *const c_char),
    pub get_database: unsafe extern "C" fn(ExtensionInfo) -> *mut Database,
    pub get_api: unsafe extern "C" fn(ExtensionInfo, *const c_char) -> *const c_void,
}

/// `duckdb_list_entry`: one row of a LIST vector.
#[repr(C)]
pub struct ListEntry {
    pub offset: u64,
    pub length: u64,
}

pub mod types {
    use super::TypeId;
    pub const BOOLEAN: TypeId = 1;
    pub const TINYINT: TypeId = 2;
    pub const SMALLINT: TypeId = 3;
    pub const INTEGER: TypeId = 4;
    pub const BIGINT: TypeId = 5;
    pub const UTINYINT: TypeId = 6;
    pub const USMALLINT: TypeId = 7;
    pub const UINTEGER: TypeId = 8;
    pub const UBIGINT: TypeId = 9;
    pub const FLOAT: TypeId = 10;
    pub const DOUBLE: TypeId = 11;
    pub const TIMESTAMP: TypeId = 12;
    pub const VARCHAR: TypeId = 17;
    pub const BLOB: TypeId = 18;
    pub const LIST: TypeId = 24;
    pub const STRUCT: TypeId = 25;
    pub const ANY: TypeId = 34;
    pub const SQLNULL: TypeId = 36;
}

/// Number of function pointers in the v1.2.0 band of `duckdb_ext_api_v1`.
const V1_2_0_SLOTS: usize = 357;

/// Our copy of DuckDB's function table: the struct `get_api` points at lives only while the
/// extension loads, so (as the C header's init macro does) we copy it.
static API: AtomicPtr<*const c_void> = AtomicPtr::new(std::ptr::null_mut());

macro_rules! bind_api {
    ($( $slot:literal => fn $name:ident ( $($arg:ident : $t:ty),* ) $(-> $ret:ty)? ; )*) => {
        /// Every (slot, name) we call, checked at load time.
        pub const USED: &[(usize, &str)] = &[$( ($slot, stringify!($name)) ),*];
        $(
            /// # Safety
            /// Calls into DuckDB: arguments must be valid handles of the current DuckDB instance.
            #[inline]
            pub unsafe fn $name($($arg: $t),*) $(-> $ret)? {
                // SAFETY: `install` checked that this slot holds a function, which DuckDB's C
                // header declares with exactly this signature; the caller passes valid handles.
                unsafe {
                    let f: unsafe extern "C" fn($($t),*) $(-> $ret)? = std::mem::transmute(slot($slot));
                    f($($arg),*)
                }
            }
        )*
    };
}

/// # Safety
/// [`install`] has stored the function table, and `i < V1_2_0_SLOTS`.
#[inline]
unsafe fn slot(i: usize) -> *const c_void {
    // SAFETY: the caller's contract: the table is installed and `i` is inside it.
    unsafe { *API.load(Ordering::Acquire).add(i) }
}

/// Install the function table handed over by DuckDB. Fails if any slot we call is empty.
///
/// # Safety
/// `api` must point at a `duckdb_ext_api_v1` struct of at least the v1.2.0 band, alive for the process.
pub unsafe fn install(api: *const c_void) -> Result<(), String> {
    // SAFETY: the caller's contract: `api` points at a function table of `V1_2_0_SLOTS` entries, alive for the process.
    unsafe {
        if api.is_null() {
            return Err("DuckDB returned no C API function table".into());
        }
        let table = std::slice::from_raw_parts(api as *const *const c_void, V1_2_0_SLOTS);
        for (i, name) in USED {
            if table.get(*i).is_none_or(|p| p.is_null()) {
                return Err(format!("DuckDB's C API table has no {name}"));
            }
        }
        // leaked on purpose: DuckDB may call our functions until the process ends
        let copy: &'static mut [*const c_void] = Box::leak(table.to_vec().into_boxed_slice());
        API.store(copy.as_mut_ptr(), Ordering::Release);
        Ok(())
    }
}

bind_api! {
    3 => fn duckdb_connect(db: Database, out: *mut Connection) -> State;
    6 => fn duckdb_disconnect(con: *mut Connection);
    13 => fn duckdb_query(con: Connection, sql: *const c_char, out: *mut QueryResult) -> State;
    14 => fn duckdb_destroy_result(r: *mut QueryResult);
    25 => fn duckdb_free(ptr: *mut c_void);
    26 => fn duckdb_vector_size() -> Idx;
    92 => fn duckdb_destroy_value(v: *mut Value);
    125 => fn duckdb_get_int64(v: Value) -> i64;
    118 => fn duckdb_get_bool(v: Value) -> bool;
    136 => fn duckdb_get_value_type(v: Value) -> LogicalType;
    142 => fn duckdb_get_varchar(v: Value) -> *mut c_char;
    149 => fn duckdb_is_null_value(v: Value) -> bool;
    151 => fn duckdb_get_list_size(v: Value) -> Idx;
    152 => fn duckdb_get_list_child(v: Value, i: Idx) -> Value;
    156 => fn duckdb_create_logical_type(t: TypeId) -> LogicalType;
    159 => fn duckdb_create_list_type(child: LogicalType) -> LogicalType;
    163 => fn duckdb_create_struct_type(types: *mut LogicalType, names: *mut *const c_char, n: Idx) -> LogicalType;
    166 => fn duckdb_get_type_id(t: LogicalType) -> TypeId;
    184 => fn duckdb_destroy_logical_type(t: *mut LogicalType);
    189 => fn duckdb_data_chunk_get_column_count(c: DataChunk) -> Idx;
    190 => fn duckdb_data_chunk_get_vector(c: DataChunk, i: Idx) -> Vector;
    192 => fn duckdb_data_chunk_set_size(c: DataChunk, n: Idx);
    194 => fn duckdb_vector_get_data(v: Vector) -> *mut c_void;
    195 => fn duckdb_vector_get_validity(v: Vector) -> *mut u64;
    196 => fn duckdb_vector_ensure_validity_writable(v: Vector);
    198 => fn duckdb_vector_assign_string_element_len(v: Vector, i: Idx, s: *const c_char, n: Idx);
    199 => fn duckdb_list_vector_get_child(v: Vector) -> Vector;
    200 => fn duckdb_list_vector_get_size(v: Vector) -> Idx;
    201 => fn duckdb_list_vector_set_size(v: Vector, n: Idx) -> State;
    202 => fn duckdb_list_vector_reserve(v: Vector, n: Idx) -> State;
    203 => fn duckdb_struct_vector_get_child(v: Vector, i: Idx) -> Vector;
    242 => fn duckdb_create_table_function() -> TableFunction;
    243 => fn duckdb_destroy_table_function(f: *mut TableFunction);
    244 => fn duckdb_table_function_set_name(f: TableFunction, name: *const c_char);
    245 => fn duckdb_table_function_add_parameter(f: TableFunction, t: LogicalType);
    246 => fn duckdb_table_function_add_named_parameter(f: TableFunction, name: *const c_char, t: LogicalType);
    247 => fn duckdb_table_function_set_extra_info(f: TableFunction, data: *mut c_void, destroy: Option<DeleteCallback>);
    248 => fn duckdb_table_function_set_bind(f: TableFunction, cb: Option<BindCallback>);
    249 => fn duckdb_table_function_set_init(f: TableFunction, cb: Option<InitCallback>);
    250 => fn duckdb_table_function_set_local_init(f: TableFunction, cb: Option<InitCallback>);
    251 => fn duckdb_table_function_set_function(f: TableFunction, cb: Option<ScanCallback>);
    252 => fn duckdb_table_function_supports_projection_pushdown(f: TableFunction, on: bool);
    253 => fn duckdb_register_table_function(con: Connection, f: TableFunction) -> State;
    254 => fn duckdb_bind_get_extra_info(info: BindInfo) -> *mut c_void;
    255 => fn duckdb_bind_add_result_column(info: BindInfo, name: *const c_char, t: LogicalType);
    256 => fn duckdb_bind_get_parameter_count(info: BindInfo) -> Idx;
    257 => fn duckdb_bind_get_parameter(info: BindInfo, i: Idx) -> Value;
    258 => fn duckdb_bind_get_named_parameter(info: BindInfo, name: *const c_char) -> Value;
    259 => fn duckdb_bind_set_bind_data(info: BindInfo, data: *mut c_void, destroy: Option<DeleteCallback>);
    260 => fn duckdb_bind_set_cardinality(info: BindInfo, n: Idx, exact: bool);
    261 => fn duckdb_bind_set_error(info: BindInfo, msg: *const c_char);
    263 => fn duckdb_init_get_bind_data(info: InitInfo) -> *mut c_void;
    264 => fn duckdb_init_set_init_data(info: InitInfo, data: *mut c_void, destroy: Option<DeleteCallback>);
    265 => fn duckdb_init_get_column_count(info: InitInfo) -> Idx;
    266 => fn duckdb_init_get_column_index(info: InitInfo, i: Idx) -> Idx;
    267 => fn duckdb_init_set_max_threads(info: InitInfo, n: Idx);
    268 => fn duckdb_init_set_error(info: InitInfo, msg: *const c_char);
    270 => fn duckdb_function_get_bind_data(info: FunctionInfo) -> *mut c_void;
    271 => fn duckdb_function_get_init_data(info: FunctionInfo) -> *mut c_void;
    272 => fn duckdb_function_get_local_init_data(info: FunctionInfo) -> *mut c_void;
    273 => fn duckdb_function_set_error(info: FunctionInfo, msg: *const c_char);
}

/// An owned `duckdb_logical_type`, destroyed on drop.
pub struct OwnedType(pub LogicalType);

impl Drop for OwnedType {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: created by duckdb_create_*_type and not destroyed elsewhere.
            unsafe { duckdb_destroy_logical_type(&mut self.0) }
        }
    }
}

/// An owned `duckdb_value`, destroyed on drop.
pub struct OwnedValue(pub Value);

impl Drop for OwnedValue {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: returned by a DuckDB function documented as "must be destroyed with duckdb_destroy_value".
            unsafe { duckdb_destroy_value(&mut self.0) }
        }
    }
}

/// A C string for DuckDB: interior NULs (impossible in our names, possible in messages) become spaces.
pub fn cstring(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s.replace('\0', " ")).expect("no interior NUL left")
}
