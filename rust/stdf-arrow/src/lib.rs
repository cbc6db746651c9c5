//! stdf-arrow: the stdf_duck tables as streaming Arrow RecordBatches.
//!
//! ```no_run
//! use stdf_arrow::{ReadOptions, TableReader};
//! let opts = ReadOptions::new("results");
//! let reader = TableReader::open(&["lot1.stdf.gz".to_string()], opts).unwrap();
//! for batch in reader { let batch = batch.unwrap(); println!("{}", batch.num_rows()); }
//! ```

mod builders;
mod lot;
mod multi;
mod parquet_out;
mod paths;
mod raw;
mod records_table;
mod results;
mod schema;
mod tables;

pub use multi::{expand_for_read, expand_paths, TableReader};
pub use parquet_out::{parse_to_parquet, ParquetStats, Partition, PARQUET_TABLES};
pub use schema::{schema_for, table_names, Table};
pub use stdf_core::scan::OnError;
pub use stdf_core::StdfError;

/// Options of a table read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Table name without the `stdf_` prefix: "results", "parts", "ptr", ...
    pub table: String,
    /// Columns to build, in output order (None = all).
    pub columns: Option<Vec<String>>,
    /// Only these test numbers (results and raw test-record tables).
    pub tests: Option<Vec<u32>>,
    pub on_error: OnError,
    /// Rows per batch (approximate upper bound for streaming tables).
    pub batch_size: usize,
    /// Worker threads across files (0 = number of cores).
    pub threads: usize,
    /// Add a `file_path` column.
    pub filename: bool,
}

impl ReadOptions {
    pub fn new(table: &str) -> Self {
        ReadOptions {
            table: table.to_string(),
            columns: None,
            tests: None,
            on_error: OnError::Raise,
            batch_size: 65_536,
            threads: 0,
            filename: false,
        }
    }
}
