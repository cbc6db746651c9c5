"""stdf_duck demo: write a realistic sample lot with the project's own STDF writer, then ask
DuckDB what it holds.

    make demo                      # or: python examples/demo.py [--out DIR] [--size-mb N]

1. `stdf-gen` (rust/stdf-gen, built with cargo) writes a synthetic wafer-sort lot: about 5 MB of
   STDF, 4 sites tested in parallel, gzip-compressed, and prints exact statistics of what it wrote.
2. stdf_duck exposes the file as Arrow tables registered in DuckDB (no copy, no import step).
3. The SQL in examples/*.sql answers: files summary, yield per wafer, bin Pareto, top failing tests,
   per-site statistics of one test, and a wafer map drawn as text.
4. The answers are checked against the writer's own statistics.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

import stdf_duck

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def generate(out: Path, size_mb: int, sites: int, seed: int) -> dict[str, Any]:
    """Run stdf-gen through cargo; return its statistics (JSON lines grouped by kind)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "cargo",
        "run",
        "--release",
        "--quiet",
        "-p",
        "stdf-gen",
        "--",
        str(out),
        "--size-mb",
        str(size_mb),
        "--sites",
        str(sites),
        "--seed",
        str(seed),
        "--gzip",
    ]
    print("$", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.PIPE, text=True)
    stats: dict[str, Any] = defaultdict(list)
    for line in proc.stdout.splitlines():
        if line.strip():
            obj = json.loads(line)
            stats[obj["kind"]].append(obj)
    return stats


def title(text: str) -> None:
    print()
    print(text)
    print("-" * len(text))


def run_sql(con: duckdb.DuckDBPyConnection, name: str) -> duckdb.DuckDBPyRelation:
    sql = (HERE / name).read_text()
    return con.sql(sql)


def show(rel: duckdb.DuckDBPyRelation, max_rows: int = 40) -> None:
    rel.show(max_rows=max_rows, max_width=200)


def show_vertical(rel: duckdb.DuckDBPyRelation) -> None:
    """One block of `column: value` lines per row (for wide tables with few rows)."""
    names = rel.columns
    width = max(len(n) for n in names)
    for i, row in enumerate(rel.fetchall()):
        if i:
            print()
        for n, v in zip(names, row, strict=True):
            print(f"  {n:<{width}}  {v}")


def wafer_map(rows: list[tuple[Any, ...]]) -> str:
    """Text map: '.' a passing die, the hard bin (0-9, then A=10, B=11, ...) for a failing one."""
    if not rows:
        return "(no die coordinates)"
    xs = [r[1] for r in rows]
    ys = [r[2] for r in rows]
    grid = {(r[1], r[2]): r for r in rows}

    def mark(r: tuple[Any, ...] | None) -> str:
        if r is None:
            return " "
        if r[4]:
            return "."
        b = r[3]
        if b is None:
            return "?"
        return str(b) if b < 10 else chr(ord("A") + min(b - 10, 25))

    lines = []
    for y in range(min(ys), max(ys) + 1):
        lines.append(f"{y:>5} " + "".join(mark(grid.get((x, y))) for x in range(min(xs), max(xs) + 1)))
    lines.append("")
    lines.append("      '.' passing die; a digit or letter is the hard bin of a failing die (A = 10)")
    return "\n".join(lines)


def check(label: str, got: Any, want: Any, failures: list[str]) -> None:
    ok = got == want
    shown = f"{len(got)} entries equal" if ok and isinstance(got, dict) and len(got) > 6 else got
    if isinstance(shown, dict):
        shown = dict(sorted(shown.items()))
    print(f"  {'ok ' if ok else 'BAD'} {label}: {shown}" + ("" if ok else f" (stdf-gen wrote {want})"))
    if not ok:
        failures.append(label)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "demo-out", help="directory for the sample lot")
    ap.add_argument("--size-mb", type=int, default=5, help="uncompressed size of the lot (MiB)")
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    path = args.out / "SYN0001.stdf.gz"
    title(f"1. Writing a sample lot with stdf-gen: {path}")
    stats = generate(path, args.size_mb, args.sites, args.seed)
    lot = stats["lot"][0]
    print(
        f"wrote lot {lot['lot_id']}: {lot['wafers']} wafers, {lot['parts']} parts on {args.sites} sites, "
        f"{lot['records']} records, {lot['bytes'] / 1e6:.1f} MB of STDF ({path.stat().st_size / 1e6:.1f} MB gzip)"
    )

    con = duckdb.connect()
    t0 = time.perf_counter()
    for table in ("files", "parts", "results", "tests", "bins", "wafers"):
        # re-openable Arrow streams: DuckDB scans the file each time a query needs the table
        con.register(table, stdf_duck.read(table, path))

    title("2. Files")
    show_vertical(run_sql(con, "files_summary.sql"))

    title("3. Yield per wafer (every insertion, and final after re-probes)")
    show(run_sql(con, "yield_per_wafer.sql"))

    title("4. Bin Pareto (final insertion of each die)")
    show(run_sql(con, "bin_pareto.sql"))

    title("5. Top failing tests")
    show(run_sql(con, "top_failing_tests.sql"))

    title("6. Per-site statistics of the most measured parametric test")
    show(run_sql(con, "site_means.sql"))

    rows = run_sql(con, "wafer_map.sql").fetchall()
    title(f"7. Wafer map of {rows[0][0] if rows else '?'} (final hard bin per die)")
    print(wafer_map(rows))
    elapsed = time.perf_counter() - t0

    title("8. Checked against what stdf-gen wrote")
    failures: list[str] = []
    n_parts, n_good, n_dice, n_final_good, n_retests = con.execute(
        """SELECT count(*), count(*) FILTER (hard_bin = 1), count(*) FILTER (is_final),
                  count(*) FILTER (is_final AND hard_bin = 1), count(*) FILTER (retest_index > 0)
           FROM parts"""
    ).fetchall()[0]
    check("parts", n_parts, lot["parts"], failures)
    check("good parts (hard bin 1)", n_good, lot["good_parts"], failures)
    check("dice", n_dice, lot["dice"], failures)
    check("dice good at their last insertion", n_final_good, lot["final_good"], failures)
    check("re-probes", n_retests, lot["retests"], failures)
    per_site = dict(con.sql("SELECT site_num, count(*) FROM parts GROUP BY ALL").fetchall())
    check("parts per site", per_site, {s["site"]: s["parts"] for s in stats["site"]}, failures)
    per_test = {
        t: (e, f)
        for t, e, f in con.sql(
            """SELECT test_num, count(DISTINCT record_index), count(DISTINCT record_index) FILTER (NOT passed)
               FROM results GROUP BY ALL"""
        ).fetchall()
    }
    check(
        "executions and failures of every test",
        per_test,
        {t["test_num"]: (t["executions"], t["failures"]) for t in stats["test"]},
        failures,
    )
    print(f"\nall queries: {elapsed:.2f} s")
    if failures:
        print(f"\nMISMATCH with the writer's statistics: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
