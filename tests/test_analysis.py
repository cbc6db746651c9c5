"""The analysis layer (sql/analysis/, stdf_duck.analysis, stdf-duck report): consolidation, yield,
bins, test statistics and first fails, on real files and the committed fixtures, checked against
the fixtures' README (written by the generator), expected/*.json (an independent parser) and
computations done here from the raw record tables."""

from __future__ import annotations

import json
import math
import statistics
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, expected_of, real_file

import stdf_duck
from stdf_duck import analysis
from stdf_duck.cli.main import main

VIRGO = "WS_Virgo_7OLT36325_7OLT36325.25E4_PS1_20190110_20h59m18s.stdf"
PART_RECORDS = ("pir", "prr", "ptr", "mpr", "ftr")


def rows(rel: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def raw_dice(path: Path | str) -> list[dict[str, Any]]:
    """The final insertion of every die, computed here from the raw PRR/WIR records: a die is
    (wafer, x, y) when both coordinates are present, else PART_ID; the last PRR of a die is final.
    Pass/fail from PART_FLG (0x08 failed, 0x10 unknown)."""
    con = stdf_duck.connect()
    prr = con.execute(
        f"SELECT record_index, head_num, site_num, part_flg, hard_bin, soft_bin, x_coord, y_coord, part_id "
        f"FROM stdf_prr('{path}') ORDER BY record_index"
    ).fetchall()
    wir = con.execute(f"SELECT record_index, wafer_id FROM stdf_wir('{path}') ORDER BY record_index").fetchall()
    last: dict[Any, dict[str, Any]] = {}
    for i, (rec, _head, site, flg, hb, sb, x, y, pid) in enumerate(prr):
        wafer = [w for r, w in wir if r < rec][-1] if any(r < rec for r, _ in wir) else None
        has_xy = x is not None and y is not None and x != -32768 and y != -32768
        key: Any = ("xy", wafer, x, y) if has_xy else ("id", pid) if pid else ("part", i)
        passed = None if flg & 0x10 else not flg & 0x08
        last[key] = {"hard_bin": hb, "soft_bin": sb, "site": site, "passed": passed, "wafer": wafer}
    return list(last.values())


# ---- the three doors and the embedded text -------------------------------------------------


def test_the_embedded_sql_is_the_checkout_s() -> None:
    """The native module's SQL (the one an installed wheel and the extension use) is sql/ as it is
    in the checkout: a stale build fails here, not in a user's hands."""
    from stdf_duck import _native

    embedded = dict(_native.sql_files())
    on_disk = {p.relative_to(REPO / "sql").as_posix(): p.read_text() for p in (REPO / "sql").rglob("*.sql")}
    assert embedded == on_disk


def test_fixture_yield_per_wafer_from_files_archive_and_sql(tmp_path: Path) -> None:
    """tests/fixtures/README.md (multisite_le): wafer MS4LOT-01 49 parts, 44 dice, 38 good; wafer
    MS4LOT-02 45 parts, 44 dice, 38 good; 6 re-probes in all."""
    f = FIXTURES / "multisite_le.stdf"
    want = {("MS4LOT", "MS4LOT-01"): (49, 44, 38), ("MS4LOT", "MS4LOT-02"): (45, 44, 38)}
    got = {
        (r["lot_id"], r["wafer_id"]): (r["insertions"], r["dice"], r["good"])
        for r in rows(analysis.yield_(f, by="wafer"))
    }
    assert got == want
    arch = tmp_path / "arch"
    main(["materialize", str(f), "--archive", str(arch), "-q"])
    with analysis.Source(arch) as src:
        assert src.kind == "archive"
        got = {
            (r["lot_id"], r["wafer_id"]): (r["insertions"], r["dice"], r["good"])
            for r in rows(analysis.yield_(src, by="wafer"))
        }
        assert got == want
    # the catalog carries the macros: plain duckdb, no stdf_duck
    import duckdb

    con = duckdb.connect(str(arch / "archive.duckdb"), read_only=True)
    sql = "SELECT wafer_id, insertions, dice, good FROM stdf_yield(per := ['wafer']) ORDER BY wafer_id"
    assert con.execute(sql).fetchall() == [("MS4LOT-01", 49, 44, 38), ("MS4LOT-02", 45, 44, 38)]


def test_the_duckdb_cli_has_the_macros_after_load(tmp_path: Path) -> None:
    """LOAD of the extension (built from this checkout's sql/) creates the macros."""
    cli = Path(sys.executable).parent / "duckdb"
    if not cli.exists():
        pytest.skip("the DuckDB CLI is not installed (pip install duckdb-cli)")
    subprocess.run([sys.executable, str(REPO / "build-backend" / "stdf_duck_build.py")], cwd=REPO, check=True)
    ext = stdf_duck.extension_path(required=True)
    f = FIXTURES / "multisite_le.stdf"
    sql = (
        f"LOAD '{ext}'; CREATE VIEW parts AS FROM stdf_parts('{f}'); CREATE VIEW files AS FROM stdf_files('{f}'); "
        "SELECT insertions, dice, good FROM stdf_yield();"
    )
    out = subprocess.run([str(cli), "-unsigned", "-csv", "-noheader", "-c", sql], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "94,88,76", out.stdout + out.stderr


# ---- yield and bins on real files ----------------------------------------------------------


@pytest.mark.parametrize("name", ["lot2.stdf.gz", VIRGO, "ayad_ws.stdf", "main_Lot_1_Jan_12_17h35m56s.stdf"])
def test_yield_and_bins_equal_a_raw_computation(name: str) -> None:
    path = real_file(name)
    exp = expected_of(name)
    dice = raw_dice(path)
    (y,) = rows(analysis.yield_(path))
    assert y["insertions"] == exp["parts"]
    assert y["dice"] == len(dice)
    assert y["good"] == sum(1 for d in dice if d["passed"])
    assert y["yield"] == pytest.approx(y["good"] / y["dice"])
    hard = Counter(d["hard_bin"] for d in dice)
    got = {r["bin_num"]: r["count"] for r in rows(analysis.bin_pareto(path, bin_type="H"))}
    assert got == dict(hard)
    if exp["parts"] == len(dice):  # no die tested twice: every PRR is final, expected/ has the counts
        assert {int(k): v for k, v in exp["hard_bin_counts"].items()} == got
        assert y["good"] == exp["passed_count"]
    # Pareto order and shares
    pareto = rows(analysis.bin_pareto(path, bin_type="S"))
    counts = [r["count"] for r in pareto]
    assert counts == sorted(counts, reverse=True)
    assert pareto[-1]["cum_fraction"] == pytest.approx(1.0)


def test_yield_per_site_and_the_site_deviation() -> None:
    f = FIXTURES / "multisite_le.stdf"
    dice = raw_dice(f)
    by_site = {r["site_num"]: r for r in rows(analysis.site_yield(f))}
    assert set(by_site) == {1, 2, 3, 4}
    for s, r in by_site.items():
        mine = [d for d in dice if d["site"] == s]
        others = [d for d in dice if d["site"] != s]
        assert r["dice"] == len(mine)
        assert r["good"] == sum(1 for d in mine if d["passed"])
        other_yield = sum(1 for d in others if d["passed"]) / len(others)
        assert r["others_yield"] == pytest.approx(other_yield)
        assert r["deviation"] == pytest.approx(r["good"] / r["dice"] - other_yield)


# ---- consolidation across files ------------------------------------------------------------


def split_by_insertion(src: Path, first: Path, retest: Path, later_by: int = 3600) -> None:
    """Two STDF files from one: every record that is not a part's in both; the records of parts
    tested for the first time in `first`, those of re-probes in `retest`, whose MIR START_T is
    `later_by` seconds later. Works on the raw bytes (uncompressed files)."""
    con = stdf_duck.connect()
    data = src.read_bytes()
    (order,) = con.execute(f"SELECT byte_order FROM stdf_files('{src}')").fetchone()  # type: ignore[misc]
    end = "<" if order == "little" else ">"
    part_of: dict[int, int] = {}
    for t in PART_RECORDS:
        for rec, part in con.execute(f"SELECT record_index, part_index FROM stdf_{t}('{src}')").fetchall():
            part_of[rec] = part
    retested = {
        p for (p,) in con.execute(f"SELECT part_index FROM stdf_parts('{src}') WHERE retest_index > 0").fetchall()
    }
    out_a, out_b = bytearray(), bytearray()
    for rec, off, name, n in con.execute(
        f"SELECT record_index, byte_offset, rec_name, rec_len FROM stdf_records('{src}') ORDER BY record_index"
    ).fetchall():
        raw = bytearray(data[off : off + 4 + n])
        part = part_of.get(rec)
        if part is None:
            out_a += raw
            if name == "MIR":  # START_T: the second U4 of the body
                (start,) = struct.unpack_from(end + "I", raw, 8)
                struct.pack_into(end + "I", raw, 8, start + later_by)
            out_b += raw
        elif part in retested:
            out_b += raw
        else:
            out_a += raw
    first.write_bytes(bytes(out_a))
    retest.write_bytes(bytes(out_b))


def test_a_first_pass_and_a_retest_file_give_the_numbers_of_one_file(tmp_path: Path) -> None:
    path = real_file(VIRGO)  # one wafer, 398 insertions of 238 dice (160 re-probes)
    a, b = tmp_path / "first.stdf", tmp_path / "retest.stdf"
    split_by_insertion(path, a, b)
    one = rows(analysis.yield_(path, by="wafer"))
    # the retest file is named first: insertion order comes from START_T, not from the paths
    two = rows(analysis.yield_([str(b), str(a)], by="wafer"))
    assert one == two
    assert (one[0]["dice"], one[0]["insertions"]) == (len(raw_dice(path)), expected_of(VIRGO)["parts"])
    assert stdf_duck.connect().execute(f"SELECT count(*) FROM stdf_parts('{b}')").fetchone() == (160,)
    cols = "wafer_id, x_coord, y_coord, hard_bin, soft_bin, passed, insertion, n_insertions, first_pass_passed"
    q = f"SELECT {cols} FROM stdf_dice() ORDER BY x_coord, y_coord"
    with analysis.Source(path) as s1, analysis.Source([a, b]) as s2:
        d1, d2 = s1.con.execute(q).fetchall(), s2.con.execute(q).fetchall()
        assert d1 == d2 and len(d1) == one[0]["dice"]
        # in the pair, every final re-probe is in the retest file
        files = s2.con.execute("SELECT file_path, count(*) FROM stdf_dice() WHERE insertion > 1 GROUP BY 1").fetchall()
        assert [Path(p).name for p, _ in files] == ["retest.stdf"]
    # the same from an archive of the two files
    arch = tmp_path / "arch"
    assert main(["materialize", str(a), str(b), "--archive", str(arch), "-q"]) == 0
    assert rows(analysis.yield_(arch, by="wafer")) == one
    # without consolidation every part is its own die
    (none,) = rows(analysis.yield_([a, b], die_key="none"))
    assert none["dice"] == none["insertions"] == expected_of(VIRGO)["parts"]


def test_retest_recovery_is_counted_from_the_dice() -> None:
    path = real_file("lot2.stdf.gz")
    con = stdf_duck.connect()
    prr = con.execute(f"SELECT x_coord, y_coord, part_flg FROM stdf_prr('{path}') ORDER BY record_index").fetchall()
    history: dict[tuple[int, int], list[bool]] = {}
    for x, y, flg in prr:
        history.setdefault((x, y), []).append(not flg & 0x18)
    (y,) = rows(analysis.yield_(path))
    first_fail = [h for h in history.values() if not h[0]]
    recovered = [h for h in first_fail if h[-1]]
    assert y["first_pass_good"] == sum(1 for h in history.values() if h[0])
    assert y["recovered"] == len(recovered) > 0
    assert y["retest_recovery"] == pytest.approx(len(recovered) / len(first_fail))
    assert y["retests"] == sum(len(h) - 1 for h in history.values())


# ---- test statistics -----------------------------------------------------------------------


def test_cpk_equals_a_hand_computation() -> None:
    """Test 1000 of lot2 over its final dice, from the raw PTRs: mean, sample stddev, the limits
    of the test's first PTR, Cp = (hi-lo)/6s, Cpk = min(hi-mean, mean-lo)/3s."""
    path = real_file("lot2.stdf.gz")
    con = stdf_duck.connect()
    final = {
        p for (p,) in con.execute(f"SELECT part_index FROM stdf_parts('{path}') WHERE is_final AND complete").fetchall()
    }
    ptr = con.execute(
        f"SELECT part_index, result, test_flg, lo_limit, hi_limit FROM stdf_ptr('{path}') "
        "WHERE test_num = 1000 ORDER BY record_index"
    ).fetchall()
    lo, hi = ptr[0][3], ptr[0][4]
    values = [r for p, r, flg, _, _ in ptr if p in final and not flg & 0x02 and r is not None and math.isfinite(r)]
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    (t,) = rows(analysis.test_stats(path).filter("test_num = 1000"))
    assert t["n"] == len(values)
    assert t["mean"] == pytest.approx(mean, rel=1e-9)
    assert t["stddev"] == pytest.approx(sd, rel=1e-9)
    assert (t["min"], t["max"]) == pytest.approx((min(values), max(values)))
    assert (t["lo_limit"], t["hi_limit"]) == pytest.approx((lo, hi))
    assert t["cp"] == pytest.approx((hi - lo) / (6 * sd), rel=1e-9)
    assert t["cpk"] == pytest.approx(min(hi - mean, mean - lo) / (3 * sd), rel=1e-9)
    assert t["fails"] == sum(1 for p, _, flg, _, _ in ptr if p in final and flg & 0x80)


def test_sums_of_every_test_match_the_independent_parser() -> None:
    """A file whose parts are all final (no re-probe): per test n and sum equal expected/'s ptr
    counts (n_result_present, sum_result) where no result is flagged invalid."""
    name = "ayad_ws.stdf"
    exp = expected_of(name)
    stats = {(r["test_num"], r["rec_type"]): r for r in rows(analysis.test_stats(real_file(name), test_key="number"))}
    checked = 0
    for num, t in exp["ptr"]["tests"].items():
        if t["n_result_invalid_flag"] or t["n_result_present"] == 0:
            continue
        r = stats[(int(num), "PTR")]
        assert r["n"] == t["n_result_present"]
        assert r["mean"] * r["n"] == pytest.approx(t["sum_result"], rel=1e-9, abs=1e-9 * r["n"])
        assert r["fails"] == t["n_fail"]
        checked += 1
    assert checked > 10


def test_test_key_policy_on_a_program_that_numbers_every_test_zero() -> None:
    """ayad_ws (V93000) writes TEST_NUM 0 for 25 different PTR tests, told apart by TEST_TXT only."""
    path = real_file("ayad_ws.stdf")
    con = stdf_duck.connect()
    texts = {
        t for (t,) in con.execute(f"SELECT DISTINCT test_txt FROM stdf_ptr('{path}') WHERE test_num = 0").fetchall()
    }
    assert len(texts) == 25
    by_number = rows(analysis.test_stats(path, test_key="number").filter("rec_type = 'PTR' AND test_num = 0"))
    by_both = rows(analysis.test_stats(path).filter("rec_type = 'PTR' AND test_num = 0"))
    by_name = rows(analysis.test_stats(path, test_key="name").filter("rec_type = 'PTR' AND test_num = 0"))
    assert [r["test_key"] for r in by_number] == ["0"]
    assert {r["test_key"] for r in by_both} == {f"0:{t}" for t in texts}
    assert {r["test_key"] for r in by_name} == texts
    assert sum(r["executions"] for r in by_both) == by_number[0]["executions"]
    # the first-fail Pareto keys tests the same way
    keys = {r["test_key"] for r in rows(analysis.test_stats(path))}
    ff = rows(analysis.first_fail(path))
    assert ff and all(r["test_key"] is None or r["test_key"] in keys for r in ff)


def test_a_test_selection_reads_the_rows_of_those_test_keys(tmp_path: Path) -> None:
    """`tests` of stdf_test_results / stdf_test_stats keeps exactly the rows whose test_key is
    listed, under every policy, on files and on an archive (where the key's number also narrows
    the scan: the plan filters test_num in the results read), on a program numbering every test
    0 (ayad_ws) and one with MPR pins (lot2)."""
    a, b = real_file("ayad_ws.stdf"), real_file("lot2.stdf.gz")
    arch = tmp_path / "arch"
    assert main(["materialize", str(a), str(b), "--archive", str(arch), "-q"]) == 0
    cols = "file_id, part_index, record_index, element_index, pin_index, test_key, result, passed"
    with analysis.Source([a, b]) as files, analysis.Source(arch) as archive:
        for policy in ("number_name", "number", "name"):
            keys = [k for (k,) in analysis.test_stats(files, test_key=policy).project("test_key").fetchall()]
            picked = [keys[0], keys[len(keys) // 2], keys[-1], "0:no such test", "no such test"]
            for src in (files, archive):
                every = analysis.test_results(src, test_key=policy)
                want = every.filter(f"list_contains({picked!r}, test_key)").project(cols).order(cols).fetchall()
                got = analysis.test_results(src, test_key=policy, tests=picked).project(cols).order(cols).fetchall()
                assert want and got == want, (policy, src)
                for key in picked[:3]:
                    one = analysis.test_stats(src, test_key=policy, tests=[key]).order("pin_index").fetchall()
                    all_ = analysis.test_stats(src, test_key=policy).filter(f"test_key = '{key}'").order("pin_index")
                    assert len(one) == len(all_.fetchall()) > 0, (policy, key)
                    for x, y in zip(one, all_.fetchall(), strict=True):  # sums in another order: last bits
                        assert [v if not isinstance(v, float) else pytest.approx(v, rel=1e-12) for v in x] == list(y)
                assert analysis.test_results(src, test_key=policy, tests=[]).count("*").fetchall() == (
                    every.count("*").fetchall()
                )
        two = [k for (k,) in analysis.test_stats(archive).project("test_key").limit(2).fetchall()]
        plan = archive.sql(f"EXPLAIN SELECT count(*) FROM stdf_test_results(tests := {two!r})").fetchall()[0][1]
        assert "test_num = " in plan or "test_num IN " in plan, plan


def test_a_name_written_two_ways_in_equal_numbers_is_named_the_same_on_every_run() -> None:
    """stdf_mode (the name, units and limits of a test, the name of a bin) is the most frequent
    value and the smallest on a tie, whatever the threads' order (DuckDB's mode() is not)."""
    con = stdf_duck.connect()
    rows = con.sql(
        "SELECT g, stdf_mode(histogram(v)) FROM (SELECT i % 3 AS g, CASE WHEN i % 3 = 2 THEN NULL "
        "WHEN i % 2 = 0 THEN 'b_' || (i // 2) % 2 ELSE 'a' END AS v FROM range(600000) t(i)) GROUP BY g ORDER BY g"
    ).fetchall()
    # g 0: i even -> 'b_0'/'b_1' (50,000 each), i odd -> 'a' (100,000); g 1 alike; g 2 all NULL
    assert rows == [(0, "a"), (1, "a"), (2, None)]
    tie = "SELECT stdf_mode(histogram(v)) FROM (SELECT CASE WHEN i % 2 = 0 THEN 'x' ELSE 'w' END AS v FROM range(400000) t(i))"
    assert {con.sql(tie).fetchall()[0][0] for _ in range(5)} == {"w"}
    assert con.sql("SELECT stdf_mode(histogram(v)) FROM (VALUES (2.5), (1.5), (2.5), (1.5)) t(v)").fetchall() == [
        (1.5,)
    ]


def test_first_fail_pareto_covers_every_failing_die() -> None:
    path = real_file("lot2.stdf.gz")
    dice = raw_dice(path)
    ff = rows(analysis.first_fail(path))
    assert sum(r["count"] for r in ff) == sum(1 for d in dice if d["passed"] is False)
    assert ff[-1]["cum_fraction"] == pytest.approx(1.0)


# ---- filters and the CLI -------------------------------------------------------------------


def test_filters_select_lots_sites_and_dates(tmp_path: Path) -> None:
    f, g = FIXTURES / "multisite_le.stdf", real_file("lot2.stdf.gz")
    with analysis.Source([f, g]) as src:
        lots = {r["lot_id"]: r["dice"] for r in rows(analysis.yield_(src))}
        assert lots == {"MS4LOT": 88, "GAL-LOT": len(raw_dice(g))}
        assert [r["dice"] for r in rows(analysis.yield_(src, lot="MS4LOT"))] == [88]
        site2 = rows(analysis.yield_(src, lot="MS4LOT", site=2))
        assert site2[0]["dice"] == sum(1 for d in raw_dice(f) if d["site"] == 2)
        ((start,),) = src.con.execute("SELECT CAST(start_time AS DATE) FROM files WHERE lot_id = 'MS4LOT'").fetchall()
        assert [r["lot_id"] for r in rows(analysis.yield_(src, date_from=start, date_to=start))] == ["MS4LOT"]
    with pytest.raises(ValueError, match="unknown grouping"):
        analysis.yield_(f, by="nope")


def test_an_archive_reads_one_lot_from_its_partition_directories(tmp_path: Path) -> None:
    """On an archive, Source replaces stdf_relation with the views' SQL over the directories of
    the lot asked (catalog.relation_macro): the same rows as the files give, per lot; a lot the
    archive lacks is empty, not an error; a value a glob would read specially reads every lot."""
    f, g = FIXTURES / "multisite_le.stdf", real_file("lot2.stdf.gz")
    arch = tmp_path / "arch"
    assert main(["materialize", str(f), str(g), "--archive", str(arch), "-q"]) == 0

    def numbers(src: analysis.Source, **kw: Any) -> list[Any]:
        return [
            sorted(map(repr, rows(analysis.yield_(src, by="wafer", **kw)))),
            sorted(map(repr, rows(analysis.bin_pareto(src, **kw)))),
            sorted(repr((r["test_key"], r["n"], r["mean"], r["fails"])) for r in rows(analysis.test_stats(src, **kw))),
            sorted(map(repr, rows(analysis.first_fail(src, **kw)))),
            sorted(
                repr((r["wafer_id"], r["x_coord"], r["y_coord"], r["hard_bin"]))
                for r in rows(analysis.wafer_map(src, **kw))
            ),
            sorted(repr((r["wafer_id"], r["dice"], r["wf_flat"])) for r in rows(analysis.wafer_info(src, **kw))),
        ]

    with analysis.Source([f, g]) as files, analysis.Source(arch) as archive:
        rel = "SELECT stdf_relation('', ?, NULL, NULL, ?)"
        one_lot = archive.con.execute(rel, ["parts", "MS4LOT"]).fetchall()[0][0]
        assert "/lot_id=MS4LOT/*.parquet" in one_lot
        # one read_parquet, of a glob: no file that a rewrite of the archive could remove
        assert one_lot.count("read_parquet(") == 1
        assert "/lot_id=*/*.parquet" in archive.con.execute(rel, ["results", "MS*"]).fetchall()[0][0]
        assert archive.con.execute("SELECT stdf_relation('a.', 'parts', NULL, NULL, 'L')").fetchall() == [
            ("SELECT * FROM a.parts",)
        ]
        # the whole archive: the view
        assert archive.con.execute(rel, ["parts", None]).fetchall() == [("SELECT * FROM parts",)]
        for lot in ("MS4LOT", "GAL-LOT"):
            want = numbers(files, lot=lot)
            assert all(want), lot  # every report has rows for the lot
            assert numbers(archive, lot=lot) == want, lot
        assert numbers(archive, lot="NO-SUCH-LOT") == [[]] * 6
        assert numbers(archive, lot="MS4LOT", stage="NO-SUCH-STAGE") == [[]] * 6
        assert numbers(archive) == numbers(files)


def test_report_json_has_the_documented_keys(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    f = str(FIXTURES / "multisite_le.stdf")
    assert main(["report", "yield", f, "--by", "wafer", "-f", "json"]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    need = {"lot_id", "wafer_id", "dice", "good", "yield", "first_pass_good", "first_pass_yield", "insertions"}
    assert len(out) == 2 and all(need <= set(r) for r in out)
    assert main(["report", "bins", f, "-f", "json"]) == 0
    bins = json.loads(capsysbinary.readouterr().out)
    assert {"bin_type", "bin_num", "bin_name", "count"} <= set(bins[0])
    # README: hard bins of the final dice 1: 76, 2: 10, 3: 2 (bin 4 re-probed away)
    assert {b["bin_num"]: b["count"] for b in bins if b["bin_type"] == "H"} == {1: 76, 2: 10, 3: 2}
    assert main(["report", "tests", f, "-f", "json"]) == 0
    tests = json.loads(capsysbinary.readouterr().out)
    need = {
        "rec_type",
        "test_num",
        "test_name",
        "n",
        "mean",
        "stddev",
        "min",
        "max",
        "lo_limit",
        "hi_limit",
        "cp",
        "cpk",
    }
    assert need <= set(tests[0])
    assert main(["report", "nope", f]) == 2


def test_bin_by_site_matrix_is_complete_and_compares_each_site_with_the_others() -> None:
    f = FIXTURES / "multisite_le.stdf"
    dice = raw_dice(f)
    sites = sorted({d["site"] for d in dice})
    bins = sorted({d["hard_bin"] for d in dice})
    cells = {(r["site_num"], r["bin_num"]): r for r in rows(analysis.bin_sites(f))}
    assert set(cells) == {(s, b) for s in sites for b in bins}  # a bin a site never had is a 0 cell
    for (s, b), r in cells.items():
        mine = [d for d in dice if d["site"] == s]
        others = [d for d in dice if d["site"] != s]
        assert r["count"] == sum(1 for d in mine if d["hard_bin"] == b)
        assert r["fraction"] == pytest.approx(r["count"] / len(mine))
        share = sum(1 for d in others if d["hard_bin"] == b) / len(others)
        assert r["others_fraction"] == pytest.approx(share)
        assert r["deviation"] == pytest.approx(r["count"] / len(mine) - share)
    assert any(r["count"] == 0 for r in cells.values())


def test_the_rewrite_route_gives_the_same_numbers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the extension (the fallback route) the macros run over the rewritten calls."""
    f = FIXTURES / "multisite_le.stdf"
    native = rows(analysis.yield_(f, by="wafer")), rows(analysis.test_stats(f)), rows(analysis.first_fail(f))
    monkeypatch.setenv("STDF_DUCK_EXTENSION", str(tmp_path / "absent.duckdb_extension"))
    with pytest.warns(stdf_duck.StdfWarning), analysis.Source(f) as src:
        assert stdf_duck.route(src.con) == "rewrite"
        fallback = (
            rows(analysis.yield_(src, by="wafer")),
            rows(analysis.test_stats(src)),
            rows(analysis.first_fail(src)),
        )
    for got, want in zip(fallback, native, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.keys() == w.keys()
            for k, v in w.items():  # sums in another order: the last digits may differ
                assert g[k] == (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v), k
