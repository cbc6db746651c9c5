//! The parts files of a file's streams, in bounded memory: stdf-core's [`Lot`] spills each
//! stream's derived parts to a temporary file ([`Lot::spill_parts`]); they are read back here
//! by batches and sorted by wafer ([`SortedRows`], part order within a wafer, parts without a
//! wafer last: the archive's order) into one Parquet file per stream.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use stdf_core::semantics::lot::{Lot, Part, SpilledParts};
use stdf_core::{ErrorKind, StdfError};

use super::props::parts_props;
use super::sort::SortedRows;
use super::{micros, micros_schema, TableFile, Writer};
use crate::into_stdf;
use crate::lot::lot_batch;
use crate::schema::Table;

/// Parts per batch read back from a spilled stream.
const PARTS_BATCH: usize = 16 * 1024;
/// Parts rows sorted in memory at a time (more are spilled and merged).
const PARTS_RUN: usize = 128 * 1024;

impl Writer<'_> {
    /// One parts file per stream (`schema`: the archive's parts columns).
    pub(super) fn parts_files(
        &mut self,
        path: &str,
        lot: &mut Lot,
        schema: &SchemaRef,
        n: usize,
    ) -> Result<Vec<TableFile>, StdfError> {
        let mut spilled: Vec<Option<SpilledParts>> = (0..n).map(|_| None).collect();
        for (s, parts) in std::mem::take(&mut lot.spilled) {
            let slot = spilled.get_mut(s as usize).ok_or_else(|| {
                StdfError::new(
                    ErrorKind::Format,
                    path,
                    format!("parts of stream {s} of {n}"),
                )
            })?;
            *slot = Some(parts);
        }
        // parts the lot kept in memory (none when it spilled every stream's)
        let mut kept = std::mem::take(&mut lot.parts);
        let shown = lot.file.path.clone();
        if let Some(p) = &self.opts.file_path {
            lot.file.path = p.clone();
        }
        let mut out = Vec::with_capacity(n);
        let mut res = Ok(());
        for (s, from_file) in spilled.into_iter().enumerate() {
            let mine: Vec<Part>;
            (mine, kept) = kept.into_iter().partition(|p| p.stream_index as usize == s);
            match self.stream_parts(path, lot, schema, s as u16, from_file.as_ref(), mine) {
                Ok(f) => out.push(f),
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        lot.file.path = shown;
        res.map(|_| out)
    }

    fn stream_parts(
        &mut self,
        path: &str,
        lot: &mut Lot,
        schema: &SchemaRef,
        stream: u16,
        from_file: Option<&SpilledParts>,
        kept: Vec<Part>,
    ) -> Result<TableFile, StdfError> {
        let tmp = self.tmp("parts", stream);
        let spill = self.tmp("parts-runs", stream);
        let written = micros_schema(schema);
        let by_wafer = ("wafer_index", parts_props as fn() -> _);
        let mut sorter = SortedRows::new(written.clone(), by_wafer, spill, PARTS_RUN);
        let schemas = (schema, &written);
        let r = fill(lot, schemas, from_file, kept, |b| sorter.push(b), path);
        if let Err(e) = r {
            sorter.discard();
            return Err(e);
        }
        let rows = sorter.finish(&tmp).map_err(|e| into_stdf(path, e))?;
        Ok(super::table_file("parts", &tmp, rows))
    }
}

/// The stream's parts (`from_file`, then `kept`) as batches of `schema`, to `push` (timestamps
/// as `written`).
fn fill(
    lot: &mut Lot,
    (schema, written): (&SchemaRef, &SchemaRef),
    from_file: Option<&SpilledParts>,
    kept: Vec<Part>,
    mut push: impl FnMut(RecordBatch) -> Result<(), arrow_schema::ArrowError>,
    path: &str,
) -> Result<(), StdfError> {
    let io = |p: &Path, e: std::io::Error| StdfError::io(&p.to_string_lossy(), &e);
    let mut read = match from_file {
        Some(f) => Some(f.read().map_err(|e| io(f.path(), e))?),
        None => None,
    };
    let mut kept = kept.into_iter();
    loop {
        let mut chunk = Vec::with_capacity(PARTS_BATCH);
        while chunk.len() < PARTS_BATCH {
            let next = match read.as_mut().and_then(Iterator::next) {
                Some(p) => p.map_err(|e| io(from_file.map_or(Path::new(""), |f| f.path()), e))?,
                None => match kept.next() {
                    Some(p) => p,
                    None => break,
                },
            };
            chunk.push(next);
        }
        if chunk.is_empty() {
            return Ok(());
        }
        lot.parts = chunk;
        let b = lot_batch(lot, Table::Parts, schema);
        lot.parts = Vec::new();
        let b = b
            .and_then(|b| micros(&b, written))
            .map_err(|e| into_stdf(path, e))?;
        push(b).map_err(|e| into_stdf(path, e))?;
    }
}
