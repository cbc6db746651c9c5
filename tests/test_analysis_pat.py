"""PAT (AEC-Q001) and what-if limits (sql/analysis/80_pat.sql, stdf_duck.analysis.pat) on STDF
files built here with known outliers, checked against numpy over the values the test wrote; the
same numbers from an archive of those files.

`write_stdf` is a small STDF V4 writer (FAR, MIR, WIR, WCR, PIR, PTR, PRR, WRR, MRR, little
endian) from the spec's field lists, independent of the project's decoder; test_analysis_maps
uses it too.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

import stdf_duck
from stdf_duck import analysis


def _cn(s: str) -> bytes:
    b = s.encode()
    return bytes([len(b)]) + b


def _rec(typ: int, sub: int, body: bytes) -> bytes:
    return struct.pack("<HBB", len(body), typ, sub) + body


@dataclass
class Result:
    test_num: int
    name: str
    value: float
    lo: float
    hi: float
    units: str = "V"
    invalid: bool = False  # TEST_FLG 0x02 (RESULT not valid): the tester's P/F is `failed_invalid`
    failed_invalid: bool = False

    @property
    def failed(self) -> bool:
        if self.invalid:
            return self.failed_invalid
        return not (self.lo <= np.float32(self.value) <= self.hi)

    @property
    def test_flg(self) -> int:
        return (0x80 if self.failed else 0) | (0x02 if self.invalid else 0)


@dataclass
class Die:
    x: int | None
    y: int | None
    results: list[Result] = field(default_factory=list)
    hard_bin: int = 1
    soft_bin: int = 1
    failed: bool | None = None  # None: failed when a result fails
    part_id: str = ""
    part_txt: str = ""
    site: int = 1

    @property
    def is_fail(self) -> bool:
        return any(r.failed for r in self.results) if self.failed is None else self.failed


def write_stdf(
    path: Path,
    dice: list[Die],
    *,
    lot: str = "LOTP",
    product: str = "PATDEV",
    stage: str = "CP1",
    wafer: str | None = "W1",
    start_t: int = 1_700_000_000,
    wcr: tuple[float, float, float, int, str, int, int, str, str] | None = None,
) -> Path:
    """An STDF V4 file of one lot, stage and (optionally) wafer, with the dice in order."""
    out = [_rec(0, 10, bytes([2, 4]))]
    mir = struct.pack("<IIBcccHc", start_t, start_t, 1, b"P", b" ", b" ", 0, b" ")
    mir += b"".join(_cn(s) for s in (lot, product, "NODE1", "TSTR", "JOB", "1", "", "", "EXEC", "1", stage))
    mir += _cn("") * 19
    out.append(_rec(1, 10, mir))
    if wafer is not None:
        out.append(_rec(2, 10, struct.pack("<BBI", 1, 255, start_t) + _cn(wafer)))
    if wcr is not None:
        siz, ht, wid, units, flat, cx, cy, px, py = wcr
        body = struct.pack("<fffBchhcc", siz, ht, wid, units, flat.encode(), cx, cy, px.encode(), py.encode())
        out.append(_rec(2, 30, body))
    for d in dice:
        out.append(_rec(5, 10, bytes([1, d.site])))
        for r in d.results:
            body = struct.pack("<IBBBBf", r.test_num, 1, d.site, r.test_flg, 0, r.value)
            body += _cn(r.name) + _cn("") + struct.pack("<Bbbbff", 0x0E, 0, 0, 0, r.lo, r.hi)
            body += _cn(r.units) + _cn("") * 3 + struct.pack("<ff", 0.0, 0.0)
            out.append(_rec(15, 10, body))
        x = -32768 if d.x is None else d.x
        y = -32768 if d.y is None else d.y
        body = struct.pack("<BBBHHHhhI", 1, d.site, 0x08 if d.is_fail else 0, len(d.results), d.hard_bin,
                           d.soft_bin, x, y, 10)  # fmt: skip
        out.append(_rec(5, 20, body + _cn(d.part_id) + _cn(d.part_txt) + b"\x00"))
    n, good = len(dice), sum(not d.is_fail for d in dice)
    if wafer is not None:
        body = struct.pack("<BBIIIIII", 1, 255, start_t + 100, n, 0, 0, good, 0) + _cn(wafer) + _cn("") * 5
        out.append(_rec(2, 20, body))
    out.append(_rec(1, 20, struct.pack("<Ic", start_t + 100, b" ") + _cn("") * 2))
    path.write_bytes(b"".join(out))
    return path


def f32(v: float) -> float:
    return float(np.float32(v))


# Two wafers of 100 dice on a 10 x 10 grid, tests 100 (VDD) and 200 (IDD). W2's VDD is shifted by
# +0.2, so that static PAT (both wafers pooled) and dynamic PAT per wafer flag different dice.
VDD_OUT = {7: 1.3, 42: 0.7}  # W1 dice (index) outside PAT, inside the test limits 0.5..1.5
IDD_OUT = {13: 9.0}  # W1, inside 0..10
FAIL_VDD = 99  # fails VDD (1.6 > 1.5): the only failing result of the die
FAIL_NO_RESULT = 98  # the PRR says fail, every result passes
INVALID_PASS = 50  # a VDD result of 99 flagged not valid, the die passes: not in PAT's population
INVALID_FAIL = 51  # a VDD result flagged not valid and failed by the tester: stays failed in what-if


def wafer_dice(shift: float, outliers: bool) -> list[Die]:
    dice = []
    for i in range(100):
        vdd = 1.0 + shift + 0.001 * (i % 50 - 25)
        idd = 5.0 + 0.01 * ((i * 7) % 31 - 15)
        if outliers:
            vdd = VDD_OUT.get(i, vdd)
            idd = IDD_OUT.get(i, idd)
            if i == FAIL_VDD:
                vdd = 1.6
        d = Die(i % 10, i // 10, [Result(100, "VDD", vdd, 0.5, 1.5), Result(200, "IDD", idd, 0.0, 10.0, "mA")])
        if outliers and i == FAIL_NO_RESULT:
            d.failed, d.hard_bin, d.soft_bin = True, 7, 7
        if outliers and i in (INVALID_PASS, INVALID_FAIL):
            d.results[0] = Result(100, "VDD", 99.0 if i == INVALID_PASS else vdd, 0.5, 1.5, invalid=True,
                                  failed_invalid=i == INVALID_FAIL)  # fmt: skip
        if d.is_fail and d.hard_bin == 1:
            d.hard_bin = d.soft_bin = 5
        dice.append(d)
    return dice


@pytest.fixture(scope="module")
def pat_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("pat")
    return [
        write_stdf(root / "w1.stdf", wafer_dice(0.0, True), wafer="W1", start_t=1_700_000_000),
        write_stdf(root / "w2.stdf", wafer_dice(0.2, False), wafer="W2", start_t=1_700_010_000),
    ]


def expected_limits(
    values: list[float], k: float = 6.0, lo: float = -math.inf, hi: float = math.inf
) -> dict[str, float]:
    v = np.array(values, dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])  # linear interpolation, as quantile_cont
    rs = (q3 - q1) / 1.349
    return {"n": len(v), "median": med, "q1": q1, "q3": q3, "robust_sigma": rs,
            "pat_lo": max(med - k * rs, lo), "pat_hi": min(med + k * rs, hi)}  # fmt: skip


def passing_values(wafers: dict[str, list[Die]], test_num: int) -> dict[str, list[tuple[int, float]]]:
    """Per wafer, (die index, float32 value) of the test over the passing dice."""
    return {
        w: [
            (i, f32(r.value))
            for i, d in enumerate(ds)
            if not d.is_fail
            for r in d.results
            if r.test_num == test_num and not r.invalid
        ]
        for w, ds in wafers.items()
    }


WAFERS = {"W1": wafer_dice(0.0, True), "W2": wafer_dice(0.2, False)}


def expected_outliers(scope: str, k: float = 6.0) -> set[tuple[str, int, str]]:
    out = set()
    for test_num, name, lo, hi in ((100, "VDD", 0.5, 1.5), (200, "IDD", 0.0, 10.0)):
        per = passing_values(WAFERS, test_num)
        groups = [list(per)] if scope == "static" else [[w] for w in per]
        for ws in groups:
            lim = expected_limits([v for w in ws for _, v in per[w]], k, lo, hi)
            for w in ws:
                out |= {(w, i, name) for i, v in per[w] if v < lim["pat_lo"] or v > lim["pat_hi"]}
    return out


def test_pat_limits_static_and_per_wafer_are_median_and_iqr_of_the_passing_dice(pat_files: list[Path]) -> None:
    with analysis.Source(pat_files) as src:
        static = analysis.pat_limits(src, test_key="number").df()
        dynamic = analysis.pat_limits(src, scope="wafer", test_key="number").df()
    per = passing_values(WAFERS, 100)
    assert len(per["W1"]) == 96  # dice 98, 99 and 51 failed, die 50's result is not valid
    row = static[static.test_key == "100"].iloc[0]
    exp = expected_limits([v for w in per for _, v in per[w]], lo=0.5, hi=1.5)
    for col, v in exp.items():
        assert row[col] == pytest.approx(v, rel=1e-9, abs=1e-12), col
    assert row.lo_limit == 0.5 and row.hi_limit == 1.5
    for w in ("W1", "W2"):
        r = dynamic[(dynamic.test_key == "100") & (dynamic.wafer_id == w)].iloc[0]
        exp = expected_limits([v for _, v in per[w]], lo=0.5, hi=1.5)
        for col, v in exp.items():
            assert r[col] == pytest.approx(v, rel=1e-9, abs=1e-12), (w, col)
    # static: the two wafers' VDD pooled is wide; the clamp to the test limits shows on the low side
    assert row.raw_lo < 0.5 and row.pat_lo == 0.5


def test_pat_outliers_are_the_planted_dice(pat_files: list[Path]) -> None:
    with analysis.Source(pat_files) as src:
        dyn = analysis.pat_outliers(src, scope="wafer", test_key="number").df()
        sta = analysis.pat_outliers(src, test_key="number").df()
        k3 = analysis.pat_outliers(src, scope="wafer", k=3, test_key="number").df()

    def got(df: Any) -> set[tuple[str, int, str]]:
        return {(r.wafer_id, int(r.y_coord) * 10 + int(r.x_coord), r.test_name) for r in df.itertuples()}

    planted = {("W1", 7, "VDD"), ("W1", 42, "VDD"), ("W1", 13, "IDD")}
    assert got(dyn) == planted == expected_outliers("wafer")
    assert got(sta) == expected_outliers("static") != planted  # pooled wafers hide the VDD outliers
    assert got(k3) == expected_outliers("wafer", 3.0)
    hi = dyn[dyn.test_name == "IDD"].iloc[0]
    assert hi.side == "hi" and hi.value == pytest.approx(9.0) and hi.value > hi.pat_hi


def test_pat_yield_counts_dice_with_an_outlier_once(pat_files: list[Path]) -> None:
    with analysis.Source(pat_files) as src:
        rows = analysis.pat_yield(src, by="wafer", scope="wafer", test_key="number").df()
    w1 = rows[rows.wafer_id == "W1"].iloc[0]
    assert (w1.dice, w1.good, w1.pat_outliers, w1.good_after_pat) == (100, 97, 3, 94)
    assert w1["yield"] == pytest.approx(0.97) and w1.yield_after_pat == pytest.approx(0.94)
    w2 = rows[rows.wafer_id == "W2"].iloc[0]
    assert (w2.dice, w2.good, w2.pat_outliers) == (
        100,
        100,
        len({i for w, i, _ in expected_outliers("wafer") if w == "W2"}),
    )


def test_whatif_rejudges_listed_tests_only(pat_files: list[Path]) -> None:
    # VDD widened to 0.5..1.7 passes die 99 (its only failing result) but not die 98 (failed by
    # its PRR with no failing result); IDD tightened to hi 5.1 fails every die above it.
    limits = {"100": (0.5, 1.7), "200": (None, 5.1)}
    with analysis.Source(pat_files) as src:
        rows = analysis.whatif(src, limits, by="wafer", test_key="number").df()
        dice = analysis.whatif_dice(src, limits, wafer="W1", test_key="number").df()
        with pytest.raises(duckdb.Error, match="name no test of the source .* 100, 200"):
            analysis.whatif(src, limits).fetchall()  # keys of the 'number' policy under 'number_name'
        same = analysis.whatif(src, {"100:VDD": (0.5, 1.7), "200:IDD": (None, 5.1)}, by="wafer").fetchall()
    for w, ds in WAFERS.items():
        after = []
        for d in ds:
            # a listed test's result not valid keeps the tester's P/F
            idd_fail = any(r.test_num == 200 and (r.failed if r.invalid else f32(r.value) > 5.1) for r in d.results)
            vdd_fail = any(
                r.test_num == 100 and (r.failed if r.invalid else not 0.5 <= f32(r.value) <= 1.7) for r in d.results
            )
            if not d.is_fail:
                after.append(not (idd_fail or vdd_fail))
            else:
                fails = [r for r in d.results if r.failed]
                after.append(bool(fails) and not idd_fail and not vdd_fail)
        before = [not d.is_fail for d in ds]
        r = rows[rows.wafer_id == w].iloc[0]
        assert r.dice == 100 and r.good == sum(before) and r.good_after == sum(after)
        assert r.pass_to_fail == sum(b and not a for b, a in zip(before, after, strict=True))
        assert r.fail_to_pass == sum(a and not b for b, a in zip(before, after, strict=True))
        assert r.yield_after == pytest.approx(sum(after) / 100)
    ch = {
        int(r.y_coord) * 10 + int(r.x_coord): r.change if isinstance(r.change, str) else None for r in dice.itertuples()
    }
    assert ch[FAIL_VDD] == "fail->pass" and ch[FAIL_NO_RESULT] is None and ch[INVALID_FAIL] is None
    assert rows[rows.wafer_id == "W1"].iloc[0].fail_to_pass == 1
    assert same == [tuple(r) for r in rows.itertuples(index=False)]


def test_whatif_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one"):
        analysis.limits_list({})
    with pytest.raises(ValueError, match="lo > hi"):
        analysis.limits_list([{"test_key": "1", "lo": 2, "hi": 1}])
    assert analysis.limits_list({"1": (None, 2)}) == [{"test_key": "1", "lo": None, "hi": 2.0}]
    with pytest.raises(ValueError, match="scope"):
        analysis.pat_limits("x.stdf", scope="site")


def test_pat_and_whatif_from_an_archive_equal_the_files(pat_files: list[Path], tmp_path: Path) -> None:
    arch = tmp_path / "a"
    r = subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", "materialize", *map(str, pat_files), "--archive", str(arch)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cols = "wafer_id, test_key, n, median, q1, q3, pat_lo, pat_hi"
    limits = {"100:VDD": (0.5, 1.7)}
    got = []
    for source in (pat_files, arch):
        with analysis.Source(source) as src:
            got.append(
                (
                    src.sql(f"SELECT {cols} FROM stdf_pat_limits(scope := 'wafer') ORDER BY ALL").fetchall(),
                    analysis.pat_yield(src, by="wafer", scope="wafer").fetchall(),
                    analysis.whatif(src, limits, by="wafer").fetchall(),
                )
            )
    assert got[0] == got[1]
    assert len(got[0][0]) == 4 and got[0][1][0][-1] == pytest.approx(0.94)


def test_the_rewrite_route_gives_the_same_pat_and_whatif(
    pat_files: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the extension (the fallback route) the PAT and what-if macros give the same rows."""

    def rows(src: analysis.Source) -> list[Any]:
        return [
            analysis.pat_limits(src, scope="wafer").fetchall(),
            analysis.pat_outliers(src, scope="wafer").fetchall(),
            analysis.pat_yield(src, by="wafer", scope="wafer").fetchall(),
            analysis.whatif_dice(src, {"100:VDD": (0.5, 1.7)}).fetchall(),
        ]

    with analysis.Source(pat_files) as src:
        native = rows(src)
    monkeypatch.setenv("STDF_DUCK_EXTENSION", str(tmp_path / "absent.duckdb_extension"))
    with pytest.warns(stdf_duck.StdfWarning), analysis.Source(pat_files) as src:
        assert stdf_duck.route(src.con) == "rewrite"
        assert rows(src) == native
    assert len(native[1]) == 3 and len(native[3]) == 200
