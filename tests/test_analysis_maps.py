"""Wafer maps, zones, trends and correlations (sql/analysis/60_wafer.sql, 70_trend.sql,
stdf_duck.analysis.maps) on real multi-wafer files, checked against pure Python over the raw
`stdf_prr` / `stdf_ptr` / `stdf_wcr` rows (the last PRR of each position is its die; a die's
value of a test is its first PTR of that number with TEST_FLG bits 0-5 and PARM_FLG bits 0-2
clear and a finite result); trends and stage pairs also on files built with test_analysis_pat's
writer; the same numbers from an archive as from the files.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import real_file
from test_analysis_pat import Die, Result, f32, write_stdf

import stdf_duck
from stdf_duck import analysis

LOT2, LOT3 = "lot2.stdf.gz", "lot3.stdf.bz2"
VIRGO = "WS_Virgo_7OLT36325_7OLT36325.25E4_PS1_20190110_20h59m18s.stdf"
AYAD = "ayad_ws.stdf"


def raw_dice(path: Path) -> dict[tuple[int, int], dict[str, Any]]:
    """(x, y) -> the last PRR at that position in the file (one wafer per file)."""
    with stdf_duck.connect() as con:
        rows = con.execute(
            "SELECT part_index, x_coord, y_coord, hard_bin, soft_bin, part_flg, head_num, site_num "
            f"FROM stdf_prr('{path}') ORDER BY part_index"
        ).fetchall()
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for pi, x, y, hb, sb, flg, _head, site in rows:
        passed = None if flg & 0x10 else not flg & 0x08
        out[(x, y)] = {"part_index": pi, "hard_bin": hb, "soft_bin": sb, "passed": passed, "site": site}
    return out


def raw_values(path: Path, test_num: int) -> dict[int, float]:
    """part_index -> the part's first valid finite result of PTR test_num."""
    with stdf_duck.connect() as con:
        rows = con.execute(
            f"SELECT part_index, result, test_flg, parm_flg FROM stdf_ptr('{path}') WHERE test_num = {test_num} "
            "ORDER BY record_index"
        ).fetchall()
    out: dict[int, float] = {}
    for pi, v, tf, pf in rows:
        if pi not in out and v is not None and math.isfinite(v) and tf & 0x3F == 0 and pf & 0x07 == 0:
            out[pi] = v
    return out


def test_wafer_map_is_the_last_prr_of_each_position_with_the_test_value() -> None:
    n_values = 0
    for name in (LOT2, VIRGO, AYAD):
        path = real_file(name)
        exp = raw_dice(path)
        vals = raw_values(path, 1000) if name == LOT2 else {}
        with analysis.Source(path) as src:
            rows = analysis.wafer_map(src, test="1000" if name == LOT2 else None, test_key="number").df()
        got = {(int(r.x_coord), int(r.y_coord)): r for r in rows.itertuples()}
        assert len(rows) == len(got) == len(exp), name
        for xy, e in exp.items():
            r = got[xy]
            assert (r.hard_bin, r.soft_bin, bool(r.passed), r.part_index) == (
                e["hard_bin"], e["soft_bin"], e["passed"], e["part_index"]), (name, xy)  # fmt: skip
            if name == LOT2:
                v = vals.get(e["part_index"])
                assert (v is None and math.isnan(r.value)) or r.value == v, xy
                n_values += v is not None
    assert len(raw_dice(real_file(VIRGO))) < 398  # Virgo re-probes: fewer dice than PRRs
    assert n_values > 500


def test_wafer_map_of_one_site_of_a_multisite_file() -> None:
    path = real_file("sort_4die_20times.stdf")
    with stdf_duck.connect() as con:
        exp = con.execute(f"SELECT site_num, count(*) FROM stdf_prr('{path}') GROUP BY 1 ORDER BY 1").fetchall()
    assert len(exp) == 4
    with analysis.Source(path) as src:
        for site, n in exp:
            rows = analysis.wafer_map(src, site=site).fetchall()
            assert len(rows) == n  # each part its own die (no coordinates, unique part ids)


