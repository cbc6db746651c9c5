"""The Parquet archive of `stdf-duck materialize` (stdf_duck.archive).

Row counts are checked against the independent reference values of ../shared/data/stdf/expected
and the values written in tests/fixtures/README.md, never against what stdf_duck prints."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import FIXTURES, REPO, expected_cases

from stdf_duck import archive as arc
from stdf_duck.archive import ARCHIVE_TABLES, Archive, SourceError, expand_sources, materialize, sanitize

LAYOUT = re.compile(
    r"^(parts|results|result_params|tests|bins|wafers|warnings|files)/part_typ=([^/]+)/test_stage=([^/]+)/lot_id=([^/]+)/([0-9a-f]{32})\.parquet$"
)
# fixtures README: lot -> parts (PRRs) and PTR records
FIXTURE_PARTS = {
    "multisite_le.stdf": ("MS4LOT", 94, 415),
    "no_pir.stdf": ("NOPIR01", 25, 69),
    "mpr_ftr.stdf": ("MPRFTR", 3, 0),
}


def real_complete() -> list[tuple[str, Path, dict[str, Any]]]:
    cases = [c for c in expected_cases() if c[2]["complete"] and c[1].exists()]
    if not cases:
        pytest.skip("the real STDF files of ../shared/data/stdf are absent")
    return cases


def db(root: Path | str) -> duckdb.DuckDBPyConnection:
    """archive.duckdb opened by plain DuckDB (no stdf_duck), as any user would."""
    return duckdb.connect(str(Path(root) / "archive.duckdb"), read_only=True)


def q(root: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = db(root)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def parquet_files(root: Path | str) -> list[str]:
    """The Parquet files of the archive's tables."""
    root = Path(root)
    return sorted(
        str(p.relative_to(root)).replace(os.sep, "/") for t in ARCHIVE_TABLES for p in (root / t).rglob("*.parquet")
    )


def cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdf_duck.cli", *args], capture_output=True, text=True, **kw)


def fx(name: str) -> str:
    return str(FIXTURES / name)


# ---- the real files, materialized once ------------------------------------------------------


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, Path, dict[str, Any]]], Any]:
    cases = real_complete()
    root = tmp_path_factory.mktemp("real") / "archive"
    report = materialize([str(p) for _, p, _ in cases], root, workers=2)
    return root, cases, report


def test_real_files_all_written_lot3_copies_deduplicated(real_archive: Any) -> None:
    root, cases, report = real_archive
    assert report.ok and not report.failed
    status = {Path(o.path).name: o.status for o in report.outcomes}
    # lot3.stdf.bz2 and lot3.zip hold the same stream (decompressed here with the standard library)
    import bz2
    import zipfile

    paths = {n: p for n, p, _ in cases}
    with zipfile.ZipFile(paths["lot3.zip"]) as z:
        assert z.read(z.namelist()[0]) == bz2.decompress(paths["lot3.stdf.bz2"].read_bytes())
    assert sorted([status["lot3.zip"], status["lot3.stdf.bz2"]]) == ["duplicate", "ok"]
    assert Counter(status.values()) == {"ok": len(cases) - 1, "duplicate": 1}
    ledger = {Path(r[0]).name: r for r in q(root, "SELECT path, status, duplicate_of FROM ingest")}
    dup = next(n for n in ("lot3.zip", "lot3.stdf.bz2") if status[n] == "duplicate")
    other = "lot3.stdf.bz2" if dup == "lot3.zip" else "lot3.zip"
    assert ledger[dup][1] == "duplicate" and Path(ledger[dup][2]).name == other


