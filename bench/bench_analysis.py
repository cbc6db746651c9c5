#!/usr/bin/env python3
"""Latency of the analyses (sql/analysis/) on an archive of 1,000+ files: the targets of issue 12.

    .venv/bin/python bench/bench_analysis.py            # 20 timed runs per report after a warm-up
    .venv/bin/python bench/bench_analysis.py --quick    # 5 timed runs per report
    .venv/bin/python bench/bench_analysis.py --explain  # also EXPLAIN ANALYZE of the slowest report per scope

The archive (bench/data/analysis-archive, cached; built again when the generator's parameters
below change) holds synthetic wafer-sort lots of rust/stdf-gen: PRODUCTS products (the part_typ
partition, given to `stdf-duck materialize --product`), LOTS lots each, a first-pass file per lot
with WAFERS wafers of about DICE dice (and the in-file re-probes stdf-gen writes), and for every
RETEST_EVERY-th lot a retest file of its first wafer (same lot and wafer ids, another seed; its file
name sorts after the first pass, whose START_T it shares, so it is the later insertion). Sites per
product vary (SITES). The generated files are removed once the archive is complete and checked
(parts in the archive = parts stdf-gen wrote; files = files written).

Every report is `SELECT * FROM stdf_<macro>(...)` fetched whole as Arrow on the connection of
`stdf_duck.analysis.Source(ARCHIVE)` (what `stdf_duck.analysis` and `stdf-duck report` run), in
three scopes: the whole archive, one lot (`lot := L`), one wafer (`lot := L, wafer := W`, the wafer
map's target). The macros are those of `duckdb_functions()` (stdf_* table macros) at run time;
the building blocks that return a row per part or per result (stdf_insertions, stdf_dice,
stdf_test_results) are timed as `SELECT count(*)`. `open` is `Source(ARCHIVE)` itself (the views
over the archive's Parquet files and the macros). Each report runs once to warm up, then --repeat
times (stopped early after --budget seconds); p50/p95 by linear interpolation. DuckDB uses its
default threads (one per CPU). Results: stdout and bench/data/analysis_results.json.

Targets (issue 12): one lot < 100 ms, the whole archive < 1 s, wafer-map data of one wafer < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data"
ARCHIVE = DATA / "analysis-archive"
MANIFEST = DATA / "analysis-archive.json"
SRC = DATA / "analysis-src"
NCPU = os.cpu_count() or 1

#: the generator's parameters: a change rebuilds the archive
PARAMS: dict[str, Any] = {
    "products": 4,
    "lots": 170,  # per product
    "wafers": 3,  # per first-pass file
    "dice": 300,  # per wafer (stdf-gen --dice)
    "sites": [4, 8, 2, 4],  # per product
    "retest_every": 2,  # a retest file of wafer 01 for every 2nd lot
    "stage": "CP1",
    "version": 1,
}
#: targets in ms per scope
TARGETS = {"archive": 1000.0, "lot": 100.0, "wafer": 50.0}
#: macros returning a row per part or result: timed as count(*)
BLOCKS = {"stdf_insertions", "stdf_dice", "stdf_test_results"}
#: what a macro gets per scope when it takes the parameter (`per` lists: one report each)
PER = {"stdf_yield": [["lot"], ["wafer"]]}
#: the wafer-map data, timed on one wafer only (the other reports on the whole archive and one lot)
MAPS = {"stdf_wafer_map", "stdf_wafer_info"}
#: arguments the reports that take them get: tests of stdf-gen's program (test_key 'number_name')
HINTS: dict[str, Any] = {
    "test": "1030:IDD_ACTIVE",
    "tests": ["1030:IDD_ACTIVE"],
    "test_a": "1030:IDD_ACTIVE",
    "test_b": "1040:IDDQ",
    "limits": [{"test_key": "1030:IDD_ACTIVE", "lo": 0.011, "hi": 0.014}],
}
#: reports timed on every test and on the `tests` selection of HINTS (one test's histogram or box)
SELECTIONS = {"stdf_test_stats", "stdf_test_results"}
#: macros this archive cannot feed
SKIP = {"stdf_stage_pairs": "needs two test stages; the archive has one"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stdf_gen() -> Path:
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "stdf-gen"], cwd=REPO, check=True)
    return REPO / "target" / "release" / "stdf-gen"


def cli() -> list[str]:
    exe = Path(sys.executable).parent / "stdf-duck"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "stdf_duck.cli"]


# ---- the archive -------------------------------------------------------------------------------


def product_name(k: int) -> str:
    return f"PROD-{k + 1}"


def lot_name(k: int, i: int) -> str:
    return f"L{k + 1}{i:04d}"


def generate(exe: Path) -> tuple[int, int]:
    """The source files under SRC/<product>/; returns (files, parts as stdf-gen counted them)."""
    shutil.rmtree(SRC, ignore_errors=True)
    n_files = n_parts = 0
    for k in range(PARAMS["products"]):
        d = SRC / product_name(k)
        d.mkdir(parents=True)
        sites = PARAMS["sites"][k % len(PARAMS["sites"])]
        for i in range(PARAMS["lots"]):
            lot = lot_name(k, i)
            runs = [("a_first", PARAMS["wafers"])]
            if i % PARAMS["retest_every"] == 0:
                runs.append(("b_retest", 1))
            for j, (kind, wafers) in enumerate(runs):
                seed = 1 + ((k * 10_000 + i) * 2 + j)
                p = subprocess.run(
                    [str(exe), str(d / f"{lot}_{kind}.stdf"), "--wafers", str(wafers), "--dice", str(PARAMS["dice"]),
                     "--sites", str(sites), "--seed", str(seed), "--lot", lot],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                stats = next(json.loads(ln) for ln in p.stdout.splitlines() if '"kind":"lot"' in ln)
                n_files += 1
                n_parts += int(stats["parts"])
    return n_files, n_parts


def build_archive() -> dict[str, Any]:
    """The cached archive, or a new one when the parameters changed or it is incomplete."""
    if MANIFEST.exists():
        try:
            m = json.loads(MANIFEST.read_text())
            if m.get("params") == PARAMS and (ARCHIVE / "archive.duckdb").is_file():
                return dict(m)
        except (OSError, ValueError):
            pass
    log(f"building {ARCHIVE} ...")
    MANIFEST.unlink(missing_ok=True)
    shutil.rmtree(ARCHIVE, ignore_errors=True)
    t0 = time.perf_counter()
    n_files, n_parts = generate(stdf_gen())
    t_gen = time.perf_counter() - t0
    log(f"  {n_files} files written by stdf-gen in {t_gen:.1f} s; materialize --workers 2 ...")
    t0 = time.perf_counter()
    for k in range(PARAMS["products"]):
        subprocess.run(
            [*cli(), "materialize", str(SRC / product_name(k)), "--archive", str(ARCHIVE), "--workers", "2",
             "--product", product_name(k), "--stage", PARAMS["stage"], "-q"],
            check=True,
        )  # fmt: skip
    t_mat = time.perf_counter() - t0
    got_files, got_parts = check_archive()
    if (got_files, got_parts) != (n_files, n_parts):
        raise SystemExit(
            f"FAIL: the archive has {got_files} files / {got_parts} parts, stdf-gen wrote {n_files} / {n_parts}"
        )
    src_bytes = sum(f.stat().st_size for f in SRC.rglob("*.stdf"))
    shutil.rmtree(SRC, ignore_errors=True)
    arch_bytes = sum(f.stat().st_size for f in ARCHIVE.rglob("*") if f.is_file())
    m = {
        "params": PARAMS,
        "files": n_files,
        "parts": n_parts,
        "stdf_bytes": src_bytes,
        "archive_bytes": arch_bytes,
        "generate_s": round(t_gen, 2),
        "materialize_s": round(t_mat, 2),
    }
    MANIFEST.write_text(json.dumps(m, indent=1))
    return m


def check_archive() -> tuple[int, int]:
    from stdf_duck.analysis import Source

    with Source(str(ARCHIVE)) as s:
        row = s.con.execute("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM parts)").fetchall()[0]
    assert row is not None
    return int(row[0]), int(row[1])


# ---- the reports -------------------------------------------------------------------------------


def macros(con: Any) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT function_name, parameters FROM duckdb_functions() "
        "WHERE function_name LIKE 'stdf_%' AND function_type = 'table_macro' ORDER BY 1"
    ).fetchall()
    return {str(n): list(p) for n, p in rows}


def scopes(con: Any) -> dict[str, dict[str, str]]:
    """The filters of each scope: the first lot of the first product that has a retest file,
    and its first wafer (re-probed in the retest file: two insertions per die)."""
    lot = lot_name(0, 0)
    wafer = con.execute("SELECT min(wafer_id) FROM parts WHERE lot_id = ? AND wafer_id IS NOT NULL", [lot]).fetchall()[
        0
    ]
    assert wafer is not None and wafer[0] is not None, f"no wafer in lot {lot}"
    return {"archive": {}, "lot": {"lot": lot}, "wafer": {"lot": lot, "wafer": str(wafer[0])}}


def lit(v: Any) -> str:
    from stdf_duck.analysis.source import literal

    return literal(v)


def reports(con: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(one entry per report and scope: name, scope, sql; notes on what was skipped)."""
    found = macros(con)
    where = scopes(con)
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    if "stdf_wafer_map" not in found:
        notes.append("stdf_wafer_map: no such macro yet; no wafer-map figure")
    for name, params in found.items():
        if name in SKIP:
            notes.append(f"{name}: skipped ({SKIP[name]})")
            continue
        for scope, filters in where.items():
            if (scope == "wafer") != (name in MAPS):
                continue
            for per in PER.get(name, [None]):
                args: dict[str, Any] = {k: v for k, v in filters.items() if k in params}
                if len(args) != len(filters):
                    notes.append(f"{name}: no {' or '.join(set(filters) - set(args))} filter, skipped on {scope}")
                    continue
                hints = {k: v for k, v in HINTS.items() if k in params}
                every = {k: v for k, v in hints.items() if k != "tests"}
                for extra in [every, hints] if name in SELECTIONS else [hints]:
                    call_args = {**args, **extra, **({"per": per} if per is not None else {})}
                    call = f"{name}({', '.join(f'{k} := {lit(v)}' for k, v in call_args.items())})"
                    sql = f"SELECT count(*) FROM {call}" if name in BLOCKS else f"SELECT * FROM {call}"
                    label = name + (f" per {','.join(per)}" if per else "") + (" count(*)" if name in BLOCKS else "")
                    label += " (1 test)" if name in SELECTIONS and "tests" in extra else ""
                    out.append({"report": label, "macro": name, "scope": scope, "sql": sql})
    return out, notes


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measure(fn: Callable[[], Any], repeat: int, budget: float) -> tuple[list[float], Any]:
    """Milliseconds of `repeat` runs of fn after one warm-up (fewer when `budget` s is spent)."""
    out = fn()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - start > budget:
            break
    return times, out


