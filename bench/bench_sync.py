#!/usr/bin/env python3
"""Sync throughput: `stdf-duck sync` from a loopback FTP server into a fresh archive.

    .venv/bin/python bench/bench_sync.py                 # 200 files of ~0.5 MiB in 4 product dirs
    .venv/bin/python bench/bench_sync.py --quick         # 40 files of ~0.25 MiB, one repeat
    .venv/bin/python bench/bench_sync.py --files 500 --file-mb 2 --repeat 3

The files are synthetic lots written by rust/stdf-gen (one seed and one lot id per file, so that
the archive does not take them for duplicates), cached in bench/data/sync-src/<N>x<MB>mib/ and
laid out as P1..P4/WS1/<lot>.stdf. tests/ftp_server.py serves them on 127.0.0.1 (pyftpdlib, in
its own process) for the whole run, with a random password given to the sync through
${BENCH_FTP_PASSWORD}.

Configurations, each into a fresh archive of its own (stable_seconds = 0):

  1 worker      [sync] workers = 1, download_workers = 1 (one file materialized at a time; its
                DuckDB connection still has a thread per CPU, as in `stdf-duck materialize`)
  all workers   [sync] workers = CPUs, download_workers = 4

Each run is `stdf-duck sync --config CFG -q` in a fresh process (wall time of the whole process,
interpreter start included, by time.perf_counter around subprocess.run; exit code 0 required),
then a second sync that finds nothing new (`incr s`: the listing plus the ledger, plus about 0.3 s
of interpreter start and imports; `in run`: its own seconds from the syncs table). Best of
--repeat (default 2). The result is checked: every file 'ingested' in the ledger (sync_files), nothing
downloaded by the second sync, and count(*) of the parts view equal to the sum of n_parts of
the source files (stdf_duck.read('files', ...)); a mismatch prints FAIL and exits 1.
MB = 10^6 bytes of STDF on disk (= downloaded). Results: stdout and bench/data/sync-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data"
SRC = DATA / "sync-src"
NCPU = os.cpu_count() or 1
PRODUCTS = ("P1", "P2", "P3", "P4")
USER = "tester"
PY = Path(sys.executable)


class Fail(Exception):
    """The sync failed or its result does not match the source files."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stdf_gen() -> Path:
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "stdf-gen"], cwd=REPO, check=True)
    return REPO / "target" / "release" / "stdf-gen"


def cli() -> list[str]:
    exe = PY.parent / "stdf-duck"
    return [str(exe)] if exe.exists() else [str(PY), "-m", "stdf_duck.cli"]


# ---- the source files --------------------------------------------------------------------------


def source_set(n_files: int, file_mb: float) -> tuple[Path, list[dict[str, Any]]]:
    """`n_files` lots of ~`file_mb` MiB under SRC/<n>x<mb>mib/P?/WS1/, cached with a manifest
    (relative path, bytes, seed, lot id, parts as stdf-gen counted them)."""
    root = SRC / f"{n_files}x{file_mb:g}mib"
    manifest = root / "manifest.json"
    if manifest.exists():
        try:
            m = json.loads(manifest.read_text())
            files = m["files"]
            if (m.get("n_files"), m.get("file_mb")) == (n_files, file_mb) and all(
                (root / f["rel"]).stat().st_size == f["bytes"] for f in files
            ):
                return root, files
        except (OSError, ValueError, KeyError):
            pass
        log(f"{root}: incomplete or changed, generated again")
    shutil.rmtree(root, ignore_errors=True)
    exe = stdf_gen()
    log(f"generating {n_files} files of ~{file_mb:g} MiB into {root} ...")
    files = []
    base = 10_000 + n_files * 7 + int(file_mb * 1000)  # another set draws other seeds
    for i in range(n_files):
        seed = base + i
        lot = f"SY{seed:06d}"
        rel = f"{PRODUCTS[i % len(PRODUCTS)]}/WS1/{lot}.stdf"
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(
            [str(exe), str(out), "--size-mb", f"{file_mb:g}", "--sites", "4", "--seed", str(seed), "--lot", lot],
            check=True,
            capture_output=True,
            text=True,
        )
        stats = next(json.loads(ln) for ln in p.stdout.splitlines() if '"kind":"lot"' in ln)
        files.append({"rel": rel, "bytes": out.stat().st_size, "seed": seed, "lot": lot, "parts": stats["parts"]})
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({"n_files": n_files, "file_mb": file_mb, "files": files}, indent=1))
    tmp.replace(manifest)
    return root, files


