"""Type stub of the compiled module `stdf_duck._native` (rust/stdf-python), checked by
`python -m mypy.stubtest stdf_duck._native`. Private: use the typed API of `stdf_duck`."""

from typing import Any, final

__all__ = [
    "TableSource",
    "table_names",
    "parse_to_parquet",
    "file_id",
    "table_parameters",
    "write_archive",
    "archive_result_columns",
    "sql_files",
    "NativeError",
    "__version__",
]

__version__: str

class NativeError(Exception):
    """An STDF error: args = (kind, message, path, offset, record, io_kind)."""

@final
class TableSource:
    """A re-openable source of one table over files: every `__arrow_c_stream__` call starts a new scan."""

    def __new__(
        cls,
        table: str,
        paths: list[str],
        columns: list[str] | None = None,
        tests: list[int] | None = None,
        on_error: str = "raise",
        threads: int = 0,
        batch_size: int = 65536,
        filename: bool = False,
    ) -> TableSource: ...
    @property
    def paths(self) -> list[str]:
        """Files this source reads (globs expanded)."""
    @property
    def table(self) -> str: ...
    @property
    def column_names(self) -> list[str]:
        """Column names of the output."""
    def __arrow_c_schema__(self) -> object:
        """PyCapsule named "arrow_schema"."""
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """PyCapsule named "arrow_array_stream"; a fresh scan of the files."""
    def last_error(self) -> tuple[str, str, str, int | None, str | None, str | None] | None:
        """The STDF error that ended the last stream, as NativeError args, or None."""

def table_names() -> list[str]:
    """Names of every table."""

def parse_to_parquet(
    stdf_path: str, output_dir: str, partitions: list[list[tuple[str, str]]], on_error: str = "raise"
) -> dict[str, Any]:
    """STDF -> Parquet for parts, tests and results; `partitions[i]`: the (column, value) directory
    levels of stream i, taken verbatim; returns {"parts", "tests", "results", "files"}."""

def file_id(path: str) -> str:
    """file_id of a file: hash of its on-disk size and first MiB of decompressed content."""

def write_archive(
    stdf_path: str,
    staging: str,
    token: str,
    key: str,
    on_error: str = "raise",
    file_path: str | None = None,
    run_rows: int = 524288,
    threads: int = 1,
) -> dict[str, Any]:
    """Every archive table of one STDF file in one pass, as temporary Parquet files in `staging`
    named after `token`: {"file_id": str, "streams": [[{"table", "path", "rows"}, ...], ...]}, one
    list per stream (FAR..MRR) in the archive's table order; `key` names the file in `warnings`,
    `file_path` in `files`; results rows are sorted `run_rows` at a time (more spill and merge);
    `threads` > 1 encodes the results in a thread of their own."""

def sql_files() -> list[tuple[str, str]]:
    """Every `sql/**/*.sql` of the build (path under `sql/`, text), in path order: the analysis
    macros (`analysis/`) and the archive templates (`archive/`)."""

def archive_result_columns() -> list[tuple[str, str]]:
    """(column, table) of each stdf_results column in an archive: "results", "result_params" or
    "partition", in stdf_results order."""

def table_parameters() -> list[str]:
    """Names of the named parameters every table function takes (`stdf_<table>(path, name := ...)`)."""
