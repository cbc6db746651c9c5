"""The `stdf-duck` command line: info, query, materialize, convert; exit codes and messages.

Values come from tests/fixtures/README.md and ../shared/data/stdf/expected, never from the CLI's
own output format."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import FIXTURES, REPO, expected_of, real_file

from stdf_duck.archive import ARCHIVE_TABLES

README_COUNTS = {  # tests/fixtures/README.md, multisite_le.stdf: records per type
    "ATR": 1,
    "DTR": 2,
    "FAR": 1,
    "FTR": 176,
    "HBR": 20,
    "MIR": 1,
    "MPR": 94,
    "MRR": 1,
    "PCR": 5,
    "PIR": 94,
    "PMR": 16,
    "PRR": 94,
    "PTR": 415,
    "SBR": 50,
    "SDR": 1,
    "TSR": 40,
    "WCR": 1,
    "WIR": 2,
    "WRR": 2,
}


def run(*args: str, stdin: str | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", *args], capture_output=True, text=True, input=stdin, cwd=cwd
    )


def fx(name: str) -> str:
    return str(FIXTURES / name)


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("stdf-duck: error: ") or lines[0].startswith("Error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "arch"
    r = run(
        "materialize", fx("multisite_le.stdf"), fx("no_pir.stdf"), fx("mpr_ftr.stdf"), "--archive", str(root), "-j", "1"
    )
    assert r.returncode == 0, r.stderr
    return root


# ---- help, version, usage errors -------------------------------------------------------------


@pytest.mark.parametrize("cmd", [[], ["info"], ["query"], ["materialize"], ["convert"]])
def test_help_everywhere(cmd: list[str]) -> None:
    for flag in ("--help", "-h"):
        r = run(*cmd, flag)
        assert r.returncode == 0 and r.stdout.startswith("Usage: stdf-duck"), r.stderr
    if cmd:
        assert "--help" in r.stdout


def test_main_help_lists_commands_and_exit_codes() -> None:
    out = run("--help").stdout
    for c in ("info", "query", "materialize", "convert", "Exit codes"):
        assert c in out


def test_version() -> None:
    import stdf_duck

    r = run("--version")
    assert r.returncode == 0 and stdf_duck.__version__ in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],  # unknown command
        ["info"],  # missing argument
        ["materialize", fx("multisite_le.stdf")],  # --archive missing
        ["materialize", fx("multisite_le.stdf"), "--archive", "x", "--workers", "0"],
        ["query", "SELECT 1", "--format", "xml"],
        ["query", "SELECT 1", "--format", "parquet"],  # needs --output
    ],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Error" in r.stderr
    assert not (tmp_path / "x").exists()


# ---- info ------------------------------------------------------------------------------------


def test_info_json_values() -> None:
    r = run("info", "--json", fx("multisite_le.stdf"), fx("multisite_be.stdf"), fx("concat.stdf"))
    assert r.returncode == 0, r.stderr
    le, be, ca, cb = json.loads(r.stdout)
    assert le["lot_id"] == "MS4LOT" and le["byte_order"] == "little" and be["byte_order"] == "big"
    assert le["file_size"] == 34343 and le["n_records"] == 1016 and le["compression"] == "none"
    assert le["record_counts"] == README_COUNTS
    assert le["n_parts"] == 94 and le["n_warnings"] == 0 and le["complete"] is True
    # 76 dice whose last insertion is good out of 88 distinct dice
    assert le["n_passed_final"] == 76 and le["n_parts_final"] == 88
    assert abs(le["yield_final"] - 76 / 88) < 1e-12
    assert {k: v for k, v in be.items() if k not in ("path", "byte_order", "cpu_type", "file_id", "content_hash")} == {
        k: v for k, v in le.items() if k not in ("path", "byte_order", "cpu_type", "file_id", "content_hash")
    }
    assert (ca["lot_id"], ca["n_records"], ca["n_parts"]) == ("CONCAT_A", 176, 16)
    assert (cb["lot_id"], cb["n_records"], cb["n_parts"], cb["byte_order"]) == ("CONCAT_B", 179, 17, "big")


def test_info_real_compressed_file() -> None:
    f = real_file("lot2.stdf.gz")
    exp = expected_of("lot2.stdf.gz")
    (d,) = json.loads(run("info", "--json", str(f)).stdout)
    assert d["compression"] == "gzip" and d["byte_order"] == exp["byte_order"]
    assert d["stream_size"] == exp["stream_size"] and d["n_records"] == exp["records_total"]
    assert d["record_counts"] == exp["record_counts"]
    assert d["lot_id"] == exp["mir"]["LOT_ID"] and d["tstr_typ"] == exp["mir"]["TSTR_TYP"]


def test_info_text() -> None:
    r = run("info", fx("mpr_ftr.stdf"))
    assert r.returncode == 0
    text = r.stdout
    for s in ("MPRFTR", "HANDPART", "FT1", "little", "PRR 3", "MPR 11", "FTR 5", "3 tested"):
        assert s in text, s


def test_info_damaged_file_shows_what_could_be_read() -> None:
    r = run("info", "--json", fx("truncated.stdf"))
    assert r.returncode == 0
    (d,) = json.loads(r.stdout)
    assert d["complete"] is False and d["lot_id"] == "TRUNC01"
    assert d["n_records"] == 53  # complete records before the cut (fixtures README)
    assert any(w["code"] == "truncated" and w["byte_offset"] == 1808 for w in d["warnings"])


def test_info_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    r = run("info", str(tmp_path / "notes.txt"), fx("latin1.stdf"))
    assert r.returncode == 1
    assert "LATIN1" in r.stdout  # the other file is still reported
    assert "not an STDF file" in one_error_line(r)
    r = run("info", str(tmp_path / "missing.stdf"))
    assert r.returncode == 2 and "no such file" in one_error_line(r)


# ---- query -----------------------------------------------------------------------------------


def test_query_stdf_functions_without_archive() -> None:
    r = run(
        "query",
        "-f",
        "csv",
        f"SELECT site_num, count(*) AS n FROM stdf_parts('{fx('multisite_le.stdf')}') GROUP BY 1 ORDER BY 1",
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows == [["site_num", "n"], ["1", "32"], ["2", "30"], ["3", "16"], ["4", "16"]]


def test_query_archive_views_and_ledger(archive: Path) -> None:
    r = run(
        "query",
        "--db",
        str(archive),
        "-f",
        "json",
        "SELECT lot_id, count(*) AS parts, sum(passed::INT) AS good FROM parts GROUP BY 1 ORDER BY 1",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [
        {"lot_id": "MPRFTR", "parts": 3, "good": 1},
        {"lot_id": "MS4LOT", "parts": 94, "good": 76},
        {"lot_id": "NOPIR01", "parts": 25, "good": 21},
    ]
    r = run(
        "query",
        "--db",
        str(archive / "archive.duckdb"),
        "-f",
        "csv",
        "SELECT count(*) FILTER (status = 'ok'), sum(rows_parts) FROM ingest",
    )
    assert list(csv.reader(io.StringIO(r.stdout)))[1] == ["3", str(94 + 25 + 3)]
    # a test across lots, through the results view and the tests view
    r = run(
        "query",
        "--db",
        str(archive),
        "-f",
        "csv",
        "SELECT t.test_name, count(*), sum(r.result) FROM results r JOIN tests t USING (file_id, test_num) "
        "WHERE r.test_num = 1020 AND r.lot_id = 'MS4LOT' GROUP BY 1",
    )
    (name, n, s) = list(csv.reader(io.StringIO(r.stdout)))[1]
    assert (name, int(n)) == ("IDD_ACTIVE", 89) and abs(float(s) - 1.1173553466796875) < 1e-9


def test_query_table_format_and_stdin(archive: Path) -> None:
    r = run("query", "--db", str(archive), "-", stdin="SELECT count(*) AS n_parts FROM parts;")
    assert r.returncode == 0 and "n_parts" in r.stdout and "122" in r.stdout
    r = run("query", "--max-rows", "3", "SELECT * FROM range(100)")
    assert "100 rows" in r.stdout and "3 shown" in r.stdout


def test_query_outputs_to_files(archive: Path, tmp_path: Path) -> None:
    sql = "SELECT lot_id, part_index, hard_bin FROM parts ORDER BY lot_id, part_index"
    for fmt in ("parquet", "csv", "json", "table"):
        out = tmp_path / f"out.{fmt}"
        r = run("query", "--db", str(archive), "-f", fmt, "-o", str(out), sql)
        assert r.returncode == 0 and r.stdout == "", r.stderr
        assert out.is_file() and not list(tmp_path.glob("*.tmp-*"))
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 122
    assert len(json.loads((tmp_path / "out.json").read_text())) == 122
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 123
    assert "122 rows" in (tmp_path / "out.table").read_text()


def test_query_errors(archive: Path, tmp_path: Path) -> None:
    r = run("query", "--db", str(archive), "SELECT * FROM no_such_table")
    assert r.returncode == 1 and "no_such_table" in one_error_line(r)
    r = run("query", "SELEC 1")
    assert r.returncode == 1 and "syntax error" in one_error_line(r).lower()
    r = run("query", f"SELECT * FROM stdf_parts('{tmp_path / 'missing.stdf'}')")
    assert r.returncode == 1 and "missing.stdf" in one_error_line(r)
    r = run("query", "--db", str(tmp_path), "SELECT 1")
    assert r.returncode == 2 and "not an archive" in one_error_line(r)
    r = run("query", "--db", str(tmp_path / "nope"), "SELECT 1")
    assert r.returncode == 2 and "no such archive" in one_error_line(r)
    r = run("query", "   ")
    assert r.returncode == 2 and "empty SQL" in one_error_line(r)


def test_query_works_after_the_archive_moved(archive: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(archive, moved)
    r = run("query", "--db", str(moved), "-f", "csv", "SELECT count(*) FROM parts")
    assert r.stdout.splitlines()[1] == "122"
    # the copy's own views still point at the original: query --db uses the real location
    os.rename(archive, archive.with_name("elsewhere"))
    try:
        assert (
            run("query", "--db", str(moved), "-f", "csv", "SELECT count(*) FROM wafers").stdout.splitlines()[1] == "3"
        )
    finally:
        os.rename(archive.with_name("elsewhere"), archive)


# ---- materialize -----------------------------------------------------------------------------


def test_materialize_exit_codes_and_summary(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    r = run("materialize", fx("multisite_le.stdf"), fx("corrupt.stdf"), "--archive", str(root), "-j", "1")
    assert r.returncode == 1
    assert "corrupt.stdf" in one_error_line(r) and "offset 84" in r.stderr
    assert "failed" in r.stdout and "written" in r.stdout  # the summary table
    with duckdb.connect(str(root / "archive.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM parts").fetchall() == [(94,)]
    r = run("materialize", fx("multisite_le.stdf"), "--archive", str(root))
    assert r.returncode == 0 and "unchanged" in r.stdout
    r = run("materialize", str(tmp_path / "nothing-here"), "--archive", str(root))
    assert r.returncode == 2 and "no such file or directory" in one_error_line(r)
    r = run("materialize", str(tmp_path / "*.stdf"), "--archive", str(root))
    assert r.returncode == 2 and "no file matches" in one_error_line(r)


def test_materialize_quiet_and_not_a_tty(tmp_path: Path) -> None:
    r = run("materialize", fx("no_pir.stdf"), "--archive", str(tmp_path / "a"), "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = run("materialize", fx("no_pir.stdf"), "--archive", str(tmp_path / "b"))
    assert r.returncode == 0 and r.stderr == ""  # no progress bar when stderr is not a terminal
    assert "MB/s" in r.stdout and "parts 25" in r.stdout


def test_materialize_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stdf_duck.cli",
            "materialize",
            fx("multisite_le.stdf"),
            fx("no_pir.stdf"),
            "--archive",
            str(tmp_path / "a"),
            "-j",
            "1",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
    )
    os.close(slave)
    buf = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    assert p.wait(60) == 0
    os.close(master)
    text = buf.decode("utf-8", "replace")
    for s in ("2 files", "MB/s", "rows"):
        assert s in text, text


def test_materialize_archive_layout(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    r = run("materialize", fx("mpr_ftr.stdf"), "--archive", str(root), "--product", "P1", "--stage", "FT2", "-q")
    assert r.returncode == 0
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))
    assert [f.split("/")[:4] for f in files] == [
        [t, "part_typ=P1", "test_stage=FT2", "lot_id=MPRFTR"] for t in sorted(ARCHIVE_TABLES)
    ]


# ---- convert ---------------------------------------------------------------------------------


def test_convert_direct_rust_route(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    r = run("convert", fx("multisite_le.stdf"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert [f.split("/")[:4] for f in files] == [
        [t, "part_typ=SYNPART-A1", "test_stage=CP1", "lot_id=MS4LOT"] for t in ("parts", "results", "tests")
    ]
    assert pq.read_table(next(out.glob("parts/*/*/*/*.parquet"))).num_rows == 94
    assert pq.read_table(next(out.glob("tests/*/*/*/*.parquet"))).num_rows == 8
    assert sorted(os.listdir(out)) == ["parts", "results", "tests"]  # no temporary directory left
    r = run("convert", fx("truncated.stdf"), "--out", str(tmp_path / "bad"))
    assert r.returncode == 1 and "1808" in one_error_line(r)
    assert not list((tmp_path / "bad").rglob("*.parquet"))


# ---- the installed wheel ---------------------------------------------------------------------


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout(tmp_path: Path) -> None:
    """`pip wheel .`, the build of the documented `pip install .` (through build-backend/), gives a
    wheel holding both native artifacts; installed in a fresh venv and run from elsewhere: the SQL of
    sql/archive (embedded in the native module), the entry point, the native route, and the README's DuckDB
    CLI recipe. The build reuses the checkout's cargo target folder (nothing is rebuilt from scratch)."""
    import zipfile

    bindir = str(Path(sys.executable).parent)
    if shutil.which("maturin", path=bindir) is None and shutil.which("maturin") is None:
        pytest.skip("maturin is not installed")
    build_env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    wheels = tmp_path / "wheels"
    b = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        cwd=tmp_path,
        env=build_env,
        capture_output=True,
        text=True,
    )
    assert b.returncode == 0, (b.stdout + b.stderr)[-3000:]
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "stdf_duck/stdf.duckdb_extension" in names
    assert [n for n in names if n.startswith("stdf_duck/_native") and n.endswith(".so")], names
    _sdist_builds_the_extension(tmp_path / "sdist", build_env)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(vpy),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    # runtime dependencies from this environment, offline (after the venv's own site-packages)
    site = Path(
        subprocess.check_output(
            [str(vpy), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
    )
    (site / "_deps_from_dev_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(fx("multisite_le.stdf"), work / "lot.stdf")
    # the installed package reads its own embedded SQL: not the checkout's sql/ (tests/conftest.py)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "STDF_DUCK_EXTENSION", "STDF_DUCK_SQL_DIR")
    }
    where = subprocess.check_output(
        [str(vpy), "-c", "import stdf_duck.archive as a; print(a.__file__)"], cwd=work, env=env, text=True
    )
    assert where.startswith(str(venv)), where
    # the DuckDB extension ships in the wheel: stdf_* SQL runs on the native route from the installed package
    probe = (
        "import stdf_duck; con = stdf_duck.connect(); "
        "print(stdf_duck.route(con), con.sql(\"SELECT count(*) FROM stdf_parts('lot.stdf')\").fetchall()[0][0], "
        "stdf_duck.extension_path())"
    )
    out = subprocess.run([str(vpy), "-W", "error", "-c", probe], cwd=work, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    route, n, ext = out.stdout.split()
    assert (route, n) == ("native", "94")  # tests/fixtures/README.md: 94 parts
    assert ext.startswith(str(site)), ext
    _readme_cli_recipe(work, venv, env)
    exe = str(venv / "bin" / "stdf-duck")
    r = subprocess.run(
        [exe, "materialize", "lot.stdf", "--archive", "arch", "-q"], cwd=work, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [exe, "query", "--db", "arch", "-f", "csv", "SELECT count(*), sum(passed::INT) FROM parts"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stdout.splitlines()[1] == "94,76", r.stderr
    _analysis_from_the_wheel(work, exe, env)


def _analysis_from_the_wheel(work: Path, exe: str, env: dict[str, str]) -> None:
    """The analysis SQL reaches the installed package (report over the archive) and the archive's
    catalog (a plain DuckDB CLI, no extension, reads the macros from archive.duckdb)."""
    r = subprocess.run(
        [exe, "report", "yield", "--archive", "arch", "-f", "json"], cwd=work, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    # multisite_le.stdf (tests/fixtures/README.md): 94 parts, 88 distinct dice, 76 good finally
    assert (row["insertions"], row["dice"], row["good"]) == (94, 88, 76), row
    cli = Path(sys.executable).parent / "duckdb"
    if cli.exists():
        sql = "SELECT dice, good FROM stdf_yield()"
        out = subprocess.run(
            [str(cli), "-readonly", "-csv", "-noheader", str(work / "arch" / "archive.duckdb"), "-c", sql],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0 and out.stdout.strip() == "88,76", out.stdout + out.stderr


def _sdist_builds_the_extension(out: Path, env: dict[str, str]) -> None:
    """The sdist of the same backend carries what a wheel built from it needs for the extension:
    the backend, the extension's crate, and that crate among the workspace members."""
    import tarfile
    import tomllib

    out.mkdir()
    hook = f"import sys; sys.path.insert(0, 'build-backend'); import stdf_duck_build as b; print(b.build_sdist({str(out)!r}))"
    made = subprocess.run([sys.executable, "-c", hook], cwd=REPO, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-3000:]
    with tarfile.open(out / made.stdout.split()[-1]) as tar:
        root = tar.getnames()[0].split("/")[0]
        names = set(tar.getnames())
        members = tomllib.loads(tar.extractfile(f"{root}/Cargo.toml").read().decode())["workspace"]["members"]  # type: ignore[union-attr]
    assert {
        f"{root}/build-backend/stdf_duck_build.py",
        f"{root}/rust/stdf-duckdb/src/lib.rs",
        f"{root}/rust/stdf-duckdb/src/bin/stdf-duckdb-footer.rs",
    } <= names
    assert "rust/stdf-duckdb" in members and "rust/stdf-python" in members, members


def _readme_cli_recipe(work: Path, venv: Path, env: dict[str, str]) -> None:
    """README's DuckDB CLI recipe, run as written (the venv's `python` first on PATH): it loads the
    installed extension; without an extension it stops with the reason, never running LOAD 'None'."""
    import re

    readme = (REPO / "README.md").read_text()
    (recipe,) = [
        b for b in re.findall(r"^ *```sh\n(.*?)^ *```", readme, re.S | re.M) if "extension_path(required=True)" in b
    ]
    cli = Path(sys.executable).parent / "duckdb"
    if not cli.exists():
        pytest.skip("the DuckDB CLI is not installed (pip install duckdb-cli)")
    clibin = work / "clibin"
    clibin.mkdir()
    (clibin / "duckdb").symlink_to(cli)
    path = f"{venv / 'bin'}{os.pathsep}{clibin}{os.pathsep}{env.get('PATH', '')}"
    sql = "SELECT 'parts=' || count(*) FROM stdf_parts('lot.stdf');\n"
    ok = subprocess.run(
        ["bash", "-c", recipe], input=sql, cwd=work, env={**env, "PATH": path}, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "parts=94" in ok.stdout, ok.stdout + ok.stderr
    missing = {**env, "PATH": path, "STDF_DUCK_EXTENSION": str(work / "no.duckdb_extension")}
    bad = subprocess.run(["bash", "-c", recipe], input=sql, cwd=work, env=missing, capture_output=True, text=True)
    # python's error is the last word: the duckdb CLI never started
    last = bad.stderr.rstrip().splitlines()[-1]
    assert bad.returncode != 0 and not bad.stdout and last.startswith("stdf_duck."), bad.stdout + bad.stderr
    assert "has no DuckDB extension (STDF_DUCK_EXTENSION=" in last, last