def time_open(repeat: int, budget: float) -> list[float]:
    from stdf_duck.analysis import Source

    def opened() -> None:
        Source(str(ARCHIVE)).close()

    return measure(opened, repeat, budget)[0]


def run_reports(repeat: int, budget: float) -> tuple[list[dict[str, Any]], list[str]]:
    from stdf_duck.analysis import Source

    results: list[dict[str, Any]] = []
    with Source(str(ARCHIVE)) as s:
        todo, notes = reports(s.con)
        for r in todo:
            try:
                times, table = measure(lambda q=r["sql"]: s.con.sql(q).to_arrow_table(), repeat, budget)
            except Exception as e:  # a macro whose arguments this bench cannot guess
                notes.append(f"{r['report']} on {r['scope']}: skipped ({type(e).__name__}: {str(e).splitlines()[0]})")
                continue
            r.update(
                runs=len(times), p50_ms=percentile(times, 0.5), p95_ms=percentile(times, 0.95), rows=table.num_rows
            )
            r["target_ms"] = TARGETS[r["scope"]]
            r["met"] = r["p95_ms"] < r["target_ms"]
            results.append(r)
            log(f"  {r['report']:<34} {r['scope']:<8} p50 {r['p50_ms']:9.1f} ms  p95 {r['p95_ms']:9.1f} ms")
    return results, notes


