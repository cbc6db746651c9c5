"""Readers and writers of one archive: a reader left open never stops materialize or sync, and a
writer never breaks a reader (stdf_duck.archive.catalog, stdf_duck.archive.ledger); the catalog opens in the DuckDB
CLI; partial files, the warnings view and the NULL partition value.

Row counts are the fixture values of tests/fixtures/README.md, never what stdf_duck prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import FIXTURES, REPO

from stdf_duck.archive import Archive, materialize

CLI_DUCKDB = REPO / ".venv" / "bin" / "duckdb"
# fixtures README: file -> parts (PIR..PRR)
PARTS = {
    "multisite_le.stdf": 94,
    "multisite_be.stdf": 94,
    "no_pir.stdf": 25,
    "mpr_ftr.stdf": 3,
    "concat.stdf": 33,
    "v4_2007.stdf": 1,
    "latin1.stdf": 1,
}
FIRST = ["multisite_le.stdf"]
MORE = ["multisite_be.stdf", "no_pir.stdf", "mpr_ftr.stdf", "concat.stdf", "v4_2007.stdf", "latin1.stdf"]


def fx(name: str) -> str:
    return str(FIXTURES / name)


def cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdf_duck.cli", *args], capture_output=True, text=True, **kw)


def q(root: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(root / "archive.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


# A reader process: holds archive.duckdb open (read-only or read-write) and queries it in a loop
# until told to stop, then once more, then reconnects. Any error ends it with a traceback.
READER = r"""
import json, os, sys, time
import duckdb
db, mode, ready, stop = sys.argv[1:5]
def connect():
    if mode == "stdf_duck":  # stdf_duck.connect(path): read-write, with the stdf_* functions
        import stdf_duck
        return stdf_duck.connect(db)
    return duckdb.connect(db, read_only=mode == "ro")
con = connect()
counts = [con.execute("SELECT count(*) FROM parts").fetchone()[0]]
open(ready, "w").close()
n = 0
while not os.path.exists(stop):
    counts.append(con.execute("SELECT count(*) FROM parts").fetchone()[0])
    con.execute("SELECT count(*), count(DISTINCT status) FROM ingest").fetchone()
    n += 1
    time.sleep(0.01)
