//! Direct STDF -> Parquet (the original design's `parse_to_parquet`): parts, tests and results
//! written by Rust without DuckDB, zstd-compressed, in the archive's Hive layout.
//!
//! The partition values are the caller's: this module does not sanitize them (the one rule is
//! stdf_duck's `sanitize`, shared with the archive); it only refuses a value that is not a plain
//! directory name.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt16Type;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::sync::atomic::{AtomicU64, Ordering};

use stdf_core::{ErrorKind, StdfError};

use crate::{OnError, ReadOptions, TableReader};

/// Temporary names unique across the threads of a process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The tables `parse_to_parquet` writes.
pub const PARQUET_TABLES: [&str; 3] = ["parts", "tests", "results"];

/// Rows written per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParquetStats {
    pub parts: u64,
    pub tests: u64,
    pub results: u64,
    pub files: Vec<String>,
}

/// Directory levels of one stream's rows under each table, in order:
/// `[("part_typ", "P"), ("test_stage", "S"), ("lot_id", "L")]` -> `part_typ=P/test_stage=S/lot_id=L`.
pub type Partition = Vec<(String, String)>;

/// Write `<output_dir>/<table>/<partition of the row's stream>/<file_id>.parquet` for parts, tests
/// and results of one STDF file: `partitions[i]` is the partition of stream `i` (FAR..MRR), so
/// the rows of two lots concatenated in one file land in their own directories. Files are written
/// under a temporary name and renamed into place. `on_error`: as for every table.
pub fn parse_to_parquet(
    stdf_path: &str,
    output_dir: &str,
    partitions: &[Partition],
    on_error: OnError,
) -> Result<ParquetStats, StdfError> {
    let dirs = partitions
        .iter()
        .map(|p| partition_dir(stdf_path, p))
        .collect::<Result<Vec<_>, _>>()?;
    if dirs.is_empty() {
        return Err(invalid(stdf_path, "no partition given".to_string()));
    }
    let mut stats = ParquetStats::default();
    for table in PARQUET_TABLES {
        let (rows, files) = write_table(stdf_path, Path::new(output_dir), table, &dirs, on_error)?;
        stats.files.extend(files);
        match table {
            "parts" => stats.parts = rows,
            "tests" => stats.tests = rows,
            _ => stats.results = rows,
        }
    }
    Ok(stats)
}

fn invalid(stdf_path: &str, msg: String) -> StdfError {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
    StdfError::io(stdf_path, &e)
}

/// `col=value/...`; an error for a name or value that is not one plain directory name.
fn partition_dir(stdf_path: &str, p: &Partition) -> Result<PathBuf, StdfError> {
    let mut out = PathBuf::new();
    for (col, value) in p {
        let plain_col =
            !col.is_empty() && col.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let plain_value = !value.is_empty()
            && !value
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control());
        if !plain_col || !plain_value {
            return Err(invalid(
                stdf_path,
                format!("partition {col:?}={value:?} is not a plain directory name"),
            ));
        }
        out.push(format!("{col}={value}"));
    }
    Ok(out)
}

/// One open Parquet file of a table: its temporary path and final directory.
struct Part {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    dir: PathBuf,
}

fn write_table(
    stdf_path: &str,
    out: &Path,
    table: &str,
    dirs: &[PathBuf],
    on_error: OnError,
) -> Result<(u64, Vec<String>), StdfError> {
    let mut opts = ReadOptions::new(table);
    opts.threads = 1;
    opts.on_error = on_error;
    let reader = TableReader::open(&[stdf_path.to_string()], opts)?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let perr = |e| parquet_error(stdf_path, e);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid level"),
        ))
        .build();
    // every partition gets its file, even with no row (a file with no results still has one)
    let mut parts: BTreeMap<&Path, Part> = BTreeMap::new();
    for d in dirs {
        if parts.contains_key(d.as_path()) {
            continue;
        }
        let dir = out.join(table).join(d);
        std::fs::create_dir_all(&dir).map_err(|e| StdfError::io(&dir.to_string_lossy(), &e))?;
        let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".tmp-{}-{seq}.parquet", std::process::id()));
        let file = File::create(&tmp).map_err(|e| StdfError::io(&tmp.to_string_lossy(), &e))?;
        let writer =
            ArrowWriter::try_new(file, schema.clone(), Some(props.clone())).map_err(perr)?;
        parts.insert(d.as_path(), Part { writer, tmp, dir });
    }
    let mut file_id: Option<String> = None;
    let rows = match copy_rows(stdf_path, reader, dirs, &mut parts, &mut file_id) {
        Ok(n) => n,
        Err(e) => {
            for p in parts.into_values() {
                drop(p.writer);
                let _ = std::fs::remove_file(&p.tmp);
            }
            return Err(e);
        }
    };
    let fid = match file_id {
        Some(f) => f,
        None => stdf_core::RecordReader::open(stdf_path)?
            .file_id()
            .to_string(),
    };
    let mut files = Vec::new();
    for p in parts.into_values() {
        p.writer.close().map_err(perr)?;
        let dest = p.dir.join(format!("{fid}.parquet"));
        std::fs::rename(&p.tmp, &dest).map_err(|e| StdfError::io(&dest.to_string_lossy(), &e))?;
        files.push(dest.to_string_lossy().into_owned());
    }
    Ok((rows, files))
}

