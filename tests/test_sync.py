"""`stdf-duck sync` against a real FTP server on loopback (pyftpdlib) and a local directory.

Row counts are the fixture values of tests/fixtures/README.md, values derived by hand for the
small files built here from the spec (mini_stdf), or the reference values of ../shared."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import FIXTURES, expected_cases
from ftp_server import FtpServer

from stdf_duck import sync as sy
from stdf_duck.config import ConfigError, load_config, parse_config
from stdf_duck.sync.remote import FsspecRemote, UnsafeNameError, matches, safe_relpath

PASSWORD = "pw-Zq81-not-in-any-log"
# fixtures README: file -> (lot, parts)
PARTS = {"multisite_le.stdf": ("MS4LOT", 94), "no_pir.stdf": ("NOPIR01", 25), "mpr_ftr.stdf": ("MPRFTR", 3)}


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTP_PASSWORD", PASSWORD)


# ---- helpers -----------------------------------------------------------------------------------


def rec(typ: int, sub: int, body: bytes) -> bytes:
    return struct.pack("<HBB", len(body), typ, sub) + body


def cn(s: str) -> bytes:
    b = s.encode()
    return bytes([len(b)]) + b


def mini_stdf(lot: str, n_parts: int, part_typ: str = "", job_nam: str = "JOBX") -> bytes:
    """FAR, MIR (no TEST_COD / FLOW_ID: the record ends after JOB_NAM), n_parts x (PIR, PRR), MRR,
    written from the spec (little-endian). Hard bin 1 for even parts, 5 for odd."""
    out = rec(0, 10, bytes([2, 4]))
    mir = struct.pack("<IIBcccHc", 1_700_000_000, 1_700_000_100, 1, b"P", b" ", b" ", 0, b" ")
    mir += cn(lot) + cn(part_typ) + cn("NODE") + cn("TSTR") + cn(job_nam)
    out += rec(1, 10, mir)
    for i in range(n_parts):
        out += rec(5, 10, bytes([1, 1]))
        hb = 1 if i % 2 == 0 else 5
        out += rec(5, 20, struct.pack("<BBBHHHhhI", 1, 1, 0 if hb == 1 else 8, 0, hb, hb, i, 0, 10) + cn(str(i + 1)))
    out += rec(1, 20, struct.pack("<I", 1_700_000_200))
    return out


def cfg_of(tmp: Path, url: str, **over: Any) -> Any:
    raw: dict[str, Any] = {
        "archive": {"path": str(tmp / "archive")},
        "sync": {"stable_seconds": 0, "workers": 1, "download_workers": 2},
        "retry": {"attempts": 4, "backoff_seconds": 0.05},
        "sources": [{"name": "floor1", "url": url, "password": "${FTP_PASSWORD}", "include": ["*.stdf", "*.stdf.gz"]}],
    }
    for k, v in over.items():
        if k == "source":
            raw["sources"][0].update(v)
        elif k == "rules":
            raw["rules"] = v
        else:
            raw.setdefault(k, {}).update(v)
    return parse_config(raw, str(tmp / "stdf-duck.toml"))


def write_toml(tmp: Path, url: str, extra: str = "", sync: str = "stable_seconds = 0\nworkers = 1") -> Path:
    p = tmp / "stdf-duck.toml"
    p.write_text(
        f'[archive]\npath = "archive"\n\n[sync]\n{sync}\n\n[retry]\nbackoff_seconds = 0.05\n\n'
        f'[[sources]]\nname = "floor1"\nurl = "{url}"\npassword = "${{FTP_PASSWORD}}"\ninclude = ["*.stdf", "*.stdf.gz"]\n{extra}'
    )
    return p


def q(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(root / "archive.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def states(root: Path) -> dict[str, str]:
    return dict(q(root, "SELECT remote, state FROM sync_files ORDER BY 1"))


def parts_by_lot(root: Path) -> dict[str, int]:
    return dict(q(root, "SELECT lot_id, count(*) FROM parts GROUP BY 1"))


def retrieved(srv: FtpServer) -> list[str]:
    return [c.split(" ", 1)[1].rsplit("/", 1)[-1] for c in srv.commands if c.startswith("RETR ")]


def cli(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The FTP root: fixtures in product/stage folders, one gzip, one damaged file."""
    root = tmp_path / "ftp"
    (root / "ENG" / "FT1").mkdir(parents=True)
    (root / "lots").mkdir()
    shutil.copy(FIXTURES / "multisite_le.stdf", root / "ENG" / "FT1")
    shutil.copy(FIXTURES / "mpr_ftr.stdf", root / "lots")
    (root / "lots" / "no_pir.stdf.gz").write_bytes(gzip.compress((FIXTURES / "no_pir.stdf").read_bytes()))
    (root / "lots" / "notes.txt").write_text("not matched by the include globs")
    return root


@pytest.fixture
def ftp(tree: Path) -> Any:
    with FtpServer(str(tree), password=PASSWORD) as srv:
        yield srv


# ---- first and incremental sync ----------------------------------------------------------------