def test_wafer_info_has_the_wcr_and_the_extent_of_the_dice() -> None:
    path = real_file(LOT2)
    with stdf_duck.connect() as con:
        wcr = con.execute(f"SELECT wf_flat, center_x, center_y, pos_x, pos_y FROM stdf_wcr('{path}')").fetchall()
    exp = raw_dice(path)
    with analysis.Source(path) as src:
        (info,) = analysis.wafer_info(src).df().itertuples()
    assert (info.wf_flat, info.center_x, info.center_y, info.pos_x, info.pos_y) == wcr[0]
    xs, ys = [x for x, _ in exp], [y for _, y in exp]
    assert (info.x_min, info.x_max, info.y_min, info.y_max) == (min(xs), max(xs), min(ys), max(ys))
    assert (info.dice, info.good) == (len(exp), sum(bool(e["passed"]) for e in exp.values()))
    with analysis.Source(real_file(AYAD)) as src:
        (ay,) = analysis.wafer_info(src).df().itertuples()
    assert ay.wafer_id is None and ay.file_id is not None and ay.dice == len(raw_dice(real_file(AYAD)))


def expected_stacked(paths: list[Path]) -> dict[tuple[int, int], tuple[int, int]]:
    acc: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for p in paths:
        for xy, e in raw_dice(p).items():
            acc[xy][0] += 1
            acc[xy][1] += not e["passed"]
    return {xy: (n, f) for xy, (n, f) in acc.items()}


def test_stacked_map_of_a_two_wafer_lot() -> None:
    paths = [real_file(LOT2), real_file(LOT3)]
    exp = expected_stacked(paths)
    with analysis.Source(paths) as src:
        rows = analysis.stacked_map(src).df()
    assert set(rows.lot_id) == {"GAL-LOT"}
    got = {(int(r.x_coord), int(r.y_coord)): (r.n_wafers, r.n_fail) for r in rows.itertuples()}
    assert got == exp
    assert max(n for n, _ in exp.values()) == 2 and any(f == 2 for _, f in exp.values())
    r = rows.iloc[0]
    assert r.fail_rate == r.n_fail / r.n_dice and r.n_pass + r.n_fail == r.n_dice


def expected_rings(path: Path, n_rings: int) -> tuple[dict[str, tuple[int, int]], dict[int, tuple[int, int]]]:
    """(zone -> (dice, good), ring -> (dice, good)) by the documented radius rule."""
    exp = raw_dice(path)
    xs, ys = [x for x, _ in exp], [y for _, y in exp]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    r = {xy: math.sqrt((xy[0] - cx) ** 2 + (xy[1] - cy) ** 2) for xy in exp}
    rmax = max(r.values())
    zones: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rings: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for xy, e in exp.items():
        rn = r[xy] / rmax
        z = "center" if rn <= 1 / 3 else "middle" if rn <= 2 / 3 else "edge"
        ring = max(math.ceil(rn * n_rings), 1)
        for acc in (zones[z], rings[ring]):
            acc[0] += 1
            acc[1] += bool(e["passed"])
    return {k: (a, b) for k, (a, b) in zones.items()}, {k: (a, b) for k, (a, b) in rings.items()}


def test_zone_yield_and_radial_profile() -> None:
    for name in (LOT2, AYAD):
        path = real_file(name)
        zones, rings = expected_rings(path, 7)
        with analysis.Source(path) as src:
            z = analysis.zone_yield(src).df()
            rad = analysis.radial(src, n_rings=7).df()
        assert list(z.zone) == ["center", "middle", "edge"]
        assert {r.zone: (r.dice, r.good) for r in z.itertuples()} == zones, name
        assert {r.ring: (r.dice, r.good) for r in rad.itertuples()} == rings, name
        assert all(r["yield"] == pytest.approx(r.good / r.dice) for _, r in z.iterrows())
        assert rad.r_hi.max() == 1.0


def i_mr(values: list[float]) -> tuple[float, float, float]:
    """(centre, lcl, ucl) of an individuals chart: mean -/+ 3 * mean moving range / 1.128."""
    cl = sum(values) / len(values)
    mr = [abs(b - a) for a, b in zip(values, values[1:], strict=False)]
    s = sum(mr) / len(mr) / 1.128
    return cl, cl - 3 * s, cl + 3 * s


