#!/usr/bin/env python3
"""Materialize throughput and memory: STDF -> the Parquet archive, one decoding pass per file.

    .venv/bin/python bench/bench_materialize.py            # 100 MiB files: stdf-gen and real-derived
    .venv/bin/python bench/bench_materialize.py --quick    # 20 MiB files, one repeat
    .venv/bin/python bench/bench_materialize.py --big      # also 400 MiB and 2 GiB files (peak RSS)

Measured, each in a fresh process with the page cache warm, best of --repeat:

  materialize     `stdf_duck.archive.materialize`: every archive table (parts, results sorted by
                  test + result_params, tests, bins, wafers, warnings, files) by the native writer,
                  ledger and atomic renames included (what `stdf-duck materialize` does)
  rust/3 tables   `stdf_duck.parse_to_parquet` (parts, tests, results with every column; the direct
                  writer of `stdf-duck convert`), for comparison
  stdf-convert+pa the PyPI peer stdf-convert decoding every record type into pyarrow Tables and
                  pyarrow writing each as a zstd Parquet file (bench/.peers-venv, as bench/run.py;
                  --no-peers leaves it out), 1 file, its own process
  stdf2pq ingest  with `--stdf2pq PATH` (a checkout of github.com/Kei0bb/STDF, the pure-Python
                  pipeline stdf_duck replaces): `stdf ingest FILE -p BENCH` in a throwaway venv
                  (bench/data/stdf2pq-venv, `pip install PATH`), 1 file, its own process

with 1 worker on 1 file (1 thread: per core; for materialize also all threads, where the results are
encoded beside the decoding), and with one worker per CPU on one file each (scaling: MB/s of N workers
over N x one worker). Files: synthetic PTR-heavy multi-site lots of rust/stdf-gen (one seed per
file, so that the archive does not take them for duplicates), and files built from real tester files
of ../shared/data/stdf by repeating their part blocks (bench/grow.py), cached in bench/data/materialize/.
MB = 10^6 bytes of uncompressed STDF; MB/s = MB / wall second of the work (imports not timed; the
stdf2pq row is timed from outside its process, its interpreter start included, ~0.5 s); MB/cpu-s =
MB / CPU second; peak RSS = the largest resident set of the measuring process or its workers
(interpreter, duckdb and pyarrow included: about 60-70 MiB of it).
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


#: real tester files whose part blocks are repeated (bench/grow.py): (label, path under ../shared/data/stdf)
REAL = [
    ("V93000 4-site", "stdf2xls/main_Lot_1_Jan_12_17h35m56s.stdf"),
    ("A530", "rust-stdf/lot2.stdf.gz"),
]
SHARED = REPO.parent / "shared" / "data" / "stdf"


def real_lot(label: str, rel: str, size_mb: int, copy: int) -> Path | None:
    """A cached file of `size_mb` MiB built from a real file (None when the data is absent)."""
    sys.path.insert(0, str(BENCH))
    from grow import grow

    src = SHARED / rel
    if not src.is_file():
        return None
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"real_{Path(rel).name.split('.')[0]}_{size_mb}mib_{copy}.stdf"
    if not out.exists():
        log(f"building {out.name} from {label} ...")
        grow(src, out, size_mb, extra=copy)  # another size, another file_id: not a duplicate
    return out


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


# ---- measurements (run in a child process: `--measure KIND WORKERS FILE...`) -----------------


def measure(kind: str, workers: int, threads: int, files: list[str]) -> dict[str, Any]:
    out = tempfile.mkdtemp(prefix="bench-mat-", dir=str(DATA))
    if kind == PEER:  # in the peers' venv (bench/run.py: stdf-convert, pyarrow), no stdf_duck
        import pyarrow.parquet  # noqa: F401
        import stdf_convert  # noqa: F401
    else:
        import pyarrow  # noqa: F401

        import stdf_duck
        from stdf_duck import archive as arc

        if kind == "count/sum":  # the query is timed, not the extension's loading
            con = stdf_duck.connect()
            con.execute("SET threads = 1")
    # imports are not timed (about 0.3 s of a count/sum of 0.4 s): the rows measure the work
    t0 = time.perf_counter()
    route = ""
    try:
        if kind == PEER:
            route = peer_write(files, out)
            wall = time.perf_counter() - t0
            return _usage(wall, route)

        if kind == "materialize":
            rep = arc.materialize(files, out, workers=workers, threads=threads)
            assert rep.ok and rep.count("ok") == len(files), [o.error for o in rep.failed]
            route = rep.route
        elif kind == "all columns":  # stdf_results streamed through the Arrow C stream, 1 thread
            import pyarrow as pa

            rows = 0
            for b in pa.RecordBatchReader.from_stream(stdf_duck.read("results", files, threads=1)):
                rows += b.num_rows
            route = f"{rows} rows"
        elif kind == "count/sum":  # SQL over the DuckDB extension's table function, 1 thread
            con.execute("SELECT count(*), sum(result) FROM stdf_results(?)", [files]).fetchall()
            route = str(stdf_duck.route(con))
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
    return _usage(wall, route)


#: stdf-convert decoding every record type into pyarrow Tables, pyarrow writing each as zstd Parquet
PEER = "stdf-convert+pa"


def peer_write(files: list[str], out: str) -> str:
    """The peers' way to an archive of the same rows: stdf_convert.tables() (every record type of
    the file as a pyarrow Table), each written by pyarrow.parquet as one zstd file."""
    import pyarrow.parquet as pq
    import stdf_convert

    rows = 0
    for i, f in enumerate(files):
        for typ, t in stdf_convert.tables(f).items():
            pq.write_table(t, os.path.join(out, f"{i}_{typ}.parquet"), compression="zstd")
            rows += t.num_rows
    return f"{rows} rows"


def _usage(wall: float, route: str) -> dict[str, Any]:
    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime
    rss = max(ru_s.ru_maxrss, ru_c.ru_maxrss) / 1024  # KiB -> MiB (Linux)
    return {"wall": wall, "cpu": cpu, "route": route, "rss_mib": rss}


def stdf2pq_venv(checkout: Path) -> Path:
    """A venv with stdf2pq installed from `checkout` (made once, under bench/data: never committed)."""
    venv = BENCH / "data" / "stdf2pq-venv"
    exe = venv / "bin" / "stdf"
    if not exe.exists():
        log(f"installing stdf2pq from {checkout} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, str(checkout)], check=True)
    return exe


def run_stdf2pq(exe: Path, file: Path, repeat: int, data: str) -> dict[str, Any]:
    """`stdf ingest FILE` in a fresh directory (its ./data), timed from outside (interpreter start
    included, about 0.5 s of its 40 s on 100 MB); peak RSS of the process."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        cwd = tempfile.mkdtemp(prefix="bench-stdf2pq-", dir=str(DATA))
        try:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.run([str(exe), "ingest", str(file), "-p", "BENCH"], cwd=cwd, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                raise SystemExit(f"stdf2pq ingest failed:\n{p.stderr[-3000:]}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            r = {"wall": wall, "cpu": cpu, "route": "python", "rss_mib": after.ru_maxrss / 1024}
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
        if best is None or r["wall"] < best["wall"]:
            best = r
    assert best is not None
    mb = file.stat().st_size / 1e6
    return {
        "kind": "stdf2pq ingest",
        "data": data,
        "workers": 1,
        "threads": 1,
        "files": 1,
        "mb": mb,
        **best,
        "mb_s": mb / best["wall"],
        "mb_cpu_s": mb / best["cpu"],
    }


def run_child(
    kind: str, workers: int, threads: int, files: list[Path], repeat: int, data: str, python: str = sys.executable
) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    env = dict(os.environ)
    for _ in range(repeat):
        p = subprocess.run(
            [python, __file__, "--measure", kind, str(workers), str(threads), *map(str, files)],
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
        "data": data,
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
    ap.add_argument("--big", action="store_true", help="also one 400 MiB and one 2 GiB file (memory bound)")
    ap.add_argument("--stdf2pq", type=Path, help="a checkout of stdf2pq (github.com/Kei0bb/STDF): measured beside")
    ap.add_argument("--no-peers", action="store_true", help="without stdf-convert + pyarrow (bench/.peers-venv)")
    ap.add_argument("--json", type=Path, default=BENCH / "data" / "materialize_results.json")
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
    n = max(args.files, 1)
    sets: list[tuple[str, list[Path]]] = [("stdf-gen", [lot(args.size_mb, seed) for seed in range(1, n + 1)])]
    for label, rel in REAL:
        made = [real_lot(label, rel, args.size_mb, c) for c in range(n)]
        if all(m is not None for m in made):
            sets.append((f"real: {label}", [m for m in made if m is not None]))
    big: list[tuple[str, list[Path]]] = []
    if args.big:
        big = [(f"stdf-gen {mb} MiB", [lot(mb, 900 + mb)]) for mb in (400, 2048)]
    peer_py = None
    if not args.no_peers:
        sys.path.insert(0, str(BENCH))
        from run import PEERS_PY, ensure_peers

        ensure_peers()
        peer_py = str(PEERS_PY)
    rows = []
    for data, files in sets + big:
        warm(files)
        for kind in ("materialize", "rust/3 tables", "all columns", "count/sum"):
            if kind in ("all columns", "count/sum") and data.startswith("stdf-gen "):
                continue  # the big files are for memory
            shapes = [(1, 1, files[:1])]
            if kind == "materialize" and NCPU > 1:  # one file, every core: decoding beside encoding
                shapes.append((1, NCPU, files[:1]))
            if len(files) > 1 and kind in ("materialize", "rust/3 tables"):
                shapes.append((len(files), 1, files))
            for workers, threads, fs in shapes:
                log(f"{data}: {kind}, {workers} worker(s), {len(fs)} file(s) ...")
                rows.append(run_child(kind, workers, threads, fs, args.repeat, data))
        if peer_py is not None and not data.startswith("stdf-gen "):  # the big files are for memory
            log(f"{data}: {PEER}, 1 file ...")
            rows.append(run_child(PEER, 1, 1, files[:1], args.repeat, data, python=peer_py))
        if args.stdf2pq and not data.startswith("stdf-gen "):  # not on the big files: minutes each
            log(f"{data}: stdf2pq ingest, 1 file ...")
            rows.append(run_stdf2pq(stdf2pq_venv(args.stdf2pq), files[0], 1, data))
    print(
        f"\nmaterialize throughput, {args.size_mb} MiB uncompressed STDF per file, {NCPU} CPUs "
        f"({platform.processor() or platform.machine()}), best of {args.repeat}"
    )
    print(
        f"{'data':<22}{'route':<16}{'workers':>8}{'threads':>8}{'files':>6}{'MB':>8}{'wall s':>8}{'MB/s':>8}"
        f"{'MB/cpu-s':>10}{'peak RSS':>10}{'scaling':>9}"
    )
    one: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["data"], r["kind"])
        if r["workers"] == 1 and r["threads"] == 1:
            one[key] = r["mb_s"]
        scaling = f"{r['mb_s'] / (one[key] * r['workers']):.0%}" if r["workers"] > 1 and key in one else ""
        r["scaling"] = scaling
        print(
            f"{r['data']:<22}{r['kind']:<16}{r['workers']:>8}{r['threads']:>8}{r['files']:>6}{r['mb']:>8.0f}{r['wall']:>8.2f}"
            f"{r['mb_s']:>8.1f}{r['mb_cpu_s']:>10.1f}{r['rss_mib']:>7.0f} MiB{scaling:>9}"
        )
    ratios(rows)
    targets(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"size_mb": args.size_mb, "ncpu": NCPU, "rows": rows}, indent=2))
    log(f"\nwritten {args.json}")


