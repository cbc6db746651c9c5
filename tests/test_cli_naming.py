"""The CLI's names and shapes: one way to name the archive, `convert` in the archive's layout, the
example configuration's include globs, redaction of short secrets, a DNS failure not retried.

Values are those of tests/fixtures/README.md (concat.stdf: CONCAT_A 16 parts, CONCAT_B 17; results
one row per PTR/FTR execution and per MPR pin: A 48 + 16 + 32 = 96, B 48 + 16 + 34 = 98;
truncated.stdf: cut in a PTR at byte 1808 after 20 complete PTRs and 6 complete parts)."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import FIXTURES, REPO

from stdf_duck.config import parse_config
from stdf_duck.sync.remote import matches

PART_TYP, STAGE = "SYNPART-A1", "CP1"  # stdf-gen LotConfig defaults (concat.stdf, multisite_le.stdf)


def run(
    *args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def fx(name: str) -> str:
    return str(FIXTURES / name)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("naming") / "arch"
    r = run("materialize", fx("concat.stdf"), "--archive", str(root), "-j", "1", "-q")
    assert r.returncode == 0, r.stderr
    return root


def layout(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.parquet")}


# ---- (a) one way to name the archive ----------------------------------------------------------


@pytest.mark.parametrize("cmd", ["materialize", "query", "status"])
def test_every_archive_command_documents_archive_dir(cmd: str) -> None:
    r = run(cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert re.search(r"-a, --archive DIR", r.stdout), r.stdout
    assert "--db" not in r.stdout  # the older name of query's --archive is hidden


def test_query_takes_archive_and_keeps_db(archive: Path) -> None:
    sql = "SELECT lot_id, count(*) AS n FROM parts GROUP BY 1 ORDER BY 1"
    want = "lot_id,n\nCONCAT_A,16\nCONCAT_B,17\n"
    for flag in ("--archive", "-a", "--db"):
        r = run("query", flag, str(archive), "-f", "csv", sql)
        assert (r.returncode, r.stdout, r.stderr) == (0, want, ""), flag
    r = run("query", "--archive", str(archive), "--db", str(archive), "-f", "csv", sql)
    assert r.returncode == 0 and r.stdout == want  # both names, the same archive
    r = run("query", "--archive", str(archive), "--db", str(archive.parent), "SELECT 1")
    assert r.returncode == 2 and "the archive is named twice, differently" in r.stderr


def test_status_takes_archive_option_and_positional(archive: Path, tmp_path: Path) -> None:
    by_option = run("status", "--archive", str(archive), "--json")
    positional = run("status", str(archive), "--json")
    assert by_option.returncode == 0 and positional.returncode == 0, by_option.stderr
    assert json.loads(by_option.stdout) == json.loads(positional.stdout)
    assert json.loads(by_option.stdout)["ingest"] == {"ok": 1}
    assert json.loads(run("status", "-a", str(archive), "--json").stdout) == json.loads(positional.stdout)
    r = run("status", str(archive), "--archive", str(tmp_path))
    assert r.returncode == 2 and "the archive is named twice, differently" in r.stderr
    r = run("status", "--archive", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "no such archive" in r.stderr


def test_readme_and_help_name_the_archive_one_way() -> None:
    readme = (REPO / "README.md").read_text()
    commands = [x for x in readme.splitlines() if x.startswith("stdf-duck ")]
    assert len(commands) > 10 and not [x for x in commands if "--db" in x]
    assert "stdf-duck status --archive arch" in readme
    assert "stdf-duck query --archive arch" in readme
    r = run("--help")
    assert "--db" not in r.stdout and "An archive is named --archive DIR" in r.stdout


# ---- (b) convert: many files, --on-error, the archive's layout ---------------------------------


def test_convert_writes_the_archive_layout_one_lot_per_stream(archive: Path, tmp_path: Path) -> None:
    import stdf_duck

    out = tmp_path / "pq"
    r = run("convert", fx("concat.stdf"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    fid = stdf_duck._native.file_id(fx("concat.stdf"))
    want = {
        f"{t}/part_typ={PART_TYP}/test_stage={STAGE}/lot_id={lot}/{fid}.parquet"
        for t in ("parts", "tests", "results")
        for lot in ("CONCAT_A", "CONCAT_B")
    }
    assert layout(out) == want
    # the same paths as the archive's (which has three more tables)
    assert want <= layout(archive)
    rows = {
        (t, lot): pq.read_table(
            out / t / f"part_typ={PART_TYP}" / f"test_stage={STAGE}" / f"lot_id={lot}" / f"{fid}.parquet"
        )
        for t in ("parts", "results", "tests")
        for lot in ("CONCAT_A", "CONCAT_B")
    }
    assert rows["parts", "CONCAT_A"].num_rows == 16 and rows["parts", "CONCAT_B"].num_rows == 17
    assert rows["results", "CONCAT_A"].num_rows == 96 and rows["results", "CONCAT_B"].num_rows == 98
    for lot, stream in (("CONCAT_A", 0), ("CONCAT_B", 1)):  # never a row of the other lot
        for t in ("parts", "results", "tests"):
            assert set(rows[t, lot].column("stream_index").to_pylist()) == {stream}, (t, lot)
        assert set(rows["tests", lot].column("test_num").to_pylist()) == {1000, 1010, 1020, 1030, 1040}
    assert [p.name for p in out.iterdir()] and not [p for p in out.iterdir() if p.name.startswith(".")]


def test_convert_and_materialize_share_one_sanitize_rule(tmp_path: Path) -> None:
    # ':' was replaced and spaces trimmed by the Rust writer only; '*' and '?' by the archive only
    product, stage = "A:B*C? ", " S1"
    out = tmp_path / "pq"
    r = run("convert", fx("multisite_le.stdf"), "--out", str(out), "--product", product, "--stage", stage)
    assert r.returncode == 0, r.stderr
    dirs = {str(p.parent.relative_to(out)) for p in out.rglob("*.parquet")}
    assert dirs == {f"{t}/part_typ=A:B_C_ /test_stage= S1/lot_id=MS4LOT" for t in ("parts", "tests", "results")}
    arch = tmp_path / "arch"
    r = run(
        "materialize", fx("multisite_le.stdf"), "--archive", str(arch), "--product", product, "--stage", stage, "-q"
    )
    assert r.returncode == 0, r.stderr
    assert layout(out) <= layout(arch)


def test_python_parse_to_parquet_uses_the_archive_rule(tmp_path: Path) -> None:
    import stdf_duck

    stats = stdf_duck.parse_to_parquet(fx("multisite_le.stdf"), tmp_path, "a/b=c", "")
    assert {str(Path(f).parent.relative_to(tmp_path)) for f in stats["files"]} == {
        f"{t}/part_typ=a_b_c/test_stage=__NULL__/lot_id=MS4LOT" for t in ("parts", "tests", "results")
    }
    assert (stats["parts"], stats["warnings"]) == (94, 0)


def test_convert_takes_files_folders_and_globs(tmp_path: Path) -> None:
    src = tmp_path / "lots"
    (src / "sub").mkdir(parents=True)
    for name, dst in (("multisite_le.stdf", "a.std"), ("no_pir.stdf", "sub/b.stdf"), ("mpr_ftr.stdf", "c.stdf")):
        (src / dst).write_bytes((FIXTURES / name).read_bytes())
    (src / "notes.txt").write_text("not STDF")
    out = tmp_path / "pq"
    r = run("convert", str(src / "sub"), str(src / "*.std"), str(src / "c.stdf"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    lots = {p.parent.name for p in out.glob("parts/*/*/*/*.parquet")}
    assert lots == {"lot_id=MS4LOT", "lot_id=NOPIR01", "lot_id=MPRFTR"}
    n_parts = sum(pq.read_table(p).num_rows for p in out.glob("parts/*/*/*/*.parquet"))
    assert n_parts == 94 + 25 + 3
    r = run("convert", str(tmp_path / "missing.stdf"), "--out", str(out))
    assert r.returncode == 2 and "missing.stdf" in r.stderr


def test_convert_on_error(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    r = run("convert", fx("truncated.stdf"), fx("mpr_ftr.stdf"), "--out", str(out))
    assert r.returncode == 1  # the damaged file fails, the other one is written
    assert "1808" in r.stderr and "truncated.stdf" in r.stderr and "Traceback" not in r.stderr
    assert {p.parent.name for p in out.glob("parts/*/*/*/*.parquet")} == {"lot_id=MPRFTR"}
    r = run("convert", fx("truncated.stdf"), "--out", str(out), "--on-error", "warn")
    assert r.returncode == 0, r.stderr
    assert re.search(r"warning: .*truncated\.stdf: .* at byte 1,808", r.stderr), r.stderr
    (parts,) = out.glob("parts/*/*/lot_id=TRUNC01/*.parquet")
    (results,) = out.glob("results/*/*/lot_id=TRUNC01/*.parquet")
    closed = [b for b in pq.read_table(parts).column("hard_bin").to_pylist() if b is not None]
    assert len(closed) == 6  # the parts closed by a PRR before the cut
    assert pq.read_table(results).column("rec_type").to_pylist().count("PTR") == 20
    r = run("convert", fx("truncated.stdf"), "--out", str(out), "--on-error", "ignore")
    assert r.returncode == 2


# ---- (c) the example configuration's include globs ----------------------------------------------

STDF_NAMES = [
    "lot.std",
    "lot.stdf",
    "lot.std.gz",
    "lot.stdf.gz",
    "lot.std.bz2",
    "lot.stdf.bz2",
    "lot.std.zip",
    "lot.stdf.zip",
    "lot.std.zst",
    "lot.stdf.zst",
    "A12/WS1/lot_3.stdf.gz",
    "d10_1.std",
]
OTHER_NAMES = ["lot.stdf.tmp", "lot.std.part", "notes.txt", "lot.stdout", "lot.csv", "lot.gz"]


def test_example_config_include_matches_every_stdf_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from stdf_duck.cli.sync import EXAMPLE

    monkeypatch.setenv("FLOOR1_FTP_PASSWORD", "pw")
    cfg = parse_config(tomllib.loads(EXAMPLE), str(tmp_path / "stdf-duck.toml"))
    assert [s.name for s in cfg.sources] == ["floor1", "local-drop"]
    for s in cfg.sources:
        assert [n for n in STDF_NAMES if not matches(n, s.include, s.exclude)] == [], s.name
        assert [n for n in OTHER_NAMES if matches(n, s.include, s.exclude)] == [], s.name


def test_config_module_example_include_matches_every_stdf_name() -> None:
    import stdf_duck.config as config_module

    doc = config_module.__doc__ or ""
    (line,) = [x for x in doc.splitlines() if x.strip().startswith("include = ")]
    include = json.loads(line.split("=", 1)[1].split("#")[0])
    assert [n for n in STDF_NAMES if not matches(n, include, [])] == []


# ---- (d) redaction: short secrets spare host names, no secret ever logged -----------------------

HOST_TEXT = "listing ftp://ftp.floor1.example.com/outgoing/stdf (ftp.floor1.example.com, ftp-2.example.com)"


@pytest.mark.parametrize("secret", ["e", "ex", "ftp", "com", "flo", "floor1", "example", "out", "2", ".", "-"])
def test_short_secret_spares_host_names(secret: str) -> None:
    from stdf_duck.config import Config

    cfg = Config(path="x.toml", archive="a", secrets=[secret])
    assert cfg.redact(HOST_TEXT) == HOST_TEXT
    assert cfg.redact(f"ftp://tester:{secret}@ftp.example.com/x") == "ftp://tester:***@ftp.example.com/x"


# the secrets below never share a character with the messages, so "not in" is a strict check
ALPHABET = "ZQ8!K9X@W%"
MESSAGES = [
    "ftp://tester:{s}@ftp.floor.example.com/outgoing",
    "ftp://tester:{q}@ftp.floor.example.com/outgoing",
    "login as tester with password '{s}' refused",
    'login as tester with password "{s}" refused',
    "sending: PASS {s}",
    "options: {{'password': '{s}'}}",
    "the password is {s}",
    "the password is {s}.",
    "{s}",
    "(password={s}, user=tester)",
]


def test_secrets_of_every_length_never_appear_in_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stdf_duck.cli.progress import setup_logging as _setup_logging
    from stdf_duck.config import Config

    secrets = [(ALPHABET * 5)[:n] for n in range(1, 41)]
    cfg = Config(path="x.toml", archive="a", secrets=secrets)
    handler = _setup_logging(cfg, 2, False)
    log = logging.getLogger("stdf_duck.sync")
    try:
        for s in secrets:
            for m in MESSAGES:
                text = m.format(s=s, q=urllib.parse.quote(s, safe=""))
                log.error(text)  # as the message
                log.error("%s", text)  # as an argument of it
    finally:
        logging.getLogger("stdf_duck").removeHandler(handler)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 * len(secrets) * len(MESSAGES)
    for s in secrets:
        assert s not in err and urllib.parse.quote(s, safe="") not in err, s
    assert lines[0].endswith("ERROR ftp://tester:***@ftp.floor.example.com/outgoing")
    assert lines[4].endswith("ERROR login as tester with password '***' refused")


def test_short_password_through_a_sync(tmp_path: Path) -> None:
    from ftp_server import FtpServer

    tree = tmp_path / "ftp"
    tree.mkdir()
    (tree / "a.stdf").write_bytes((FIXTURES / "mpr_ftr.stdf").read_bytes())
    for i, pw in enumerate(("lo", "ho")):  # inside "localhost"
        with FtpServer(str(tree), password=pw) as srv:
            url = srv.url.replace("127.0.0.1", "localhost")
            toml = tmp_path / f"{i}.toml"
            toml.write_text(
                f'[archive]\npath = "arch{i}"\n[sync]\nstable_seconds = 0\nworkers = 1\n'
                f'[[sources]]\nname = "floor1"\nurl = "{url}"\npassword = "${{PW}}"\n'
            )
            r = run("sync", "--config", str(toml), "-vv", env={"PW": pw})
            assert r.returncode == 0, r.stderr
            port = url.rsplit(":", 1)[1].split("/")[0]
            assert f"ftp://localhost:{port}/" in r.stderr  # the host survives
            assert not re.search(rf"(?<![A-Za-z0-9_]){pw}(?![A-Za-z0-9_])", r.stdout + r.stderr)
            st = run("status", "--config", str(toml), "--json", env={"PW": pw})
            assert f"ftp://localhost:{port}/" in st.stdout


# ---- (e) a name that does not resolve is not retried --------------------------------------------


def test_dns_failure_fails_fast_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stdf_duck import sync as sy
    from stdf_duck.cli import main

    calls: list[str] = []

    def no_dns(host: Any, *a: Any, **k: Any) -> Any:
        calls.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    raw = {
        "archive": {"path": str(tmp_path / "arch")},
        "sync": {"stable_seconds": 0},
        "retry": {"attempts": 5, "backoff_seconds": 2},  # 5 attempts would wait 2 + 4 + 8 + 16 s
        "sources": [{"name": "floor1", "url": "ftp://tester@ftp.nosuch.invalid/stdf"}],
    }
    cfg = parse_config(raw, str(tmp_path / "stdf-duck.toml"))
    want = "cannot resolve the host name 'ftp.nosuch.invalid' (Name or service not known)"
    for dry_run in (True, False):
        calls.clear()
        t0 = time.monotonic()
        rep = sy.sync(cfg, dry_run=dry_run)
        assert time.monotonic() - t0 < 1.5
        assert calls == ["ftp.nosuch.invalid"]
        assert want in rep.source_errors["floor1"] and not rep.ok
    toml = tmp_path / "stdf-duck.toml"
    toml.write_text(
        '[archive]\npath = "arch"\n[retry]\nattempts = 5\nbackoff_seconds = 2\n'
        '[[sources]]\nname = "floor1"\nurl = "ftp://tester@ftp.nosuch.invalid/stdf"\n'
    )
    calls.clear()
    assert main(["sync", "--config", str(toml), "--dry-run"]) == 1
    out = capsys.readouterr()
    assert calls == ["ftp.nosuch.invalid"] and "retrying" not in out.err
    assert want in out.out.replace("\n", " ") or want in out.err