def test_real_files_row_counts_equal_reference(real_archive: Any) -> None:
    root, cases, report = real_archive
    ingested = {Path(o.path).name for o in report.outcomes if o.status == "ok"}
    con = db(root)
    try:
        for name, _, exp in cases:
            if name not in ingested:
                continue
            (fid,) = con.execute("SELECT DISTINCT file_id FROM files WHERE file_name = ?", [name]).fetchone()
            n_complete, n_open = con.execute(
                "SELECT count(*) FILTER (complete), count(*) FILTER (has_pir AND NOT complete) FROM parts WHERE file_id = ?",
                [fid],
            ).fetchone()
            assert n_complete == exp["parts"], name
            assert n_open == exp["unclosed_parts"], name
            n_ptr = con.execute(
                "SELECT count(*) FROM results WHERE file_id = ? AND rec_type = 'PTR'", [fid]
            ).fetchone()[0]
            assert n_ptr == exp["ptr"]["count"], name
            bins = dict(
                con.execute(
                    "SELECT hard_bin::VARCHAR, count(*) FROM parts WHERE file_id = ? AND complete GROUP BY 1", [fid]
                ).fetchall()
            )
            assert bins == exp["hard_bin_counts"], name
            n_records, lot, part_typ = con.execute(
                "SELECT sum(n_records), any_value(source_lot_id), any_value(source_part_typ) FROM files WHERE file_id = ?",
                [fid],
            ).fetchone()
            assert n_records == exp["records_total"], name
            assert (lot or "") == exp["mir"]["LOT_ID"].strip(), name
            assert (part_typ or "") == exp["mir"]["PART_TYP"].strip(), name
            if exp["record_counts"].get("WIR"):
                assert (
                    con.execute("SELECT count(*) FROM wafers WHERE file_id = ?", [fid]).fetchone()[0]
                    == exp["record_counts"]["WIR"]
                )
    finally:
        con.close()


def test_hive_layout_partition_values_and_zstd(real_archive: Any) -> None:
    root, cases, report = real_archive
    files = parquet_files(root)
    ok = [o for o in report.outcomes if o.status == "ok"]
    assert len(files) == len(ok) * len(ARCHIVE_TABLES)  # no multi-stream file among them
    assert sorted(os.listdir(root)) == sorted(["archive.duckdb", ".lock", "_ledger", *ARCHIVE_TABLES])
    # partition directories carry the MIR values, sanitized
    mir = {
        fid: (pt, st, lot)
        for fid, pt, st, lot in q(root, "SELECT file_id, source_part_typ, source_test_stage, source_lot_id FROM files")
    }
    by_table: dict[str, set[str]] = {t: set() for t in ARCHIVE_TABLES}
    for rel in files:
        m = LAYOUT.match(rel)
        assert m, rel
        table, pt, st, lot, fid = m.groups()
        assert (pt, st, lot) == tuple(sanitize(v) for v in mir[fid]), rel
        by_table[table].add(fid)
        md = pq.ParquetFile(root / rel).metadata
        if md.num_row_groups:
            assert {md.row_group(0).column(i).compression for i in range(md.num_columns)} == {"ZSTD"}
        # the partition columns live in the directory names only
        assert not {"part_typ", "test_stage", "lot_id"} & set(md.schema.names)
    assert len({frozenset(s) for s in by_table.values()}) == 1  # every table has every file
    # the views expose the partition values as VARCHAR (lot '1234' stays a string)
    assert ("1234",) in q(root, "SELECT DISTINCT lot_id FROM parts")
    assert q(root, "SELECT DISTINCT typeof(lot_id) FROM results") == [("VARCHAR",)]


def test_results_sorted_by_test_then_file_order(real_archive: Any) -> None:
    root, _, _ = real_archive
    n = 0
    for rel in parquet_files(root):
        if not rel.startswith("results/"):
            continue
        t = pq.read_table(root / rel, columns=["test_num", "record_index", "element_index"]).to_pylist()
        keys = [(r["test_num"], r["record_index"], r["element_index"] or 0) for r in t]
        assert keys == sorted(keys), rel
        n += len(keys)
    assert n > 100_000