def test_first_sync_ingests_everything(tmp_path: Path, ftp: FtpServer) -> None:
    cfg = cfg_of(tmp_path, ftp.url)
    rep = sy.sync(cfg)
    arch = tmp_path / "archive"
    assert rep.ok and not rep.source_errors
    assert states(arch) == {
        "ENG/FT1/multisite_le.stdf": "ingested",
        "lots/mpr_ftr.stdf": "ingested",
        "lots/no_pir.stdf.gz": "ingested",
    }
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
    assert sorted(retrieved(ftp)) == ["mpr_ftr.stdf", "multisite_le.stdf", "no_pir.stdf.gz"]  # notes.txt excluded
    keys = [r[0] for r in q(arch, "SELECT path FROM ingest WHERE status = 'ok' ORDER BY 1")]
    assert keys == [
        f"ftp://127.0.0.1:{ftp.port}/{p}"
        for p in ("ENG/FT1/multisite_le.stdf", "lots/mpr_ftr.stdf", "lots/no_pir.stdf.gz")
    ]
    # downloads are deleted once ingested (their folders too); the views are there
    assert not (arch / ".downloads").exists()
    assert q(arch, "SELECT sum(n_parts) FROM files") == [(122,)]
    last = q(arch, "SELECT source, status, n_listed, n_ingested, bytes_downloaded FROM syncs")
    size = sum(p.stat().st_size for p in Path(ftp.root).rglob("*.stdf*"))
    assert last == [("floor1", "complete", 3, 3, size)]


def test_incremental_sync_fetches_only_new_and_changed_files(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    cfg = cfg_of(tmp_path, ftp.url)
    assert sy.sync(cfg).ok
    arch = tmp_path / "archive"
    ftp.commands.clear()
    rep = sy.sync(cfg)  # nothing new
    assert rep.count("unchanged") == 3 and retrieved(ftp) == []
    # a new file, and a changed one (same name, other content: 5 parts by hand instead of 3)
    (tree / "lots" / "new.stdf").write_bytes(mini_stdf("NEWLOT", 4, part_typ="P"))
    (tree / "lots" / "mpr_ftr.stdf").write_bytes(mini_stdf("MPRFTR", 5, part_typ="P"))
    rep = sy.sync(cfg)
    assert sorted(retrieved(ftp)) == ["mpr_ftr.stdf", "new.stdf"]
    assert rep.count("ingested") == 2 and rep.count("unchanged") == 2
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 5, "NOPIR01": 25, "NEWLOT": 4}
    assert q(arch, "SELECT count(*) FROM ingest WHERE status = 'ok'") == [(4,)]


# ---- files still being written -----------------------------------------------------------------


class _GrowOnList(sy.SyncProgress):
    """Appends the rest of a file once the source has been listed (a tester still writing it)."""

    def __init__(self, path: Path, rest: bytes) -> None:
        self.path, self.rest, self.done = path, rest, False

    def listed(self, source: str, n_files: int, n_todo: int) -> None:
        if not self.done:
            with open(self.path, "ab") as f:
                f.write(self.rest)
            self.done = True


@pytest.mark.parametrize("stable", [0.0, 0.5])
def test_file_growing_during_the_sync_is_left_for_the_next(
    tmp_path: Path, ftp: FtpServer, tree: Path, stable: float
) -> None:
    data = mini_stdf("GROW", 6, part_typ="P")
    growing = tree / "lots" / "growing.stdf"
    growing.write_bytes(data[:40])
    cfg = cfg_of(tmp_path, ftp.url, sync={"stable_seconds": stable})
    rep = sy.sync(cfg, progress=_GrowOnList(growing, data[40:]))
    arch = tmp_path / "archive"
    st = states(arch)
    assert st["lots/growing.stdf"] == "unstable"
    assert st["lots/mpr_ftr.stdf"] == "ingested" and st["ENG/FT1/multisite_le.stdf"] == "ingested"
    if stable:  # seen changing by the second listing: never downloaded
        assert "growing.stdf" not in retrieved(ftp)
    assert "GROW" not in parts_by_lot(arch)
    assert not any(k.endswith("growing.stdf") for (k,) in q(arch, "SELECT path FROM ingest"))
    assert rep.count("unstable") == 1 and not rep.failed
    # the next sync, once the file is complete, takes all of it
    time.sleep(stable)
    rep = sy.sync(cfg)
    assert states(arch)["lots/growing.stdf"] == "ingested"
    assert parts_by_lot(arch)["GROW"] == 6


# ---- dropped connections -----------------------------------------------------------------------