#: issue 11's table: (what, figure before the one-pass writer, bar, goal)
TARGETS = [
    ("materialize, 1 worker, MB/s of decompressed STDF", "18", "100", "300"),
    ("materialize vs stdf2pq ingest, same file, same run", "7.4x", "20x", "50x"),
    ("peak RSS, one worker, any file size (MiB)", "2.0 GB", "300", "150"),
    ("all columns of stdf_results, 1 thread, MB/s", "65", "300", "600"),
    ("count(*), sum(result), 1 thread, MB/s", "350-460", "700", "1000"),
]


def targets(rows: list[dict[str, Any]]) -> None:
    """Today's figures for the rows of the targets table, per data set."""
    one = [r for r in rows if r["workers"] == 1 and r["threads"] == 1]
    by = {(r["data"], r["kind"]): r for r in one}
    data = list(dict.fromkeys(r["data"] for r in one if not r["data"].startswith("stdf-gen ")))

    def per(kind: str, fmt: Any) -> str:
        return "; ".join(f"{d}: {fmt(by[(d, kind)])}" for d in data if (d, kind) in by) or "-"

    def vs(r: dict[str, Any]) -> str:
        m = by.get((r["data"], "materialize"))
        return f"{r['wall'] / m['wall']:.1f}x" if m else "-"

    rss = [r for r in one if r["kind"] == "materialize"]
    worst = max(rss, key=lambda r: r["rss_mib"]) if rss else None
    today = [
        per("materialize", lambda r: f"{r['mb_s']:.0f}"),
        per("stdf2pq ingest", vs) if any(k == "stdf2pq ingest" for _, k in by) else "no --stdf2pq",
        f"{worst['rss_mib']:.0f} ({worst['data']}, {worst['mb']:.0f} MB)" if worst else "-",
        per("all columns", lambda r: f"{r['mb_s']:.0f}"),
        per("count/sum", lambda r: f"{r['mb_s']:.0f}"),
    ]
    print("\ntargets (issue 11): today | before | bar | goal")
    for (what, before, bar, goal), now in zip(TARGETS, today, strict=True):
        print(f"  {what:<52} {now}  | {before} | {bar} | {goal}")


def ratios(rows: list[dict[str, Any]]) -> None:
    """materialize (1 worker) against the other routes on the same file, same run."""
    by = {(r["data"], r["kind"]): r for r in rows if r["workers"] == 1 and r["threads"] == 1}
    lines = []
    for (data, kind), r in by.items():
        m = by.get((data, "materialize"))
        if m is None or kind not in ("rust/3 tables", PEER, "stdf2pq ingest"):
            continue
        lines.append(f"  {data:<22} materialize is {r['wall'] / m['wall']:5.1f}x {kind} (1 worker, 1 file)")
    if lines:
        print("\nratios (wall time of the other route / materialize's)")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