held = con.execute("SELECT count(*) FROM parts").fetchone()[0]
con.close()
con = connect()
again = con.execute("SELECT count(*) FROM parts").fetchone()[0]
print(json.dumps({"queries": n, "before": counts[0], "held_after": held, "reconnected": again}))
"""


class Reader:
    """`READER` in a subprocess, or the DuckDB CLI (read-write) fed queries on its stdin."""

    def __init__(self, root: Path, mode: str, tmp: Path) -> None:
        self.mode, self.tmp = mode, tmp
        self.ready, self.stop = tmp / f"ready-{mode}", tmp / f"stop-{mode}"
        db = str(root / "archive.duckdb")
        if mode == "cli":
            self.p = subprocess.Popen(
                [str(CLI_DUCKDB), db, "-csv", "-noheader"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.sent = 0
            self.feeding = True
            self.feeder = threading.Thread(target=self._feed, daemon=True)
            self._send()
            self.feeder.start()
        else:
            self.p = subprocess.Popen(
                [sys.executable, "-c", READER, db, mode, str(self.ready), str(self.stop)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 30
            while not self.ready.exists():
                assert self.p.poll() is None, self.p.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.02)

    def _send(self) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write("SELECT count(*) FROM parts;\n")
        self.p.stdin.flush()
        self.sent += 1

    def _feed(self) -> None:
        while self.feeding:
            self._send()
            time.sleep(0.05)

    def finish(self) -> dict[str, Any]:
        if self.mode == "cli":
            self.feeding = False
            self.feeder.join()
            out, err = self.p.communicate("SELECT count(*) FROM parts;\n", timeout=60)
            assert self.p.returncode == 0 and not err.strip(), err
            counts = [int(x) for x in out.split()]
            assert len(counts) == self.sent + 1  # every query answered, none failed
            return {"queries": len(counts), "before": counts[0], "held_after": counts[-1], "reconnected": None}
        self.stop.touch()
        out, err = self.p.communicate(timeout=60)
        assert self.p.returncode == 0, err
        return dict(json.loads(out))


@pytest.fixture
def first_archive(tmp_path: Path) -> Path:
    root = tmp_path / "arch"
    assert materialize([fx(n) for n in FIRST], root, workers=1).ok
    return root


@pytest.mark.parametrize("mode", ["ro", "rw", "stdf_duck", "cli"])
def test_reader_holding_the_catalog_does_not_stop_materialize(first_archive: Path, tmp_path: Path, mode: str) -> None:
    if mode == "cli" and not CLI_DUCKDB.is_file():
        pytest.skip("the DuckDB CLI (duckdb-cli, a dev dependency) is not installed")
    root = first_archive
    reader = Reader(root, mode, tmp_path)
    try:
        t0 = time.monotonic()
        r = cli("materialize", *(fx(n) for n in MORE), "--archive", str(root), "-j", "2", "-q")
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr  # not 3 (busy), and no waiting: it ran at once
        # readers that come while the reader holds the catalog (status, query) are not refused either
        st = cli("status", str(root), "--json")
        assert st.returncode == 0, st.stderr
        assert json.loads(st.stdout)["ingest"] == {"ok": 1 + len(MORE)}
        qr = cli(
            "query",
            "--archive",
            str(root),
            "-f",
            "csv",
            "SELECT count(*), sum(rows_parts) FROM ingest WHERE status = 'ok'",
        )
        assert (
            qr.returncode == 0 and qr.stdout.splitlines()[1] == f"{1 + len(MORE)},{sum(PARTS[n] for n in FIRST + MORE)}"
        ), qr.stderr
    finally:
        got = reader.finish()
    total = sum(PARTS[n] for n in FIRST + MORE)
    assert got["before"] == PARTS["multisite_le.stdf"]
    assert got["queries"] > 3 and took < 120
    assert got["held_after"] == total  # the views read the Parquet globs: new rows without reconnecting
    if got["reconnected"] is not None:
        assert got["reconnected"] == total
    assert q(root, "SELECT count(*) FROM parts") == [(total,)]


@pytest.mark.parametrize("mode", ["ro", "rw", "cli"])
def test_reader_holding_the_catalog_does_not_stop_sync(tmp_path: Path, mode: str) -> None:
    if mode == "cli" and not CLI_DUCKDB.is_file():
        pytest.skip("the DuckDB CLI (duckdb-cli, a dev dependency) is not installed")
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(fx("multisite_le.stdf"), drop)
    toml = tmp_path / "stdf-duck.toml"
    toml.write_text(
        '[archive]\npath = "archive"\n[sync]\nstable_seconds = 0\nworkers = 1\n'
        f'[[sources]]\nname = "drop"\nurl = "{drop}"\ninclude = ["*.stdf"]\n'
    )
    assert cli("sync", "--config", str(toml), "-q").returncode == 0
    root = tmp_path / "archive"
    for n in MORE:
        shutil.copy(fx(n), drop)
    reader = Reader(root, mode, tmp_path)
    try:
        r = cli("sync", "--config", str(toml), "-q")
        assert r.returncode == 0, r.stderr
        st = cli("status", "--config", str(toml), "--json")
        assert st.returncode == 0 and json.loads(st.stdout)["sync"][0]["n"] == 1 + len(MORE), st.stderr
    finally:
        got = reader.finish()
    total = sum(PARTS[n] for n in FIRST + MORE)
    assert got["before"] == PARTS["multisite_le.stdf"] and got["queries"] > 3
    assert got["held_after"] == total and got["reconnected"] in (None, total)
    assert dict(q(root, "SELECT state, count(*) FROM sync_files GROUP BY 1")) == {"ingested": 1 + len(MORE)}


def test_status_and_query_work_while_a_writer_holds_the_archive(first_archive: Path) -> None:
    """What a running materialize holds (the lock, the ledger open read-write) stops no reader."""
    root = first_archive
    a = Archive(root)
    with a.lock(), a.ledger.open() as con:
        con.execute("UPDATE ingest SET status = status")  # a write in progress
        st = cli("status", str(root), "--json")
        assert st.returncode == 0, st.stderr
        assert json.loads(st.stdout)["ingest"] == {"ok": 1}
        r = cli(
            "query", "--archive", str(root), "-f", "csv", "SELECT count(*), (SELECT min(status) FROM ingest) FROM parts"
        )
        assert r.returncode == 0 and r.stdout.splitlines()[1] == "94,ok", r.stderr
        assert q(root, "SELECT count(*), min(status) FROM ingest") == [(1, "ok")]


def test_the_catalog_holds_views_and_a_copy_of_the_ledger(first_archive: Path) -> None:
    root = first_archive
    kinds = q(root, "SELECT table_name, table_type FROM information_schema.tables ORDER BY 1")
    views = ["bins", "files", "parts", "result_params", "results", "tests", "wafers", "warnings"]
    tables = ["archive_meta", "ingest", "runs", "sync_files", "syncs"]
    assert kinds == sorted([(v, "VIEW") for v in views] + [(t, "BASE TABLE") for t in tables])
    # the ledger, and the macros-only catalog every publish starts from (catalog.macro_template)
    ledger_dir = sorted(os.listdir(root / "_ledger"))
    assert len(ledger_dir) == 2 and ledger_dir[1] == "ledger.duckdb", ledger_dir
    assert re.fullmatch(r"catalog-macros-[0-9a-f]{16}\.duckdb", ledger_dir[0]), ledger_dir
    # every run writes a new catalog (a new file renamed over the old: a new inode), never in place;
    # the old file is held open so that its inode number cannot be reused by the new one
    with open(root / "archive.duckdb", "rb") as old:
        before = old.read()
        assert materialize([fx(n) for n in FIRST], root, workers=1).count("unchanged") == 1
        assert os.stat(root / "archive.duckdb").st_ino != os.fstat(old.fileno()).st_ino
        assert os.fstat(old.fileno()).st_nlink == 0  # replaced, not written in place
        old.seek(0)
        assert old.read() == before
    assert q(root, "SELECT run_id, status, n_unchanged FROM runs ORDER BY 1") == [
        (1, "complete", 0),
        (2, "complete", 1),
    ]
    assert not [p for p in os.listdir(root) if ".tmp" in p]


# ---- one schema per table: views without union_by_name -------------------------------------


def test_each_catalog_starts_from_the_macro_template_of_its_sql(first_archive: Path) -> None:
    """A missing template is made again and an older one (another SQL text or DuckDB) removed; the
    catalog published from it has every analysis macro, and they answer over its views."""
    from stdf_duck._sqlsrc import macro_names

    root, ledger = first_archive, first_archive / "_ledger"
    (current,) = [p for p in os.listdir(ledger) if p.startswith("catalog-macros-")]
    os.remove(ledger / current)
    (ledger / "catalog-macros-0123456789abcdef.duckdb").write_bytes(b"an older template")
    assert materialize([fx("multisite_be.stdf")], root, workers=1).ok
    assert [p for p in os.listdir(ledger) if p.startswith("catalog-macros-")] == [current]
    have = {r[0] for r in q(root, "SELECT function_name FROM duckdb_functions() WHERE function_type LIKE '%macro'")}
    assert macro_names() <= have and {"stdf_yield", "stdf_bin_pareto", "stdf_test_stats"} <= have
    # both files' dice (94 parts each, no retest across them: different lots or dice)
    assert q(root, "SELECT sum(insertions) FROM stdf_yield()") == [(188,)]


def view_sql(root: Path, name: str) -> str:
    rows = q(root, f"SELECT sql FROM duckdb_views() WHERE view_name = '{name}'")
    assert len(rows) == 1
    return str(rows[0][0])


def test_tables_of_one_schema_are_read_without_union_by_name(first_archive: Path) -> None:
    from stdf_duck.archive import schemas

    root = first_archive
    assert materialize([fx("no_pir.stdf"), fx("mpr_ftr.stdf")], root, workers=1).ok
    meta = dict(q(root, "SELECT key, value FROM archive_meta WHERE starts_with(key, 'schema:')"))
    tables = ["bins", "files", "parts", "result_params", "results", "tests", "wafers", "warnings"]
    assert sorted(meta) == [f"schema:{t}" for t in tables]
    for t in tables:
        prints = {schemas.fingerprint(str(p)) for p in (root / t).rglob("*.parquet")}
        assert prints == {meta[f"schema:{t}"]}, t  # every file of the table, one schema
    assert "union_by_name = false" in view_sql(root, "parts")
    assert view_sql(root, "results").count("union_by_name = false") == 2
    assert q(root, "SELECT count(*) FROM parts") == [(94 + 25 + 3,)]


def test_a_table_of_two_schemas_is_read_by_name(tmp_path: Path) -> None:
    """A file whose columns differ from the others' marks its table 'mixed' (a view without
    union_by_name would fail on a missing column and drop an extra one without a word); an archive
    without the row (older writers) is fingerprinted from its files on the first write."""
    from stdf_duck.archive import catalog, schemas

    root = tmp_path / "arch"
    d = root / "parts" / "part_typ=P" / "test_stage=S" / "lot_id=L"
    d.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("CREATE TABLE archive_meta (key VARCHAR, value VARCHAR)")
    con.execute(f"COPY (SELECT 1::INT a, 'x' b) TO '{d / 'one.parquet'}'")
    con.execute(f"COPY (SELECT 'y' b, 2::INT a) TO '{tmp_path / 'staged.parquet'}'")
    schemas.update(con, [(str(tmp_path / "staged.parquet"), "parts")], lambda t: catalog.table_glob(str(root), t))
    assert con.execute("SELECT value FROM archive_meta").fetchall() == [("mixed",)]  # column order differs

    con.execute("DELETE FROM archive_meta")
    con.execute(f"COPY (SELECT 3::INT a, 'z' b) TO '{tmp_path / 'same.parquet'}'")
    schemas.update(con, [(str(tmp_path / "same.parquet"), "parts")], lambda t: catalog.table_glob(str(root), t))
    assert con.execute("SELECT value FROM archive_meta").fetchall() == [(schemas.fingerprint(str(d / "one.parquet")),)]
    assert catalog.create_views(con, str(root)) == ["parts"]
    assert (
        "union_by_name = false"
        in con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'parts'").fetchall()[0][0]
    )

    con.execute(f"COPY (SELECT 4::INT a, 'w' b, 1.5 c) TO '{tmp_path / 'wider.parquet'}'")
    schemas.update(con, [(str(tmp_path / "wider.parquet"), "parts")], lambda t: catalog.table_glob(str(root), t))
    assert con.execute("SELECT value FROM archive_meta").fetchall() == [("mixed",)]
    os.replace(tmp_path / "wider.parquet", d / "two.parquet")
    catalog.create_views(con, str(root))
    got = con.execute("SELECT a, b, c FROM parts ORDER BY a").fetchall()
    assert got == [(1, "x", None), (4, "w", 1.5)]  # the column only the second file has: not dropped
    con.close()


# ---- the DuckDB CLI --------------------------------------------------------------------------


def test_duckdb_cli_opens_the_catalog(tmp_path: Path) -> None:
    if not CLI_DUCKDB.is_file():
        pytest.skip("the DuckDB CLI (duckdb-cli, a dev dependency) is not installed")
    import stdf_duck

    names = ["multisite_le.stdf", "no_pir.stdf", "concat.stdf", "mpr_ftr.stdf"]
    root = tmp_path / "arch"
    assert materialize([fx(n) for n in names], root, workers=1).ok
    version = subprocess.run([str(CLI_DUCKDB), "--version"], capture_output=True, text=True).stdout.strip()
    r = subprocess.run(
        [
            str(CLI_DUCKDB),
            "-readonly",
            str(root / "archive.duckdb"),
            "-csv",
            "-noheader",
            "-c",
            "SELECT (SELECT count(*) FROM parts), (SELECT count(*) FROM ingest WHERE status = 'ok'), "
            "(SELECT count(*) FROM results), (SELECT count(*) FROM warnings);",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and not r.stderr, f"DuckDB CLI {version} (Python duckdb {duckdb.__version__}): {r.stderr}"
    n_parts, n_ok, n_results, _ = (int(x) for x in r.stdout.strip().split(","))
    with stdf_duck.connect() as con:
        paths = ", ".join(f"'{fx(n)}'" for n in names)
        want_parts, want_results = con.execute(
            f"SELECT (SELECT count(*) FROM stdf_parts([{paths}])), (SELECT count(*) FROM stdf_results([{paths}]))"
        ).fetchone()
    assert (n_parts, n_ok, n_results) == (want_parts, len(names), want_results)
    assert n_parts == sum(PARTS[n] for n in names)
    # and read-write, as `duckdb archive.duckdb` opens it: the views answer the same
    r = subprocess.run(
        [str(CLI_DUCKDB), str(root / "archive.duckdb"), "-csv", "-noheader", "-c", "SELECT count(*) FROM parts"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stdout.strip() == str(n_parts), r.stderr


# ---- partial files, warnings, known-bad files ------------------------------------------------


def test_partial_file_in_summary_ledger_status_and_warnings(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    args = [
        "materialize",
        fx("truncated.stdf"),
        fx("multisite_le.stdf"),
        "--archive",
        str(root),
        "--on-error",
        "warn",
        "-j",
        "1",
    ]
    r = cli(*args)
    assert r.returncode == 1, r.stderr  # rows were lost: reported once
    assert "partial (written up to damage)" in r.stdout and "truncated.stdf: partial" in r.stderr
    # fixtures README: the cut PTR is record 53 at byte 1808; 8 PIRs before it
    ((status, damage, rows_parts),) = q(
        root, "SELECT status, damage, rows_parts FROM ingest WHERE path LIKE '%truncated.stdf'"
    )
    assert status == "partial" and "truncated at byte 1,808" in damage and rows_parts == 8
    w = q(
        root,
        "SELECT w.path, w.record_index, w.byte_offset, w.code, w.file_id = f.file_id FROM warnings w "
        "JOIN files f ON f.file_name = 'truncated.stdf' WHERE w.code = 'truncated'",
    )
    assert w == [(os.path.realpath(fx("truncated.stdf")), 53, 1808, "truncated", True)]
    assert q(root, "SELECT status, n_ok, n_partial FROM runs") == [("failures", 1, 1)]
    st = json.loads(cli("status", str(root), "--json").stdout)
    assert st["ingest"] == {"ok": 1, "partial": 1}
    assert [(Path(f["file"]).name, f["state"]) for f in st["failures"]] == [("truncated.stdf", "partial")]
    assert "1808" in st["failures"][0]["error"] or "1,808" in st["failures"][0]["error"]
    text = cli("status", str(root))
    assert "partial" in text.stdout and "truncated.stdf" in text.stdout
    # the rerun: nothing new, so cron stays quiet; status still lists it
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert json.loads(cli("status", str(root), "--json").stdout)["failures"][0]["state"] == "partial"


def test_known_bad_files_are_skipped_on_rerun_like_sync(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    args = ["materialize", fx("corrupt.stdf"), fx("multisite_le.stdf"), "--archive", str(root), "-j", "1"]
    first = cli(*args)
    assert first.returncode == 1 and "offset 84" in first.stderr
    again = cli(*args)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "failed before (skipped)" in again.stdout
    rep = materialize([fx("corrupt.stdf")], root, workers=1)
    assert [(o.status, o.error) for o in rep.outcomes] == [("skipped", rep.outcomes[0].error)] and rep.ok
    assert "--retry-failed" in (rep.outcomes[0].error or "")
    assert q(root, "SELECT n_failed, n_skipped FROM runs ORDER BY run_id") == [(1, 0), (0, 1), (0, 1)]
    st = json.loads(cli("status", str(root), "--json").stdout)
    assert [Path(f["file"]).name for f in st["failures"]] == ["corrupt.stdf"]
    retried = cli(*args, "--retry-failed")
    assert retried.returncode == 1 and "offset 84" in retried.stderr
    # a changed file is read again
    bad = tmp_path / "corrupt.stdf"
    shutil.copy(fx("corrupt.stdf"), bad)
    assert cli("materialize", str(bad), "--archive", str(root)).returncode == 1
    os.utime(bad, ns=(time.time_ns(), time.time_ns()))
    assert cli("materialize", str(bad), "--archive", str(root)).returncode == 1


def test_sync_reports_a_partial_file_once(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for n in ("truncated.stdf", "no_pir.stdf"):
        shutil.copy(fx(n), drop)
    toml = tmp_path / "stdf-duck.toml"
    toml.write_text(
        '[archive]\npath = "archive"\non_error = "warn"\n[sync]\nstable_seconds = 0\nworkers = 1\n'
        f'[[sources]]\nname = "drop"\nurl = "{drop}"\ninclude = ["*.stdf"]\n'
    )
    first = cli("sync", "--config", str(toml))
    assert first.returncode == 1 and "partial" in first.stdout, first.stderr
    root = tmp_path / "archive"
    assert dict(q(root, "SELECT remote, state FROM sync_files")) == {
        "truncated.stdf": "partial",
        "no_pir.stdf": "ingested",
    }
    assert q(root, "SELECT count(*) FROM parts") == [(8 + 25,)]  # fixtures README: 8 PIRs before the cut
    again = cli("sync", "--config", str(toml))
    assert again.returncode == 0, again.stderr
    st = json.loads(cli("status", "--config", str(toml), "--json").stdout)
    assert [(f["file"], f["state"]) for f in st["sync_failures"]] == [("truncated.stdf", "partial")]


def test_warnings_view_lists_every_warning_of_a_file(tmp_path: Path) -> None:
    """Tolerance warnings (not damage) are in the view too, and do not make a file partial."""
    import stdf_duck

    root = tmp_path / "arch"
    names = ["no_pir.stdf", "multisite_le.stdf", "concat.stdf"]
    rep = materialize([fx(n) for n in names], root, workers=1)
    assert rep.ok and {o.status for o in rep.outcomes} == {"ok"}
    with stdf_duck.connect() as con:
        want = sorted(
            (os.path.realpath(fx(n)), code, off)
            for n in names
            for code, off in con.execute(f"SELECT code, byte_offset FROM stdf_warnings('{fx(n)}')").fetchall()
        )
    got = sorted(q(root, "SELECT path, code, byte_offset FROM warnings"))
    assert got == want and want  # no_pir.stdf: its parts open without PIR (fixture README)
    assert q(root, "SELECT sum(n_warnings) FROM files") == [(len(want),)]


# ---- partition values --------------------------------------------------------------------------


def test_null_partition_value_is_sql_null_in_the_views(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    materialize([fx("multisite_le.stdf")], root, stage="  ", workers=1)  # an empty stage: __NULL__
    assert all("/test_stage=__NULL__/" in str(p) for p in root.glob("parts/*/*/*/*.parquet"))
    for t in ("parts", "results", "files", "warnings"):
        assert (
            q(root, f"SELECT count(*) FILTER (test_stage IS NULL), count(*) FILTER (test_stage = '__NULL__') FROM {t}")[
                0
            ][1]
            == 0
        )
    assert q(root, "SELECT count(*) FROM parts WHERE test_stage IS NULL") == [(94,)]
    assert q(root, "SELECT DISTINCT part_typ, test_stage, lot_id FROM parts") == [("SYNPART-A1", None, "MS4LOT")]
    # and through `stdf-duck query --archive` (views made over the archive's actual location)
    r = cli("query", "--archive", str(root), "-f", "csv", "SELECT count(*) FROM parts WHERE test_stage IS NULL")
    assert r.returncode == 0 and r.stdout.splitlines()[1] == "94", r.stderr


# ---- archives of an older stdf_duck ----------------------------------------------------------


def make_legacy(root: Path) -> None:
    """Rewrite a fresh archive as the previous layouts left it: the ledger tables inside
    archive.duckdb (written in the Python package's own storage format), no _ledger, no warnings,
    results files with every column of stdf_results (as SQL COPY wrote them), no result_params."""
    import stdf_duck

    led = root / "_ledger"
    old = root / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(f"ATTACH '{led / 'ledger.duckdb'}' AS led (READ_ONLY)")
    sc = stdf_duck.connect()
    for src, outputs in con.execute("SELECT path, outputs FROM led.ingest").fetchall():
        for rel in outputs:
            if rel.startswith("results/"):
                sc.execute(
                    f"COPY (SELECT * EXCLUDE (part_typ, test_stage, lot_id) FROM stdf_results('{src}') "
                    "ORDER BY test_num, stream_index, part_index, record_index, element_index) "
                    f"TO '{root / rel}' (FORMAT parquet, COMPRESSION zstd)"
                )
    sc.close()
    con.execute(
        "CREATE TABLE ingest AS SELECT * EXCLUDE (damage, rows_warnings, rows_result_params) REPLACE "
        "(list_filter(outputs, lambda x: NOT starts_with(x, 'warnings/') AND NOT starts_with(x, 'result_params/'))"
        " AS outputs) FROM led.ingest"
    )
    con.execute("CREATE TABLE runs AS SELECT * EXCLUDE (n_partial, n_skipped) FROM led.runs")
    con.execute("DETACH led")
    con.execute(
        "CREATE TABLE archive_meta AS SELECT * FROM (VALUES ('format', '1'), ('created_at', '2026-01-01T00:00:00')) t(key, value)"
    )
    for t in ("parts", "results", "tests", "bins", "wafers", "files"):
        con.execute(
            f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{root}/{t}/*/*/*/*.parquet', hive_partitioning = true, "
            "hive_types = {'part_typ': 'VARCHAR', 'test_stage': 'VARCHAR', 'lot_id': 'VARCHAR'}, union_by_name = true)"
        )
    con.close()
    shutil.rmtree(led)
    shutil.rmtree(root / "warnings")
    shutil.rmtree(root / "result_params")
    os.replace(old, root / "archive.duckdb")


def test_older_archive_is_read_then_migrated_on_first_write(first_archive: Path, tmp_path: Path) -> None:
    root = first_archive
    make_legacy(root)
    st = cli("status", str(root), "--json")
    assert st.returncode == 0 and json.loads(st.stdout)["ingest"] == {"ok": 1}, st.stderr
    r = cli("query", "--archive", str(root), "-f", "csv", "SELECT count(*) FROM parts")
    assert r.stdout.splitlines()[1] == "94", r.stderr
    reader = Reader(root, "rw", tmp_path)  # holds the old archive.duckdb, read-write, during the migration
    try:
        r = cli("materialize", fx("multisite_le.stdf"), fx("no_pir.stdf"), "--archive", str(root), "-j", "1")
        assert r.returncode == 0, r.stderr
        assert "unchanged" in r.stdout  # the ledger moved with its rows: the first file is known
    finally:
        got = reader.finish()
    assert got["held_after"] == got["reconnected"] == 94 + 25
    assert (root / "_ledger" / "ledger.duckdb").is_file()
    assert q(root, "SELECT key, value FROM archive_meta WHERE key IN ('format', 'created_at') ORDER BY 1") == [
        ("created_at", "2026-01-01T00:00:00"),
        ("format", "3"),
    ]
    # the old results files have every column, the new ones the rows only: read by name
    meta = dict(q(root, "SELECT key, value FROM archive_meta WHERE starts_with(key, 'schema:')"))
    assert meta["schema:results"] == "mixed" and meta["schema:parts"] != "mixed"
    assert "union_by_name = true" in view_sql(root, "results")
    assert q(root, "SELECT run_id, status, n_ok, n_unchanged FROM runs ORDER BY 1") == [
        (1, "complete", 1, 0),
        (2, "complete", 1, 1),
    ]
    assert q(root, "SELECT table_type, count(*) FROM information_schema.tables GROUP BY 1 ORDER BY 1") == [
        ("BASE TABLE", 5),
        ("VIEW", 8),
    ]
    # an old results file (every column, multisite_le) and a new one (rows + result_params, no_pir)
    # read as one table: the rows of stdf_results of both files
    import stdf_duck

    sources = [fx("multisite_le.stdf"), fx("no_pir.stdf")]
    con = stdf_duck.connect()
    con.execute(f"ATTACH '{root / 'archive.duckdb'}' AS a (READ_ONLY)")
    assert con.execute("SELECT count(DISTINCT file_id) FROM a.results").fetchone() == (2,)
    assert len(list((root / "result_params").rglob("*.parquet"))) == 1
    both = "SELECT * EXCLUDE (part_typ, test_stage, lot_id) FROM {}"
    own = both.format("stdf_results(?)")
    archived = both.format("a.results")
    assert con.execute(f"SELECT count(*) FROM ({archived} EXCEPT ALL {own})", [sources]).fetchone() == (0,)
    assert con.execute(f"SELECT count(*) FROM ({own} EXCEPT ALL {archived})", [sources]).fetchone() == (0,)
    n = con.execute("SELECT count(*) FROM a.results WHERE test_name IS NOT NULL AND lo_limit IS NOT NULL").fetchone()
    assert n is not None and n[0] > 0
    con.close()