def test_dropped_connection_resumes_where_it_stopped(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    size = (tree / "ENG" / "FT1" / "multisite_le.stdf").stat().st_size
    ftp.drop_after["multisite_le.stdf"] = 10_000
    rep = sy.sync(cfg_of(tmp_path, ftp.url))
    assert rep.ok
    arch = tmp_path / "archive"
    assert any(c == "REST 10000" for c in ftp.commands), ftp.commands
    attempts, downloaded = q(
        arch, "SELECT attempts, downloaded FROM sync_files WHERE remote LIKE '%multisite_le.stdf'"
    )[0]
    assert attempts == 2 and downloaded == size  # 10,000 bytes, then the rest: nothing twice
    assert parts_by_lot(arch)["MS4LOT"] == 94


def test_partial_download_of_a_killed_sync_is_resumed(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    f = tree / "ENG" / "FT1" / "multisite_le.stdf"
    st = f.stat()
    mtime_ns = int(st.st_mtime) * 1_000_000_000  # FTP tells whole seconds
    part = (
        tmp_path
        / "archive"
        / ".downloads"
        / "floor1"
        / "ENG"
        / "FT1"
        / f"multisite_le.stdf.{st.st_size}-{mtime_ns}.part"
    )
    part.parent.mkdir(parents=True)
    part.write_bytes(f.read_bytes()[:12_345])
    rep = sy.sync(cfg_of(tmp_path, ftp.url))
    assert rep.ok
    assert "REST 12345" in ftp.commands
    assert q(tmp_path / "archive", "SELECT downloaded FROM sync_files WHERE remote LIKE '%multisite_le.stdf'") == [
        (st.st_size - 12_345,)
    ]
    assert parts_by_lot(tmp_path / "archive")["MS4LOT"] == 94


def test_server_down_is_an_error_of_that_source_after_retries(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    t0 = time.monotonic()
    rep = sy.sync(cfg_of(tmp_path, f"ftp://tester@127.0.0.1:{port}/", retry={"attempts": 3, "backoff_seconds": 0.1}))
    assert "floor1" in rep.source_errors and "refused" in rep.source_errors["floor1"].lower()
    assert time.monotonic() - t0 >= 0.3  # backoff 0.1 s then 0.2 s
    assert q(tmp_path / "archive", "SELECT status, error IS NOT NULL FROM syncs") == [("error", True)]


# ---- bad files ---------------------------------------------------------------------------------


def test_corrupt_file_is_recorded_failed_and_the_rest_ingested(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    shutil.copy(FIXTURES / "corrupt.stdf", tree / "lots")
    (tree / "lots" / "fake.stdf").write_bytes(b"this is not STDF at all")
    toml = write_toml(tmp_path, ftp.url)
    r = cli("sync", "--config", str(toml))
    assert r.returncode == 1, r.stderr
    arch = tmp_path / "archive"
    st = states(arch)
    assert st["lots/corrupt.stdf"] == "failed" and st["lots/fake.stdf"] == "failed"
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
    errors = dict(q(arch, "SELECT remote, error FROM sync_files WHERE state = 'failed'"))
    assert "byte offset 84" in errors["lots/corrupt.stdf"] and "DTR" in errors["lots/corrupt.stdf"]
    assert errors["lots/fake.stdf"].startswith("not an STDF file: no FAR record at byte 0")
    # status shows them; a second sync does not download them again
    s = cli("status", "--config", str(toml))
    assert s.returncode == 0 and "corrupt.stdf" in s.stdout and "byte offset 84" in s.stdout
    ftp.commands.clear()
    r = cli("sync", "--config", str(toml), "-q")
    assert retrieved(ftp) == [] and r.returncode == 0
    # --retry-failed takes them again (and they fail again, with the same errors)
    r = cli("sync", "--config", str(toml), "-q", "--retry-failed")
    assert sorted(retrieved(ftp)) == ["corrupt.stdf", "fake.stdf"] and r.returncode == 1
    assert dict(q(arch, "SELECT remote, error FROM sync_files WHERE state = 'failed'")) == errors


def test_decompression_bomb_fails_fast(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    far = rec(0, 10, bytes([2, 4]))
    (tree / "lots" / "bomb.stdf.gz").write_bytes(gzip.compress(far + bytes(8 * 2**20), 9))  # 8 MiB from ~8 KB
    rep = sy.sync(cfg_of(tmp_path, ftp.url, sync={"max_stream_mb": 4}))
    e = next(e for e in rep.entries if e.rel.endswith("bomb.stdf.gz"))
    assert e.state == "failed" and e.error is not None and e.error.startswith("decompression bomb")
    assert rep.count("ingested") == 3


def test_verify_bounds_the_ratio(tmp_path: Path) -> None:
    far = rec(0, 10, bytes([2, 4]))
    p = tmp_path / "z.stdf.gz"
    p.write_bytes(gzip.compress(far + bytes(70 * 2**20), 6))  # ratio ~1000, above the 64 MiB floor
    with pytest.raises(sy.VerifyError, match="decompression bomb"):
        sy.verify_stdf(str(p), max_ratio=200)
    assert sy.verify_stdf(str(p), max_ratio=2000) == len(far) + 70 * 2**20
    fixture = FIXTURES / "multisite_le.stdf"
    assert sy.verify_stdf(str(fixture)) == fixture.stat().st_size
    cut = tmp_path / "cut.stdf.gz"
    cut.write_bytes(gzip.compress(fixture.read_bytes() * 8)[:-100])  # 8 concatenated streams, cut short
    with pytest.raises(sy.VerifyError, match="damaged gzip"):
        sy.verify_stdf(str(cut))
    assert sy.verify_stdf(str(cut), strict=False) > 0  # on_error = 'warn': left to the engine


# ---- security ----------------------------------------------------------------------------------


def test_safe_relpath() -> None:
    assert safe_relpath("a/b/c.stdf") == "a/b/c.stdf"
    for bad in ("../x.stdf", "a/../../x.stdf", "/etc/passwd", "a//b", "a/./b", "C:/x", "a\\b", "x\x00y", "", ".."):
        with pytest.raises(UnsafeNameError):
            safe_relpath(bad)
    assert matches("ENG/FT1/a.stdf", ["*.stdf"], []) and not matches("a.txt", ["*.stdf"], [])
    assert not matches("tmp/a.stdf", ["*.stdf"], ["tmp/*"]) and matches("ENG/a.stdf", ["ENG/*"], [])


class _EvilRemote:
    """A server listing names that climb out of the staging area."""

    in_place = False

    def __init__(self, good: bytes) -> None:
        self.good = good

    def list(self) -> list[tuple[str, int, int]]:
        return [
            ("../../escape.stdf", 10, 1),
            ("/etc/evil.stdf", 10, 1),
            ("ok/good.stdf", len(self.good), 5_000_000_000),
        ]

    def stat(self, rel: str) -> Any:
        from stdf_duck.sync.remote import RemoteFile

        return RemoteFile(rel, len(self.good), 5_000_000_000) if rel == "ok/good.stdf" else None

    def download(self, rel: str, local: str, offset: int, on_bytes: Any) -> None:
        assert rel == "ok/good.stdf"
        with open(local, "wb") as f:
            f.write(self.good)
        on_bytes(len(self.good))

    def close(self) -> None:
        pass


def test_names_escaping_the_staging_area_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = mini_stdf("GOOD", 2, part_typ="P")
    monkeypatch.setattr(sy.transfer, "open_remote", lambda src, timeout: _EvilRemote(good))
    rep = sy.sync(cfg_of(tmp_path, "ftp://tester@evil.example/"))
    arch = tmp_path / "archive"
    st = states(arch)
    assert st == {"../../escape.stdf": "rejected", "/etc/evil.stdf": "rejected", "ok/good.stdf": "ingested"}
    assert parts_by_lot(arch) == {"GOOD": 2}
    assert (
        not (tmp_path / "escape.stdf").exists()
        and not list(tmp_path.rglob("escape.stdf*"))
        and not list(tmp_path.rglob("evil.stdf*"))
    )
    assert not rep.ok  # rejected names are failures to look at ...
    rep = sy.sync(cfg_of(tmp_path, "ftp://tester@evil.example/"))
    assert rep.ok and rep.count("skipped") == 2 and rep.count("unchanged") == 1  # ... reported once
    assert states(arch)["../../escape.stdf"] == "rejected"


def test_secrets_are_never_logged_nor_stored(tmp_path: Path, ftp: FtpServer) -> None:
    toml = write_toml(tmp_path, ftp.url)
    (Path(ftp.root) / "lots" / "broken.stdf").write_bytes(b"\x02\x00\x00\x0a\x02\x04" + b"\xff" * 20)
    r = cli("sync", "--config", str(toml), "-vv")
    assert r.returncode == 1  # broken.stdf
    assert PASSWORD not in r.stdout + r.stderr
    assert "PASS ***" in ftp.commands and any(c.startswith("USER tester") for c in ftp.commands)
    for p in (tmp_path / "archive").rglob("*"):
        if p.is_file():
            assert PASSWORD.encode() not in p.read_bytes(), p
    s = cli("status", "--config", str(toml), "--json")
    assert PASSWORD not in s.stdout and '"ingested"' in s.stdout
    # a wrong password: the login fails, the source is in error, the (wrong) secret stays hidden
    bad = "wrong-Kx5-secret"
    r = cli("sync", "--config", str(toml), "-vv", env={"FTP_PASSWORD": bad})
    assert r.returncode == 1 and "login as tester refused" in r.stdout + r.stderr
    assert bad not in r.stdout + r.stderr
    for p in (tmp_path / "archive").rglob("*"):
        if p.is_file():
            assert bad.encode() not in p.read_bytes(), p
    assert q(tmp_path / "archive", "SELECT status FROM syncs ORDER BY sync_id DESC LIMIT 1") == [("error",)]


# ---- two syncs at once -------------------------------------------------------------------------


def test_second_sync_refuses_or_waits(tmp_path: Path, ftp: FtpServer) -> None:
    ftp.throttle = 20_000  # bytes/s: the first sync takes about 2 s
    toml = write_toml(tmp_path, ftp.url, sync="stable_seconds = 0\nworkers = 1\ndownload_workers = 1")
    first = subprocess.Popen(
        [sys.executable, "-m", "stdf_duck.cli", "sync", "--config", str(toml), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / "archive" / ".lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and f"pid {first.pid}" in lock.read_text():
            break
        time.sleep(0.05)
    else:
        first.kill()
        pytest.fail("the first sync never took the lock")
    second = cli("sync", "--config", str(toml), "-q")
    assert second.returncode == 3, second.stderr
    assert (
        "being written by another stdf-duck materialize or sync" in second.stderr
        and f"pid {first.pid}" in second.stderr
    )
    waiting = cli("sync", "--config", str(toml), "--wait", "60")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert waiting.returncode == 0, waiting.stderr
    arch = tmp_path / "archive"
    assert q(arch, "SELECT count(*) FROM syncs WHERE status = 'complete'") == [(2,)]
    assert set(states(arch).values()) == {"ingested"}
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}  # each file once


# ---- local directories, rules, dry runs, download-only -----------------------------------------


def test_local_directory_source_is_read_in_place(tmp_path: Path, tree: Path) -> None:
    toml = tmp_path / "stdf-duck.toml"
    toml.write_text(
        f'[archive]\npath = "archive"\n[sync]\nstable_seconds = 0\nworkers = 1\n'
        f'[[sources]]\nname = "drop"\nurl = "{tree}"\ninclude = ["*.stdf*"]\n'
    )
    r = cli("sync", "--config", str(toml))
    assert r.returncode == 0, r.stderr
    arch = tmp_path / "archive"
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
    assert not (arch / ".downloads").exists() or not list((arch / ".downloads").rglob("*.stdf*"))
    keys = sorted(k for (k,) in q(arch, "SELECT path FROM ingest"))
    assert keys == sorted(os.path.realpath(p) for p in tree.rglob("*.stdf*"))
    # the same files by `stdf-duck materialize` are the same ledger rows: nothing to do
    m = cli("materialize", str(tree), "--archive", str(arch))
    assert m.returncode == 0 and "unchanged" in m.stdout
    assert q(arch, "SELECT count(*) FROM ingest") == [(3,)]


def test_rules_give_product_and_stage_when_the_mir_lacks_them(tmp_path: Path) -> None:
    src = tmp_path / "drop"
    (src / "PRODX" / "FT2").mkdir(parents=True)
    (src / "other").mkdir()
    (src / "PRODX" / "FT2" / "a.stdf").write_bytes(mini_stdf("LOTA", 3))  # no PART_TYP, TEST_COD, FLOW_ID
    (src / "other" / "b.stdf").write_bytes(mini_stdf("LOTB", 2, job_nam="JOB77"))
    (src / "other" / "c.stdf").write_bytes(mini_stdf("LOTC", 1, part_typ="MIRPART"))  # the MIR wins
    cfg = parse_config(
        {
            "archive": {"path": str(tmp_path / "archive")},
            "sync": {"stable_seconds": 0, "workers": 1},
            "sources": [{"name": "drop", "url": str(src)}],
            "rules": [
                {"match": r"^(?P<p>[A-Z0-9]+)/(?P<s>FT\d)/", "product": "{p}", "stage": "{s}"},
                {"product": "J_{mir.job_nam}", "stage": "UNKNOWN"},
            ],
        },
        str(tmp_path / "x.toml"),
    )
    assert sy.sync(cfg).ok
    got = q(tmp_path / "archive", "SELECT lot_id, part_typ, test_stage, count(*) FROM parts GROUP BY ALL ORDER BY 1")
    assert got == [("LOTA", "PRODX", "FT2", 3), ("LOTB", "J_JOB77", "UNKNOWN", 2), ("LOTC", "MIRPART", "UNKNOWN", 1)]


def test_dry_run_changes_nothing(tmp_path: Path, ftp: FtpServer) -> None:
    toml = write_toml(tmp_path, ftp.url)
    r = cli("sync", "--config", str(toml), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "download" in r.stdout and "multisite_le.stdf" in r.stdout
    assert not (tmp_path / "archive").exists() and retrieved(ftp) == []


def test_no_ingest_downloads_then_a_later_sync_ingests(tmp_path: Path, ftp: FtpServer) -> None:
    cfg = cfg_of(tmp_path, ftp.url)
    rep = sy.sync(cfg, ingest=False)
    arch = tmp_path / "archive"
    assert set(states(arch).values()) == {"downloaded"} and rep.count("downloaded") == 3
    assert q(arch, "SELECT count(*) FROM ingest") == [(0,)]
    assert len([p for p in (arch / ".downloads").rglob("*.stdf*")]) == 3
    ftp.commands.clear()
    rep = sy.sync(cfg)
    assert retrieved(ftp) == [] and rep.count("ingested") == 3
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}


def test_real_files_through_ftp(tmp_path: Path) -> None:
    cases = [c for c in expected_cases() if c[2]["complete"] and c[1].exists()][:4]
    if not cases:
        pytest.skip("the real STDF files of ../shared/data/stdf are absent")
    root = tmp_path / "ftp"
    root.mkdir()
    for i, (_name, path, _exp) in enumerate(cases):
        shutil.copy(path, root / f"{i}-{path.name}")
    with FtpServer(str(root), password=PASSWORD) as srv:
        cfg = cfg_of(tmp_path, srv.url, source={"include": ["*"]}, sync={"workers": 2})
        rep = sy.sync(cfg)
    assert not rep.failed, [(e.rel, e.error) for e in rep.failed]
    arch = tmp_path / "archive"
    got = dict(
        q(arch, "SELECT regexp_extract(path, '/(\\d+)-[^/]*$', 1)::INT, rows_parts FROM ingest WHERE status = 'ok'")
    )
    by_index = {int(e.rel.split("-", 1)[0]): e for e in rep.entries}
    total = 0
    for i, (_name, _path, exp) in enumerate(cases):
        if by_index[i].state == "ingested":
            assert got[i] == exp["parts"]
            total += exp["parts"]
        else:  # the same content as another file of the list
            assert by_index[i].state == "duplicate"
    assert q(arch, "SELECT count(*) FROM parts") == [(total,)]


# ---- configuration -----------------------------------------------------------------------------


def test_config_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stdf_duck.cli.sync import EXAMPLE

    p = tmp_path / "stdf-duck.toml"
    p.write_text(EXAMPLE)
    monkeypatch.setenv("FLOOR1_FTP_PASSWORD", "x")
    cfg = load_config(str(p))
    assert [s.name for s in cfg.sources] == ["floor1", "local-drop"]
    assert cfg.sources[0].display == "ftp://ftp.floor1.example.com/outgoing/stdf" and cfg.sources[0].user == "tester"
    assert cfg.archive == str(tmp_path / "stdf-archive")
    assert cfg.defaults_for(cfg.sources[0], "PX/WS1/a.stdf") == ("PX", "WS1")
    r = cli("config", "check", str(p), env={"FLOOR1_FTP_PASSWORD": "x"})
    assert r.returncode == 0 and "floor1: ftp://ftp.floor1.example.com/outgoing/stdf" in r.stdout
    r = cli("config", "check", str(p), env={"FLOOR1_FTP_PASSWORD": ""} | {"STDF_DUCK_CONFIG": str(p)})
    assert r.returncode == 0  # set but empty is set
    env = {k: v for k, v in os.environ.items() if k != "FLOOR1_FTP_PASSWORD"}
    r = subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", "config", "check"],
        capture_output=True,
        text=True,
        env={**env, "STDF_DUCK_CONFIG": str(p)},
    )
    assert r.returncode == 2 and "sources[0].password: environment variable FLOOR1_FTP_PASSWORD is not set" in r.stderr


def test_config_errors_are_precise(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(
        '[archive]\npath = "a"\non_eror = "warn"\n[sync]\nworkers = 0\nstable_seconds = "x"\n'
        '[[sources]]\nname = "s1"\nurl = "htp://host/x"\n'
        '[[sources]]\nname = "s1"\nurl = "ftp://u@h/"\npassword = "plain"\n'
        '[[sources]]\nname = "bad name!"\nurl = "ftp://h/"\n'
        '[[rules]]\nmatch = "(unclosed"\nproduct = "x"\n'
        '[[rules]]\nmatch = "(?P<a>x)"\nproduct = "{b}"\n'
    )
    with pytest.raises(ConfigError) as ei:
        load_config(str(p))
    probs = ei.value.problems
    expect = [
        "archive.on_eror: unknown key (did you mean 'on_error'?)",
        "sync.stable_seconds: must be a number, not str 'x'",
        "sync.workers: must be > 0, not 0",
        "sources[0].url: unsupported scheme 'htp'",
        "sources[1].name: duplicate source name 's1'",
        "sources[1].password: write the password as ${ENV_VAR}",
        "sources[2].name: 'bad name!' is not a valid name",
        "rules[0].match: bad regular expression",
        "rules[1].product: {b} is not a named group of 'match'",
    ]
    for e in expect:
        assert any(x.startswith(e) for x in probs), (e, probs)
    r = cli("config", "check", str(p))
    assert r.returncode == 2 and all(e in r.stderr for e in expect)
    p.write_text("[archive\npath = 1\n")
    r = cli("config", "check", str(p))
    assert r.returncode == 2 and "not valid TOML" in r.stderr and "line 1" in r.stderr
    r = cli("sync", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "configuration file not found" in r.stderr


def test_fsspec_remote_lists_and_resumes() -> None:
    import fsspec

    from stdf_duck.config import SourceConfig

    fs = fsspec.filesystem("memory")
    data = mini_stdf("MEM", 3, part_typ="P")
    fs.pipe("/bucket/in/a/x.stdf", data)
    fs.pipe("/bucket/in/y.stdf", b"12345")
    r = FsspecRemote(SourceConfig(name="m", url="memory://", scheme="memory", root="/bucket/in"), 5, fs=fs)
    assert sorted((n, s) for n, s, _m in r.list()) == [("a/x.stdf", len(data)), ("y.stdf", 5)]
    st = r.stat("a/x.stdf")
    assert st is not None and st.size == len(data) and r.stat("nope.stdf") is None
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        local = os.path.join(d, "x.part")
        with open(local, "wb") as f:
            f.write(data[:17])
        got: list[int] = []
        r.download("a/x.stdf", local, 17, got.append)
        assert open(local, "rb").read() == data and sum(got) == len(data) - 17


def test_status_without_archive_is_a_usage_error(tmp_path: Path) -> None:
    r = cli("status", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "no such archive" in r.stderr


def test_changed_url_keeps_the_ledger_keys(tmp_path: Path, tree: Path) -> None:
    with FtpServer(str(tree), password=PASSWORD) as srv:
        assert sy.sync(cfg_of(tmp_path, srv.url)).ok
        first_port = srv.port
    (tree / "lots" / "mpr_ftr.stdf").write_bytes(mini_stdf("MPRFTR", 5, part_typ="P"))  # changed meanwhile
    with FtpServer(str(tree), password=PASSWORD) as srv:  # another port: another URL
        assert srv.port != first_port
        rep = sy.sync(cfg_of(tmp_path, srv.url))
    assert rep.count("ingested") == 1 and rep.count("unchanged") == 2
    arch = tmp_path / "archive"
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 5, "NOPIR01": 25}  # the old version is gone
    assert q(arch, "SELECT count(*), count(DISTINCT path) FROM ingest") == [(3, 3)]


def test_partial_downloads_of_similar_names_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """a.stdf must not take a.stdf.gz's partial download for one of its own older versions."""
    good = mini_stdf("GOOD", 2, part_typ="P")
    monkeypatch.setattr(sy.transfer, "open_remote", lambda src, timeout: _EvilRemote(good))
    cfg = cfg_of(tmp_path, "ftp://tester@evil.example/")
    other = tmp_path / "archive" / ".downloads" / "floor1" / "ok" / "good.stdf.gz.123-456.part"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"partial")
    older = other.parent / "good.stdf.1-2.part"
    older.write_bytes(b"old version")
    sy.sync(cfg)
    assert other.read_bytes() == b"partial" and not older.exists()


def test_readme_configuration_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    p = tmp_path / "stdf-duck.toml"
    p.write_text(block.group(1))
    monkeypatch.setenv("FLOOR1_FTP_PASSWORD", "x")
    cfg = load_config(str(p))
    assert [s.name for s in cfg.sources] == ["floor1"] and cfg.stable_seconds == 30 and cfg.download_workers == 4
    assert cfg.defaults_for(cfg.sources[0], "PRODA/FT2/lot.stdf") == ("PRODA", "FT2")


def test_interrupted_sync_resumes_its_downloads(tmp_path: Path, ftp: FtpServer) -> None:
    import signal

    ftp.throttle = 8_000  # bytes/s: multisite_le.stdf takes about 4 s
    toml = write_toml(tmp_path, ftp.url, sync="stable_seconds = 0\nworkers = 1\ndownload_workers = 1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stdf_duck.cli", "sync", "--config", str(toml), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    downloads = tmp_path / "archive" / ".downloads"
    deadline = time.monotonic() + 30
    part: list[Path] = []
    while time.monotonic() < deadline and not part:
        part = (
            [p for p in downloads.rglob("multisite_le.stdf.*.part") if p.stat().st_size > 0]
            if downloads.exists()
            else []
        )
        time.sleep(0.05)
    assert part, "no partial download seen"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    have = max((p.stat().st_size for p in downloads.rglob("multisite_le.stdf.*.part")), default=0)
    assert 0 < have < (Path(ftp.root) / "ENG" / "FT1" / "multisite_le.stdf").stat().st_size
    ftp.throttle = 0
    ftp.commands.clear()
    r = cli("sync", "--config", str(toml), "-q")
    assert r.returncode == 0, r.stderr
    assert f"REST {have}" in ftp.commands
    assert parts_by_lot(tmp_path / "archive") == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}


# ---- SFTP (fsspec + paramiko against an asyncssh server) ---------------------------------------


def test_sftp_source_with_known_host_key(tmp_path: Path, tree: Path) -> None:
    pytest.importorskip("paramiko")
    pytest.importorskip("asyncssh")
    from sftp_server import SftpServer

    with SftpServer(str(tree), password=PASSWORD) as srv:
        known = tmp_path / "known_hosts"
        known.write_text(srv.known_hosts_line())
        cfg = cfg_of(tmp_path, srv.url, source={"options": {"known_hosts": str(known)}})
        rep = sy.sync(cfg)
        assert rep.ok, (rep.source_errors, [(e.rel, e.error) for e in rep.failed])
        arch = tmp_path / "archive"
        assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
        assert sorted(k for (k,) in q(arch, "SELECT path FROM ingest")) == [
            f"sftp://127.0.0.1:{srv.port}/{p}"
            for p in ("ENG/FT1/multisite_le.stdf", "lots/mpr_ftr.stdf", "lots/no_pir.stdf.gz")
        ]
        (tree / "lots" / "new.stdf").write_bytes(mini_stdf("NEWLOT", 4, part_typ="P"))
        rep = sy.sync(cfg)
        assert rep.count("ingested") == 1 and rep.count("unchanged") == 3
        # an unknown host key refuses the connection (no password sent), with the way out in the error
        other = tmp_path / "other_known_hosts"
        other.write_text("")
        rep = sy.sync(cfg_of(tmp_path / "b", srv.url, source={"options": {"known_hosts": str(other)}}))
        err = rep.source_errors["floor1"]
        assert "host key of [127.0.0.1]" in err and "ssh-keyscan -p" in err and PASSWORD not in err


def _self_signed(tmp: Path) -> Path:
    """A certificate (and its key) for 127.0.0.1, valid one day."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = tmp / "server.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    (tmp / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pem


def test_ftps_source_verifies_the_certificate(tmp_path: Path, tree: Path) -> None:
    pytest.importorskip("OpenSSL")
    pem = _self_signed(tmp_path)
    with FtpServer(str(tree), password=PASSWORD, certfile=str(pem)) as srv:
        assert srv.url.startswith("ftps://")
        rep = sy.sync(cfg_of(tmp_path, srv.url, source={"options": {"ca_file": str(tmp_path / "ca.pem")}}))
        assert rep.ok, (rep.source_errors, [(e.rel, e.error) for e in rep.failed])
        assert parts_by_lot(tmp_path / "archive") == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
        assert "PROT P" in srv.commands  # the data connections are encrypted too
        # without the CA the certificate is refused
        rep = sy.sync(cfg_of(tmp_path / "b", srv.url))
        assert "TLS: " in rep.source_errors["floor1"] and "options.ca_file" in rep.source_errors["floor1"]
        assert q(tmp_path / "b" / "archive", "SELECT status FROM syncs") == [("error",)]


def test_server_without_mlsd_is_listed_with_nlst_size_mdtm(tmp_path: Path, ftp: FtpServer, tree: Path) -> None:
    ftp.no_mlsd = True
    rep = sy.sync(cfg_of(tmp_path, ftp.url))
    assert rep.ok, (rep.source_errors, [(e.rel, e.error) for e in rep.failed])
    assert any(c.startswith("NLST") for c in ftp.commands) and any(c.startswith("MDTM") for c in ftp.commands)
    arch = tmp_path / "archive"
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
    st = (tree / "lots" / "mpr_ftr.stdf").stat()
    assert q(arch, "SELECT size, mtime_ns FROM sync_files WHERE remote = 'lots/mpr_ftr.stdf'") == [
        (st.st_size, int(st.st_mtime) * 1_000_000_000)
    ]
    rep = sy.sync(cfg_of(tmp_path, ftp.url))
    assert rep.count("unchanged") == 3


def test_killed_sync_is_completed_by_the_next(tmp_path: Path, ftp: FtpServer) -> None:
    import signal

    ftp.throttle = 8_000
    toml = write_toml(tmp_path, ftp.url, sync="stable_seconds = 0\nworkers = 1\ndownload_workers = 1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stdf_duck.cli", "sync", "--config", str(toml), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    downloads = tmp_path / "archive" / ".downloads"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if downloads.exists() and any(p.stat().st_size > 0 for p in downloads.rglob("*.part")):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    ftp.throttle = 0
    r = cli("sync", "--config", str(toml), "-q")
    assert r.returncode == 0, r.stderr
    arch = tmp_path / "archive"
    assert q(arch, "SELECT status FROM syncs ORDER BY sync_id") == [("killed",), ("complete",)]
    assert set(states(arch).values()) == {"ingested"}
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
    assert any(c.startswith("REST ") for c in ftp.commands)  # the partial download was resumed


# ---- S3 (fsspec + s3fs against a moto server) --------------------------------------------------


def test_s3_source(tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    import logging

    import s3fs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("S3_KEY", "AKIDSTDFDUCK")
        monkeypatch.setenv("S3_SECRET", "s3-secret-Vb7-not-in-logs")
        fs = s3fs.S3FileSystem(
            key="AKIDSTDFDUCK",
            secret="s3-secret-Vb7-not-in-logs",
            client_kwargs={"endpoint_url": endpoint},
            skip_instance_cache=True,
        )
        fs.mkdir("tester-bucket")
        for p in tree.rglob("*"):
            if p.is_file():
                fs.pipe(f"tester-bucket/stdf/{p.relative_to(tree).as_posix()}", p.read_bytes())
        opts = {"key": "${S3_KEY}", "secret": "${S3_SECRET}", "client_kwargs": {"endpoint_url": endpoint}}
        cfg = cfg_of(tmp_path, "s3://tester-bucket/stdf", source={"options": opts})
        rep = sy.sync(cfg)
        assert rep.ok, (rep.source_errors, [(e.rel, e.error) for e in rep.failed])
        arch = tmp_path / "archive"
        assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25}
        assert sorted(k for (k,) in q(arch, "SELECT path FROM ingest")) == [
            f"s3://tester-bucket/stdf/{p}"
            for p in ("ENG/FT1/multisite_le.stdf", "lots/mpr_ftr.stdf", "lots/no_pir.stdf.gz")
        ]
        fs.pipe("tester-bucket/stdf/lots/new.stdf", mini_stdf("NEWLOT", 4, part_typ="P"))
        rep = sy.sync(cfg)
        assert rep.count("ingested") == 1 and rep.count("unchanged") == 3
        assert parts_by_lot(arch)["NEWLOT"] == 4
        for f in arch.rglob("*"):
            if f.is_file():
                assert b"s3-secret-Vb7" not in f.read_bytes()
    finally:
        srv.stop()


class _StopServerOnList(sy.SyncProgress):
    def __init__(self, srv: FtpServer) -> None:
        self.srv = srv

    def listed(self, source: str, n_files: int, n_todo: int) -> None:
        self.srv.stop()


def test_source_gone_after_listing_is_not_retried_file_by_file(tmp_path: Path, tree: Path) -> None:
    for i in range(8):
        (tree / "lots" / f"extra{i}.stdf").write_bytes(mini_stdf(f"X{i}", 1, part_typ="P"))
    srv = FtpServer(str(tree), password=PASSWORD).start()
    cfg = cfg_of(tmp_path, srv.url, sync={"download_workers": 1}, retry={"attempts": 3, "backoff_seconds": 0.05})
    rep = sy.sync(cfg, progress=_StopServerOnList(srv))
    assert rep.count("error") == 11 and rep.count("ingested") == 0
    tried = [e for e in rep.entries if e.attempts == 3]
    skipped = [
        e for e in rep.entries if e.error and e.error.startswith("not tried: the source failed 3 transfers in a row")
    ]
    assert len(tried) == 3 and len(skipped) == 8
    # the next run (server back) takes them all
    with FtpServer(str(tree), password=PASSWORD) as srv2:
        rep = sy.sync(cfg_of(tmp_path, srv2.url))
    assert rep.count("ingested") == 11 and rep.ok


class _CountDownloads(sy.SyncProgress):
    """The most files present in ARCHIVE/.downloads (complete, not yet ingested) at any time."""

    def __init__(self, root: Path) -> None:
        self.root, self.most = root, 0

    def download_done(self, entry: Any) -> None:
        d = self.root / ".downloads"
        n = len([p for p in d.rglob("*.stdf") if p.is_file()]) if d.exists() else 0
        self.most = max(self.most, n)


def test_downloads_wait_for_ingestion(tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads faster than decoding do not pile up in the staging folder."""
    monkeypatch.setattr(sy.transfer, "MAX_PENDING_FILES", 4)
    for i in range(12):
        (tree / "lots" / f"extra{i:02d}.stdf").write_bytes(mini_stdf(f"X{i}", 40, part_typ="P"))
    with FtpServer(str(tree), password=PASSWORD) as srv:
        cfg = cfg_of(tmp_path, srv.url, sync={"workers": 1, "download_workers": 1})
        counter = _CountDownloads(tmp_path / "archive")
        rep = sy.sync(cfg, progress=counter)
    assert rep.ok and rep.count("ingested") == 15
    assert 1 <= counter.most <= 4
    # and by bytes: one file at a time when the bound is below two files (a larger file still goes alone)
    monkeypatch.setattr(sy.transfer, "MAX_PENDING_BYTES", 100)
    for i in range(6):
        (tree / "lots" / f"more{i:02d}.stdf").write_bytes(mini_stdf(f"M{i}", 40, part_typ="P"))
    with FtpServer(str(tree), password=PASSWORD) as srv:
        counter = _CountDownloads(tmp_path / "archive")
        rep = sy.sync(cfg_of(tmp_path, srv.url, sync={"workers": 1, "download_workers": 2}), progress=counter)
    assert rep.ok and rep.count("ingested") == 6 and counter.most == 1


def test_worker_pool_is_kept_across_batches(tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stdf_duck.archive import WorkerPools

    monkeypatch.setattr(sy.transfer, "MAX_PENDING_FILES", 4)  # several ingestion batches
    for i in range(9):
        (tree / "lots" / f"extra{i:02d}.stdf").write_bytes(mini_stdf(f"X{i}", 30 + i, part_typ="P"))
    seen: list[int] = []
    real_get = WorkerPools.get

    def get(self: Any, *a: Any, **k: Any) -> Any:
        pool = real_get(self, *a, **k)
        seen.append(id(pool))
        return pool

    monkeypatch.setattr(WorkerPools, "get", get)
    with FtpServer(str(tree), password=PASSWORD) as srv:
        rep = sy.sync(cfg_of(tmp_path, srv.url, sync={"workers": 2, "download_workers": 1}))
    assert rep.ok and rep.count("ingested") == 12
    multi = [m for m in rep.materialize if m.workers == 2]
    assert len(multi) >= 2 and len(seen) == len(multi) and len(set(seen)) == 1  # one pool for every batch
    arch = tmp_path / "archive"
    assert parts_by_lot(arch) == {"MS4LOT": 94, "MPRFTR": 3, "NOPIR01": 25, **{f"X{i}": 30 + i for i in range(9)}}
    assert not list(arch.glob(".tmp-*"))  # the pool's spill folder is removed at the end