def test_trend_per_wafer_of_a_real_lot() -> None:
    paths = [real_file(LOT2), real_file(LOT3)]
    means, yields = [], []
    for p in paths:  # lot2 starts before lot3
        dice = raw_dice(p)
        vals = raw_values(p, 1000)
        v = [vals[e["part_index"]] for e in dice.values() if e["part_index"] in vals]
        means.append((len(v), float(np.mean(v)), float(np.std(v, ddof=1))))
        yields.append(sum(bool(e["passed"]) for e in dice.values()) / len(dice))
    with analysis.Source(paths) as src:
        rows = analysis.trend(src, by="wafer", test="1000", test_key="number").df()
    assert list(rows.wafer_id) == ["GAL-LOT-02", "GAL-LOT-03"] and list(rows.seq) == [1, 2]
    for (_, r), (n, m, s), y in zip(rows.iterrows(), means, yields, strict=True):
        assert (r.n, r["mean"], r.stddev, r["yield"]) == (n, pytest.approx(m, rel=1e-12), pytest.approx(s, rel=1e-9), y)
    cl, lcl, ucl = i_mr([m for _, m, _ in means])
    assert (rows.mean_cl[0], rows.mean_lcl[0], rows.mean_ucl[0]) == pytest.approx((cl, lcl, ucl), rel=1e-12)
    y_lcl, y_ucl = i_mr(yields)[1:]
    assert (rows.yield_lcl[0], rows.yield_ucl[0]) == pytest.approx((max(y_lcl, 0.0), min(y_ucl, 1.0)), rel=1e-12)
    assert not rows.out_of_control.any()


def test_trend_flags_the_shifted_wafer(tmp_path: Path) -> None:
    # eight wafers of 20 dice; wafer 6's test 100 is 0.5 higher and half its dice fail
    means, yields, paths = [], [], []
    for w in range(8):
        vals = [1.0 + 0.01 * ((i * 3 + w) % 7) + (0.5 if w == 5 else 0.0) for i in range(20)]
        dice = [Die(i, 0, [Result(100, "T", v, 0.0, 5.0)], failed=(w == 5 and i % 2 == 0)) for i, v in enumerate(vals)]
        paths.append(write_stdf(tmp_path / f"w{w}.stdf", dice, wafer=f"W{w}", start_t=1_700_000_000 + 3600 * w))
        means.append(float(np.mean([f32(v) for v in vals])))
        yields.append(sum(not d.is_fail for d in dice) / 20)
    with analysis.Source(paths) as src:
        rows = analysis.trend(src, by="wafer", test="100:T").df()
    assert list(rows.wafer_id) == [f"W{w}" for w in range(8)]
    assert list(rows["mean"]) == pytest.approx(means, rel=1e-12)
    cl, lcl, ucl = i_mr(means)
    assert (rows.mean_cl[0], rows.mean_lcl[0], rows.mean_ucl[0]) == pytest.approx((cl, lcl, ucl), rel=1e-12)
    assert list(rows.mean_ooc) == [m < lcl or m > ucl for m in means] == [w == 5 for w in range(8)]
    yl, yu = i_mr(yields)[1:]
    assert list(rows.yield_ooc) == [y < yl or y > yu for y in yields]
    assert list(rows.out_of_control) == [a or b for a, b in zip(rows.mean_ooc, rows.yield_ooc, strict=True)]


def test_test_correlation_is_pearson_and_least_squares() -> None:
    path = real_file(LOT2)
    dice = raw_dice(path)
    a, b = raw_values(path, 1000), raw_values(path, 1010)
    pairs = [
        (a[e["part_index"]], b[e["part_index"]]) for e in dice.values() if e["part_index"] in a and e["part_index"] in b
    ]
    xa, xb = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    slope, intercept = np.polyfit(xa, xb, 1)
    with analysis.Source(path) as src:
        (c,) = analysis.test_correlation(src, "1000", "1010", test_key="number").df().itertuples()
        p = analysis.test_pairs(src, "1000", "1010", test_key="number").df()
    assert c.n == len(pairs) == len(p) > 500
    assert c.r == pytest.approx(np.corrcoef(xa, xb)[0, 1], rel=1e-9)
    assert (c.slope, c.intercept) == pytest.approx((slope, intercept), rel=1e-7)
    assert sorted(zip(p.value_a, p.value_b, strict=True)) == sorted(pairs)


