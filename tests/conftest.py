"""Shared helpers for the stdf_duck test suite.

Real tester files live outside the repository, in ``../shared/data/stdf`` (relative to the repo root),
with reference values computed by an independent parser in ``expected/``. Tests that need them skip
cleanly when that folder is absent (a user's clone). Committed fixtures in ``tests/fixtures`` are
written by stdf_duck's own writer (``make golden``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_STDF = Path(os.environ.get("STDF_DUCK_TEST_DATA", REPO.parent / "shared" / "data" / "stdf")).resolve()
EXPECTED_DIR = SHARED_STDF / "expected"
FIXTURES = REPO / "tests" / "fixtures"

# The analysis SQL is read from the checkout's sql/ folder rather than from the text embedded in
# the native module at its last build, so that an edit of sql/ is tested without a rebuild;
# test_analysis_sql.py checks that the embedded text equals the folder (a stale build fails
# there), and the wheel and DuckDB CLI tests read the embedded text only.
os.environ.setdefault("STDF_DUCK_SQL_DIR", str(REPO / "sql"))


def expected_cases() -> list[tuple[str, Path, dict[str, Any]]]:
    """(file name, path of the real file, expected values) for every expected/*.json."""
    if not EXPECTED_DIR.is_dir():
        return []
    out = []
    for j in sorted(EXPECTED_DIR.glob("*.json")):
        exp = json.loads(j.read_text())
        out.append((exp["file"], SHARED_STDF / exp["source_path"], exp))
    return out


def real_file(name: str) -> Path:
    """Path of one real file by name (skips the test when the shared data is absent)."""
    for file, path, _ in expected_cases():
        if file == name:
            if not path.exists():
                pytest.skip(f"{path} is absent")
            return path
    pytest.skip(f"real STDF file {name} is not available (looked in {SHARED_STDF})")


def expected_of(name: str) -> dict[str, Any]:
    for file, _, exp in expected_cases():
        if file == name:
            return exp
    pytest.skip(f"no expected values for {name}")


def query(sql: str, **tables: Any) -> list[tuple[Any, ...]]:
    """Run `sql` in a fresh DuckDB connection with each keyword registered under its name."""
    con = duckdb.connect()
    try:
        for name, obj in tables.items():
            con.register(name, obj)
        return con.execute(sql).fetchall()
    finally:
        con.close()


def scalar(sql: str, **tables: Any) -> Any:
    rows = query(sql, **tables)
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    try:
        yield c
    finally:
        c.close()