def expected_parts(root: Path, files: list[dict[str, Any]]) -> int:
    """Sum of n_parts over the source files as the engine reads them; must agree with stdf-gen."""
    import pyarrow.compute as pc

    import stdf_duck

    t = stdf_duck.read("files", [str(root / f["rel"]) for f in files], columns=["n_parts"]).to_arrow()
    n = int(pc.sum(t["n_parts"]).as_py() or 0)
    gen = sum(int(f["parts"]) for f in files)
    if t.num_rows != len(files) or n != gen:
        raise Fail(
            f"the source files: stdf_duck.read('files') gives {t.num_rows} files / {n} parts, "
            f"stdf-gen wrote {len(files)} files / {gen} parts"
        )
    return n


def warm(root: Path, files: list[dict[str, Any]]) -> None:
    for f in files:
        (root / f["rel"]).read_bytes()


# ---- the FTP server ----------------------------------------------------------------------------


def start_server(root: Path, password: str, work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = work / "ftp.port"
    errlog = open(work / "ftp.log", "wb")
    proc = subprocess.Popen(
        [str(PY), str(REPO / "tests" / "ftp_server.py"), str(root), str(port_file), USER, password],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=errlog,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    errlog.close()
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None:
            raise Fail(f"the FTP server exited ({proc.returncode}):\n{(work / 'ftp.log').read_text()[-3000:]}")
        if time.monotonic() > deadline:
            stop_server(proc)
            raise Fail("the FTP server did not write its port file within 30 s")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- one configuration -------------------------------------------------------------------------


def write_config(d: Path, port: int, workers: int, download_workers: int) -> Path:
    cfg = d / "stdf-duck.toml"
    cfg.write_text(f"""\
[archive]
path = "archive"

[sync]
workers = {workers}
download_workers = {download_workers}
stable_seconds = 0

[[sources]]
name = "bench"
url = "ftp://{USER}@127.0.0.1:{port}/"
password = "${{BENCH_FTP_PASSWORD}}"
include = ["*.stdf"]
""")
    return cfg


def run_sync(cfg: Path, env: dict[str, str], what: str) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(
        [*cli(), "sync", "--config", str(cfg), "-q"], cwd=cfg.parent, env=env, capture_output=True, text=True
    )
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise Fail(f"{what}: stdf-duck sync exited {p.returncode}\n{(p.stdout + p.stderr)[-3000:]}")
    return dt


def check(archive: Path, n_files: int, parts: int, what: str) -> tuple[float, float]:
    """Verify the archive after the two syncs; returns their own seconds (syncs.seconds)."""
    import duckdb

    con = duckdb.connect(str(archive / "archive.duckdb"), read_only=True)
    try:
        states = dict(con.execute("SELECT state, count(*) FROM sync_files GROUP BY ALL").fetchall())
        got_parts = con.execute("SELECT count(*) FROM parts").fetchall()[0][0]
        runs = con.execute(
            "SELECT status, n_listed, n_unchanged, bytes_downloaded, seconds FROM syncs ORDER BY sync_id"
        ).fetchall()
    finally:
        con.close()
    problems = []
    last = runs[-1] if len(runs) == 2 else None
    if len(runs) != 2:
        problems.append(f"{len(runs)} rows in syncs, expected 2")
    if states != {"ingested": n_files}:
        problems.append(f"sync_files states {states}, expected {{'ingested': {n_files}}}")
    if got_parts != parts:
        problems.append(f"parts has {got_parts} rows, the source files {parts} parts")
    if last is None or last[:4] != ("complete", n_files, n_files, 0):
        problems.append(
            f"the incremental sync: (status, n_listed, n_unchanged, bytes_downloaded) = {last and last[:4]}, "
            f"expected ('complete', {n_files}, {n_files}, 0)"
        )
    if problems:
        raise Fail(f"{what}: " + "; ".join(problems))
    return float(runs[0][4]), float(runs[1][4])


def measure(
    name: str, workers: int, dl: int, port: int, env: dict[str, str], n_files: int, parts: int, repeat: int, keep: bool
) -> dict[str, Any]:
    first: list[float] = []
    incr: list[float] = []
    inner: list[tuple[float, float]] = []
    for i in range(repeat):
        d = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=str(DATA)))
        try:
            cfg = write_config(d, port, workers, dl)
            what = f"{name} (run {i + 1})"
            first.append(run_sync(cfg, env, what))
            incr.append(run_sync(cfg, env, what + ", incremental"))
            inner.append(check(d / "archive", n_files, parts, what))
            log(
                f"  run {i + 1}: sync {first[-1]:.2f} s ({inner[-1][0]:.2f} s in the run), "
                f"incremental {incr[-1]:.2f} s ({inner[-1][1]:.3f} s in the run)"
            )
        finally:
            if keep:
                log(f"  kept {d}")
            else:
                shutil.rmtree(d, ignore_errors=True)
    best = min(range(repeat), key=lambda i: first[i])
    return {
        "config": name,
        "workers": workers,
        "download_workers": dl,
        "seconds": first[best],
        "run_seconds": inner[best][0],
        "incr_seconds": min(incr),
        "incr_run_seconds": min(x[1] for x in inner),
        "all_seconds": first,
        "all_incr_seconds": incr,
        "all_run_seconds": [list(x) for x in inner],
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    ap.add_argument("--files", type=int, default=None, help="number of files (default 200; --quick 40)")
    ap.add_argument("--file-mb", type=float, default=None, help="MiB of STDF per file (default 0.5; --quick 0.25)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per configuration, best of (default 2)")
    ap.add_argument("--quick", action="store_true", help="40 files of 0.25 MiB, one repeat")
    ap.add_argument("--json", type=Path, default=DATA / "sync-results.json")
    ap.add_argument("--keep", action="store_true", help="keep the archives (bench/data/bench-sync-*)")
    args, unknown = ap.parse_known_args()  # `make bench BENCH_ARGS=...` may carry options of bench/run.py
    if unknown:
        log(f"ignored options: {' '.join(unknown)}")
    if args.quick:
        args.repeat = 1
    n_files = args.files if args.files is not None else (40 if args.quick else 200)
    file_mb = args.file_mb if args.file_mb is not None else (0.25 if args.quick else 0.5)
    if n_files < 1 or file_mb <= 0 or args.repeat < 1:
        ap.error("--files, --file-mb and --repeat must be positive")

    # SIGTERM ends the run like Ctrl-C: the server is stopped by the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server: subprocess.Popen[bytes] | None = None
    work = Path(tempfile.mkdtemp(prefix="bench-sync-ftp-", dir=str(DATA)))
    try:
        root, files = source_set(n_files, file_mb)
        parts = expected_parts(root, files)
        mb = sum(f["bytes"] for f in files) / 1e6
        warm(root, files)
        password = secrets.token_urlsafe(12)
        server, port = start_server(root, password, work)
        log(f"FTP server on 127.0.0.1:{port} (pid {server.pid}) serving {n_files} files, {mb:.1f} MB, {parts} parts")
        env = dict(os.environ, BENCH_FTP_PASSWORD=password)
        env.pop("STDF_DUCK_CONFIG", None)
        rows = []
        for name, workers, dl in (("1 worker", 1, 1), ("all workers", NCPU, 4)):
            log(f"{name}: workers = {workers}, download_workers = {dl} ...")
            r = measure(name, workers, dl, port, env, n_files, parts, args.repeat, args.keep)
            r.update(files=n_files, mb=mb, parts=parts, files_s=n_files / r["seconds"], mb_s=mb / r["seconds"])
            rows.append(r)
    except Fail as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_server(server)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nstdf-duck sync from a loopback FTP server, {n_files} files of ~{file_mb:g} MiB, {NCPU} CPUs "
        f"({platform.processor() or platform.machine()}), best of {args.repeat}; each sync a fresh process"
    )
    print(
        f"{'config':<13}{'workers':>8}{'dl':>4}{'files':>7}{'MB':>8}{'sync s':>9}{'files/s':>9}{'MB/s':>8}"
        f"{'incr s':>8}{'in run':>8}"
    )
    for r in rows:
        print(
            f"{r['config']:<13}{r['workers']:>8}{r['download_workers']:>4}{r['files']:>7}{r['mb']:>8.1f}{r['seconds']:>9.2f}"
            f"{r['files_s']:>9.1f}{r['mb_s']:>8.2f}{r['incr_seconds']:>8.2f}{r['incr_run_seconds']:>8.3f}"
        )
    print(
        "sync s, incr s: wall seconds of the `stdf-duck sync` process (interpreter start included); "
        "in run: the incremental sync's own seconds (syncs.seconds: listing + ledger)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "n_files": n_files,
                "file_mb": file_mb,
                "repeat": args.repeat,
                "ncpu": NCPU,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "rows": rows,
            },
            indent=2,
        )
    )
    log(f"\nwritten {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
