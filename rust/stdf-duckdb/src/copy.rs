//! Copy a row range of an Arrow array into a DuckDB vector.
//!
//! Top-level columns are written at rows `0..len` of the output chunk; the children of LIST
//! vectors are appended after the list's current child size (DuckDB grows the child on reserve);
//! STRUCT children are written at the same rows as their parent.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, GenericByteArray, OffsetSizeTrait};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{DataType, TimeUnit};

use crate::capi::{self, ListEntry, Vector};

/// DuckDB's `string_t`: 4-byte length, then either the whole string (up to 12 bytes) or a
/// prefix and a pointer. Strings up to 12 bytes are written in place; longer ones are copied by
/// DuckDB into the vector's string heap.
const INLINE_LEN: usize = 12;

/// Dictionaries up to this many values get a per-chunk cache of their long strings.
const DICT_CACHE_MAX: usize = 1 << 16;

/// Set or clear the validity bit of `row`.
///
/// # Safety
///
/// `mask` is a DuckDB validity mask that covers `row` (DuckDB sizes it to the vector's
/// capacity) and nothing else writes it meanwhile.
#[inline]
unsafe fn set_bit(mask: *mut u64, row: usize, valid: bool) {
    // SAFETY: the caller's contract: `row / 64` is a word of `mask`, written by no one else meanwhile
    unsafe {
        let word = mask.add(row / 64);
        let bit = 1u64 << (row % 64);
        if valid {
            *word |= bit;
        } else {
            *word &= !bit;
        }
    }
}

/// Write the validity of rows `start..start+len` of `arr` at rows `dst..` of `vec`.
///
/// # Safety
/// `vec` is a writable DuckDB vector of the mapped type with capacity for `dst + len` rows, and `start + len <= arr.len()`.
unsafe fn write_validity(vec: Vector, arr: &dyn Array, start: usize, len: usize, dst: usize) {
    // SAFETY: the caller's contract: `vec` has capacity for `dst + len` rows, `arr` holds `start + len`.
    unsafe {
        let mut mask = capi::duckdb_vector_get_validity(vec);
        match arr.nulls() {
            Some(n) if n.slice(start, len).null_count() > 0 => {
                if mask.is_null() {
                    capi::duckdb_vector_ensure_validity_writable(vec);
                    mask = capi::duckdb_vector_get_validity(vec);
                }
                for i in 0..len {
                    set_bit(mask, dst + i, n.is_valid(start + i));
                }
            }
            _ => {
                // an allocated mask may hold stale bits (list children, reused vectors): mark valid
                if !mask.is_null() {
                    for i in 0..len {
                        set_bit(mask, dst + i, true);
                    }
                }
            }
        }
    }
}

/// Mark one row NULL (for dictionary entries whose value is NULL).
///
/// # Safety
/// `vec` is a writable DuckDB vector with capacity for `row + 1` rows.
unsafe fn set_null(vec: Vector, row: usize) {
    // SAFETY: the caller's contract: `row` is inside `vec`.
    unsafe {
        capi::duckdb_vector_ensure_validity_writable(vec);
        set_bit(capi::duckdb_vector_get_validity(vec), row, false);
    }
}

/// # Safety
/// `data` is the data pointer of `vec`, a writable VARCHAR or BLOB vector with capacity for `row + 1` rows.
#[inline]
unsafe fn put_bytes(vec: Vector, data: *mut [u8; 16], row: usize, s: &[u8]) {
    // SAFETY: the caller's contract: `row` is inside `vec` and `data` is its data.
    unsafe {
        if s.len() <= INLINE_LEN {
            let mut v = [0u8; 16];
            v[..4].copy_from_slice(&(s.len() as u32).to_ne_bytes());
            v[4..4 + s.len()].copy_from_slice(s);
            *data.add(row) = v;
        } else {
            capi::duckdb_vector_assign_string_element_len(
                vec,
                row as u64,
                s.as_ptr().cast(),
                s.len() as u64,
            );
        }
    }
}

/// # Safety
/// As [`write`]: `vec` is a writable DuckDB vector of the mapped type with capacity for `dst + len` rows, and `start + len <= arr.len()`.
unsafe fn write_bytes<T: ByteArrayType>(
    vec: Vector,
    a: &GenericByteArray<T>,
    start: usize,
    len: usize,
    dst: usize,
) {
    // SAFETY: the caller's contract (as `write`'s): rows `dst..dst + len` are inside `vec`.
    unsafe {
        let data = capi::duckdb_vector_get_data(vec) as *mut [u8; 16];
        let offsets = a.value_offsets();
        let values = a.value_data();
        for i in 0..len {
            let r = start + i;
            if a.is_valid(r) {
                let (s, e) = (offsets[r].as_usize(), offsets[r + 1].as_usize());
                put_bytes(vec, data, dst + i, &values[s..e]);
            }
        }
    }
}

