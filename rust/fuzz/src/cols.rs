//! Reading a table of one input file, and its columns by name.

use arrow_array::cast::AsArray;
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::ArrowError;
use stdf_arrow::{OnError, ReadOptions, StdfError, TableReader};

/// Every batch of `table` read from `path`, or the error that ended the read (every error of
/// a read must be an `StdfError`; a caught panic is a finding).
pub fn read(path: &str, table: &str, mode: OnError) -> Result<Vec<RecordBatch>, StdfError> {
    let mut opts = ReadOptions::new(table);
    opts.on_error = mode;
    opts.threads = 1;
    opts.batch_size = 4096;
    let reader = TableReader::open(&[path.to_string()], opts)?;
    let mut out = Vec::new();
    for b in reader {
        match b {
            Ok(b) => out.push(b),
            Err(e) => return Err(stdf_error(table, e)),
        }
    }
    Ok(out)
}

fn stdf_error(table: &str, e: ArrowError) -> StdfError {
    let ArrowError::ExternalError(inner) = &e else {
        panic!("stdf_{table}: an error that is not an StdfError: {e}");
    };
    let Some(s) = inner.downcast_ref::<StdfError>() else {
        panic!("stdf_{table}: an error that is not an StdfError: {e}");
    };
    assert!(
        !s.message.contains("internal error while decoding"),
        "stdf_{table}: a panic was caught: {s}"
    );
    s.clone()
}

/// Total rows of the batches.
pub fn rows(b: &[RecordBatch]) -> usize {
    b.iter().map(|b| b.num_rows()).sum()
}

/// A primitive column of every batch, by name.
pub fn prim<T: ArrowPrimitiveType>(b: &[RecordBatch], name: &str) -> Vec<Option<T::Native>> {
    let mut out = Vec::with_capacity(rows(b));
    for batch in b {
        let col = batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        let a = col.as_primitive::<T>();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
    }
    out
}

/// A plain (not dictionary) string column of every batch, by name.
pub fn text(b: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    let mut out = Vec::with_capacity(rows(b));
    for batch in b {
        let col = batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        let a = col.as_string::<i32>();
        out.extend(a.iter().map(|s| s.map(str::to_string)));
    }
    out
}

/// Print the tables of an input (the `show` target: `show FILE` prints them once), to read a
/// finding.
pub fn show(data: &[u8]) {
    let path = crate::input_file(data);
    for (table, mode) in [
        ("records", OnError::Warn),
        ("parts", OnError::Warn),
        ("results", OnError::Warn),
        ("warnings", OnError::Warn),
        ("parts", OnError::Raise),
    ] {
        println!("== stdf_{table} ({mode:?})");
        match read(&path, table, mode) {
            Ok(b) => {
                for batch in &b {
                    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
                        let v = format!("{c:?}").replace('\n', " ");
                        println!(
                            "  {}: {}",
                            f.name(),
                            v.split_whitespace().collect::<Vec<_>>().join(" ")
                        );
                    }
                }
            }
            Err(e) => println!("error: {e} (offset {:?}, record {:?})", e.offset, e.record),
        }
    }
}
