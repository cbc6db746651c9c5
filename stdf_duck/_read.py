"""The Python face of the engine: `read()` and the original design's entry points."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from . import _native
from ._errors import StdfError, StdfFormatError, from_native

if TYPE_CHECKING:
    import pyarrow as pa

PathLike = str | os.PathLike[str]
Paths = PathLike | Sequence[PathLike]
OnError = Literal["raise", "warn"]

TABLES: tuple[str, ...] = tuple(_native.table_names())


def _paths(paths: Paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    out = [os.fspath(p) for p in paths]
    if not out:
        raise ValueError("no STDF path given")
    return out


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except _native.NativeError as e:
        raise from_native(e.args) from None


class StdfTable:
    """A re-openable stream of one stdf_duck table over one or more files.

    Every consumer call starts a fresh scan, so the object can be registered in DuckDB
    (`con.register("r", t)`) and queried any number of times, or read by pyarrow, polars and
    pandas through the Arrow PyCapsule interface without copying.
    """

    def __init__(self, source: Any) -> None:
        self._source = source

    @property
    def table(self) -> str:
        return str(self._source.table)

    @property
    def paths(self) -> list[str]:
        """Files read (globs expanded)."""
        return list(self._source.paths)

    @property
    def columns(self) -> list[str]:
        return list(self._source.column_names)

    def __arrow_c_schema__(self) -> object:
        return self._source.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        with _mapped():
            return self._source.__arrow_c_stream__(requested_schema)

    def _reraise(self, exc: BaseException) -> None:
        err = self._source.last_error()
        if err is not None:
            raise from_native(err) from None
        raise exc

    def to_reader(self) -> pa.RecordBatchReader:
        """A one-shot pyarrow RecordBatchReader (needs pyarrow)."""
        import pyarrow as pa

        return pa.RecordBatchReader.from_stream(self)

    def to_arrow(self) -> pa.Table:
        """Read everything into a pyarrow Table; STDF errors raise StdfError subclasses."""
        try:
            return self.to_reader().read_all()
        except StdfError:
            raise
        except Exception as e:  # pyarrow wraps stream errors in its own exception types
            self._reraise(e)
            raise

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        reader = self.to_reader()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except Exception as e:
                self._reraise(e)
                raise
            yield batch

    def __repr__(self) -> str:
        return repr(self._source)


def read(
    table: str,
    paths: Paths,
    columns: Sequence[str] | None = None,
    tests: Iterable[int] | None = None,
    on_error: OnError = "raise",
    *,
    threads: int = 0,
    batch_size: int = 65536,
    filename: bool = False,
) -> StdfTable:
    """Open `table` (e.g. "results", "parts", "ptr") over files, globs or a list of them.

    columns: only these columns are built (in this order). tests: only these test numbers
    (results and raw test-record tables). on_error: "raise" (default) or "warn" (keep every row
    before damage, report it in the `warnings` table, go on with the other files).
    """
    with _mapped():
        src = _native.TableSource(
            table,
            _paths(paths),
            list(columns) if columns is not None else None,
            [int(t) for t in tests] if tests is not None else None,
            on_error,
            threads,
            batch_size,
            filename,
        )
    return StdfTable(src)


class ParsedStdf:
    """The original design's object: one file's tables, read on demand."""

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        files = read("files", self.path).to_arrow()
        self._files = files
        self.lot_id: str | None = files.column("lot_id")[0].as_py() if files.num_rows else None
        self.part_typ: str | None = files.column("part_typ")[0].as_py() if files.num_rows else None
        self.file_id: str | None = files.column("file_id")[0].as_py() if files.num_rows else None

    def to_arrow_parts(self) -> pa.Table:
        return read("parts", self.path).to_arrow()

    def to_arrow_tests(self) -> pa.Table:
        return read("tests", self.path).to_arrow()

    def to_arrow_results(self) -> pa.Table:
        return read("results", self.path).to_arrow()

    def to_arrow_files(self) -> pa.Table:
        return self._files


def parse_stdf(path: PathLike) -> ParsedStdf:
    """Parse one STDF file (its header is read now, its tables on demand)."""
    return ParsedStdf(path)


def parse_to_parquet(
    stdf_path: PathLike,
    output_dir: PathLike,
    product: str | None = None,
    test_type: str | None = None,
    on_error: OnError = "raise",
) -> dict[str, Any]:
    """Write parts, tests and results of one file as zstd Parquet in the archive's layout,
    `output_dir/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet`, each FAR..MRR
    stream under its own lot. `product` / `test_type` replace the MIR's PART_TYP / TEST_COD (else
    FLOW_ID); every value passes the archive's `sanitize`. on_error='warn' keeps the rows before
    the damage. Returns {"parts": n, "tests": n, "results": n, "files": [...], "warnings": n}."""
    from .archive.layout import PARTITION_COLUMNS, partition_of

    path = os.fspath(stdf_path)
    cols = ["stream_index", *PARTITION_COLUMNS, "n_warnings"]
    rows = read("files", path, columns=cols, on_error=on_error).to_arrow().to_pylist()
    if not rows:
        warned = read("warnings", path, on_error="warn").to_arrow().to_pylist()
        raise StdfFormatError(warned[0]["message"] if warned else f"{path}: no STDF stream found", path)
    by_stream = {int(r["stream_index"]): partition_of(r, product, test_type) for r in rows}
    if sorted(by_stream) != list(range(len(by_stream))):
        raise StdfFormatError(f"{path}: streams {sorted(by_stream)} are not numbered 0..{len(by_stream) - 1}", path)
    partitions = [list(zip(PARTITION_COLUMNS, by_stream[i], strict=True)) for i in range(len(by_stream))]
    with _mapped():
        out = dict(_native.parse_to_parquet(path, os.fspath(output_dir), partitions, on_error))
    out["warnings"] = sum(int(r["n_warnings"] or 0) for r in rows)
    return out


#: the stdf_files columns `file_info` shows
_INFO_FIELDS = (
    "file_id",
    "stream_index",
    "stream_count",
    "lot_id",
    "sblot_id",
    "part_typ",
    "test_stage",
    "test_cod",
    "flow_id",
    "tstr_typ",
    "node_nam",
    "exec_typ",
    "exec_ver",
    "job_nam",
    "job_rev",
    "oper_nam",
    "start_time",
    "finish_time",
    "byte_order",
    "cpu_type",
    "stdf_ver",
    "stdf_extensions",
    "compression",
    "file_size",
    "stream_size",
    "content_hash",
    "n_records",
    "n_parts",
    "n_parts_final",
    "n_passed_final",
    "yield_final",
    "n_wafers",
    "n_sites",
    "n_tests",
    "n_results",
    "n_warnings",
    "complete",
)


def file_info(path: PathLike) -> list[dict[str, Any]]:
    """What is in one file (`stdf-duck info`): one dict per FAR..MRR stream, with its MIR fields,
    counts, yield, `record_counts` (records per type, most frequent first) and `warnings`. Raises
    StdfError when no stream can be read."""
    path = os.fspath(path)
    files = read("files", path, on_error="warn").to_arrow().to_pylist()
    warnings = read("warnings", path, on_error="warn").to_arrow().to_pylist()
    if not files:
        msg = warnings[0]["message"] if warnings else "no STDF stream found"
        raise StdfFormatError(msg)
    recs = read("records", path, columns=["stream_index", "rec_name"], on_error="warn").to_arrow()
    counts: dict[int, dict[str, int]] = {}
    if recs.num_rows:
        g = recs.group_by(["stream_index", "rec_name"]).aggregate([("rec_name", "count")]).to_pylist()
        for r in g:
            counts.setdefault(int(r["stream_index"]), {})[str(r["rec_name"])] = int(r["rec_name_count"])
    out = []
    for f in files:
        d: dict[str, Any] = {"path": path}
        d.update({k: f.get(k) for k in _INFO_FIELDS})
        c = counts.get(int(f["stream_index"]), {})
        d["record_counts"] = dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        d["warnings"] = [
            {
                "record_index": w.get("record_index"),
                "byte_offset": w.get("byte_offset"),
                "code": w.get("code"),
                "message": w.get("message"),
            }
            for w in warnings
        ]
        out.append(d)
    return out