/// # Safety
/// As [`write`]: `vec` is a writable DuckDB vector of the mapped type with capacity for `dst + len` rows, and `start + len <= arr.len()`.
unsafe fn write_primitive<T: ArrowPrimitiveType>(
    vec: Vector,
    arr: &dyn Array,
    start: usize,
    len: usize,
    dst: usize,
) {
    // SAFETY: the caller's contract (as `write`'s): rows `dst..dst + len` are inside `vec`.
    unsafe {
        let a = arr.as_primitive::<T>();
        let src = &a.values()[start..start + len];
        let out = capi::duckdb_vector_get_data(vec) as *mut T::Native;
        std::ptr::copy_nonoverlapping(src.as_ptr(), out.add(dst), len);
    }
}

/// # Safety
/// As [`write`]: `vec` is a writable DuckDB vector of the mapped type with capacity for `dst + len` rows, and `start + len <= arr.len()`.
unsafe fn write_timestamp<T: ArrowPrimitiveType<Native = i64>>(
    vec: Vector,
    arr: &dyn Array,
    start: usize,
    len: usize,
    dst: usize,
    to_micros: impl Fn(i64) -> i64,
) {
    // SAFETY: the caller's contract (as `write`'s): rows `dst..dst + len` are inside `vec`.
    unsafe {
        let a = arr.as_primitive::<T>();
        let out = capi::duckdb_vector_get_data(vec) as *mut i64;
        for (i, v) in a.values()[start..start + len].iter().enumerate() {
            *out.add(dst + i) = to_micros(*v);
        }
    }
}

/// # Safety
/// As [`write`]: `vec` is a writable DuckDB vector of the mapped type with capacity for `dst + len` rows, and `start + len <= arr.len()`.
unsafe fn write_list<O: OffsetSizeTrait>(
    vec: Vector,
    arr: &dyn Array,
    start: usize,
    len: usize,
    dst: usize,
) -> Result<(), String> {
    // SAFETY: the caller's contract (as `write`'s): rows `dst..dst + len` are inside `vec`.
    unsafe {
        let l = arr.as_list::<O>();
        let offs = l.value_offsets();
        let first = offs[start].as_usize();
        let total = offs[start + len].as_usize() - first;
        let base = capi::duckdb_list_vector_get_size(vec) as usize;
        if capi::duckdb_list_vector_reserve(vec, (base + total) as u64) != capi::SUCCESS {
            return Err("DuckDB could not reserve list space".into());
        }
        if total > 0 {
            let child = capi::duckdb_list_vector_get_child(vec);
            write(child, l.values().as_ref(), first, total, base)?;
        }
        let entries = capi::duckdb_vector_get_data(vec) as *mut ListEntry;
        for i in 0..len {
            let (s, e) = (offs[start + i].as_usize(), offs[start + i + 1].as_usize());
            *entries.add(dst + i) = ListEntry {
                offset: (base + s - first) as u64,
                length: (e - s) as u64,
            };
        }
        if capi::duckdb_list_vector_set_size(vec, (base + total) as u64) != capi::SUCCESS {
            return Err("DuckDB could not set the list size".into());
        }
        Ok(())
    }
}

