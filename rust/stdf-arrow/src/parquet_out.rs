//! Direct STDF -> Parquet (the original design's `parse_to_parquet`): parts, tests and results
//! written by Rust without DuckDB, zstd-compressed.

use std::fs::File;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use stdf_core::{ErrorKind, StdfError};

use crate::{ReadOptions, TableReader};

/// Rows written per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParquetStats {
    pub parts: u64,
    pub tests: u64,
    pub results: u64,
    pub files: Vec<String>,
}

/// Write `<output_dir>/<table>/part_typ=<product>/test_stage=<test_type>/<file_id>.parquet` for
/// parts, tests and results of one STDF file. Files are written under a temporary name and
/// renamed into place.
pub fn parse_to_parquet(
    stdf_path: &str,
    output_dir: &str,
    product: &str,
    test_type: &str,
) -> Result<ParquetStats, StdfError> {
    let mut stats = ParquetStats::default();
    let ioe = |e: std::io::Error, p: &str| StdfError::io(p, &e);
    for table in ["parts", "tests", "results"] {
        let mut opts = ReadOptions::new(table);
        opts.threads = 1;
        let reader = TableReader::open(&[stdf_path.to_string()], opts)?;
        let schema = arrow_array::RecordBatchReader::schema(&reader);
        let mut file_id: Option<String> = None;
        let dir = Path::new(output_dir)
            .join(table)
            .join(format!("part_typ={}", sanitize(product)))
            .join(format!("test_stage={}", sanitize(test_type)));
        std::fs::create_dir_all(&dir).map_err(|e| ioe(e, &dir.to_string_lossy()))?;
        let tmp = dir.join(format!(".tmp-{}.parquet", std::process::id()));
        let file = File::create(&tmp).map_err(|e| ioe(e, &tmp.to_string_lossy()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid level"),
            ))
            .build();
        let perr = |e: parquet::errors::ParquetError| {
            StdfError::new(ErrorKind::Io, stdf_path, format!("writing parquet: {e}"))
        };
        let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(perr)?;
        let mut rows = 0u64;
        for b in reader {
            let b = b.map_err(|e| match e {
                arrow_schema::ArrowError::ExternalError(inner) => {
                    match inner.downcast::<StdfError>() {
                        Ok(s) => *s,
                        Err(o) => StdfError::new(ErrorKind::Format, stdf_path, o.to_string()),
                    }
                }
                other => StdfError::new(ErrorKind::Format, stdf_path, other.to_string()),
            })?;
            if file_id.is_none() && b.num_rows() > 0 {
                if let Some(col) = b.column_by_name("file_id") {
                    file_id = arrow_cast_first(col);
                }
            }
            rows += b.num_rows() as u64;
            w.write(&b).map_err(perr)?;
        }
        w.close().map_err(perr)?;
        let fid = match file_id {
            Some(f) => f,
            None => stdf_core::RecordReader::open(stdf_path)?
                .file_id()
                .to_string(),
        };
        let dest = dir.join(format!("{fid}.parquet"));
        std::fs::rename(&tmp, &dest).map_err(|e| ioe(e, &dest.to_string_lossy()))?;
        stats.files.push(dest.to_string_lossy().into_owned());
        match table {
            "parts" => stats.parts = rows,
            "tests" => stats.tests = rows,
            _ => stats.results = rows,
        }
    }
    Ok(stats)
}

fn arrow_cast_first(col: &arrow_array::ArrayRef) -> Option<String> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::Array;
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

/// Make a value safe as a Hive partition directory name.
pub fn sanitize(v: &str) -> String {
    let t: String = v
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '=' || c.is_control() || c == ':' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let t = t.trim().to_string();
    if t.is_empty() || t == "." || t == ".." {
        "__NULL__".to_string()
    } else {
        t
    }
}
