"""The archive's layout: its tables, partition columns and the one rule for partition values.

DIR/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet    (stdf-reference.md 4.11)
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

#: The archive's tables, in the order they are written (files last: it is the smallest). The one
#: list: the catalog's views, the ledger's rows_* columns and the reports derive from it.
#: `results` holds the rows of stdf_results and `result_params` what they share (stdf-arrow's
#: archive module); the catalog's `results` view joins them back into stdf_results' columns.
ARCHIVE_TABLES: tuple[str, ...] = ("parts", "results", "result_params", "tests", "bins", "wafers", "warnings", "files")
#: the ledger's row counts, one column per archive table
ROW_COLUMNS: tuple[str, ...] = tuple(f"rows_{t}" for t in ARCHIVE_TABLES)
#: Partition columns, in directory order (stdf-reference.md section 4.11).
PARTITION_COLUMNS: tuple[str, ...] = ("part_typ", "test_stage", "lot_id")
NULL_PARTITION = "__NULL__"
#: stdf_warnings codes of damage, where rows were lost: the decode ended there (the ErrorKind names
#: of stdf-core) or skipped a damaged stretch up to the next valid records ('desync', stdf-core
#: scan.rs). A file with one of them is 'partial' in the ledger
DAMAGE_CODES: tuple[str, ...] = ("format", "truncated", "unsupported", "io", "desync")
#: temporary files of a run (never read by the views), and the writers' lock
STAGING = ".staging"
LOCK_NAME = ".lock"

_MAX_VALUE_BYTES = 180
_UNSAFE = re.compile(r"[/\\=%*?\[\]\x00-\x1f\x7f]")

Partition = tuple[str, str, str]


def sanitize(value: object) -> str:
    """A partition value that is safe as a directory name and reads back unchanged in DuckDB,
    pyarrow and polars: `/ \\ = % * ? [ ]` and control characters become `_`; empty or NULL
    becomes `__NULL__`; a value longer than 180 UTF-8 bytes is cut and suffixed with a hash.
    The one rule of materialize, sync, `parse_to_parquet` and `stdf-duck convert`."""
    if value is None:
        return NULL_PARTITION
    s = _UNSAFE.sub("_", str(value))
    if not s.strip():
        return NULL_PARTITION
    if len(s.encode("utf-8")) > _MAX_VALUE_BYTES:
        digest = hashlib.sha1(s.encode("utf-8")).hexdigest()[:12]
        cut = s.encode("utf-8")[: _MAX_VALUE_BYTES - 13].decode("utf-8", "ignore")
        s = f"{cut}~{digest}"
    return s


def _given(v: Any) -> bool:
    return v is not None and str(v).strip() != ""


def partition_of(
    row: dict[str, Any],
    product: str | None,
    stage: str | None,
    product_default: str | None = None,
    stage_default: str | None = None,
) -> Partition:
    """(part_typ, test_stage, lot_id) directory values of one stdf_files row: the override, else
    the MIR value, else the default (a sync rule), else __NULL__."""
    from ..config import fill_mir

    def pick(override: str | None, mir: Any, default: str | None) -> Any:
        if override is not None:
            return override
        return mir if _given(mir) else fill_mir(default, row)

    return (
        sanitize(pick(product, row.get("part_typ"), product_default)),
        sanitize(pick(stage, row.get("test_stage"), stage_default)),
        sanitize(row.get("lot_id")),
    )


def target_of(table: str, part: Partition, file_id: str) -> str:
    """A Parquet file's name relative to the archive root."""
    dirs = "/".join(f"{c}={v}" for c, v in zip(PARTITION_COLUMNS, part, strict=True))
    return f"{table}/{dirs}/{file_id}.parquet"
