"""stdf_duck against the committed fixtures of tests/fixtures.

The fixtures are written by the project's STDF writer (rust/stdf-gen, `make golden`); their
README lists what was written, computed by the generator from its own model (not by reading the
bytes back). The generator-lot sections of that README are parsed here (so a regeneration with
other numbers is followed automatically); the hand-written fixtures' values are spelled out below
from the README's prose.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FIXTURES, query, scalar

import stdf_duck

README = FIXTURES / "README.md"
if not README.is_file():
    pytest.skip("tests/fixtures is absent (make golden writes it)", allow_module_level=True)


def fx(name: str) -> Path:
    p = FIXTURES / name
    if not p.is_file():
        pytest.skip(f"fixture {name} is absent")
    return p


def f32(x: float) -> float:
    """The float32 nearest to a decimal written in the README (limits are stored as R*4)."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


# ---------------------------------------------------------------------------------------------
# the generator-lot sections of the README


@dataclass
class ReadmeTest:
    test_num: int
    kind: str  # P, M, F
    name: str
    units: str | None
    lo: float | None
    hi: float | None
    executions: int
    failures: int
    values: int
    total: float | None
    lo_value: float | None
    hi_value: float | None


@dataclass
class Lot:
    lot_id: str
    byte_order: str
    n_bytes: int
    n_records: int
    records: dict[str, int]
    parts: int
    good: int
    reprobes: int
    dice: int
    final_good: int
    per_site: dict[int, int]
    n_ptr: int
    n_mpr: int
    n_mpr_values: int
    n_ftr: int
    n_ftr_fail: int
    hard: dict[int, tuple[int, int]]
    soft: dict[int, int]
    wafers: dict[str, dict[str, int]] = field(default_factory=dict)
    tests: list[ReadmeTest] = field(default_factory=list)


def _num(s: str) -> float | None:
    return None if s in ("-", "none") else float(s)


def _pairs(s: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in re.findall(r"(\d+): (\d+)", s)}


def parse_lot(text: str) -> Lot:
    def line(prefix: str) -> str:
        m = re.search(r"^\* " + re.escape(prefix) + r"(.*)$", text, re.M)
        assert m, f"README: no line starting with '* {prefix}'"
        return m.group(1)

    m = re.match(r"`([^`]+)`, (\w+) byte order, (\d+) bytes, (\d+) records", line("lot "))
    assert m
    records = {k: int(v) for k, v in re.findall(r"([A-Z]{3}) (\d+)", line("records per type: "))}
    p = [int(x) for x in re.findall(r"\d+", re.sub(r"\(.*?\)", "", line("parts (PRRs, every insertion) ")))]
    counts = re.match(
        r"PTR records (\d+), MPR records (\d+) \((\d+) values\), FTR records (\d+) \((\d+) failing\)",
        "PTR records " + line("PTR records "),
    )
    assert counts
    hard = {int(b): (int(n), int(f)) for b, n, f in re.findall(r"(\d+): (\d+) \(final (\d+)\)", line("hard bins "))}
    lot = Lot(
        lot_id=m.group(1),
        byte_order=m.group(2),
        n_bytes=int(m.group(3)),
        n_records=int(m.group(4)),
        records=records,
        parts=p[0],
        good=p[1],
        reprobes=p[2],
        dice=p[3],
        final_good=p[4],
        per_site=_pairs(line("parts per site: ")),
        n_ptr=int(counts.group(1)),
        n_mpr=int(counts.group(2)),
        n_mpr_values=int(counts.group(3)),
        n_ftr=int(counts.group(4)),
        n_ftr_fail=int(counts.group(5)),
        hard=hard,
        soft=_pairs(line("soft bins: ")),
    )
    for wid, rest in re.findall(r"^\* wafer `([^`]+)`: (.*)$", text, re.M):
        lot.wafers[wid] = {k: int(v) for k, v in re.findall(r"([a-z-]+) (\d+)", rest)}
    for row in re.findall(r"^\| (\d+) \|(.*)\|$", text, re.M):
        cells = [c.strip() for c in row[1].split("|")]
        kind, name, units, lo, hi, ex, fail, vals, total, vmin, vmax = cells
        lot.tests.append(
            ReadmeTest(
                int(row[0]),
                kind,
                name,
                None if units == "-" else units,
                _num(lo),
                _num(hi),
                int(ex),
                int(fail),
                int(vals),
                _num(total),
                _num(vmin),
                _num(vmax),
            )
        )
    assert lot.tests, "README: no test table"
    return lot


