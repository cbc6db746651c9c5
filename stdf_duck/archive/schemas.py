"""Whether every Parquet file of an archive table has one schema, so that its view can read them
without `union_by_name` (which opens every file's footer at each query's bind: 0.8 s on a
1,000-file archive before a one-lot query reads 8 ms of data).

Without `union_by_name` DuckDB takes the columns of the first file of the glob and matches the
others' by name: a file without one of them is an error, and a column only later files have is
dropped without a word. So the ledger keeps, per table, the archive_meta row
('schema:<table>', fingerprint): the column names and Arrow types, in order, that all its files
have, or 'mixed' once two differ. The writer fingerprints each staged file (its footer only) and
updates the row in the transaction that records the commit's intent, before any file is renamed
into place, so no catalog shows a file its row does not account for. A table without the row (an
archive written before it, or a table that never had files) is fingerprinted from all its files
the first time a writer adds to it; a view reads its table by name (`union_by_name`) unless the
row holds one fingerprint.
"""

from __future__ import annotations

import glob as _glob
import hashlib
from collections.abc import Iterable
from typing import Any

__all__ = ["MIXED", "fingerprint", "single_schema_tables", "update"]

MIXED = "mixed"
_PREFIX = "schema:"


def fingerprint(path: str) -> str:
    """The column names and Arrow types of a Parquet file, in order (its footer), hashed."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = "\n".join(f"{f.name}\t{f.type}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _known(con: Any) -> dict[str, str]:
    rows = con.execute(
        "SELECT key, max(value) FROM archive_meta WHERE starts_with(key, ?) GROUP BY key", [_PREFIX]
    ).fetchall()
    return {k[len(_PREFIX) :]: v for k, v in rows}


def update(con: Any, staged: Iterable[tuple[str, str]], table_glob: Any) -> None:
    """Record the schemas of files about to enter the archive, on the ledger connection `con`
    (inside the caller's transaction). `staged`: (file to fingerprint, table); `table_glob(t)`: the
    glob of table t's files in place (read when t has no row yet)."""
    known = _known(con)
    new: dict[str, set[str]] = {}
    for path, table in staged:
        if known.get(table) != MIXED:  # a mixed table stays mixed: its files' footers are not read
            new.setdefault(table, set()).add(fingerprint(path))
    for table, fps in new.items():
        was = known.get(table)
        if was is None:  # no row: the files already there count too
            fps = fps | {fingerprint(p) for p in _glob.iglob(table_glob(table))}
        else:
            fps = fps | {was}
        value = next(iter(fps)) if len(fps) == 1 else MIXED
        if value != was:
            con.execute("DELETE FROM archive_meta WHERE key = ?", [_PREFIX + table])
            con.execute("INSERT INTO archive_meta VALUES (?, ?)", [_PREFIX + table, value])


def single_schema_tables(con: Any) -> set[str]:
    """The tables whose files share one schema, from the ledger tables in `con`'s default
    database (the ledger, or a reader's copy of it); empty without an archive_meta table."""
    have = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'archive_meta'"
    ).fetchall()
    if not have:
        return set()
    return {t for t, v in _known(con).items() if v != MIXED}