# ---- profile -----------------------------------------------------------------------------------


def explain(results: list[dict[str, Any]], path: Path) -> list[str]:
    """EXPLAIN ANALYZE of the slowest report of each scope that misses its target, into `path`
    (one plan after another); returns their names."""
    from stdf_duck.analysis import Source

    worst: dict[str, dict[str, Any]] = {}
    for r in results:
        if not r["met"] and r["p50_ms"] > worst.get(r["scope"], {}).get("p50_ms", -1.0):
            worst[r["scope"]] = r
    done = []
    with Source(str(ARCHIVE)) as s, path.open("w") as f:
        for scope, r in worst.items():
            plan = s.con.execute("EXPLAIN ANALYZE " + r["sql"]).fetchall()
            f.write(f"-- {r['report']} on {scope}: {r['sql']}\n{plan[0][1]}\n\n")
            done.append(f"{r['report']} ({scope})")
    return done


# ---- output ------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]], open_ms: list[float]) -> str:
    head = f"{'report':<34} {'scope':<8} {'rows':>7} {'p50 ms':>9} {'p95 ms':>9} {'target':>8}  met"
    lines = [head, "-" * len(head)]
    o50, o95 = percentile(open_ms, 0.5), percentile(open_ms, 0.95)
    lines.append(f"{'Source(ARCHIVE) open':<34} {'archive':<8} {'':>7} {o50:9.1f} {o95:9.1f} {'':>8}  -")
    for r in sorted(results, key=lambda r: (list(TARGETS).index(r["scope"]), r["report"])):
        lines.append(
            f"{r['report']:<34} {r['scope']:<8} {r['rows']:>7} {r['p50_ms']:9.1f} {r['p95_ms']:9.1f} "
            f"{'< ' + format(r['target_ms'], 'g'):>8}  {'yes' if r['met'] else 'NO'}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20, help="timed runs per report after a warm-up (default 20)")
    ap.add_argument("--quick", action="store_true", help="5 timed runs per report")
    ap.add_argument("--budget", type=float, default=15.0, help="seconds of timed runs per report at most (default 15)")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE of the slowest report missing each target")
    ap.add_argument("--json", type=Path, default=DATA / "analysis_results.json")
    a = ap.parse_args()
    repeat = 5 if a.quick else a.repeat
    os.environ.setdefault("STDF_DUCK_SQL_DIR", str(REPO / "sql"))  # the macros of this checkout
    DATA.mkdir(parents=True, exist_ok=True)
    arch = build_archive()
    log(
        f"archive: {arch['files']} files, {arch['parts']} parts, {arch['stdf_bytes'] / 1e6:.0f} MB of STDF, "
        f"{arch['archive_bytes'] / 1e6:.0f} MB on disk"
    )
    load = os.getloadavg()[0]
    open_ms = time_open(repeat, a.budget)
    results, notes = run_reports(repeat, a.budget)
    print(f"\nanalysis latency: {ARCHIVE} ({arch['files']} files, {arch['parts']} parts), {repeat} runs, "
          f"load {load:.2f} on {NCPU} CPUs")  # fmt: skip
    print(table(results, open_ms))
    for n in notes:
        print(f"note: {n}")
    plans: list[str] = []
    if a.explain:
        path = a.json.with_name("analysis_explain.txt")
        plans = explain(results, path)
        if plans:
            print(f"EXPLAIN ANALYZE of {', '.join(plans)}: {path}")
    import duckdb

    import stdf_duck

    out = {
        "archive": arch,
        "repeat": repeat,
        "open_ms": {"p50": percentile(open_ms, 0.5), "p95": percentile(open_ms, 0.95), "runs": len(open_ms)},
        "results": results,
        "notes": notes,
        "explained": plans,
        "env": {
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "stdf_duck": getattr(stdf_duck, "__version__", "?"),
            "cpus": NCPU,
            "load_at_start": load,
            "machine": platform.machine(),
            "sql_dir": os.environ["STDF_DUCK_SQL_DIR"],
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    a.json.write_text(json.dumps(out, indent=1))
    log(f"results: {a.json}")


if __name__ == "__main__":
    main()