def sections() -> dict[str, str]:
    """README text per '## file' / '### stream N' heading."""
    text = README.read_text()
    out: dict[str, str] = {}
    current = None
    for ln in text.splitlines():
        m = re.match(r"^(##|###) (.+)$", ln)
        if m:
            current = m.group(2).strip()
            out[current] = ""
        elif current:
            out[current] += ln + "\n"
    return out


SECTIONS = sections()


def lot_of(heading: str) -> Lot:
    if heading not in SECTIONS:
        pytest.skip(f"README has no section {heading!r}")
    return parse_lot(SECTIONS[heading])


# (fixture file, README heading, stream_index)
GENERATED = [
    ("multisite_le.stdf", "multisite_le.stdf / multisite_be.stdf", 0),
    ("no_pir.stdf", "no_pir.stdf", 0),
    ("concat.stdf", "stream 0 (CONCAT_A)", 0),
    ("concat.stdf", "stream 1 (CONCAT_B)", 1),
]
GEN_IDS = [f"{f}:{s}" for f, _, s in GENERATED]


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_file_and_records(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    files = stdf_duck.read("files", path).to_arrow().to_pylist()
    f = [r for r in files if r["stream_index"] == si]
    assert len(f) == 1
    f0 = f[0]
    assert (f0["lot_id"], f0["byte_order"], f0["n_records"]) == (lot.lot_id, lot.byte_order, lot.n_records)
    assert f0["complete"] is True
    assert f0["stream_count"] == len(files)
    if len(files) == 1:
        assert f0["file_size"] == f0["stream_size"] == lot.n_bytes == path.stat().st_size
    rows = query(
        f"SELECT rec_name, count(*) FROM r WHERE stream_index = {si} GROUP BY ALL",
        r=stdf_duck.read("records", path, columns=["stream_index", "rec_name"]),
    )
    assert dict(rows) == lot.records
    assert sum(lot.records.values()) == lot.n_records


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_parts_and_bins(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    parts = stdf_duck.read("parts", path)
    where = f"WHERE stream_index = {si}"
    n, good, reprobes, dice, final_good, complete = query(
        f"""SELECT count(*), count(*) FILTER (hard_bin = 1), count(*) FILTER (retest_index > 0),
                   count(*) FILTER (is_final), count(*) FILTER (is_final AND hard_bin = 1),
                   count(*) FILTER (complete)
            FROM p {where}""",
        p=parts,
    )[0]
    assert (n, good, reprobes, dice, final_good) == (lot.parts, lot.good, lot.reprobes, lot.dice, lot.final_good)
    assert complete == lot.parts
    assert dict(query(f"SELECT site_num, count(*) FROM p {where} GROUP BY ALL", p=parts)) == lot.per_site
    hard = query(
        f"SELECT hard_bin, count(*), count(*) FILTER (is_final) FROM p {where} GROUP BY ALL",
        p=parts,
    )
    assert {b: (a, fi) for b, a, fi in hard} == lot.hard
    assert dict(query(f"SELECT soft_bin, count(*) FROM p {where} GROUP BY ALL", p=parts)) == lot.soft
    # hard bin 1 is the only passing bin; PART_FLG decides pass/fail
    assert scalar(f"SELECT count(*) FROM p {where} AND passed <> (hard_bin = 1)", p=parts) == 0


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_wafers(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    parts = stdf_duck.read("parts", path)
    got = query(
        f"""SELECT wafer_id, count(*), count(*) FILTER (hard_bin = 1), count(*) FILTER (retest_index > 0),
                   count(*) FILTER (is_final)
            FROM p WHERE stream_index = {si} GROUP BY ALL""",
        p=parts,
    )
    assert {w: (n, g, r, d) for w, n, g, r, d in got} == {
        w: (v["parts"], v["good"], v["re-probes"], v["dice"]) for w, v in lot.wafers.items()
    }
    wafers = query(
        f"SELECT wafer_id, n_parts, n_dice, good_cnt, func_cnt FROM w WHERE stream_index = {si}",
        w=stdf_duck.read("wafers", path),
    )
    assert {w: (n, d, g, fu) for w, n, d, g, fu in wafers} == {
        w: (v["parts"], v["dice"], v["good"], v["functional"]) for w, v in lot.wafers.items()
    }


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_raw_test_records(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    w = f"WHERE stream_index = {si}"
    assert scalar(f"SELECT count(*) FROM t {w}", t=stdf_duck.read("ptr", path)) == lot.n_ptr
    mpr = query(f"SELECT rtn_rslt FROM t {w}", t=stdf_duck.read("mpr", path))
    assert len(mpr) == lot.n_mpr
    assert sum(len(v or []) for (v,) in mpr) == lot.n_mpr_values
    ftr = query(f"SELECT test_flg FROM t {w}", t=stdf_duck.read("ftr", path))
    assert len(ftr) == lot.n_ftr
    assert sum(1 for (flg,) in ftr if flg & 0x80) == lot.n_ftr_fail


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_tests_table(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    rows = query(
        f"SELECT test_num, test_type, test_name, units, lo_limit, hi_limit FROM t WHERE stream_index = {si}",
        t=stdf_duck.read("tests", path),
    )
    got = {r[0]: r[1:] for r in rows}
    want = {
        t.test_num: (t.kind, t.name, t.units, None if t.lo is None else f32(t.lo), None if t.hi is None else f32(t.hi))
        for t in lot.tests
    }
    assert got == want


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_results_per_test(name: str, heading: str, si: int) -> None:
    lot, path = lot_of(heading), fx(name)
    rows = query(
        f"SELECT test_num, record_index, result, test_flg FROM r WHERE stream_index = {si}",
        r=stdf_duck.read("results", path),
    )
    by_test: dict[int, list[tuple[int, float | None, int]]] = {}
    for tn, ri, res, flg in rows:
        by_test.setdefault(tn, []).append((ri, res, flg))
    assert set(by_test) == {t.test_num for t in lot.tests}
    for t in lot.tests:
        rs = by_test[t.test_num]
        records = {ri for ri, _, _ in rs}
        failing = {ri for ri, _, flg in rs if flg & 0x80}
        values = [v for _, v, _ in rs if v is not None]
        assert (len(records), len(failing), len(values)) == (t.executions, t.failures, t.values), t
        if t.values:
            # multiples of a power of two: the README's sum is exact
            assert math.fsum(values) == t.total, t
            assert (min(values), max(values)) == (t.lo_value, t.hi_value), t


@pytest.mark.parametrize(("name", "heading", "si"), GENERATED, ids=GEN_IDS)
def test_generated_results_keyed_to_their_part(name: str, heading: str, si: int) -> None:
    """Sites interleave; each result must land on its own part: PRR.NUM_TEST counts the part's
    result records, PART_FLG bit 3 is set exactly when one of them failed, and testing stops at
    the first failure (so a failing record is the part's last)."""
    path = fx(name)
    rows = query(
        f"""
        WITH per_part AS (
            SELECT part_index, count(DISTINCT record_index) AS n_rec,
                   bool_or(test_flg & 128 <> 0) AS any_fail,
                   max(record_index) AS last_rec,
                   max(record_index) FILTER (test_flg & 128 <> 0) AS fail_rec
            FROM r WHERE stream_index = {si} GROUP BY part_index
        )
        SELECT p.part_index, p.site_num, p.num_test, q.n_rec, p.part_flg, q.any_fail, q.last_rec, q.fail_rec
        FROM p LEFT JOIN per_part q USING (part_index)
        WHERE p.stream_index = {si}
        """,
        r=stdf_duck.read("results", path),
        p=stdf_duck.read("parts", path),
    )
    assert rows
    bad = []
    for part_index, site, num_test, n_rec, part_flg, any_fail, last_rec, fail_rec in rows:
        ok = num_test == (n_rec or 0) and bool(part_flg & 0x08) == bool(any_fail)
        if fail_rec is not None:
            ok = ok and fail_rec == last_rec
        if not ok:
            bad.append((part_index, site, num_test, n_rec, part_flg, any_fail))
    assert not bad, bad[:10]
    # and the head/site of each result is its part's
    mism = scalar(
        f"""SELECT count(*) FROM r JOIN p USING (file_id, part_index)
            WHERE r.stream_index = {si} AND (r.head_num <> p.head_num OR r.site_num <> p.site_num)""",
        r=stdf_duck.read("results", path),
        p=stdf_duck.read("parts", path),
    )
    assert mism == 0


# ---------------------------------------------------------------------------------------------
# specific fixtures


def test_big_endian_equals_little_endian() -> None:
    le, be = fx("multisite_le.stdf"), fx("multisite_be.stdf")
    fle, fbe = (stdf_duck.read("files", p).to_arrow().to_pylist()[0] for p in (le, be))
    assert (fle["byte_order"], fle["cpu_type"]) == ("little", 2)
    assert (fbe["byte_order"], fbe["cpu_type"]) == ("big", 1)
    skip = {"file_id", "file_path", "file_name", "content_hash", "byte_order", "cpu_type"}
    assert {k: v for k, v in fle.items() if k not in skip} == {k: v for k, v in fbe.items() if k not in skip}
    for table in ["parts", "results", "tests", "bins", "wafers", "ptr", "mpr", "ftr", "prr", "tsr", "pmr"]:
        a = stdf_duck.read(table, le).to_arrow().drop_columns(["file_id"])
        b = stdf_duck.read(table, be).to_arrow().drop_columns(["file_id"])
        assert a.num_rows > 0, table
        assert a.to_pylist() == b.to_pylist(), table


def test_concat_streams() -> None:
    path = fx("concat.stdf")
    files = query("SELECT stream_index, lot_id, byte_order FROM f ORDER BY 1", f=stdf_duck.read("files", path))
    assert files == [(0, "CONCAT_A", "little"), (1, "CONCAT_B", "big")]
    # the second stream starts at byte 5620 with its own FAR
    fars = query(
        "SELECT stream_index, byte_offset FROM r WHERE rec_name = 'FAR' ORDER BY 1", r=stdf_duck.read("records", path)
    )
    assert fars == [(0, 0), (1, 5620)]
    assert scalar("SELECT count(*) FROM r", r=stdf_duck.read("records", path)) == 355
    # part_index runs over the whole file; (file_id, part_index) stays a key across streams
    parts = stdf_duck.read("parts", path)
    assert query("SELECT stream_index, count(*) FROM p GROUP BY ALL ORDER BY 1", p=parts) == [(0, 16), (1, 17)]
    assert scalar("SELECT count(DISTINCT (file_id, part_index)) FROM p", p=parts) == 33
    lots = query("SELECT DISTINCT stream_index, lot_id FROM r ORDER BY 1", r=stdf_duck.read("results", path))
    assert lots == [(0, "CONCAT_A"), (1, "CONCAT_B")]


def test_no_pir_implicit_parts() -> None:
    path = fx("no_pir.stdf")
    parts = stdf_duck.read("parts", path)
    assert query("SELECT count(*), count(*) FILTER (has_pir), count(*) FILTER (complete) FROM p", p=parts) == [
        (25, 0, 25)
    ]
    warnings = Counter(c for (c,) in query("SELECT code FROM w", w=stdf_duck.read("warnings", path)))
    assert warnings["implicit_pir"] == 25
    assert warnings["part_without_prr"] == 0


def test_truncated_fixture() -> None:
    path = fx("truncated.stdf")
    assert path.stat().st_size == 1822
    with pytest.raises(stdf_duck.StdfTruncatedError) as info:
        stdf_duck.read("results", path).to_arrow()
    assert (info.value.offset, info.value.record) == (1808, "PTR")
    assert info.value.path == str(path)
    assert stdf_duck.read("records", path, on_error="warn").to_arrow().num_rows == 53
    parts = stdf_duck.read("parts", path, on_error="warn")
    assert query(
        "SELECT count(*) FILTER (complete), count(*) FILTER (has_pir), count(*) FILTER (NOT complete) FROM p", p=parts
    ) == [(6, 8, 2)]
    assert stdf_duck.read("ptr", path, on_error="warn").to_arrow().num_rows == 20
    w = query(
        "SELECT code, byte_offset FROM w WHERE code = 'truncated'", w=stdf_duck.read("warnings", path, on_error="warn")
    )
    assert w == [("truncated", 1808)]


def test_corrupt_fixture() -> None:
    path = fx("corrupt.stdf")
    with pytest.raises(stdf_duck.StdfTruncatedError) as info:
        stdf_duck.read("records", path).to_arrow()
    assert (info.value.offset, info.value.record) == (84, "DTR")
    recs = query(
        "SELECT rec_name, byte_offset FROM r ORDER BY record_index", r=stdf_duck.read("records", path, on_error="warn")
    )
    assert recs == [("FAR", 0), ("MIR", 6), ("PIR", 42), ("PTR", 48), ("PRR", 67)]
    parts = stdf_duck.read("parts", path, on_error="warn").to_arrow().to_pylist()
    assert [(p["passed"], p["hard_bin"], p["soft_bin"], p["x_coord"], p["y_coord"], p["complete"]) for p in parts] == [
        (True, 1, 1, 3, 4, True)
    ]
    res = query("SELECT test_num, result FROM r", r=stdf_duck.read("results", path, on_error="warn"))
    assert res == [(7, 0.5)]
    lot = query("SELECT lot_id, complete FROM f", f=stdf_duck.read("files", path, on_error="warn"))
    assert lot == [("CORRUPT1", False)]


def test_latin1_text() -> None:
    path = fx("latin1.stdf")
    f = stdf_duck.read("files", path).to_arrow().to_pylist()[0]
    assert (f["lot_id"], f["tst_temp"]) == ("LATIN1", "25°C")
    ptr = stdf_duck.read("ptr", path).to_arrow().to_pylist()
    assert [(p["test_num"], p["test_txt"], p["result"], p["units"]) for p in ptr] == [(100, "I_LEAK µA", 2.0**-20, "A")]
    dtr = stdf_duck.read("dtr", path).to_arrow().column("text_dat").to_pylist()
    assert dtr in (["probe card \x96 cleaned"], ["probe card \u2013 cleaned"])
    tsr = stdf_duck.read("tsr", path).to_arrow().column("test_nam").to_pylist()
    assert tsr == ["I_LEAK µA"]
    t = stdf_duck.read("tests", path).to_arrow().to_pylist()
    assert [(x["test_num"], x["lo_limit"], x["hi_limit"]) for x in t] == [(100, 0.0, 2.0**-16)]
    res = stdf_duck.read("results", path).to_arrow().to_pylist()
    assert [(r["test_name"] or r["test_txt"], r["result"], r["passed"]) for r in res] == [("I_LEAK µA", 2.0**-20, True)]


def test_mpr_ftr_elements() -> None:
    path = fx("mpr_ftr.stdf")
    res = stdf_duck.read("results", path)
    rows = query(
        """SELECT test_num, count(*), count(result), sum(result), count(DISTINCT record_index)
           FROM r WHERE rec_type = 'MPR' GROUP BY ALL ORDER BY 1""",
        r=res,
    )
    # elements per §3.13: max(RTN_ICNT, RSLT_CNT) per record, one row for a record with neither
    assert rows == [
        (100, 12, 12, 8.5, 3),
        (110, 10, 10, 6.375, 2),
        (120, 6, 0, None, 2),
        (130, 2, 0, None, 2),
        (140, 6, 6, 21.0, 2),
    ]
    # pins: the first MPR's RTN_INDX is in force for later MPRs of the test; PMR 1-4 = A0..A3
    pins = query(
        "SELECT DISTINCT test_num, element_index, pin_index, pin_name FROM r WHERE test_num IN (100, 140) ORDER BY ALL",
        r=res,
    )
    assert pins == [
        (100, 0, 1, "A0"),
        (100, 1, 2, "A1"),
        (100, 2, 3, "A2"),
        (100, 3, 4, "A3"),
        (140, 0, 1, "A0"),
        (140, 1, 2, "A1"),
        (140, 2, None, None),
    ]
    # SWEEP_IDD inputs: START_IN 1.0 + i * INCR_IN 0.5
    inputs = query("SELECT DISTINCT element_index, input_value FROM r WHERE test_num = 110 ORDER BY 1", r=res)
    assert inputs == [(0, 1.0), (1, 1.5), (2, 2.0), (3, 2.5), (4, 3.0)]
    # part 3 fails VTH_PINS on A2 (1.5 V above 1.0 V, state 6)
    a2 = query("SELECT result, rtn_stat FROM r WHERE part_index = 2 AND test_num = 100 AND pin_index = 3", r=res)
    assert a2 == [(1.5, 6)]
    ftr = query(
        "SELECT part_index, test_num, count(*), count(*) FILTER (test_flg & 128 <> 0) FROM r WHERE rec_type = 'FTR' GROUP BY ALL ORDER BY 1, 2",
        r=res,
    )
    assert ftr == [(0, 200, 1, 0), (0, 210, 1, 0), (1, 200, 1, 0), (1, 210, 2, 2)]
    raw = stdf_duck.read("ftr", path).to_arrow().to_pylist()
    fails = [r for r in raw if r["test_flg"] & 0x80]
    assert [
        (r["vect_off"], r["cycl_cnt"], r["rel_vadr"], r["num_fail"], r["xfail_ad"], r["yfail_ad"]) for r in fails
    ] == [
        (0, 1234, 1200, 2, 10, -3),
        (1, 1235, 1201, 1, 11, -3),
    ]
    assert [(r["rtn_indx"], r["rtn_stat"], r["fail_pins"], r["vect_nam"]) for r in fails] == [
        ([2, 4], [5, 6], [2, 4], "pat_b"),
        ([4], [6], [4], "pat_b"),
    ]
    assert fails[0]["fail_pin"] == {"nbits": 5, "bytes": b"\x14"}
    parts = query(
        "SELECT part_id, hard_bin, soft_bin, passed, num_test FROM p ORDER BY part_index",
        p=stdf_duck.read("parts", path),
    )
    assert parts == [("1", 1, 1, True, 7), ("2", 3, 30, False, 7), ("3", 2, 20, False, 1)]
    n = query(
        "SELECT count(*) FILTER (rec_name = 'MPR'), count(*) FILTER (rec_name = 'FTR'), count(*) FROM r",
        r=stdf_duck.read("records", path),
    )
    assert n == [(11, 5, 44)]
    tests = query(
        "SELECT test_num, test_name, units, units_in, lo_limit, hi_limit, start_in, incr_in FROM t WHERE test_num IN (100, 110) ORDER BY 1",
        t=stdf_duck.read("tests", path),
    )
    assert tests == [
        (100, "VTH_PINS", "V", None, 0.25, 1.0, None, None),
        (110, "SWEEP_IDD", "A", "V", 0.0, 4.0, 1.0, 0.5),
    ]


def test_v4_2007_records() -> None:
    path = fx("v4_2007.stdf")
    recs = query("SELECT rec_name FROM r ORDER BY record_index", r=stdf_duck.read("records", path))
    assert [r for (r,) in recs] == [
        "FAR",
        "VUR",
        "VUR",
        "MIR",
        "PMR",
        "PMR",
        "PMR",
        "PMR",
        "PSR",
        "NMR",
        "CNR",
        "CNR",
        "SSR",
        "CDR",
        "PIR",
        "STR",
        "STR",
        "PRR",
        "TSR",
        "HBR",
        "SBR",
        "PCR",
        "MRR",
    ]
    f = stdf_duck.read("files", path).to_arrow().to_pylist()[0]
    assert (f["byte_order"], f["cpu_type"], f["lot_id"], f["test_cod"], f["tst_temp"]) == (
        "big",
        1,
        "SCAN2007",
        "FT1",
        "25",
    )
    assert "V4-2007" in f["stdf_extensions"] and "Scan:2007.1" in f["stdf_extensions"]
    vur = stdf_duck.read("vur", path).to_arrow().column("upd_nam").to_pylist()
    assert vur == [["V4-2007"], ["Scan:2007.1"]]
    psr = stdf_duck.read("psr", path).to_arrow().to_pylist()[0]
    assert (psr["psr_indx"], psr["psr_nam"], psr["totp_cnt"], psr["locp_cnt"]) == (1, "scan_patterns", 2, 2)
    assert (psr["pat_bgn"], psr["pat_end"], psr["pat_file"]) == ([0, 1000], [999, 2999], ["scan_a.stil", "scan_b.stil"])
    assert (psr["pat_lbl"], psr["file_uid"], psr["atpg_dsc"], psr["src_id"]) == (
        ["A", "B"],
        ["uid-a", "uid-b"],
        ["atpg 1", "atpg 2"],
        ["s1", "s2"],
    )
    nmr = stdf_duck.read("nmr", path).to_arrow().to_pylist()[0]
    assert (nmr["totm_cnt"], nmr["locm_cnt"], nmr["pmr_indx"], nmr["atpg_nam"]) == (
        2,
        2,
        [1, 2],
        ["scan_in[0]", "scan_out[0]"],
    )
    cnr = query("SELECT chn_num, bit_pos, cell_nam FROM c ORDER BY bit_pos", c=stdf_duck.read("cnr", path))
    assert cnr == [(1, 0, "u_core/ff0"), (1, 1, "u_core/ff1")]
    ssr = stdf_duck.read("ssr", path).to_arrow().to_pylist()[0]
    assert (ssr["ssr_nam"], ssr["chn_cnt"], ssr["chn_list"]) == ("scan_top", 1, [1])
    cdr = stdf_duck.read("cdr", path).to_arrow().to_pylist()[0]
    assert (cdr["cdr_indx"], cdr["chn_nam"], cdr["chn_len"], cdr["sin_pin"], cdr["sout_pin"]) == (1, "chain1", 2, 1, 2)
    assert (cdr["m_clks"], cdr["s_clks"], cdr["cell_lst"]) == ([3], [], ["u_core/ff0", "u_core/ff1"])
    strs = stdf_duck.read("str", path).to_arrow().to_pylist()
    assert [(s["cont_flg"], s["test_num"], s["test_flg"], s["log_typ"], s["test_txt"]) for s in strs] == [
        (1, 500, 0x80, "FULL", "SCAN_STUCK_AT"),
        (0, 500, 0x80, "FULL", "SCAN_STUCK_AT"),
    ]
    assert (strs[0]["cyc_cnt"], strs[0]["totf_cnt"], strs[0]["totl_cnt"]) == (3000, 3, 3)
    assert (strs[0]["cond_lst"], strs[0]["cyc_ofst"], strs[0]["pmr_indx"], strs[0]["user_txt"]) == (
        ["VDD=0.9"],
        [120, 1500],
        [2, 2],
        ["f001", "f002"],
    )
    assert (strs[1]["cyc_ofst"], strs[1]["pmr_indx"], strs[1]["user_txt"]) == ([2001], [2], ["f003"])
    # 3 logged fails, all on PMR 2, over the two records
    assert sum(len(s["pmr_indx"]) for s in strs) == strs[0]["totl_cnt"] == 3
    # the continued STR is one test execution in stdf_results, failing, on the part
    res = query("SELECT rec_type, test_num, part_index, passed FROM r", r=stdf_duck.read("results", path))
    assert res == [("STR", 500, 0, False)]
    parts = query("SELECT hard_bin, soft_bin, passed, x_coord, part_id FROM p", p=stdf_duck.read("parts", path))
    assert parts == [(3, 30, False, None, "1")]
