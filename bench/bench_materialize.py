#!/usr/bin/env python3
"""Materialize throughput: STDF -> Parquet archive, the SQL COPY route against the direct Rust route.

    .venv/bin/python bench/bench_materialize.py            # 100 MiB per file, one file per CPU
    .venv/bin/python bench/bench_materialize.py --quick    # 20 MiB per file, one repeat
    .venv/bin/python bench/bench_materialize.py --size-mb 200 --repeat 3 --json out.json

Measured, each in a fresh process with the page cache warm, best of --repeat:

  copy/materialize   `stdf_duck.archive.materialize`: the 6 archive tables (parts, results sorted
                     by test, tests, bins, wafers, files) through SQL COPY of the stdf_* functions,
                     ledger and atomic renames included (what `stdf-duck materialize` does)
  copy/3 tables      the COPY statements alone for parts, tests, results (what the direct route writes)
  rust/3 tables      `stdf_duck.parse_to_parquet` (parts, tests, results; one Rust pass, zstd)

each with 1 worker on 1 file (DuckDB threads = 1), with one worker per CPU on one file per CPU, and for
materialize also 1 worker with all CPUs on 1 file (the small tables are then written beside results).
MB = 10^6 bytes of uncompressed STDF read; MB/s = MB / wall second; MB/cpu-s = MB / CPU second
(user + system of the process and its children: per-core throughput whatever the parallelism).
Files are synthetic PTR-heavy multi-site lots written by rust/stdf-gen (cached in bench/data/materialize/),
one seed per file so that the archive does not take them for duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data" / "materialize"
NCPU = os.cpu_count() or 1


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stdf_gen() -> Path:
    exe = REPO / "target" / "release" / "stdf-gen"
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "stdf-gen"], cwd=REPO, check=True)
    return exe


def lot(size_mb: int, seed: int) -> Path:
    """A cached synthetic lot of `size_mb` MiB (uncompressed)."""
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"lot_{size_mb}mib_seed{seed}.stdf"
    if not out.exists():
        log(f"generating {out.name} ...")
        tmp = out.with_suffix(".tmp")
        subprocess.run(
            [
                str(stdf_gen()),
                str(tmp),
                "--size-mb",
                str(size_mb),
                "--sites",
                "8",
                "--seed",
                str(seed),
                "--lot",
                f"BENCH{seed:03d}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tmp.rename(out)
    return out


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


# ---- measurements (run in a child process: `--measure KIND WORKERS FILE...`) -----------------


def measure(kind: str, workers: int, threads: int, files: list[str]) -> dict[str, Any]:
    import stdf_duck
    from stdf_duck import archive as arc
    from stdf_duck.archive._sql import render, sql_literal
    from stdf_duck.archive.worker import connect

    out = tempfile.mkdtemp(prefix="bench-mat-", dir=str(DATA))
    t0 = time.perf_counter()
    route = ""
    try:
        if kind == "copy/materialize":
            rep = arc.materialize(files, out, workers=workers, threads=threads)
            assert rep.ok and rep.count("ok") == len(files), [o.error for o in rep.failed]
            route = rep.route
        elif kind == "copy/3 tables":
            from concurrent.futures import ThreadPoolExecutor

            def one(i: int, f: str) -> str:
                con = connect(threads=1)
                try:
                    for t in ("parts", "tests", "results"):
                        target = sql_literal(os.path.join(out, f"{i}-{t}.parquet"))
                        con.execute(
                            render(f"copy_{t}", path=sql_literal(f), on_error="'raise'", where="", target=target)
                        )
                    return str(stdf_duck.route(con))
                finally:
                    con.close()

            with ThreadPoolExecutor(workers) as ex:  # each COPY runs in DuckDB without the GIL
                route = list(ex.map(one, range(len(files)), files))[0]
        elif kind == "rust/3 tables":
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as ex:  # parse_to_parquet releases the GIL
                list(
                    ex.map(
                        lambda a: stdf_duck.parse_to_parquet(a[1], os.path.join(out, str(a[0])), "P", "S"),
                        enumerate(files),
                    )
                )
            route = "rust"
        else:
            raise SystemExit(f"unknown measurement {kind}")
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime
    return {"wall": wall, "cpu": cpu, "route": route}


def run_child(
    kind: str, workers: int, threads: int, files: list[Path], repeat: int, extension: str | None
) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    env = dict(os.environ)
    # the COPY route runs natively when stdf_duck.connect() finds the extension, else by SQL rewrite
    env["STDF_DUCK_EXTENSION"] = extension or str(DATA / "no-extension")
    for _ in range(repeat):
        p = subprocess.run(
            [sys.executable, __file__, "--measure", kind, str(workers), str(threads), *map(str, files)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
        )
        if p.returncode != 0:
            raise SystemExit(f"{kind} failed:\n{p.stderr[-3000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        if best is None or r["wall"] < best["wall"]:
            best = r
    assert best is not None
    mb = sum(f.stat().st_size for f in files) / 1e6
    # the child's CPU time includes the interpreter start and imports; wall is measured inside
    return {
        "kind": kind,
        "workers": workers,
        "threads": threads,
        "files": len(files),
        "mb": mb,
        **best,
        "mb_s": mb / best["wall"],
        "mb_cpu_s": mb / best["cpu"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=100, help="MiB of STDF per file (default 100)")
    ap.add_argument("--files", type=int, default=NCPU, help="files (and workers) of the parallel runs (default: CPUs)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="20 MiB files, one repeat")
    ap.add_argument("--json", type=Path, default=BENCH / "data" / "materialize_results.json")
    ap.add_argument(
        "--extension",
        default=str(REPO / "target" / "release" / "stdf.duckdb_extension"),
        help="the DuckDB extension for the native COPY route (skipped when absent; make extension)",
    )
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args, unknown = ap.parse_known_args()  # `make bench BENCH_ARGS=...` may carry options of bench/run.py
    if unknown:
        log(f"ignored options: {' '.join(unknown)}")
    if args.measure:
        kind, workers, threads, *files = args.measure
        print(json.dumps(measure(kind, int(workers), int(threads), files)))
        return
    if args.quick:
        args.size_mb, args.repeat = 20, 1
    files = [lot(args.size_mb, seed) for seed in range(1, max(args.files, 1) + 1)]
    warm(files)
    routes: list[str | None] = [None]
    if os.path.isfile(args.extension):
        routes.insert(0, args.extension)
    else:
        log(f"no extension at {args.extension}: the COPY route is measured on the rewrite route only")
    plan: list[tuple[str, str | None]] = [(k, e) for k in ("copy/materialize", "copy/3 tables") for e in routes]
    plan.append(("rust/3 tables", None))
    # (workers, DuckDB threads per worker, files): one core; all cores on one file (materialize only);
    # one worker per CPU on one file each
    shapes = [(1, 1, files[:1])]
    rows = []
    for kind, ext in plan:
        sh = list(shapes)
        if kind == "copy/materialize" and NCPU > 1:
            sh.append((1, NCPU, files[:1]))
        if len(files) > 1:
            sh.append((len(files), 1, files))
        for workers, threads, fs in sh:
            log(
                f"{kind} ({'native' if ext else 'rewrite' if kind.startswith('copy') else 'rust'}): "
                f"{workers} worker(s) x {threads} thread(s), {len(fs)} file(s) ..."
            )
            rows.append(run_child(kind, workers, threads, fs, args.repeat, ext))
    print(
        f"\nmaterialize throughput, {args.size_mb} MiB uncompressed STDF per file, {NCPU} CPUs "
        f"({platform.processor() or platform.machine()}), best of {args.repeat}"
    )
    print(
        f"{'route':<20}{'workers':>8}{'threads':>8}{'files':>6}{'MB':>9}{'wall s':>9}{'MB/s':>9}{'MB/cpu-s':>10}  engine"
    )
    for r in rows:
        print(
            f"{r['kind']:<20}{r['workers']:>8}{r['threads']:>8}{r['files']:>6}{r['mb']:>9.1f}{r['wall']:>9.2f}"
            f"{r['mb_s']:>9.1f}{r['mb_cpu_s']:>10.1f}  {r['route']}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"size_mb": args.size_mb, "ncpu": NCPU, "rows": rows}, indent=2))
    log(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
