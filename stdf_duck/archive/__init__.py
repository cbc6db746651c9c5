"""The Parquet archive: `stdf-duck materialize` as a library.

Modules: `sources` (which files, STDF sniffing, the decompression bound), `layout` (tables,
partitions, `sanitize`), `worker` (one file -> staged Parquet), `pool` (worker processes),
`commit` (staged -> visible, the ledger's intent), `ledger`, `catalog` (what readers open),
`files` (renames, the lock), `signals` (Ctrl-C), `store` (`Archive`), `ingest` (`materialize`), `model`
(options, report, progress).

Layout of an archive directory DIR (stdf-reference.md section 4.11)::

    DIR/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet    (zstd), for the tables
                                        parts, results, tests, bins, wafers, warnings, files
    DIR/archive.duckdb                  the catalog readers open: a view per table over the Parquet
                                        files above, and a copy of the ledger (`catalog`)
    DIR/_ledger/ledger.duckdb           the ledger: tables ingest, runs, sync_files, syncs
                                        (opened by writers only: `ledger`)
    DIR/.staging/                       temporary files of a run (never read by the views)
    DIR/.lock                           held by the running materialize or sync

Readers and writers share no lock. A writer (materialize, sync) never opens archive.duckdb: after
its commits it writes a new one and renames it over the old one. Readers (`stdf-duck query`,
`status`, the DuckDB CLI, a dashboard) never open the ledger. So a reader left open all day does
not stop a writer, and a writer does not break a reader (which keeps its file, whose views read
the Parquet files: it sees the new rows).

How it stays consistent:

* a worker writes one source file's tables to `.staging/` only (`worker.run_job`);
* the parent then records an intent in the ledger (status 'committing', the temporary and final
  names), renames the files into place (atomic on one file system), deletes the files the source
  had before (a changed file), marks the row 'ok' (or 'partial': the decode of the file ended on
  damage, its rows before the damage are in and the damage is in the `warnings` view) and publishes
  a new catalog (`commit`). A run that starts after a kill first rolls every 'committing' row
  forward, then empties `.staging/`. A kill at any moment therefore leaves no partial Parquet file
  visible, and the next run completes the work;
* a source the ledger has with the same size, mtime and options is not read again: 'unchanged'
  when its rows are in, 'skipped' when it failed (it was reported then and `status` lists it;
  `retry_failed` reads it again): the rule `stdf-duck sync` follows too (`ledger.rerun`). A source
  with the same `file_id` or `content_hash` as another source already in the archive is recorded as
  a 'duplicate' and adds no rows;
* one writer at a time per archive: `DIR/.lock` (an OS file lock, released when the process
  dies) refuses a second one with `ArchiveBusyError`;
* an archive written by an older stdf_duck (its ledger inside archive.duckdb) moves its ledger to
  DIR/_ledger on its first write; readers read it where it is.
"""

from __future__ import annotations

from .._errors import ArchiveBusyError, ArchiveError, SourceError, VerifyError
from .ingest import materialize, materialize_items
from .layout import ARCHIVE_TABLES, NULL_PARTITION, PARTITION_COLUMNS, sanitize
from .model import FileOutcome, MaterializeOptions, MaterializeReport, Progress, Status
from .pool import WorkerPools
from .sources import Item, discover, expand_sources, looks_like_stdf, sniff
from .store import Archive

__all__ = [
    "ARCHIVE_TABLES",
    "NULL_PARTITION",
    "PARTITION_COLUMNS",
    "Archive",
    "ArchiveBusyError",
    "ArchiveError",
    "FileOutcome",
    "Item",
    "MaterializeOptions",
    "MaterializeReport",
    "Progress",
    "SourceError",
    "Status",
    "VerifyError",
    "WorkerPools",
    "discover",
    "expand_sources",
    "looks_like_stdf",
    "materialize",
    "materialize_items",
    "sanitize",
    "sniff",
]