def test_stage_pairs_match_cp_and_ft_dice(tmp_path: Path) -> None:
    # CP: 20 dice of wafer W1 with an ECID in PART_TXT; FT: 15 of them (other order, other lot and
    # part ids) and 2 dice CP never saw. FT fails dice 3 and 4 (CP passed them); CP fails die 10.
    cp = [Die(i % 5, i // 5, [Result(1, "VT", 0.1 * i, -1.0, 9.0)], part_id=str(i + 1), part_txt=f"E{i:03d}",
              failed=i == 10) for i in range(20)]  # fmt: skip
    ft = [Die(None, None, [Result(1, "VT", 0.1 * i + 0.05, -1.0, 9.0)], part_id=str(100 + n), part_txt=f"E{i:03d}",
              failed=i in (3, 4)) for n, i in enumerate([14, 3, 4, 0, 1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 10])]  # fmt: skip
    ft += [Die(None, None, [], part_id="900", part_txt="X1"), Die(None, None, [], part_id="901", part_txt="")]
    files = [write_stdf(tmp_path / "cp.stdf", cp, stage="CP1"),
             write_stdf(tmp_path / "ft.stdf", ft, lot="LOTFT", stage="FT1", wafer=None, start_t=1_700_100_000)]  # fmt: skip
    with analysis.Source(files) as src:
        rows = analysis.stage_pairs(src, "CP1", "FT1", match="part_txt", test="1:VT").df()
        by_id = analysis.stage_pairs(src, "CP1", "FT1", match="part_id").df()
    both = rows[rows.in_a & rows.in_b]
    assert len(both) == 15 and (~rows.in_b).sum() == 5 and (~rows.in_a).sum() == 2
    for r in both.itertuples():
        i = int(r.match_key[1:])
        assert (r.a_x_coord, r.a_y_coord, r.a_passed, r.b_passed) == (i % 5, i // 5, i != 10, i not in (3, 4))
        assert (r.a_value, r.b_value) == (f32(0.1 * i), f32(0.1 * i + 0.05))
    assert set(both[both.a_passed & ~both.b_passed].match_key) == {"E003", "E004"}
    assert not (by_id.in_a & by_id.in_b).any()  # part ids differ (and lots too)
    with pytest.raises(ValueError, match="match"):
        analysis.stage_pairs(files, "CP1", "FT1", match="ecid")


def rounded(v: Any) -> Any:
    """`v` with every float rounded to 12 significant digits (tuples and lists walked)."""
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if isinstance(v, (list, tuple)):
        return type(v)(rounded(x) for x in v)
    return v


def test_maps_and_trend_from_an_archive_equal_the_files(tmp_path: Path) -> None:
    paths = [real_file(LOT2), real_file(LOT3)]
    arch = tmp_path / "a"
    r = subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", "materialize", *map(str, paths), "--archive", str(arch)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = []
    for source in (paths, arch):
        with analysis.Source(source) as src:
            got.append(
                (
                    sorted(analysis.stacked_map(src).fetchall()),
                    analysis.zone_yield(src, by="lot").fetchall(),
                    analysis.trend(src, by="wafer", test="1000", test_key="number").fetchall(),
                    sorted(
                        analysis.wafer_map(src, wafer="GAL-LOT-03", test="1010", test_key="number")
                        .project("x_coord, y_coord, hard_bin, passed, value")
                        .fetchall()
                    ),  # fmt: skip
                )
            )
    assert rounded(got[0]) == rounded(got[1])  # sums in parallel differ in the last bits
    assert len(got[0][0]) == len(expected_stacked(paths)) and len(got[0][3]) == len(raw_dice(paths[1]))
