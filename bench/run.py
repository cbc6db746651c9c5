#!/usr/bin/env python3
"""stdf_duck benchmark against the PyPI peers (stdf-convert, pystdf), in one run on the same files.

    .venv/bin/python bench/run.py                 # full run (200 MB synthetic file, 2x file, peers)
    .venv/bin/python bench/run.py --quick         # smoke run (~20 MB file, one repeat)
    .venv/bin/python bench/run.py --no-peers      # stdf_duck only

What it does (design.md section 3):
  * installs the peers into bench/.peers-venv (pip) and runs them there, in subprocesses;
  * generates synthetic PTR-heavy multi-site files with rust/stdf-gen into bench/data/ (cached):
    the main uncompressed file (--size-mb), a 2x file for the memory check, a small file for
    pystdf, a gzip file for the compressed path, and symlinks to the main file for scaling;
  * reads the real files of ../shared/data/stdf too;
  * runs every measurement in a fresh process (bench/_worker.py), the page cache warmed first,
    and reports wall seconds (best of --repeat), MB/s of decompressed STDF, MB per CPU-second,
    peak RSS, and the stdf_duck / peer ratios of the same run;
  * prints the tables and writes bench/data/results.json.

MB = 10^6 bytes of decompressed STDF; RSS in MiB (process high-water mark, ru_maxrss).
Only the Python standard library is needed here; the workers import stdf_duck/duckdb/pyarrow
(project venv) or stdf_convert/pystdf (peers venv).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data"
PEERS_VENV = BENCH / ".peers-venv"
PEERS_PY = PEERS_VENV / "bin" / "python"
WORKER = BENCH / "_worker.py"
REAL_DIR = (REPO / ".." / "shared" / "data" / "stdf").resolve()
PEER_PACKAGES = ["stdf-convert", "pystdf", "pyarrow"]
NCPU = os.cpu_count() or 1


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- setup -------------------------------------------------------------------------------


def ensure_peers() -> dict:
    """Create bench/.peers-venv and pip install the peers (once); return their versions."""
    if not PEERS_PY.exists():
        log(f"creating {PEERS_VENV} ...")
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    probe = "import stdf_convert, pystdf, pyarrow"
    if subprocess.run([str(PEERS_PY), "-c", probe], capture_output=True).returncode != 0:
        log(f"pip install {' '.join(PEER_PACKAGES)} into {PEERS_VENV} ...")
        subprocess.run([str(PEERS_PY), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    out = subprocess.run(
        [
            str(PEERS_PY),
            "-c",
            "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in "
            + repr(PEER_PACKAGES)
            + "}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def duck_versions() -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, stdf_duck, duckdb, pyarrow; print(json.dumps({'stdf_duck': stdf_duck.__version__,"
            " 'duckdb': duckdb.__version__, 'pyarrow': pyarrow.__version__,"
            " 'stdf_duck_native_built': __import__('time').strftime('%Y-%m-%dT%H:%M:%S', __import__('time').localtime("
            "__import__('os').path.getmtime(stdf_duck._native.__file__)))}))",
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(
            "stdf_duck is not importable from this interpreter "
            f"({sys.executable}); run `.venv/bin/maturin develop --release` first.\n{out.stderr}"
        )
    return json.loads(out.stdout)


def stdf_gen_binary(build: bool) -> Path | None:
    """Build rust/stdf-gen (cargo, incremental) and return target/release/stdf-gen."""
    if not (REPO / "rust" / "stdf-gen").is_dir():
        return None
    exe = REPO / "target" / "release" / "stdf-gen"
    if build and shutil.which("cargo"):
        log("cargo build --release -p stdf-gen ...")
        r = subprocess.run(["cargo", "build", "--release", "-q", "-p", "stdf-gen"], cwd=REPO)
        if r.returncode != 0:
            log("warning: stdf-gen failed to build")
    return exe if exe.exists() else None


def generate(gen: Path, name: str, size_mb: int, gen_args: list[str], gz: bool = False) -> Path:
    """bench/data/<name> from stdf-gen, cached (regenerated only when missing); the generator's
    statistics (records per type, parts, ...) are kept next to it as <name>.stats.jsonl."""
    out = DATA / name
    if out.exists() and out.stat().st_size > 0:
        return out
    cmd = [str(gen), str(out) + ".tmp", "--size-mb", str(size_mb), *gen_args]
    if gz:
        cmd.append("--gzip")
    log(f"generating {out.name}: stdf-gen {' '.join(cmd[2:])}")
    t = time.perf_counter()
    p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    (DATA / (name + ".stats.jsonl")).write_text(p.stdout)
    os.replace(str(out) + ".tmp", out)
    log(f"  {out.stat().st_size / 1e6:.1f} MB on disk in {time.perf_counter() - t:.1f}s")
    return out


def gen_stats(path: Path) -> dict:
    """The generator's 'lot' and 'records' lines for a generated file (empty if unknown)."""
    side = path.with_name(path.name + ".stats.jsonl")
    out: dict = {}
    if side.exists():
        for ln in side.read_text().splitlines():
            try:
                d = json.loads(ln)
            except ValueError:
                continue
            if d.get("kind") in ("lot", "records"):
                out[d.pop("kind")] = d
    return out