/// Every batch of `reader` into the writer of its rows' stream; the rows read and the file_id.
fn copy_rows(
    stdf_path: &str,
    reader: TableReader,
    dirs: &[PathBuf],
    parts: &mut BTreeMap<&Path, Part>,
    file_id: &mut Option<String>,
) -> Result<u64, StdfError> {
    let mut rows = 0u64;
    for b in reader {
        let b = b.map_err(|e| crate::into_stdf(stdf_path, e))?;
        if file_id.is_none() && b.num_rows() > 0 {
            *file_id = b.column_by_name("file_id").and_then(first_string);
        }
        rows += b.num_rows() as u64;
        for (stream, slice) in by_stream(stdf_path, &b)? {
            let d = dirs.get(stream as usize).ok_or_else(|| {
                let msg = format!("stream {stream} has no partition (given: {})", dirs.len());
                StdfError::new(ErrorKind::Format, stdf_path, msg)
            })?;
            let part = parts.get_mut(d.as_path()).expect("a writer per partition");
            part.writer
                .write(&slice)
                .map_err(|e| parquet_error(stdf_path, e))?;
        }
    }
    Ok(rows)
}

fn parquet_error(stdf_path: &str, e: parquet::errors::ParquetError) -> StdfError {
    StdfError::new(ErrorKind::Io, stdf_path, format!("writing parquet: {e}"))
}

/// The batch cut into runs of one stream_index (zero-copy slices, in order).
pub(crate) fn by_stream(
    stdf_path: &str,
    b: &RecordBatch,
) -> Result<Vec<(u16, RecordBatch)>, StdfError> {
    let col = b
        .column_by_name("stream_index")
        .and_then(|c| c.as_primitive_opt::<UInt16Type>().cloned())
        .ok_or_else(|| {
            StdfError::new(
                ErrorKind::Format,
                stdf_path,
                "table without stream_index column",
            )
        })?;
    let mut out = Vec::new();
    let mut start = 0usize;
    for i in 1..=col.len() {
        if i == col.len() || col.value(i) != col.value(start) {
            out.push((col.value(start), b.slice(start, i - start)));
            start = i;
        }
    }
    Ok(out)
}

fn first_string(col: &arrow_array::ArrayRef) -> Option<String> {
    use arrow_array::types::Int32Type;
    if let Some(s) = col.as_string_opt::<i32>() {
        return (!s.is_null(0)).then(|| s.value(0).to_string());
    }
    if let Some(d) = col.as_dictionary_opt::<Int32Type>() {
        let k = d.keys().value(0) as usize;
        return d
            .values()
            .as_string_opt::<i32>()
            .map(|v| v.value(k).to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[(&str, &str)]) -> Partition {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn partition_dirs_are_taken_verbatim_or_refused() {
        let ok = partition_dir("f", &p(&[("part_typ", "A:B .x"), ("lot_id", "..")])).unwrap();
        assert_eq!(ok, PathBuf::from("part_typ=A:B .x").join("lot_id=.."));
        for bad in [
            p(&[("part_typ", "a/b")]),
            p(&[("part_typ", "a\\b")]),
            p(&[("part_typ", "")]),
            p(&[("part_typ", "a\nb")]),
            p(&[("part/typ", "a")]),
        ] {
            let e = partition_dir("f.stdf", &bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Io);
            assert!(e.to_string().contains("not a plain directory name"), "{e}");
        }
    }
}