def test_views_and_other_readers_agree(real_archive: Any) -> None:
    root, cases, report = real_archive
    import polars as pl
    import pyarrow.dataset as ds

    ingested = {Path(o.path).name for o in report.outcomes if o.status == "ok"}
    want_parts = sum(e["parts"] for n, _, e in cases if n in ingested)  # PRRs
    want_ptr = sum(e["ptr"]["count"] for n, _, e in cases if n in ingested)
    assert q(root, "SELECT count(*) FROM parts WHERE complete")[0][0] == want_parts
    assert q(root, "SELECT count(*) FROM results WHERE rec_type = 'PTR'")[0][0] == want_ptr
    dset = ds.dataset(root / "parts", format="parquet", partitioning="hive")
    assert dset.count_rows(filter=ds.field("complete")) == want_parts
    lf = pl.scan_parquet(str(root / "parts" / "**" / "*.parquet"), hive_partitioning=True)
    assert lf.filter(pl.col("complete")).select(pl.len()).collect().item() == want_parts
    assert lf.select(pl.len()).collect().item() == dset.count_rows() == q(root, "SELECT count(*) FROM parts")[0][0]
    # a yield query on the views
    rows = q(
        root, "SELECT lot_id, count(*), sum(passed::INT) FROM parts WHERE is_final AND part_typ = 'GOLD8BAR' GROUP BY 1"
    )
    assert len(rows) == 1 and rows[0][0] == "GAL-LOT"


def test_ledger_rows_match_the_archive(real_archive: Any) -> None:
    root, _, report = real_archive
    rows = q(
        root,
        "SELECT status, count(*), sum(rows_parts), sum(rows_results), sum(rows_files), "
        "bool_and(file_id IS NOT NULL AND content_hash IS NOT NULL), sum(len(outputs)) FROM ingest GROUP BY 1 ORDER BY 1",
    )
    (d_status, d_n, *_), (ok_status, ok_n, parts, results, files, ids, outputs) = rows
    assert (d_status, d_n) == ("duplicate", 1)
    assert ok_status == "ok" and ids and outputs == ok_n * len(ARCHIVE_TABLES)
    assert parts == q(root, "SELECT count(*) FROM parts")[0][0]
    assert results == q(root, "SELECT count(*) FROM results")[0][0]
    assert files == q(root, "SELECT count(*) FROM files")[0][0]
    for (outs,) in q(root, "SELECT outputs FROM ingest WHERE status = 'ok'"):
        assert all((root / o).is_file() for o in outs)
    assert q(root, "SELECT status, n_ok, n_duplicate, n_failed FROM runs") == [("complete", ok_n, 1, 0)]


def test_rerun_adds_nothing(real_archive: Any) -> None:
    root, cases, _ = real_archive
    before = {f: os.stat(root / f).st_mtime_ns for f in parquet_files(root)}
    n_before = q(root, "SELECT count(*) FROM results")[0][0]
    report = materialize([str(p) for _, p, _ in cases], root, workers=2)
    assert {o.status for o in report.outcomes} == {"unchanged"}
    assert {f: os.stat(root / f).st_mtime_ns for f in parquet_files(root)} == before
    assert q(root, "SELECT count(*) FROM results")[0][0] == n_before
    assert q(root, "SELECT run_id, status, n_unchanged FROM runs ORDER BY 1")[-1] == (2, "complete", len(cases))


# ---- incremental behaviour, on the committed fixtures -----------------------------------------


def parts_by_lot(root: Path) -> dict[str, int]:
    return dict(q(root, "SELECT lot_id, count(*) FROM parts GROUP BY 1"))