def stream_size(path: Path) -> int:
    """Decompressed size of a (possibly gzip) file; cached next to the file for .gz."""
    if not path.name.endswith(".gz"):
        return path.stat().st_size
    side = path.with_name(path.name + ".size")
    if side.exists() and side.stat().st_mtime >= path.stat().st_mtime:
        return int(side.read_text())
    n = 0
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            n += len(chunk)
    side.write_text(str(n))
    return n


def real_files() -> list[tuple[Path, int]]:
    """The real STDF files with their decompressed sizes (expected/<name>.json stream_size)."""
    out = []
    exp = REAL_DIR / "expected"
    for j in sorted(exp.glob("*.json")):
        meta = json.loads(j.read_text())
        name = j.name[: -len(".json")]
        hits = [p for p in REAL_DIR.rglob(name) if p.parent.name != "expected"]
        if hits and "stream_size" in meta:
            out.append((hits[0], int(meta["stream_size"])))
    return out


def warm(paths: list[Path]) -> None:
    """Read each file once so every measurement starts with it in the page cache."""
    seen = set()
    for p in paths:
        r = os.path.realpath(p)
        if r in seen:
            continue
        seen.add(r)
        with open(r, "rb", buffering=0) as f:
            while f.read(1 << 24):
                pass


def busy_cpus(window: float = 0.3) -> float:
    """CPUs kept busy by other processes over a short window (from /proc/stat), -1 if unknown."""

    def snap() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle

    try:
        t0, i0 = snap()
        time.sleep(window)
        t1, i1 = snap()
    except (OSError, ValueError):
        return -1.0
    return (1 - (i1 - i0) / max(1, t1 - t0)) * NCPU


QUIET = {"wait": 60.0, "threshold": 0.25}


def wait_quiet() -> float:
    """Wait (up to QUIET['wait'] s) until other processes use less than QUIET['threshold'] CPUs;
    return the load seen last, so each record says whether the machine was shared."""
    deadline = time.monotonic() + QUIET["wait"]
    b = busy_cpus()
    while b > QUIET["threshold"] and time.monotonic() < deadline:
        time.sleep(1.0)
        b = busy_cpus()
    return b


# ---- measuring -----------------------------------------------------------------------------

RESULTS: list[dict] = []
# numpy (imported by pyarrow) starts an OpenBLAS thread pool that spins and steals a core on small
# machines; no measured code uses BLAS, so it gets one thread in every worker, peers included.
WORKER_ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def measure(
    tool: str,
    what: str,
    op: str,
    paths: list[Path],
    mb: float,
    *,
    label: str,
    threads: int = 1,
    repeat: int = 1,
    timeout: float = 1800,
    **spec,
) -> dict:
    """Run one measurement in a fresh worker process; record and return it."""
    py = sys.executable if tool == "stdf_duck" else str(PEERS_PY)
    spec = {"op": op, "paths": [str(p) for p in paths], "threads": threads, "repeat": repeat, **spec}
    warm(paths)
    busy = wait_quiet()
    rec = {
        "busy_cpus_before": round(busy, 2),
        "tool": tool,
        "what": what,
        "file": label,
        "mb": mb,
        "threads": threads,
        "op": op,
        "spec": {k: v for k, v in spec.items() if k != "paths"},
        "n_files": len(paths),
    }
    try:
        p = subprocess.run(
            [py, str(WORKER), json.dumps(spec)], capture_output=True, text=True, timeout=timeout, env=WORKER_ENV
        )
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if lines:
            rec.update(json.loads(lines[-1]))
        else:
            rec.update(ok=False, error=f"exit {p.returncode}: {p.stderr.strip()[-400:]}")
    except subprocess.TimeoutExpired:
        rec.update(ok=False, error=f"timeout after {timeout:.0f}s")
    if rec.get("ok"):
        done_mb = rec["bytes_done"] / 1e6 if "bytes_done" in rec else mb
        rec["mb_done"] = done_mb
        rec["mb_s"] = done_mb / rec["best_s"] if rec["best_s"] > 0 else float("inf")
        rec["mb_cpu_s"] = done_mb / rec["cpu_s"] if rec["cpu_s"] > 0 else float("inf")
        cores = 1 if threads == 1 else min(NCPU, threads or NCPU)
        rec["cores"] = cores
        rec["mb_s_core"] = rec["mb_s"] / cores
        rec["mrows_s"] = rec.get("rows", 0) / rec["best_s"] / 1e6 if rec["best_s"] > 0 else 0.0
    RESULTS.append(rec)
    _print_row(rec)
    return rec


