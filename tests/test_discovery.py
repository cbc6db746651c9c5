"""Which files `materialize` reads and what it says of each (stdf_duck.archive.sources), and the rule
that a path that exists is a path at every door (rust/stdf-arrow/src/paths.rs).

Every candidate file is either ingested or reported (summary, ledger, exit code), in bounded time,
with the other files ingested. Row counts come from tests/fixtures/README.md."""

from __future__ import annotations

import bz2
import gzip
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import FIXTURES

import stdf_duck
from stdf_duck import archive as arc
from stdf_duck.archive import sources as disc

# fixtures README: lot and parts (PRRs) of each file
LOTS = {
    "multisite_le.stdf": ("MS4LOT", 94),
    "no_pir.stdf": ("NOPIR01", 25),
    "mpr_ftr.stdf": ("MPRFTR", 3),
    "latin1.stdf": ("LATIN1", 1),
    "v4_2007.stdf": ("SCAN2007", 1),
}
FAR = b"\x02\x00\x00\x0a\x02\x04"  # REC_LEN 2, FAR, CPU_TYPE 2, STDF_VER 4


def fx(name: str) -> Path:
    return FIXTURES / name


def put(d: Path, name: str | bytes, fixture: str) -> Path:
    p = Path(os.fsdecode(os.path.join(os.fsencode(d), os.fsencode(name))))
    shutil.copy(fx(fixture), p)
    return p