/// Copy rows `start..start+len` of `arr` into rows `dst..dst+len` of `vec`, whose DuckDB type is
/// the mapping of `arr`'s type (see `types::logical_type`).
///
/// # Safety
/// `vec` must be a writable vector of the mapped type with capacity for `dst + len` rows.
pub unsafe fn write(
    vec: Vector,
    arr: &dyn Array,
    start: usize,
    len: usize,
    dst: usize,
) -> Result<(), String> {
    // SAFETY: the caller's contract: `vec` is writable, of the mapped type, with `dst + len` rows.
    unsafe {
        if len == 0 {
            return Ok(());
        }
        write_validity(vec, arr, start, len, dst);
        match arr.data_type() {
            DataType::Boolean => {
                let bits = arr.as_boolean().values().slice(start, len);
                let out = capi::duckdb_vector_get_data(vec) as *mut u8;
                for (i, b) in bits.iter().enumerate() {
                    *out.add(dst + i) = b as u8;
                }
            }
            DataType::Int8 => write_primitive::<Int8Type>(vec, arr, start, len, dst),
            DataType::Int16 => write_primitive::<Int16Type>(vec, arr, start, len, dst),
            DataType::Int32 => write_primitive::<Int32Type>(vec, arr, start, len, dst),
            DataType::Int64 => write_primitive::<Int64Type>(vec, arr, start, len, dst),
            DataType::UInt8 => write_primitive::<UInt8Type>(vec, arr, start, len, dst),
            DataType::UInt16 => write_primitive::<UInt16Type>(vec, arr, start, len, dst),
            DataType::UInt32 => write_primitive::<UInt32Type>(vec, arr, start, len, dst),
            DataType::UInt64 => write_primitive::<UInt64Type>(vec, arr, start, len, dst),
            DataType::Float32 => write_primitive::<Float32Type>(vec, arr, start, len, dst),
            DataType::Float64 => write_primitive::<Float64Type>(vec, arr, start, len, dst),
            DataType::Timestamp(unit, None) => match unit {
                TimeUnit::Second => {
                    write_timestamp::<TimestampSecondType>(vec, arr, start, len, dst, |v| {
                        v.saturating_mul(1_000_000)
                    })
                }
                TimeUnit::Millisecond => {
                    write_timestamp::<TimestampMillisecondType>(vec, arr, start, len, dst, |v| {
                        v.saturating_mul(1_000)
                    })
                }
                TimeUnit::Microsecond => {
                    write_timestamp::<TimestampMicrosecondType>(vec, arr, start, len, dst, |v| v)
                }
                TimeUnit::Nanosecond => {
                    write_timestamp::<TimestampNanosecondType>(vec, arr, start, len, dst, |v| {
                        v.div_euclid(1_000)
                    })
                }
            },
            DataType::Utf8 => write_bytes(vec, arr.as_string::<i32>(), start, len, dst),
            DataType::LargeUtf8 => write_bytes(vec, arr.as_string::<i64>(), start, len, dst),
            DataType::Binary => write_bytes(vec, arr.as_binary::<i32>(), start, len, dst),
            DataType::LargeBinary => write_bytes(vec, arr.as_binary::<i64>(), start, len, dst),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = arr.as_dictionary::<Int32Type>();
                let keys = d.keys().values();
                let values = d.values().as_string::<i32>();
                let data = capi::duckdb_vector_get_data(vec) as *mut [u8; 16];
                // A long value is copied into the vector's string heap once per chunk; later rows with
                // the same key reuse its `string_t` (which points into that heap, alive as long as
                // the vector). Short values are inlined anyway.
                let mut first_row: Vec<u32> = if values.len() <= DICT_CACHE_MAX {
                    vec![u32::MAX; values.len()]
                } else {
                    Vec::new()
                };
                for i in 0..len {
                    let r = start + i;
                    if d.is_valid(r) {
                        let k = keys[r] as usize;
                        if !values.is_valid(k) {
                            set_null(vec, dst + i);
                            continue;
                        }
                        match first_row.get_mut(k) {
                            Some(seen) if *seen != u32::MAX => {
                                *data.add(dst + i) = *data.add(*seen as usize)
                            }
                            Some(seen) => {
                                put_bytes(vec, data, dst + i, values.value(k).as_bytes());
                                *seen = (dst + i) as u32;
                            }
                            None => put_bytes(vec, data, dst + i, values.value(k).as_bytes()),
                        }
                    }
                }
            }
            DataType::List(_) => write_list::<i32>(vec, arr, start, len, dst)?,
            DataType::LargeList(_) => write_list::<i64>(vec, arr, start, len, dst)?,
            DataType::Struct(_) => {
                let s = arr.as_struct();
                for (k, child) in s.columns().iter().enumerate() {
                    let cv = capi::duckdb_struct_vector_get_child(vec, k as u64);
                    write(cv, child.as_ref(), start, len, dst)?;
                }
            }
            other => return Err(format!("stdf-duckdb cannot copy Arrow type {other}")),
        }
        Ok(())
    }
}

/// Rows `0..len` of `vec` become NULL (a column DuckDB asked for that the table does not have).
///
/// # Safety
/// `vec` must be a writable top-level vector with capacity for `len` rows.
pub unsafe fn write_nulls(vec: Vector, len: usize) {
    // SAFETY: the caller's contract: `vec` is writable with capacity for `len` rows.
    unsafe {
        capi::duckdb_vector_ensure_validity_writable(vec);
        let mask = capi::duckdb_vector_get_validity(vec);
        for i in 0..len {
            set_bit(mask, i, false);
        }
    }
}