COLS = [
    ("file", 26),
    ("tool", 12),
    ("what", 34),
    ("thr", 3),
    ("MB", 7),
    ("wall s", 8),
    ("MB/s", 7),
    ("MB/s/core", 9),
    ("MB/cpu-s", 8),
    ("Mrow/s", 6),
    ("RSS MiB", 7),
    ("rows", 11),
]


def _hdr() -> str:
    return " ".join(f"{n:<{w}}" if i < 3 else f"{n:>{w}}" for i, (n, w) in enumerate(COLS))


def _print_row(r: dict) -> None:
    thr = "all" if r["threads"] == 0 else str(r["threads"])
    if r.get("ok"):
        mb = f"{r['mb']:.1f}" if "bytes_done" not in r else f"{r['mb_done']:.1f}*"
        vals = [
            r["file"][:26],
            r["tool"],
            r["what"][:34],
            thr,
            mb,
            f"{r['best_s']:.3f}",
            f"{r['mb_s']:.1f}",
            f"{r['mb_s_core']:.1f}",
            f"{r['mb_cpu_s']:.1f}",
            f"{r.get('mrows_s', 0):.2f}",
            f"{r['peak_rss_mb']:.0f}",
            str(r.get("rows", "")),
        ]
    else:
        vals = [r["file"][:26], r["tool"], r["what"][:34], thr, f"{r['mb']:.1f}", "FAILED", "", "", "", "", "", ""]
    line = " ".join(f"{v:<{w}}" if i < 3 else f"{v:>{w}}" for i, (v, (_, w)) in enumerate(zip(vals, COLS, strict=True)))
    if r.get("busy_cpus_before", 0) > QUIET["threshold"]:
        line += f"  ! {r['busy_cpus_before']:.1f} CPUs busy elsewhere"
    print(line, flush=True)
    if not r.get("ok"):
        print(f"    -> {r.get('error')}", flush=True)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)
    print(_hdr(), flush=True)