def test_changed_file_replaces_its_rows(tmp_path: Path) -> None:
    src, root = tmp_path / "lot.stdf", tmp_path / "arch"
    shutil.copy(fx("multisite_le.stdf"), src)
    assert materialize([str(src)], root, workers=1).ok
    assert parts_by_lot(root) == {"MS4LOT": 94}
    old = parquet_files(root)
    time.sleep(0.01)
    shutil.copy(fx("no_pir.stdf"), src)  # the same path now holds another lot
    report = materialize([str(src)], root, workers=1)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert parts_by_lot(root) == {"NOPIR01": 25}
    assert q(root, "SELECT count(*) FROM results WHERE rec_type = 'PTR'")[0][0] == 69
    new = parquet_files(root)
    assert not set(old) & set(new) and len(new) == len(ARCHIVE_TABLES)
    # no partition directory left empty
    for t in ARCHIVE_TABLES:
        assert [p.name for p in (root / t).iterdir()] == ["part_typ=SYNPART-A1"]
        assert [p.name for p in (root / t / "part_typ=SYNPART-A1" / "test_stage=CP1").iterdir()] == ["lot_id=NOPIR01"]
    assert q(root, "SELECT count(*), any_value(status) FROM ingest") == [(1, "ok")]


def test_touched_file_is_rewritten_without_duplicates(tmp_path: Path) -> None:
    src, root = tmp_path / "a.stdf", tmp_path / "arch"
    shutil.copy(fx("multisite_le.stdf"), src)
    materialize([str(src)], root, workers=1)
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report = materialize([str(src)], root, workers=1)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert parts_by_lot(root) == {"MS4LOT": 94}
    assert len(parquet_files(root)) == len(ARCHIVE_TABLES)


def test_same_content_under_two_paths_is_a_duplicate(tmp_path: Path) -> None:
    a, b, root = tmp_path / "a.stdf", tmp_path / "b.stdf", tmp_path / "arch"
    shutil.copy(fx("multisite_le.stdf"), a)
    shutil.copy(fx("multisite_le.stdf"), b)
    report = materialize([str(a), str(b)], root, workers=1)
    assert sorted(o.status for o in report.outcomes) == ["duplicate", "ok"]
    assert parts_by_lot(root) == {"MS4LOT": 94}
    # the big-endian twin has the same values but other bytes: it is a file of its own
    report = materialize([fx("multisite_be.stdf")], root, workers=1)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert parts_by_lot(root) == {"MS4LOT": 188}


def test_failed_files_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    report = materialize([fx("corrupt.stdf"), fx("truncated.stdf"), fx("multisite_le.stdf")], root, workers=1)
    assert not report.ok
    failed = {Path(o.path).name: o.error for o in report.failed}
    assert set(failed) == {"corrupt.stdf", "truncated.stdf"}
    assert "byte offset 84" in failed["corrupt.stdf"] and "DTR" in failed["corrupt.stdf"]
    assert "byte offset 1808" in failed["truncated.stdf"] and "PTR" in failed["truncated.stdf"]
    assert parts_by_lot(root) == {"MS4LOT": 94}
    rows = dict(q(root, "SELECT regexp_extract(path, '[^/]+$'), status FROM ingest"))
    assert rows == {"corrupt.stdf": "failed", "truncated.stdf": "failed", "multisite_le.stdf": "ok"}
    (err,) = q(root, "SELECT error FROM ingest WHERE path LIKE '%truncated.stdf'")[0]
    assert "1808" in err
    assert q(root, "SELECT status, n_failed FROM runs") == [("failures", 2)]
    # failed files are not read again while unchanged (reported once, like sync); retry_failed reads them
    again = materialize([fx("corrupt.stdf"), fx("multisite_le.stdf")], root, workers=1)
    assert again.ok and sorted((Path(o.path).name, o.status) for o in again.outcomes) == [
        ("corrupt.stdf", "skipped"),
        ("multisite_le.stdf", "unchanged"),
    ]
    retried = materialize([fx("corrupt.stdf")], root, workers=1, retry_failed=True)
    assert [o.status for o in retried.outcomes] == ["failed"] and "offset 84" in (retried.outcomes[0].error or "")