def q(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(root / "archive.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def lots(root: Path) -> dict[str, int]:
    return dict(q(root, "SELECT lot_id, count(*) FROM parts GROUP BY 1"))


def ledger(root: Path) -> dict[str, tuple[str, str | None]]:
    """file name -> (status, error)"""
    return {os.path.basename(p): (s, e) for p, s, e in q(root, "SELECT path, status, error FROM ingest")}


def cli(*args: str, timeout: float = 300, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", *args], capture_output=True, text=True, timeout=timeout, **kw
    )


def materialize(sources: list[str], root: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`stdf-duck materialize` in a child with a deadline (a hang fails the test instead of the suite)."""
    return cli("materialize", *sources, "--archive", str(root), "-j", "1", "-q", timeout=timeout)


# ---- item 4: a file that cannot be read is reported ------------------------------------------


def unprivileged(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI where file permissions apply: root reads every file, so a root child first
    drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its bounding set (prctl PR_CAPBSET_DROP),
    and its permission checks are then those of an ordinary owner; other users are as they are."""
    if os.geteuid() != 0:
        return cli(*args)
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", *args], capture_output=True, text=True, timeout=300, preexec_fn=drop
    )


def test_unreadable_files_and_folders_are_reported(tmp_path: Path) -> None:
    src = tmp_path / "lots"
    (src / "sub").mkdir(parents=True)
    put(src, "good.stdf", "multisite_le.stdf")
    secret = put(src, "secret.stdf", "no_pir.stdf")
    put(src / "sub", "inner.stdf", "mpr_ftr.stdf")
    secret.chmod(0o000)
    (src / "sub").chmod(0o000)
    root = tmp_path / "arch"
    try:
        r = unprivileged(["materialize", str(src), "--archive", str(root), "-j", "1", "-q"])
    finally:
        (src / "sub").chmod(0o755)
    assert r.returncode == 1, r.stderr
    assert "secret.stdf" in r.stderr and "sub" in r.stderr
    assert lots(root) == {"MS4LOT": 94}
    led = ledger(root)
    assert led["good.stdf"] == ("ok", None)
    assert led["secret.stdf"][0] == "failed" and "Permission denied" in str(led["secret.stdf"][1])
    assert led["sub"][0] == "failed" and "cannot list this folder" in str(led["sub"][1])
    assert q(root, "SELECT status, n_ok, n_failed FROM runs") == [("failures", 1, 2)]


def test_a_read_error_while_sniffing_is_reported_not_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sniff no longer turns every exception into 'not STDF'."""
    put(tmp_path, "a.stdf", "multisite_le.stdf")
    bad = put(tmp_path, "b.stdf", "no_pir.stdf")
    real_open = open

    def failing_open(file: Any, *a: Any, **k: Any) -> Any:
        if os.fspath(file) == str(bad):
            raise OSError(5, "Input/output error", str(bad))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", failing_open)
    items = {Path(it.path).name: it.error for it in disc.discover([str(tmp_path)])}
    assert items == {"a.stdf": None, "b.stdf": "cannot read this file: Input/output error"}
    report = arc.materialize([str(tmp_path)], tmp_path / "arch", workers=1)
    assert sorted((Path(o.path).name, o.status, o.error) for o in report.outcomes) == [
        ("a.stdf", "ok", None),
        ("b.stdf", "failed", "cannot read this file: Input/output error"),
    ]
    assert not report.ok


def test_damaged_compressed_file_goes_to_the_reader(tmp_path: Path) -> None:
    """A bz2 cut short cannot be sniffed: it is handed to the reader, which reports it."""
    src = tmp_path / "lots"
    src.mkdir()
    put(src, "good.stdf", "multisite_le.stdf")
    whole = bz2.compress(fx("no_pir.stdf").read_bytes())
    (src / "cut.stdf.bz2").write_bytes(whole[: len(whole) // 2])
    (src / "notes.bz2").write_bytes(bz2.compress(b"not an stdf file"))  # sniffed: not STDF, not read
    assert disc.sniff(str(src / "cut.stdf.bz2")) is None
    assert disc.sniff(str(src / "notes.bz2")) is False
    root = tmp_path / "arch"
    r = materialize([str(src)], root)
    assert r.returncode == 1
    led = ledger(root)
    assert set(led) == {"good.stdf", "cut.stdf.bz2"}
    assert led["cut.stdf.bz2"][0] == "failed" and led["cut.stdf.bz2"][1]
    assert "cut.stdf.bz2" in r.stderr
    assert lots(root) == {"MS4LOT": 94}


def test_broken_link_and_named_pipe_are_reported_never_opened(tmp_path: Path) -> None:
    src = tmp_path / "lots"
    src.mkdir()
    put(src, "good.stdf", "multisite_le.stdf")
    os.symlink(tmp_path / "gone.stdf", src / "link.stdf")
    os.mkfifo(src / "pipe.stdf")
    root = tmp_path / "arch"
    t0 = time.monotonic()
    r = materialize([str(src)], root, timeout=120)  # the sniff used to block on the pipe forever
    assert time.monotonic() - t0 < 120
    assert r.returncode == 1
    led = ledger(root)
    assert led["good.stdf"] == ("ok", None)
    assert led["link.stdf"] == ("failed", "a broken symbolic link")
    assert led["pipe.stdf"] == ("failed", "not a regular file: a named pipe (never opened)")
    assert lots(root) == {"MS4LOT": 94}
    # named explicitly, a pipe is still not opened
    r = materialize([str(src / "pipe.stdf")], tmp_path / "one", timeout=120)
    assert r.returncode == 1 and ledger(tmp_path / "one") == {"pipe.stdf": ("failed", led["pipe.stdf"][1])}


# ---- item 5: a path that exists is a path ----------------------------------------------------


@pytest.fixture
def glob_names(tmp_path: Path) -> Path:
    """Files whose names are globs matching each other."""
    d = tmp_path / "lots"
    d.mkdir()
    put(d, "star*.stdf", "multisite_le.stdf")
    put(d, "starling.stdf", "no_pir.stdf")
    put(d, "lot[1].stdf", "mpr_ftr.stdf")
    put(d, "lot1.stdf", "latin1.stdf")
    return d


def test_file_names_are_not_globs_to_materialize(glob_names: Path, tmp_path: Path) -> None:
    d = glob_names
    assert disc.expand_sources([str(d / "star*.stdf")]) == [str(d / "star*.stdf")]
    assert disc.expand_sources([str(d / "lot[1].stdf")]) == [str(d / "lot[1].stdf")]
    assert disc.expand_sources([str(d / "sta?ling.stdf")]) == [str(d / "starling.stdf")]  # not a file: a glob
    for sources in (
        [str(d)],
        [str(d / "star*.stdf"), str(d / "starling.stdf"), str(d / "lot[1].stdf"), str(d / "lot1.stdf")],
    ):
        root = tmp_path / f"arch{len(sources)}"
        r = materialize(sources, root)
        assert r.returncode == 0, r.stderr
        assert lots(root) == {"MS4LOT": 94, "NOPIR01": 25, "MPRFTR": 3, "LATIN1": 1}
        assert {n: s for n, (s, _e) in ledger(root).items()} == dict.fromkeys(
            ["star*.stdf", "starling.stdf", "lot[1].stdf", "lot1.stdf"], "ok"
        )
        assert dict(q(root, "SELECT regexp_extract(file_path, '[^/]+$'), lot_id FROM files")) == {
            "star*.stdf": "MS4LOT",
            "starling.stdf": "NOPIR01",
            "lot[1].stdf": "MPRFTR",
            "lot1.stdf": "LATIN1",
        }


@pytest.fixture(params=["native", "rewrite"])
def con(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "native":
        if stdf_duck.extension_path() is None:
            pytest.skip("this build has no native extension")
        c = stdf_duck.connect()
    else:
        c = stdf_duck.install(duckdb.connect())
    assert stdf_duck.route(c) == request.param
    yield c
    c.close()


def test_sql_reads_a_path_that_exists_as_that_file(glob_names: Path, con: Any) -> None:
    d = glob_names
    for name, fixture in (("star*.stdf", "multisite_le.stdf"), ("lot[1].stdf", "mpr_ftr.stdf")):
        path = str(d / name).replace("'", "''")
        assert con.sql(f"SELECT lot_id, count(*) FROM stdf_parts('{path}') GROUP BY 1").fetchall() == [LOTS[fixture]]
    # a name that does not exist is a pattern
    got = con.sql(f"SELECT lot_id, count(*) FROM stdf_parts('{d}/lot[0-9].stdf') GROUP BY 1").fetchall()
    assert got == [LOTS["latin1.stdf"]]


def test_python_read_of_a_path_that_exists(glob_names: Path) -> None:
    d = glob_names
    parts = stdf_duck.read("parts", str(d / "lot[1].stdf"), columns=["lot_id"]).to_arrow()
    assert parts.column("lot_id").to_pylist() == ["MPRFTR"] * 3
    src = stdf_duck.read("files", str(d / "star*.stdf"))
    assert src.paths == [str(d / "star*.stdf")]
    assert stdf_duck.read("files", str(d / "sta*.stdf")).paths == [str(d / "star*.stdf"), str(d / "starling.stdf")]


# ---- item 6: hostile names, loops, bombs -----------------------------------------------------


def test_a_name_that_is_not_utf8_is_ingested_and_keeps_its_key(tmp_path: Path) -> None:
    src = tmp_path / "lots"
    src.mkdir()
    put(src, "good.stdf", "multisite_le.stdf")
    put(src, b"lot\xff\xfe.stdf", "no_pir.stdf")
    root = tmp_path / "arch"
    r = materialize([str(src)], root)
    assert r.returncode == 0, r.stderr
    assert lots(root) == {"MS4LOT": 94, "NOPIR01": 25}
    key = str(src.resolve() / "lot\\xff\\xfe.stdf")
    assert q(root, "SELECT status FROM ingest WHERE path = ?", key) == [("ok",)]
    assert q(root, "SELECT file_path FROM files WHERE lot_id = 'NOPIR01'") == [(key,)]
    assert q(root, "SELECT status FROM runs") == [("complete",)]
    assert not list((root / ".staging").glob("*")) if (root / ".staging").exists() else True
    again = arc.materialize([str(src)], root, workers=1)  # the key survives: nothing to do
    assert sorted(o.status for o in again.outcomes) == ["unchanged", "unchanged"]
    # named explicitly, through the API
    one = arc.materialize([os.fsdecode(os.fsencode(src) + b"/lot\xff\xfe.stdf")], tmp_path / "one", workers=1)
    assert [(o.path, o.status) for o in one.outcomes] == [(key, "ok")]


def test_ledger_key() -> None:
    assert disc.ledger_key("/a/b.stdf") == "/a/b.stdf"
    assert disc.ledger_key("/a/ü.stdf") == "/a/ü.stdf"
    assert disc.ledger_key(os.fsdecode(b"/a/\xff.stdf")) == "/a/\\xff.stdf"


@pytest.fixture
def loops(tmp_path: Path) -> Path:
    """Folders with two link loops each: a walk that follows links blindly never ends."""
    d = tmp_path / "lots"
    (d / "a" / "b").mkdir(parents=True)
    put(d, "top.stdf", "multisite_le.stdf")
    put(d / "a", "x.stdf", "no_pir.stdf")
    put(d / "a" / "b", "y.stdf", "mpr_ftr.stdf")
    os.symlink(d, d / "a" / "up")
    os.symlink(d / "a", d / "a" / "b" / "again")
    os.symlink(d, d / "a" / "b" / "top")
    os.symlink(d / "a" / "b", d / "bee")  # a second way to one folder: its files once
    return d


EXPAND = "import sys, stdf_duck.archive.sources as d; print('\\n'.join(d.expand_sources(sys.argv[1:])))"


def test_recursive_glob_and_folder_with_link_loops_end(loops: Path) -> None:
    d = loops
    want = [str(d / "a" / "b" / "y.stdf"), str(d / "a" / "x.stdf"), str(d / "top.stdf")]
    for src in (str(d / "**" / "*.stdf"), str(d), str(d / "**")):
        out = subprocess.run([sys.executable, "-c", EXPAND, src], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == want, src


def test_materialize_over_link_loops(loops: Path, tmp_path: Path) -> None:
    root = tmp_path / "arch"
    r = materialize([str(loops / "**" / "*.stdf")], root, timeout=120)
    assert r.returncode == 0, r.stderr
    assert lots(root) == {"MS4LOT": 94, "NOPIR01": 25, "MPRFTR": 3}


def test_sql_recursive_glob_over_link_loops(loops: Path, con: Any) -> None:
    got = con.sql(f"SELECT lot_id, count(*) FROM stdf_parts('{loops}/**/*.stdf') GROUP BY 1 ORDER BY 1").fetchall()
    assert got == [("MPRFTR", 3), ("MS4LOT", 94), ("NOPIR01", 25)]


def gzip_bomb(path: Path, gib: int = 2) -> None:
    """A FAR, then `gib` GiB of zeros: gzip members of 64 MiB each (one compressed, repeated)."""
    chunk = gzip.compress(bytes(64 * 2**20), 9)
    with open(path, "wb") as f:
        f.write(gzip.compress(FAR, 9))
        for _ in range(gib * 16):
            f.write(chunk)


def test_gzip_bomb_fails_fast_and_the_others_are_ingested(tmp_path: Path) -> None:
    src = tmp_path / "lots"
    src.mkdir()
    put(src, "good.stdf", "multisite_le.stdf")
    gzip_bomb(src / "bomb.stdf.gz")
    size = (src / "bomb.stdf.gz").stat().st_size
    assert size < 3 * 2**20  # about 2 GiB from 2 MB
    root = tmp_path / "arch"
    t0 = time.monotonic()
    r = materialize([str(src)], root, timeout=120)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 1
    status, error = ledger(root)["bomb.stdf.gz"]
    limit = disc.stream_limit(size)
    assert status == "failed" and error == (
        f"decompression bomb: the gzip content exceeds {limit:,} bytes ({size:,} bytes on disk; "
        "limits: max_ratio = 200, max_stream_mb = 65536)"
    )
    assert lots(root) == {"MS4LOT": 94}


def test_the_bound_is_the_rule_of_sync(tmp_path: Path) -> None:
    """One rule: max(64 MiB, size x 200), at most 64 GiB, for materialize and sync."""
    assert disc.stream_limit(1000) == 64 * 2**20
    assert disc.stream_limit(10**6) == 200 * 10**6
    assert disc.stream_limit(10**12) == 64 * 2**30
    p = tmp_path / "z.stdf.gz"
    p.write_bytes(gzip.compress(FAR + bytes(70 * 2**20), 9))  # ratio about 1000, above the floor
    with pytest.raises(disc.VerifyError, match="decompression bomb"):
        disc.check_bomb(str(p))
    disc.check_bomb(str(p), max_ratio=2000)
    disc.check_bomb(str(fx("multisite_le.stdf")))  # not compressed: nothing to bound
    from stdf_duck import sync
    from stdf_duck.sync import verify

    assert sync.verify_stdf is verify.verify_stdf and sync.VerifyError is disc.VerifyError
    assert verify.stream_limit is disc.stream_limit  # the bound is the archive's, used by sync


def test_one_owner_of_the_magic_bytes() -> None:
    """Design rule 12: the FAR and compression magic bytes are written once in stdf_duck."""
    import re

    pkg = Path(stdf_duck.__file__).parent
    far = re.compile(r"\\x02\\x00\\x00\\x0a|\\x1f\\x8b|BZh")
    owners = sorted(p.name for p in pkg.rglob("*.py") if far.search(p.read_text(encoding="utf-8")))
    assert owners == ["sources.py"]
    assert disc.compression_of(b"\x1f\x8b\x08\x00") == "gzip"
    assert disc.compression_of(b"BZh9") == "bzip2"
    assert disc.compression_of(b"PK\x03\x04") == "zip"
    assert disc.compression_of(b"\x28\xb5\x2f\xfd") == "zstd"
    assert disc.compression_of(FAR[:4]) is None


def test_expand_sources_rules(tmp_path: Path) -> None:
    d = tmp_path / "lots"
    (d / ".hidden").mkdir(parents=True)
    put(d, "a.stdf", "multisite_le.stdf")
    put(d / ".hidden", "h.stdf", "no_pir.stdf")  # hidden folders are not searched
    (d / "zipped.zip").write_bytes(_zip({"readme.txt": b"x", "lot.stdf": fx("mpr_ftr.stdf").read_bytes()}))
    (d / "other.zip").write_bytes(_zip({"readme.txt": b"x"}))
    got = [Path(p).name for p in disc.expand_sources([str(d)])]
    assert got == ["a.stdf", "zipped.zip"]  # a zip is STDF when any member is
    assert [Path(p).name for p in disc.expand_sources([str(d / "**" / "*.stdf")])] == ["a.stdf"]
    assert [Path(p).name for p in disc.expand_sources([str(d / ".*" / "*.stdf")])] == ["h.stdf"]
    with pytest.raises(disc.SourceError, match="no file matches"):
        disc.expand_sources([str(d / "*.nothing")])


def test_glob_matches_like_the_standard_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a tree without links, the bounded glob finds what glob.glob(recursive=True) finds."""
    import glob

    for rel in (
        "a/1.stdf",
        "a/b/2.stdf",
        "a/b/c/3.stdf",
        "a/b/c/8.txt",
        ".h/x/4.stdf",
        ".h/5.stdf",
        "d/.6.stdf",
        "7.stdf",
        "d/lot[1].stdf",
        "d/lot1.stdf",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    patterns = [
        "**",
        "**/*.stdf",
        "*/**/*.stdf",
        "a/**",
        "a/*/*.stdf",
        "**/b/**/*.stdf",
        ".*/*",
        ".*/**/*.stdf",
        "*",
        "d/lot[1].stdf",
        "d/lot[!x].stdf",
        "d/.*",
        "**/c",
        "a/**/",
        "*/",
        "a/../d/*",
        "./a/*",
        "nothing/*",
    ]
    monkeypatch.chdir(tmp_path)
    for base in (f"{tmp_path}/", ""):
        for p in patterns:
            want = sorted(x.rstrip("/") for x in glob.glob(base + p, recursive=True))
            assert disc._glob(base + p, []) == want, base + p


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    return buf.getvalue()