# ---- the run -------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--size-mb",
        type=int,
        default=200,
        help="main synthetic uncompressed file, MiB as stdf-gen counts them (default 200)",
    )
    ap.add_argument("--gz-mb", type=int, default=50, help="synthetic file for the gzip path, decompressed MB")
    ap.add_argument("--small-mb", type=int, default=20, help="small synthetic file (pystdf runs on it fully)")
    ap.add_argument("--sites", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--gen-args",
        default="--ptr 40 --mpr 1 --pins 8 --ftr 2",
        help="extra stdf-gen options for the synthetic lots (default: PTR-heavy, 40 PTR, 1 MPR x 8 pins "
        "and 2 FTR per part)",
    )
    ap.add_argument("--copies", type=int, default=8, help="symlinks of the main file for the all-cores run")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats per measurement (best is kept)")
    ap.add_argument(
        "--pystdf-cap",
        type=float,
        default=60.0,
        help="seconds pystdf may spend on a big file (MB/s from the bytes it decoded)",
    )
    ap.add_argument("--no-big", action="store_true", help="skip the 2x file of the memory check")
    ap.add_argument("--no-real", action="store_true", help="skip the real files of ../shared/data/stdf")
    ap.add_argument("--no-peers", action="store_true", help="stdf_duck only")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build for stdf-gen")
    ap.add_argument("--quick", action="store_true", help="smoke run: ~20 MB file, 1 repeat, no 2x file")
    ap.add_argument("--timeout", type=float, default=1800, help="per-measurement timeout, seconds")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="before each measurement, wait up to this many seconds for other processes to leave "
        "the CPUs idle (rows measured on a busy machine are flagged with '!')",
    )
    ap.add_argument("--out", type=Path, default=DATA / "results.json")
    a = ap.parse_args()
    if a.quick:
        a.size_mb = min(a.size_mb, 20)
        a.gz_mb = min(a.gz_mb, 5)
        a.small_mb = min(a.small_mb, a.size_mb)
        a.copies = min(a.copies, 4)
        a.repeat = 1
        a.pystdf_cap = min(a.pystdf_cap, 10.0)
        a.no_big = True
    peers = not a.no_peers
    QUIET["wait"] = a.quiet_wait
    rp = a.repeat
    DATA.mkdir(parents=True, exist_ok=True)

    env = {
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": NCPU,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "args": vars(a) | {"out": str(a.out)},
    }
    try:
        env["cpu_model"] = next(
            ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    try:
        env["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        pass
    env["versions"] = duck_versions()
    if peers:
        env["versions"] |= ensure_peers()
    log(f"versions: {env['versions']}")

    gen = stdf_gen_binary(build=not a.no_build)
    if gen is None:
        log("warning: rust/stdf-gen not available: synthetic measurements skipped (real files only)")

    print(f"stdf_duck benchmark  {env['started']}  {NCPU} CPUs ({env.get('cpu_model', '?')})  git {env.get('git')}")
    print(f"versions: {env['versions']}")
    print(
        "MB = 1e6 bytes of decompressed STDF. wall s = best of the repeats (timed region: parse + consume, "
        "no interpreter start). MB/s/core = MB/s / cores used. MB/cpu-s = MB per CPU-second of the process. "
        "Mrow/s = rows of the tool's own output per second (stdf_duck results: one row per PTR, per MPR pin, per FTR; "
        "stdf-convert: one row per record; pystdf: records). "
        "RSS = peak of the process (includes ~55-70 MiB of interpreter + pyarrow/duckdb). "
        "! = other processes kept CPUs busy when the measurement started. "
        "* = capped run, MB/s on the bytes decoded before the cap."
    )

    key: dict[str, dict] = {}  # named records for the ratio / scaling / memory summaries

    if gen is not None:
        s = a.sites
        gargs = ["--sites", str(s), "--seed", str(a.seed), *a.gen_args.split()]
        tag = f"{s}s_" + hashlib.sha1(" ".join(gargs).encode()).hexdigest()[:8]
        env["generator_args"] = gargs
        main_f = generate(gen, f"synth_{a.size_mb}mib_{tag}.stdf", a.size_mb, gargs)
        env["generated"] = {main_f.name: gen_stats(main_f)}
        main_mb = stream_size(main_f) / 1e6
        lbl = f"synth {main_mb:.0f}MB"

        st = env["generated"][main_f.name].get("records", {})
        if st:
            print(f"\nsynthetic lot records: {st}")
        section(f"A. synthetic uncompressed, PTR-heavy, {s} sites: {main_f.name} ({main_mb:.1f} MB)")
        key["duck_full"] = measure(
            "stdf_duck",
            "results stream, all columns",
            "duck_stream",
            [main_f],
            main_mb,
            label=lbl,
            repeat=rp,
            table="results",
        )
        key["duck_proj"] = measure(
            "stdf_duck",
            "results stream, columns=[result]",
            "duck_stream",
            [main_f],
            main_mb,
            label=lbl,
            repeat=rp,
            table="results",
            columns=["result"],
        )
        key["duck_sql"] = measure(
            "stdf_duck",
            "duckdb count/sum, columns=[result]",
            "duck_sql",
            [main_f],
            main_mb,
            label=lbl,
            repeat=rp,
            columns=["result"],
        )
        key["duck_sql_all"] = measure(
            "stdf_duck", "duckdb count/sum, all columns", "duck_sql", [main_f], main_mb, label=lbl, repeat=rp
        )
        key["native_sql"] = measure(
            "stdf_duck", "SQL stdf_results() count/sum", "duck_native", [main_f], main_mb, label=lbl, repeat=rp
        )
        key["native_sql_t0"] = measure(
            "stdf_duck",
            "SQL stdf_results() count/sum",
            "duck_native",
            [main_f],
            main_mb,
            label=lbl,
            threads=0,
            repeat=rp,
        )
        key["native_parquet"] = measure(
            "stdf_duck",
            "SQL COPY stdf_results TO parquet",
            "duck_native",
            [main_f],
            main_mb,
            label=lbl,
            repeat=1,
            kind="parquet",
            out=str(DATA / "bench_out.parquet"),
        )
        key["direct_parquet"] = measure(
            "stdf_duck",
            "parse_to_parquet (3 tables, zstd)",
            "duck_parquet_direct",
            [main_f],
            main_mb,
            label=lbl,
            repeat=1,
            tmpdir=str(DATA),
        )
        key["duck_parts"] = measure(
            "stdf_duck", "parts stream", "duck_stream", [main_f], main_mb, label=lbl, repeat=rp, table="parts"
        )
        key["duck_sql_t0"] = measure(
            "stdf_duck",
            "duckdb count/sum, columns=[result]",
            "duck_sql",
            [main_f],
            main_mb,
            label=lbl,
            threads=0,
            repeat=rp,
            columns=["result"],
        )
        if peers:
            key["sc_batches"] = measure(
                "stdf-convert", "batches(), all record types", "sc_batches", [main_f], main_mb, label=lbl, repeat=rp
            )
            key["sc_ptr"] = measure(
                "stdf-convert", "tables([PTR]) + sum(RESULT)", "sc_ptr_sum", [main_f], main_mb, label=lbl, repeat=rp
            )
            key["sc_tables"] = measure(
                "stdf-convert", "tables(), all record types", "sc_tables", [main_f], main_mb, label=lbl, repeat=1
            )
            key["pystdf_main"] = measure(
                "pystdf",
                f"Parser + counting sink, cap {a.pystdf_cap:.0f}s",
                "pystdf_parse",
                [main_f],
                main_mb,
                label=lbl,
                repeat=1,
                time_cap_s=a.pystdf_cap,
            )

        # small file: pystdf parses it completely; the others on the same file for the ratio
        if a.small_mb == a.size_mb:
            small_f, small_mb = main_f, main_mb
        else:
            small_f = generate(gen, f"synth_{a.small_mb}mib_{tag}.stdf", a.small_mb, gargs)
            env["generated"][small_f.name] = gen_stats(small_f)
            small_mb = stream_size(small_f) / 1e6
        if peers:
            slbl = f"synth {small_mb:.0f}MB"
            section(f"B. small synthetic file for pystdf: {small_f.name} ({small_mb:.1f} MB)")
            key["pystdf_small"] = measure(
                "pystdf",
                "Parser + counting sink (full file)",
                "pystdf_parse",
                [small_f],
                small_mb,
                label=slbl,
                repeat=1,
            )
            key["duck_sql_small"] = measure(
                "stdf_duck",
                "duckdb count/sum, columns=[result]",
                "duck_sql",
                [small_f],
                small_mb,
                label=slbl,
                repeat=rp,
                columns=["result"],
            )
            key["duck_full_small"] = measure(
                "stdf_duck",
                "results stream, all columns",
                "duck_stream",
                [small_f],
                small_mb,
                label=slbl,
                repeat=rp,
                table="results",
            )
            key["sc_batches_small"] = measure(
                "stdf-convert", "batches(), all record types", "sc_batches", [small_f], small_mb, label=slbl, repeat=rp
            )

        # gzip path
        gz_f = generate(gen, f"synth_{a.gz_mb}mib_{tag}.stdf.gz", a.gz_mb, gargs, gz=True)
        env["generated"][gz_f.name] = gen_stats(gz_f)
        gz_mb = stream_size(gz_f) / 1e6
        glbl = f"synth {gz_mb:.0f}MB .gz"
        section(
            f"C. synthetic gzip: {gz_f.name} ({gz_f.stat().st_size / 1e6:.1f} MB on disk, {gz_mb:.1f} MB "
            "decompressed; MB/s on decompressed bytes)"
        )
        key["duck_full_gz"] = measure(
            "stdf_duck",
            "results stream, all columns",
            "duck_stream",
            [gz_f],
            gz_mb,
            label=glbl,
            repeat=rp,
            table="results",
        )
        key["duck_sql_gz"] = measure(
            "stdf_duck",
            "duckdb count/sum, columns=[result]",
            "duck_sql",
            [gz_f],
            gz_mb,
            label=glbl,
            repeat=rp,
            columns=["result"],
        )
        if peers:
            key["sc_batches_gz"] = measure(
                "stdf-convert", "batches(), all record types", "sc_batches", [gz_f], gz_mb, label=glbl, repeat=rp
            )
            key["sc_ptr_gz"] = measure(
                "stdf-convert", "tables([PTR]) + sum(RESULT)", "sc_ptr_sum", [gz_f], gz_mb, label=glbl, repeat=rp
            )

        # scaling over many files: symlinks to the main file (one copy in the page cache)
        links = []
        ldir = DATA / "copies"
        ldir.mkdir(exist_ok=True)
        for i in range(a.copies):
            ln = ldir / f"copy{i:03d}_{main_f.name}"
            if ln.is_symlink() and os.readlink(ln) != str(main_f):
                ln.unlink()
            if not ln.exists():
                ln.symlink_to(main_f)
            links.append(ln)
        tot = main_mb * len(links)
        clbl = f"{len(links)} x synth {main_mb:.0f}MB"
        section(f"D. scaling: {len(links)} symlinks of {main_f.name} ({tot:.0f} MB), 1 thread vs all {NCPU} cores")
        key["scale_sql_1"] = measure(
            "stdf_duck",
            "duckdb count/sum, columns=[result]",
            "duck_sql",
            links,
            tot,
            label=clbl,
            repeat=rp,
            columns=["result"],
        )
        key["scale_sql_n"] = measure(
            "stdf_duck",
            "duckdb count/sum, columns=[result]",
            "duck_sql",
            links,
            tot,
            label=clbl,
            threads=0,
            repeat=rp,
            columns=["result"],
        )
        key["scale_full_1"] = measure(
            "stdf_duck",
            "results stream, all columns",
            "duck_stream",
            links,
            tot,
            label=clbl,
            repeat=rp,
            table="results",
        )
        key["scale_full_n"] = measure(
            "stdf_duck",
            "results stream, all columns",
            "duck_stream",
            links,
            tot,
            label=clbl,
            threads=0,
            repeat=rp,
            table="results",
        )

        # memory: streaming results of the 2x file must stay flat
        if not a.no_big:
            big_f = generate(gen, f"synth_{2 * a.size_mb}mib_{tag}.stdf", 2 * a.size_mb, gargs)
            env["generated"][big_f.name] = gen_stats(big_f)
            big_mb = stream_size(big_f) / 1e6
            blbl = f"synth {big_mb:.0f}MB"
            section(f"E. memory check, 2x file: {big_f.name} ({big_mb:.1f} MB)")
            key["big_full"] = measure(
                "stdf_duck",
                "results stream, all columns",
                "duck_stream",
                [big_f],
                big_mb,
                label=blbl,
                repeat=1,
                table="results",
            )
            key["big_full_n"] = measure(
                "stdf_duck",
                "results stream, all columns",
                "duck_stream",
                [big_f],
                big_mb,
                label=blbl,
                threads=0,
                repeat=1,
                table="results",
            )
            key["big_parts"] = measure(
                "stdf_duck", "parts stream", "duck_stream", [big_f], big_mb, label=blbl, repeat=1, table="parts"
            )
            key["big_sql"] = measure(
                "stdf_duck",
                "duckdb count/sum, columns=[result]",
                "duck_sql",
                [big_f],
                big_mb,
                label=blbl,
                repeat=1,
                columns=["result"],
            )

    # real files
    real_rows = []
    if not a.no_real and REAL_DIR.is_dir():
        reals = real_files()
        section(f"F. real files of {REAL_DIR} ({len(reals)} files; small, so in-process repeats)")
        rr = max(rp, 5)
        QUIET["wait"] = min(a.quiet_wait, 3.0)  # tiny files: do not wait long for a quiet machine
        for path, size in reals:
            mb = size / 1e6
            lbl = path.name
            row = {"file": lbl, "mb": mb}
            row["duck_sql"] = measure(
                "stdf_duck",
                "duckdb count/sum, columns=[result]",
                "duck_sql",
                [path],
                mb,
                label=lbl,
                repeat=rr,
                columns=["result"],
                on_error="warn",
            )
            row["duck_full"] = measure(
                "stdf_duck",
                "results stream, all columns",
                "duck_stream",
                [path],
                mb,
                label=lbl,
                repeat=rr,
                table="results",
                on_error="warn",
            )
            if peers:
                row["sc_batches"] = measure(
                    "stdf-convert", "batches(), all record types", "sc_batches", [path], mb, label=lbl, repeat=rr
                )
                row["sc_ptr"] = measure(
                    "stdf-convert", "tables([PTR]) + sum(RESULT)", "sc_ptr_sum", [path], mb, label=lbl, repeat=rr
                )
                row["pystdf"] = measure(
                    "pystdf",
                    "Parser + counting sink",
                    "pystdf_parse",
                    [path],
                    mb,
                    label=lbl,
                    repeat=1,
                    time_cap_s=a.pystdf_cap,
                )
            real_rows.append(row)

    summary = summarize(key, real_rows, peers)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"env": env, "summary": summary, "measurements": RESULTS}, indent=1, default=str))
    print(f"\nwrote {a.out}")


