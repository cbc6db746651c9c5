//! stdf-arrow: the stdf_duck tables as streaming Arrow RecordBatches.
//!
//! ```no_run
//! use stdf_arrow::{ReadOptions, TableReader};
//! let opts = ReadOptions::new("results");
//! let reader = TableReader::open(&["lot1.stdf.gz".to_string()], opts).unwrap();
//! for batch in reader { let batch = batch.unwrap(); println!("{}", batch.num_rows()); }
//! ```

mod archive;
mod builders;
mod error;
mod lot;
mod multi;
mod options;
mod parquet_out;
mod paths;
mod raw;
mod records_table;
mod results;
mod schema;
mod tables;

pub use archive::{
    archive_result_columns, write_archive, ArchiveOptions, ArchiveOutput, TableFile, ARCHIVE_TABLES,
};
pub use error::{into_stdf, stdf_error, to_arrow};
pub use multi::{expand_for_read, expand_paths, TableReader};
pub use options::{on_error, ParamKind, ParamValue, Parameter, ReadOptions, PARAMETERS};
pub use parquet_out::{parse_to_parquet, ParquetStats, Partition, PARQUET_TABLES};
pub use schema::{schema_for, table_names, Table};
pub use stdf_core::scan::OnError;
pub use stdf_core::StdfError;

/// The `file_id` of a file (`stdf_files.file_id`): a hash of its size and first MiB of
/// decompressed content, stable for the same content under any name.
pub fn file_id(path: &str) -> Result<String, StdfError> {
    stdf_core::RecordReader::open(path).map(|r| r.file_id().to_string())
}
