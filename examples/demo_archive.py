"""stdf_duck demo, part 2: the command line and the Parquet archive.

    python examples/demo_archive.py [--out DIR]        # after examples/demo.py (make demo)

1. `stdf-duck materialize` turns the demo lot written by examples/demo.py (DIR/SYN0001.stdf.gz; written
   here with stdf-gen when absent) and the committed fixture lots into a Hive-partitioned Parquet
   archive, DIR/archive/<table>/part_typ=/test_stage=/lot_id=/<file_id>.parquet, with DIR/archive/archive.duckdb
   holding a view per table and the ingest ledger.
2. Running it again adds nothing (every file is 'unchanged').
3. `stdf-duck report` prints the yield per lot, a bin Pareto and (through SQL on the analysis macros of
   sql/analysis/, which every archive carries) a Cpk table.
4. The archive's part count is checked against the STDF files read directly.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE_LOTS = ["multisite_le.stdf", "no_pir.stdf", "concat.stdf"]


def stdf_duck(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI (`python -m stdf_duck.cli` is the installed `stdf-duck` command)."""
    print("$ stdf-duck " + " ".join(shlex.quote(a) for a in args), flush=True)
    p = subprocess.run([sys.executable, "-m", "stdf_duck.cli", *args], text=True)
    if p.returncode != 0:
        raise SystemExit(f"stdf-duck {args[0]} failed with exit code {p.returncode}")
    return p


def demo_lot(out: Path) -> Path:
    lot = out / "SYN0001.stdf.gz"
    if not lot.exists():
        out.mkdir(parents=True, exist_ok=True)
        cmd = [
            "cargo",
            "run",
            "--release",
            "--quiet",
            "-p",
            "stdf-gen",
            "--",
            str(lot),
            "--size-mb",
            "5",
            "--sites",
            "4",
            "--seed",
            "7",
            "--gzip",
        ]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return lot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "demo-out", help="directory of the demo lot and the archive")
    args = ap.parse_args()
    out: Path = args.out.resolve()
    sources = [str(demo_lot(out))] + [str(REPO / "tests" / "fixtures" / n) for n in FIXTURE_LOTS]
    archive = out / "archive"

    print("\n== STDF -> Parquet archive")
    stdf_duck("materialize", *sources, "--archive", str(archive))
    print("\n== again: nothing to do")
    stdf_duck("materialize", *sources, "--archive", str(archive), "--quiet")

    print("\n== yield per lot (dice consolidated across files: final and first-pass yield, retest recovery)")
    stdf_duck("report", "yield", "--archive", str(archive), "--by", "product,stage,lot")
    print("\n== hard bin Pareto of the demo lot's final dice")
    stdf_duck("report", "bins", "--archive", str(archive), "--lot", "SYN0001", "--bin-type", "H", "--max-rows", "12")
    print("\n== Cpk table of the demo lot (the 12 lowest Cpk)")
    stdf_duck(
        "query",
        "--archive",
        str(archive),
        "SELECT test_key, units, n, round(mean, 4) AS mean, round(stddev, 4) AS stddev, lo_limit, hi_limit, "
        "round(cp, 2) AS cp, round(cpk, 2) AS cpk, fails FROM stdf_test_stats(lot := 'SYN0001') "
        "WHERE rec_type = 'PTR' ORDER BY cpk NULLS LAST LIMIT 12",
    )
    print("\n== the ledger")
    stdf_duck(
        "query",
        "--archive",
        str(archive),
        "SELECT regexp_extract(path, '[^/]+$') AS file, status, lot_id, rows_parts, rows_results, "
        "round(seconds, 2) AS seconds FROM ingest ORDER BY file",
    )

    # check: the archive holds every part of every file, as read straight from the STDF
    import duckdb

    import stdf_duck as sd

    want = sd.read("parts", sources, columns=["part_index"]).to_arrow().num_rows
    with duckdb.connect(str(archive / "archive.duckdb"), read_only=True) as con:
        got = con.sql("SELECT count(*) FROM parts").fetchall()[0][0]
    if got != want:
        raise SystemExit(f"archive has {got} parts, the files {want}")
    print(f"\nchecked: the archive's {got:,} parts are the parts of the {len(sources)} files")
    print(
        f"open it with DuckDB: duckdb {archive / 'archive.duckdb'}  (views parts, results, tests, bins, wafers, files)"
    )


if __name__ == "__main__":
    main()