# ---- summaries ---------------------------------------------------------------------------


def _mbs(r: dict | None, field: str = "mb_s") -> float | None:
    return r[field] if r and r.get("ok") else None


def _ratio(a: dict | None, b: dict | None, field: str = "mb_s") -> float | None:
    x, y = _mbs(a, field), _mbs(b, field)
    return x / y if x and y else None


def _fmt(v: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{suffix}"


def summarize(k: dict, real_rows: list[dict], peers: bool) -> dict:
    out: dict = {}
    print("\n== Summary")
    if k:
        print(
            "\nstdf_duck (1 thread) vs peers, same file, same run (ratio of wall MB/s, and of MB per CPU-second,"
            " which is steadier when the machine is shared):"
        )
        pairs = [
            ("duckdb count/sum [result] vs stdf-convert tables([PTR])+sum", "duck_sql", "sc_ptr"),
            ("results stream, all columns vs stdf-convert batches() all types", "duck_full", "sc_batches"),
            ("results stream, all columns vs stdf-convert tables() all types", "duck_full", "sc_tables"),
            ("duckdb count/sum [result] vs pystdf (capped, main file)", "duck_sql", "pystdf_main"),
            ("duckdb count/sum [result] vs pystdf (small file, full)", "duck_sql_small", "pystdf_small"),
            ("results stream vs pystdf (small file, full)", "duck_full_small", "pystdf_small"),
            ("results stream vs stdf-convert batches() (small file)", "duck_full_small", "sc_batches_small"),
            ("gzip: results stream vs stdf-convert batches()", "duck_full_gz", "sc_batches_gz"),
            ("gzip: duckdb count/sum vs stdf-convert tables([PTR])+sum", "duck_sql_gz", "sc_ptr_gz"),
        ]
        out["ratios"] = {}
        for name, x, y in pairs:
            if x in k and y in k:
                r = _ratio(k[x], k[y])
                out["ratios"][name] = r
                rc = _ratio(k[x], k[y], "mb_cpu_s")
                out["ratios_cpu"] = out.get("ratios_cpu", {}) | {name: rc}
                print(
                    f"  {name:<66} {_fmt(_mbs(k[x]), '.1f'):>7} / {_fmt(_mbs(k[y]), '.1f'):>6} MB/s"
                    f" = {_fmt(r, '.1f', 'x'):>7}   per CPU-s {_fmt(rc, '.1f', 'x'):>7}  [{k[x]['file']}]"
                )
        if "scale_sql_1" in k:
            print(f"\nscaling over {k['scale_sql_1']['n_files']} files ({NCPU} CPUs):")
            out["scaling"] = {}
            for nm, one, many in [
                ("duckdb count/sum [result]", "scale_sql_1", "scale_sql_n"),
                ("results stream, all columns", "scale_full_1", "scale_full_n"),
            ]:
                a1, an = k.get(one), k.get(many)
                if a1 and an and a1.get("ok") and an.get("ok"):
                    sp = a1["best_s"] / an["best_s"]
                    out["scaling"][nm] = {
                        "mb_s_1": a1["mb_s"],
                        "mb_s_all": an["mb_s"],
                        "speedup": sp,
                        "efficiency": sp / NCPU,
                    }
                    print(
                        f"  {nm:<30} 1 thread {a1['mb_s']:.0f} MB/s, all cores {an['mb_s']:.0f} MB/s: "
                        f"speedup {sp:.2f}x on {NCPU} CPUs (efficiency {sp / NCPU:.0%}); CPUs used "
                        f"{a1['cpu_s'] / a1['best_s']:.2f} vs {an['cpu_s'] / an['best_s']:.2f}"
                    )
        mem = [
            (n, k[n])
            for n in (
                "duck_full_small",
                "duck_full",
                "big_full",
                "big_full_n",
                "duck_sql",
                "big_sql",
                "scale_full_n",
                "duck_parts",
                "big_parts",
            )
            if n in k and k[n].get("ok")
        ]
        if mem:
            print("\npeak RSS (target for stdf_results: < 500 MiB, flat in file size):")
            out["memory"] = {}
            for n, r in mem:
                out["memory"][n] = {
                    "file": r["file"],
                    "what": r["what"],
                    "threads": r["threads"],
                    "peak_rss_mb": r["peak_rss_mb"],
                    "base_rss_mb": r.get("base_rss_mb"),
                    "max_batch_mb": r.get("max_batch_mb"),
                }
                thr = "all" if r["threads"] == 0 else r["threads"]
                ok = "OK" if r["peak_rss_mb"] < 500 else "OVER TARGET"
                mb = f", largest batch {r['max_batch_mb']:.0f} MB" if r.get("max_batch_mb") is not None else ""
                print(
                    f"  {r['file']:<16} {r['what']:<36} threads={thr:<3} peak {r['peak_rss_mb']:6.0f} MiB "
                    f"(before parsing {r.get('base_rss_mb', 0):.0f}{mb})  {ok}"
                )
        targets = [
            ("SELECT count(*), sum(result) FROM stdf_results(f), 1 thread", "native_sql", 300, 1000),
            ("same through con.register(read(..., columns=['result'])), 1 thread", "duck_sql", 300, 1000),
            ("COPY (SELECT * FROM stdf_results(f)) TO parquet (zstd), 1 thread", "native_parquet", 100, 300),
            ("parse_to_parquet (parts, tests, results; zstd), 1 thread", "direct_parquet", 100, 300),
        ]
        rows = [(n, k[x], bar, goal) for n, x, bar, goal in targets if x in k and k[x].get("ok")]
        if rows:
            print("\ndesign.md section 3 targets (uncompressed synthetic file, page cache warm):")
            out["targets"] = {}
            for n, r, bar, goal in rows:
                v = r["mb_s"]
                verdict = (
                    "meets the goal" if v >= goal else "meets the first bar" if v >= bar else "BELOW the first bar"
                )
                out["targets"][n] = {"mb_s": v, "mb_cpu_s": r["mb_cpu_s"], "first_bar": bar, "goal": goal}
                print(
                    f"  {n:<70} {v:6.0f} MB/s ({r['mb_cpu_s']:.0f} MB/cpu-s; bar {bar}, goal {goal}): {verdict}"
                    f"  [{r['file']}]"
                )
    if real_rows:
        print("\nreal files (MB/s; small files, so fixed costs weigh):")
        hdr = f"  {'file':<64} {'MB':>6} {'duck sql':>9} {'duck all':>9}"
        if peers:
            hdr += f" {'sc batch':>9} {'sc PTR':>8} {'pystdf':>7} {'sql/scPTR':>9} {'all/scB':>8} {'sql/pystdf':>10}"
        print(hdr)
        tot = {"mb": 0.0}
        for row in real_rows:
            line = (
                f"  {row['file'][:64]:<64} {row['mb']:6.2f} {_fmt(_mbs(row['duck_sql'])):>9} "
                f"{_fmt(_mbs(row['duck_full'])):>9}"
            )
            if peers:
                line += (
                    f" {_fmt(_mbs(row['sc_batches'])):>9} {_fmt(_mbs(row['sc_ptr'])):>8}"
                    f" {_fmt(_mbs(row['pystdf'])):>7} {_fmt(_ratio(row['duck_sql'], row['sc_ptr']), '.1f', 'x'):>9}"
                    f" {_fmt(_ratio(row['duck_full'], row['sc_batches']), '.1f', 'x'):>8}"
                    f" {_fmt(_ratio(row['duck_sql'], row['pystdf']), '.0f', 'x'):>10}"
                )
            print(line)
            tot["mb"] += row["mb"]
            for c in ("duck_sql", "duck_full", "sc_batches", "sc_ptr", "pystdf"):
                r = row.get(c)
                if r and r.get("ok"):
                    tot[c] = tot.get(c, 0.0) + r["best_s"]
                    tot[c + "_mb"] = tot.get(c + "_mb", 0.0) + r.get("mb_done", row["mb"])
        agg = {
            c: tot[c + "_mb"] / tot[c]
            for c in ("duck_sql", "duck_full", "sc_batches", "sc_ptr", "pystdf")
            if tot.get(c)
        }
        line = (
            f"  {'ALL (sum MB / sum s, files every tool read)':<64} {tot['mb']:6.2f} "
            f"{_fmt(agg.get('duck_sql')):>9} {_fmt(agg.get('duck_full')):>9}"
        )
        if peers:
            line += f" {_fmt(agg.get('sc_batches')):>9} {_fmt(agg.get('sc_ptr')):>8} {_fmt(agg.get('pystdf')):>7}"
        print(line)
        out["real_files_aggregate_mb_s"] = agg
        fails = [
            (row["file"], c, row[c]["error"])
            for row in real_rows
            for c in row
            if isinstance(row[c], dict) and not row[c].get("ok")
        ]
        for f, c, e in fails:
            print(f"  failed: {f} {c}: {e}")
    return out


if __name__ == "__main__":
    main()
