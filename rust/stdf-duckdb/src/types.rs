//! Arrow data types of the stdf tables -> DuckDB logical types.

use arrow_schema::DataType;

use crate::capi::{self, types as t, OwnedType};

/// The DuckDB type of an Arrow column, or an error naming the unsupported type.
///
/// Dictionary-encoded strings become VARCHAR, timestamps TIMESTAMP (microseconds), lists LIST and
/// structs STRUCT, recursively.
pub fn logical_type(dt: &DataType) -> Result<OwnedType, String> {
    let simple = |id| {
        // SAFETY: plain constructor of a builtin type id.
        Ok(OwnedType(unsafe { capi::duckdb_create_logical_type(id) }))
    };
    match dt {
        DataType::Boolean => simple(t::BOOLEAN),
        DataType::Int8 => simple(t::TINYINT),
        DataType::Int16 => simple(t::SMALLINT),
        DataType::Int32 => simple(t::INTEGER),
        DataType::Int64 => simple(t::BIGINT),
        DataType::UInt8 => simple(t::UTINYINT),
        DataType::UInt16 => simple(t::USMALLINT),
        DataType::UInt32 => simple(t::UINTEGER),
        DataType::UInt64 => simple(t::UBIGINT),
        DataType::Float32 => simple(t::FLOAT),
        DataType::Float64 => simple(t::DOUBLE),
        DataType::Timestamp(_, None) => simple(t::TIMESTAMP),
        DataType::Utf8 | DataType::LargeUtf8 => simple(t::VARCHAR),
        DataType::Binary | DataType::LargeBinary => simple(t::BLOB),
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            simple(t::VARCHAR)
        }
        DataType::List(f) | DataType::LargeList(f) => {
            let child = logical_type(f.data_type())?;
            // SAFETY: the child type is copied by DuckDB; ours is destroyed when `child` drops.
            Ok(OwnedType(unsafe { capi::duckdb_create_list_type(child.0) }))
        }
        DataType::Struct(fields) => {
            let children = fields
                .iter()
                .map(|f| logical_type(f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            let names: Vec<_> = fields.iter().map(|f| capi::cstring(f.name())).collect();
            let mut types: Vec<_> = children.iter().map(|c| c.0).collect();
            let mut name_ptrs: Vec<_> = names.iter().map(|n| n.as_ptr()).collect();
            // SAFETY: arrays of `fields.len()` valid types and NUL-terminated names, copied by DuckDB.
            Ok(OwnedType(unsafe {
                capi::duckdb_create_struct_type(
                    types.as_mut_ptr(),
                    name_ptrs.as_mut_ptr(),
                    fields.len() as u64,
                )
            }))
        }
        other => Err(format!(
            "column type {other} has no DuckDB mapping in stdf-duckdb"
        )),
    }
}