def test_on_error_warn_keeps_the_rows_before_the_damage(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    report = materialize([fx("truncated.stdf")], root, workers=1, on_error="warn")
    assert [o.status for o in report.outcomes] == ["partial"] and not report.ok  # rows after the cut are lost
    # fixtures README: 8 PIRs and 6 PRRs before the cut, 20 complete PTRs
    assert q(root, "SELECT count(*), count(*) FILTER (complete) FROM parts") == [(8, 6)]
    assert q(root, "SELECT count(*) FROM results WHERE rec_type = 'PTR'") == [(20,)]
    assert q(root, "SELECT complete, n_warnings > 0 FROM files") == [(False, True)]


def test_product_and_stage_override_the_mir(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    materialize([fx("multisite_le.stdf")], root, product="PROD/A=1", stage="  ", workers=1)
    assert all(f.split("/")[1:3] == ["part_typ=PROD_A_1", "test_stage=__NULL__"] for f in parquet_files(root))
    assert q(root, "SELECT part_typ, test_stage, source_part_typ, source_test_stage FROM files") == [
        ("PROD_A_1", None, "SYNPART-A1", "CP1")  # the directory value __NULL__ is NULL in the views
    ]
    # other options are another ingest of the same file: its rows move
    materialize([fx("multisite_le.stdf")], root, product="P2", workers=1)
    assert q(root, "SELECT DISTINCT part_typ, test_stage FROM parts") == [("P2", "CP1")]
    assert len(parquet_files(root)) == len(ARCHIVE_TABLES)


def test_concatenated_streams_go_to_their_own_lot(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    materialize([fx("concat.stdf")], root, workers=1)
    assert parts_by_lot(root) == {"CONCAT_A": 16, "CONCAT_B": 17}
    assert q(root, "SELECT lot_id, byte_order FROM files ORDER BY 1") == [("CONCAT_A", "little"), ("CONCAT_B", "big")]
    assert len(parquet_files(root)) == 2 * len(ARCHIVE_TABLES)


def test_workers_give_the_same_archive(tmp_path: Path) -> None:
    srcs = [
        fx(n)
        for n in ("multisite_le.stdf", "no_pir.stdf", "mpr_ftr.stdf", "concat.stdf", "v4_2007.stdf", "latin1.stdf")
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = materialize(srcs, one, workers=1)
    r2 = materialize(srcs, two, workers=3)
    assert r1.ok and r2.ok and r2.workers == 3
    assert parquet_files(one) == parquet_files(two)
    for t in ARCHIVE_TABLES:
        assert q(one, f"SELECT count(*) FROM {t}") == q(two, f"SELECT count(*) FROM {t}")
    assert dict(q(one, "SELECT lot_id, count(*) FROM parts GROUP BY 1")) == {
        "MS4LOT": 94,
        "NOPIR01": 25,
        "MPRFTR": 3,
        "CONCAT_A": 16,
        "CONCAT_B": 17,
        "SCAN2007": 1,
        "LATIN1": 1,
    }


def test_sanitize() -> None:
    assert sanitize("GOLD8BAR") == "GOLD8BAR"
    assert sanitize("a/b\\c=d") == "a_b_c_d"
    assert sanitize("x%41*?[]") == "x_41____"
    assert sanitize("tab\there\x7f") == "tab_here_"
    assert sanitize("") == sanitize(None) == sanitize("   ") == "__NULL__"
    assert sanitize("lot 7 °C") == "lot 7 °C"
    long = sanitize("L" * 300)
    assert len(long.encode()) <= 180 and long != sanitize("L" * 299)


def test_partition_values_read_back_unchanged(tmp_path: Path) -> None:
    """Values that need no sanitizing come back identical through DuckDB, pyarrow and polars."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as ds

    root = tmp_path / "arch"
    for v in ("A B", "c:d", "e+f", "ü µ", "0012", "x.y", "t'q", "{a,b}"):
        materialize([fx("latin1.stdf")], root, product=v, workers=1)
        assert q(root, "SELECT part_typ FROM parts") == [(v,)]
        # pyarrow and polars infer partition types: give them strings, as the README says
        part = ds.partitioning(pa.schema([(c, pa.string()) for c in arc.PARTITION_COLUMNS]), flavor="hive")
        assert ds.dataset(root / "parts", partitioning=part).to_table().column("part_typ").to_pylist() == [v]
        got = pl.scan_parquet(
            str(root / "parts" / "**" / "*.parquet"), hive_schema={c: pl.String for c in arc.PARTITION_COLUMNS}
        ).collect()["part_typ"]
        assert got.to_list() == [v]


def test_expand_sources(tmp_path: Path) -> None:
    d = tmp_path / "lots"
    (d / "sub").mkdir(parents=True)
    shutil.copy(fx("multisite_le.stdf"), d / "a.stdf")
    shutil.copy(fx("no_pir.stdf"), d / "sub" / "b.data")  # found by content, not by name
    (d / "README.md").write_text("not stdf")
    (d / ".hidden.stdf").write_bytes((FIXTURES / "latin1.stdf").read_bytes())
    import gzip

    (d / "c.gz").write_bytes(gzip.compress((FIXTURES / "mpr_ftr.stdf").read_bytes()))
    (d / "d.gz").write_bytes(gzip.compress(b"some log"))
    got = [Path(p).relative_to(d.resolve()).as_posix() for p in expand_sources([str(d)])]
    assert got == ["a.stdf", "c.gz", "sub/b.data"]
    assert expand_sources([str(d / "*.stdf"), str(d / "a.stdf")]) == [str((d / "a.stdf").resolve())]
    assert expand_sources([str(d / "README.md")]) == [str((d / "README.md").resolve())]  # named: kept
    with pytest.raises(SourceError, match="no such file"):
        expand_sources([str(d / "nope.stdf")])
    with pytest.raises(SourceError, match="no file matches"):
        expand_sources([str(d / "*.std")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no STDF file"):
        expand_sources([str(tmp_path / "empty")])


def test_sql_templates_are_embedded() -> None:
    from stdf_duck import _native

    names = sorted(p for p, _ in _native.sql_files() if p.startswith("archive/"))
    assert names == sorted(
        f"archive/{n}" for n in ["ledger.sql", "relation.sql", "scan.sql", "sync.sql", "view.sql", "view_results.sql"]
    )
    # stdf_duck.connect() runs sql/analysis/*.sql only: the templates are not run on connections
    assert all(p.startswith(("archive/", "analysis/")) for p, _ in _native.sql_files())


# ---- locking and crash safety ----------------------------------------------------------------


def test_concurrent_run_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    with Archive(root).lock():
        r = cli("materialize", fx("multisite_le.stdf"), "--archive", str(root))
        with pytest.raises(arc.ArchiveBusyError):
            materialize([fx("multisite_le.stdf")], root)
    assert r.returncode == 3
    assert "being written by another stdf-duck materialize" in r.stderr and f"pid {os.getpid()}" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not (root / "archive.duckdb").exists()
    assert cli("materialize", fx("multisite_le.stdf"), "--archive", str(root), "-q").returncode == 0


def kill_sources() -> list[str]:
    names = ["multisite_le.stdf", "multisite_be.stdf", "no_pir.stdf", "mpr_ftr.stdf", "concat.stdf", "v4_2007.stdf"]
    srcs = [fx(n) for n in names]
    for n, p, e in expected_cases():
        if e["complete"] and p.exists() and p.stat().st_size > 400_000 and n != "lot3.zip":
            srcs.append(str(p))
    return srcs


def consistent(root: Path) -> None:
    """Whatever the moment of a kill: every visible Parquet file is whole, nothing else is visible."""
    for rel in parquet_files(root):
        assert LAYOUT.match(rel), rel
        _ = pq.ParquetFile(root / rel).metadata  # a partial file has no footer: this raises


def archive_counts(root: Path) -> dict[str, int]:
    return {t: q(root, f"SELECT count(*) FROM {t}")[0][0] for t in ARCHIVE_TABLES}


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, int], float]:
    srcs = kill_sources()
    root = tmp_path_factory.mktemp("killref") / "arch"
    t0 = time.monotonic()
    r = cli("materialize", *srcs, "--archive", str(root), "--workers", "2", "-q")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    counts = archive_counts(root)
    # independent values: fixture README and expected/*.json
    want = 94 + 94 + 25 + 3 + 33 + 1
    want += sum(e["parts"] for _, p, e in expected_cases() if str(p) in srcs)
    assert q(root, "SELECT count(*) FROM parts WHERE complete")[0][0] == want
    return srcs, counts, took


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_a_random_moment_then_rerun(tmp_path: Path, kill_reference: Any, seed: int) -> None:
    srcs, want, took = kill_reference
    root = tmp_path / "arch"
    rnd = random.Random(seed)
    workers = "2" if seed % 2 else "1"
    for _attempt in range(2):  # two kills in a row, then a clean run
        p = subprocess.Popen(
            [sys.executable, "-m", "stdf_duck.cli", "materialize", *srcs, "--archive", str(root), "-j", workers, "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rnd.uniform(0.05, took * 1.2))
        p.send_signal(signal.SIGKILL)  # the parent only: its workers must notice and exit
        p.wait()
        deadline = time.monotonic() + 10
        while True:  # every process of the run is gone (worker watchdog)
            try:
                os.killpg(p.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "orphaned workers kept running"
            time.sleep(0.05)
        if root.exists():
            consistent(root)
    r = cli("materialize", *srcs, "--archive", str(root), "-j", workers, "-q")
    assert r.returncode == 0, r.stderr
    consistent(root)
    assert archive_counts(root) == want
    assert q(root, "SELECT DISTINCT status FROM ingest") == [("ok",)]
    assert q(root, "SELECT count(*) FROM ingest")[0][0] == len(srcs)
    assert not (root / ".staging").exists()
    # and once more: nothing to do
    r = cli("materialize", *srcs, "--archive", str(root), "-j", workers, "-q")
    assert r.returncode == 0 and archive_counts(root) == want


def test_crash_between_ledger_intent_and_rename_is_rolled_forward(tmp_path: Path) -> None:
    """The narrowest window: the intent is in the ledger, some files are renamed, the rest not."""
    root = tmp_path / "arch"
    srcs = [fx("multisite_le.stdf"), fx("no_pir.stdf")]
    script = textwrap.dedent(
        f"""
        import os, sys
        from stdf_duck import archive
        real = os.replace
        n = 0
        def replace(a, b):
            global n
            if str(a).endswith(".parquet.tmp"):  # a staged file of the archive's tables
                n += 1
                if n == 4:
                    os._exit(9)  # killed in the middle of publishing
            real(a, b)
        os.replace = replace  # the os module the archive renames with
        archive.materialize({srcs!r}, {str(root)!r}, workers=1)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 9, r.stderr
    consistent(root)
    with duckdb.connect(str(root / "_ledger" / "ledger.duckdb"), read_only=True) as con:  # the writers' ledger
        assert con.execute("SELECT count(*) FROM ingest WHERE status = 'committing'").fetchone()[0] >= 1
    staged = list((root / ".staging").glob("*.tmp"))
    assert staged
    report = materialize(srcs, root, workers=1)
    assert report.ok
    assert parts_by_lot(root) == {"MS4LOT": 94, "NOPIR01": 25}
    assert q(root, "SELECT DISTINCT status FROM ingest") == [("ok",)]
    assert len(parquet_files(root)) == 2 * len(ARCHIVE_TABLES)


def test_interrupt_keeps_finished_files_and_exits_130(tmp_path: Path, kill_reference: Any) -> None:
    srcs, want, took = kill_reference
    root = tmp_path / "arch"
    p = subprocess.Popen(
        [sys.executable, "-m", "stdf_duck.cli", "materialize", *srcs, "--archive", str(root), "-j", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(root.glob("parts/*/*/*/*.parquet")) and p.poll() is None:  # the first file is published
        assert time.monotonic() < deadline
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if q(root, "SELECT status FROM runs") == [("complete",)]:
        pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted: run the same command again" in err
    consistent(root)
    assert q(root, "SELECT status FROM runs") == [("interrupted",)]
    r = cli("materialize", *srcs, "--archive", str(root), "-q")
    assert r.returncode == 0 and archive_counts(root) == want


def test_an_interrupt_during_the_closing_bookkeeping_is_not_lost(tmp_path: Path) -> None:
    """Ctrl-C while the run records its end (deferred so the ledger stays whole) still reports the
    run interrupted: a sync that called it stops instead of going on and exiting 0."""

    class LateCtrlC(arc.Progress):
        def stop(self) -> None:  # runs with the interrupt deferred, after every file is done
            os.kill(os.getpid(), signal.SIGINT)

    src = FIXTURES / "no_pir.stdf"
    report = materialize([str(src)], tmp_path / "arch", workers=1, progress=LateCtrlC())
    assert report.interrupted and not report.ok
    assert parts_by_lot(tmp_path / "arch") == {"NOPIR01": 25}  # the finished file is kept
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_archive_is_the_same_with_or_without_the_duckdb_extension(tmp_path: Path) -> None:
    """materialize writes with the native writer whatever route stdf_duck.connect() would take:
    same files, same rows, the same writer in the ledger."""
    built = Path(os.environ.get("STDF_DUCK_EXTENSION") or REPO / "target" / "release" / "stdf.duckdb_extension")
    if not built.is_file():
        pytest.skip("the DuckDB extension is not built (make extension)")
    srcs = [fx(n) for n in ("multisite_be.stdf", "mpr_ftr.stdf", "concat.stdf", "v4_2007.stdf", "latin1.stdf")]
    roots = {}
    for route, ext in (("native", str(built)), ("rewrite", str(tmp_path / "no-extension"))):
        roots[route] = tmp_path / route
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "stdf_duck.cli",
                "materialize",
                *srcs,
                "--archive",
                str(roots[route]),
                "-q",
                "-j",
                "1",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "STDF_DUCK_EXTENSION": ext},
        )
        assert r.returncode == 0, r.stderr
        assert q(roots[route], "SELECT DISTINCT writer LIKE '% native' FROM ingest") == [(True,)]
    files = parquet_files(roots["native"])
    assert files == parquet_files(roots["rewrite"]) and len(files) == 6 * len(ARCHIVE_TABLES)
    con = duckdb.connect()
    for rel in files:
        a, b = (str(roots[r] / rel) for r in ("native", "rewrite"))
        assert pq.read_schema(a) == pq.read_schema(b), rel
        for x, y in ((a, b), (b, a)):
            diff = con.execute(
                f"SELECT count(*) FROM (FROM read_parquet('{x}') EXCEPT ALL FROM read_parquet('{y}'))"
            ).fetchall()
            assert diff == [(0,)], rel


def test_duplicate_of_a_changed_file_is_written_in_the_same_run(tmp_path: Path) -> None:
    a, b, root = tmp_path / "a.stdf", tmp_path / "b.stdf", tmp_path / "arch"
    shutil.copy(fx("multisite_le.stdf"), a)
    shutil.copy(fx("multisite_le.stdf"), b)
    materialize([str(a), str(b)], root, workers=1)
    assert dict(q(root, "SELECT regexp_extract(path, '[^/]+$'), status FROM ingest")) == {
        "a.stdf": "ok",
        "b.stdf": "duplicate",
    }
    time.sleep(0.01)
    shutil.copy(fx("no_pir.stdf"), a)  # b's content is now only in b
    report = materialize([str(a), str(b)], root, workers=1)
    assert sorted((Path(o.path).name, o.status) for o in report.outcomes) == [("a.stdf", "ok"), ("b.stdf", "ok")]
    assert parts_by_lot(root) == {"NOPIR01": 25, "MS4LOT": 94}
    assert q(root, "SELECT DISTINCT status FROM ingest") == [("ok",)]
    assert materialize([str(a), str(b)], root, workers=1).count("unchanged") == 2
