"""stdf_duck.plots and `stdf-duck plot`: the pictures, checked as pictures.

Every figure is rendered to PNG and SVG (vl-convert, no browser). The PNG must have the chart's
size and not be blank; the SVG must parse and hold the expected marks. A wafer map's colours are
checked against the raw PRRs: each die rectangle's position in the SVG gives its (x, y) through
the WCR's POS_X/POS_Y (read raw from stdf_wcr), the bin of the final PRR at that (x, y) (the last
in record order, from stdf_prr) gives the colour its legend entry shows, and the PNG's pixel at
the centre of a bin-1 die and of a failing die has that colour.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, real_file

import stdf_duck
from stdf_duck import analysis, plots
from stdf_duck.cli.main import main

PIL = pytest.importorskip("PIL.Image")
MULTI = FIXTURES / "multisite_le.stdf"
SVG_NS = "{http://www.w3.org/2000/svg}"
RECT = re.compile(r"M([-\d.e]+),([-\d.e]+)h([-\d.e]+)v([-\d.e]+)")


# ---------------------------------------------------------------- raw data, read independently


def raw(sql: str) -> list[tuple[Any, ...]]:
    con = stdf_duck.connect()
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def raw_final_bins(path: Path, wafer_no: int = 0) -> dict[tuple[int, int], tuple[int, bool]]:
    """(x, y) -> (hard bin, passed) of the last PRR at that position inside the wafer_no-th
    WIR..WRR of the file (record order), from the raw PRR table; PART_FLG bit 3 = failed."""
    wirs = [r[0] for r in raw(f"SELECT record_index FROM stdf_wir('{path}') ORDER BY 1")]
    wrrs = [r[0] for r in raw(f"SELECT record_index FROM stdf_wrr('{path}') ORDER BY 1")]
    lo, hi = wirs[wafer_no], wrrs[wafer_no]
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for x, y, hb, flg in raw(
        f"SELECT x_coord, y_coord, hard_bin, part_flg FROM stdf_prr('{path}') "
        f"WHERE record_index BETWEEN {lo} AND {hi} ORDER BY record_index"
    ):
        out[(x, y)] = (hb, not (flg & 0x08))
    return out


def raw_wcr(path: Path) -> tuple[str, str]:
    [(pos_x, pos_y)] = raw(f"SELECT pos_x, pos_y FROM stdf_wcr('{path}')")
    return pos_x, pos_y


def raw_ptr_values(path: Path, test_num: int) -> list[tuple[int, float]]:
    """(site, result) of every PTR of `test_num` with a valid finite result (TEST_FLG bits 1-5
    clear), of the parts whose PRR is the final one at their (x, y) on their wafer."""
    final_parts: set[int] = set()
    wirs = raw(f"SELECT record_index FROM stdf_wir('{path}') ORDER BY 1")
    wrrs = raw(f"SELECT record_index FROM stdf_wrr('{path}') ORDER BY 1")
    for (lo,), (hi,) in zip(wirs, wrrs, strict=True):
        last: dict[tuple[int, int], int] = {}
        for x, y, pi in raw(
            f"SELECT x_coord, y_coord, part_index FROM stdf_prr('{path}') "
            f"WHERE record_index BETWEEN {lo} AND {hi} ORDER BY record_index"
        ):
            last[(x, y)] = pi
        final_parts |= set(last.values())
    rows = raw(f"SELECT part_index, site_num, test_flg, result FROM stdf_ptr('{path}') WHERE test_num = {test_num}")
    return [(s, float(v)) for pi, s, flg, v in rows if pi in final_parts and not (flg & 0x3E) and np.isfinite(v)]


# ---------------------------------------------------------------- reading pictures


def marks(svg: Path, cls: str) -> list[tuple[float, float, float, float, str]]:
    """(left, top, width, height, fill) in page pixels of every rect path inside the SVG groups
    whose class holds `cls` (translations of the enclosing groups added up)."""
    out: list[tuple[float, float, float, float, str]] = []

    def walk(el: ET.Element, dx: float, dy: float, inside: bool) -> None:
        m = re.match(r"translate\(([-\d.e]+),([-\d.e]+)\)", el.get("transform", ""))
        if m:
            dx, dy = dx + float(m.group(1)), dy + float(m.group(2))
        inside = inside or cls in el.get("class", "").split()
        if inside and el.tag == SVG_NS + "path":
            r = RECT.match(el.get("d", ""))
            if r:
                x, y, w, h = map(float, r.groups())
                out.append((dx + x, dy + y, w, h, el.get("fill", "")))
        for child in el:
            walk(child, dx, dy, inside)

    walk(ET.parse(svg).getroot(), 0.0, 0.0, False)
    return out


def legend(svg: Path) -> dict[str, str]:
    """legend label -> its symbol's fill, in the SVG's legend entries."""
    out = {}
    for entry in ET.parse(svg).getroot().iter(SVG_NS + "g"):
        sym = [p for g in entry if "role-legend-symbol" in g.get("class", "") for p in g.iter(SVG_NS + "path")]
        txt = [t for g in entry if "role-legend-label" in g.get("class", "") for t in g.iter(SVG_NS + "text")]
        if sym and txt:
            out[txt[0].text or ""] = sym[0].get("fill", "")
    return out


def texts(svg: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(svg).getroot().iter(SVG_NS + "text")]


def svg_size(svg: Path) -> tuple[int, int]:
    root = ET.parse(svg).getroot()
    return int(float(root.get("width", "0"))), int(float(root.get("height", "0")))


def rgb(color: str) -> tuple[int, int, int]:
    """An SVG colour, #rrggbb or rgb(r, g, b)."""
    m = re.match(r"rgb\((\d+),\s*(\d+),\s*(\d+)\)", color)
    if m:
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def render(chart: Any, tmp_path: Path, name: str, scale: float = 1.0) -> tuple[Path, Path, Any]:
    """The chart as name.svg and name.png; checks the PNG is the SVG's size x scale and not blank."""
    svg, png = plots.save(chart, tmp_path / f"{name}.svg"), plots.save(chart, tmp_path / f"{name}.png", scale=scale)
    img = PIL.open(png).convert("RGB")
    w, h = svg_size(Path(svg))
    assert img.size == (round(w * scale), round(h * scale))
    assert np.asarray(img, dtype=float).std() > 20, "the PNG is (nearly) blank"
    return Path(svg), Path(png), img


# ---------------------------------------------------------------- wafer maps


def check_bin_colours(svg: Path, img: Any, bins: dict[tuple[int, int], tuple[int, bool]], pos: tuple[str, str]) -> None:
    """Every die rect of the SVG, placed on (x, y) from its pixel position and the WCR, has the
    legend colour of the raw bin there; the PNG agrees at a bin-1 die and at a failing die."""
    rects = marks(svg, "dice_marks")
    assert len(rects) == len(bins), "one rectangle per die"
    cell = rects[0][2]
    assert all(abs(r[2] - cell) < 0.01 and abs(r[3] - cell) < 0.01 for r in rects), "square dice of one size"
    colours = {label.split()[0]: fill for label, fill in legend(svg).items()}
    xs, ys = [x for x, _ in bins], [y for _, y in bins]
    left, top = min(r[0] for r in rects), min(r[1] for r in rects)
    x0 = min(xs) if pos[0] == "R" else max(xs)  # the die on the left edge of the picture
    y0 = max(ys) if pos[1] == "U" else min(ys)  # the die on the top edge
    sx, sy = (1 if pos[0] == "R" else -1), (-1 if pos[1] == "U" else 1)

    def pixel_of(x: int, y: int) -> tuple[float, float]:
        return left + sx * (x - x0) * cell + cell / 2, top + sy * (y - y0) * cell + cell / 2

    placed = {}
    for r in rects:
        x = x0 + sx * round((r[0] - left) / cell)
        y = y0 + sy * round((r[1] - top) / cell)
        placed[(x, y)] = r[4]
    assert set(placed) == set(bins)
    for xy, (hb, _passed) in bins.items():
        assert placed[xy] == colours[str(hb)], f"die {xy} of bin {hb}"
    good = next(xy for xy, (hb, _) in sorted(bins.items()) if hb == 1)
    bad = next(xy for xy, (hb, _) in sorted(bins.items()) if hb != 1)
    for xy in (good, bad):
        px, py = pixel_of(*xy)
        got = img.getpixel((int(px), int(py)))
        want = rgb(colours[str(bins[xy][0])])
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 3, (xy, got, want)
    assert colours["1"] != colours[str(bins[bad][0])]


def test_wafer_map_bins_lot2(tmp_path: Path) -> None:
    """lot2: one wafer with re-probes (1,569 PRRs, 1,456 positions), POS_X R, POS_Y U."""
    path = real_file("lot2.stdf.gz")
    bins = raw_final_bins(path)
    assert len(bins) == 1456
    svg, _png, img = render(plots.wafer_map(path), tmp_path, "lot2")
    check_bin_colours(svg, img, bins, raw_wcr(path))
    with pytest.raises(AssertionError):  # the check sees a map drawn upside down
        check_bin_colours(svg, img, bins, ("R", "D"))
    labels = texts(svg)
    for hb in {b for b, _ in bins.values()}:
        assert str(hb) in labels, f"legend entry of bin {hb}"


def test_wafer_map_bins_multisite_names_and_orientation(tmp_path: Path) -> None:
    """The fixture's first wafer (POS_Y D: y grows downwards), legend labels with the HBR names."""
    bins = raw_final_bins(MULTI, 0)
    names = dict(raw(f"SELECT DISTINCT hbin_num, hbin_nam FROM stdf_hbr('{MULTI}')"))
    svg, _png, img = render(plots.wafer_map(MULTI, wafer="MS4LOT-01", cell=20), tmp_path, "ms", scale=1)
    check_bin_colours(svg, img, bins, raw_wcr(MULTI))
    shown = set(legend(svg))
    assert shown == {f"{hb} {names[hb]}" for hb in {b for b, _ in bins.values()}}
    assert marks(svg, "dice_marks")[0][2] == pytest.approx(20, abs=0.05)


def test_wafer_map_pass_fail(tmp_path: Path) -> None:
    bins = raw_final_bins(MULTI, 1)
    svg, _png, _img = render(plots.wafer_map(MULTI, wafer="MS4LOT-02", color="pass"), tmp_path, "pf")
    fills = [r[4] for r in marks(svg, "dice_marks")]
    colours = legend(svg)
    assert fills.count(colours["fail"]) == sum(not p for _, p in bins.values())
    assert fills.count(colours["pass"]) == sum(p for _, p in bins.values())


def test_wafer_map_test_value(tmp_path: Path) -> None:
    """Colour by a test's value: a gradient legend, one coloured rect per die with a value (the
    rest drawn grey underneath)."""
    vals = raw_ptr_values(MULTI, 1050)
    svg, _png, _img = render(plots.wafer_map(MULTI, wafer="MS4LOT-01", color="1050:VREF"), tmp_path, "val")
    n_w1 = len(analysis.test_values(MULTI, ["1050:VREF"], wafer="MS4LOT-01").fetchall())
    assert 0 < n_w1 < len(vals)  # the two wafers share the raw values
    coloured = marks(svg, "dice_marks")
    assert len(coloured) == n_w1
    assert len({r[4] for r in coloured}) > 5, "a colour scale, not one colour"
    assert any("1050:VREF" in t for t in texts(svg))


def test_wafer_map_needs_one_wafer() -> None:
    with pytest.raises(ValueError, match="2 wafers"):
        plots.wafer_map(MULTI)


def test_stacked_map(tmp_path: Path) -> None:
    """Per position the share of the two wafers that failed there: one colour per count of
    failing wafers (0, 1, 2) from the raw PRRs, darker with more."""
    w1, w2 = raw_final_bins(MULTI, 0), raw_final_bins(MULTI, 1)
    fails = {xy: (not w1.get(xy, (0, True))[1]) + (not w2.get(xy, (0, True))[1]) for xy in set(w1) | set(w2)}
    svg, _png, _img = render(plots.stacked_map(MULTI), tmp_path, "stacked")
    rects = marks(svg, "dice_marks")
    assert len(rects) == len(fails)
    pos = raw_wcr(MULTI)
    left, top, cell = min(r[0] for r in rects), min(r[1] for r in rects), rects[0][2]
    x0, y0 = min(x for x, _ in fails), min(y for _, y in fails)
    assert pos == ("R", "D")
    by_count: dict[int, set[str]] = {}
    for r in rects:
        xy = (x0 + round((r[0] - left) / cell), y0 + round((r[1] - top) / cell))
        by_count.setdefault(fails[xy], set()).add(r[4])
    assert all(len(v) == 1 for v in by_count.values()) and len(by_count) == 3
    lum = {k: sum(rgb(next(iter(v)))) for k, v in by_count.items()}
    assert lum[0] > lum[1] > lum[2]


def test_lot_maps_one_map_per_wafer_headed_by_its_yield(tmp_path: Path) -> None:
    """Each wafer of the lot alone: its dice where the raw PRRs put them, in the colour of their
    final hard bin (the same check as a single wafer map); both: one map each, headed by the
    wafer's yield from the raw PRRs, and pass/fail colours counting the raw failures."""
    pos = raw_wcr(MULTI)
    for i, wafer in enumerate(("MS4LOT-01", "MS4LOT-02")):
        bins = raw_final_bins(MULTI, i)
        svg, _png, img = render(plots.lot_maps(MULTI, wafer=wafer, size=300), tmp_path, f"lm{i}")
        check_bin_colours(svg, img, bins, pos)
    both = [raw_final_bins(MULTI, i) for i in (0, 1)]
    svg, _png, _img = render(plots.lot_maps(MULTI, color="pass", columns=2), tmp_path, "lm")
    rects = marks(svg, "dice_marks")
    assert len(rects) == sum(len(b) for b in both) == 88
    for wafer, bins in zip(("MS4LOT-01", "MS4LOT-02"), both, strict=True):
        good = sum(p for _, p in bins.values())
        assert f"{wafer}: {100 * good / len(bins):.1f}%" in texts(svg)
    colours = legend(svg)
    fails = sum(not p for b in both for _, p in b.values())
    assert [r[4] for r in rects].count(colours["fail"]) == fails > 0
    with pytest.raises(ValueError, match="color"):
        plots.lot_maps(MULTI, color="1050:VREF")


# ---------------------------------------------------------------- distributions, Pareto, trend


def test_histogram_counts_and_limits(tmp_path: Path) -> None:
    """The bins are numpy's histogram of the raw PTR values over the range of data and limits;
    the overlay per site sums to the site's values; the limits are drawn."""
    vals = raw_ptr_values(MULTI, 1020)
    [(lo, hi)] = raw(
        f"SELECT DISTINCT lo_limit, hi_limit FROM stdf_ptr('{MULTI}') WHERE test_num = 1020 AND lo_limit IS NOT NULL"
    )
    data = plots.histogram_data(MULTI, "1020:IDD_ACTIVE", bins=20)
    v = np.array([x for _, x in vals])
    a, b = min(v.min(), lo), max(v.max(), hi)
    want, _ = np.histogram(v, bins=20, range=(a, b))
    got = np.zeros(20, dtype=int)
    for r in data["bins"]:
        got[r["i"]] += r["count"]
    assert got.tolist() == want.tolist()
    by_site = plots.histogram_data(MULTI, "1020:IDD_ACTIVE", by="site")
    per: dict[str, int] = {}
    for r in by_site["bins"]:
        per[r["grp"]] = per.get(r["grp"], 0) + r["count"]
    assert per == {str(s): sum(1 for t, _ in vals if t == s) for s in {t for t, _ in vals}}
    svg, _png, _img = render(plots.histogram(MULTI, "1020:IDD_ACTIVE", by="site"), tmp_path, "hist")
    assert {"LO", "HI"} <= set(texts(svg))


def test_box_quantiles_per_site(tmp_path: Path) -> None:
    vals = raw_ptr_values(MULTI, 1020)
    boxes = {b["grp"]: b for b in plots.box_data(MULTI, "1020:IDD_ACTIVE")["boxes"]}
    for site in {s for s, _ in vals}:
        v = np.array([x for s, x in vals if s == site])
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        bx = boxes[str(site)]
        assert (bx["n"], bx["q1"], bx["median"], bx["q3"]) == (
            len(v),
            pytest.approx(q1),
            pytest.approx(med),
            pytest.approx(q3),
        )
        inside = v[(v >= q1 - 1.5 * (q3 - q1)) & (v <= q3 + 1.5 * (q3 - q1))]
        assert bx["whisker_lo"] == pytest.approx(inside.min()) and bx["whisker_hi"] == pytest.approx(inside.max())
        assert bx["outliers"] == len(v) - len(inside)
    render(plots.box(MULTI, "1020:IDD_ACTIVE"), tmp_path, "box")


def test_pareto_bars(tmp_path: Path) -> None:
    """lot2: one bar per hard bin of the final dice, tallest first, heights in the raw counts' ratio."""
    path = real_file("lot2.stdf.gz")
    counts: dict[int, int] = {}
    for hb, _ in raw_final_bins(path).values():
        counts[hb] = counts.get(hb, 0) + 1
    svg, _png, _img = render(plots.bin_pareto(path), tmp_path, "pareto")
    bars = sorted(marks(svg, "layer_0_marks"), key=lambda r: r[0])
    assert len(bars) == len(counts)
    heights = [r[3] for r in bars]
    want = sorted(counts.values(), reverse=True)
    assert heights == sorted(heights, reverse=True)
    assert heights[1] / heights[0] == pytest.approx(want[1] / want[0], rel=1e-3)


def test_trend_and_scatter(tmp_path: Path) -> None:
    svg, _png, _img = render(plots.trend(MULTI, test="1020:IDD_ACTIVE", by="wafer"), tmp_path, "trend")
    assert {"UCL", "CL", "LCL"} <= set(texts(svg))
    a, b = raw_ptr_values(MULTI, 1020), raw_ptr_values(MULTI, 1050)
    assert a and b
    n_pairs = len(analysis.test_pairs(MULTI, "1020:IDD_ACTIVE", "1050:VREF").fetchall())
    svg, _png, _img = render(plots.scatter(MULTI, "1020:IDD_ACTIVE", "1050:VREF"), tmp_path, "scatter")
    circles = sum(
        1 for g in ET.parse(svg).getroot().iter(SVG_NS + "g") if "layer_0_marks" in g.get("class", "") for _ in g
    )
    assert circles == n_pairs
    binned = plots.scatter(MULTI, "1020:IDD_ACTIVE", "1050:VREF", max_points=10, bins=8)
    svg, _png, _img = render(binned, tmp_path, "scatter2d")
    assert 0 < len(marks(svg, "layer_0_marks")) <= 64


# ---------------------------------------------------------------- save, CLI


def test_save_formats(tmp_path: Path) -> None:
    chart = plots.bin_pareto(MULTI)
    html = Path(plots.save(chart, tmp_path / "p.html")).read_text()
    assert "<script" in html and not re.search(r"<script[^>]*\bsrc=", html)  # the scripts are inlined: opens offline
    _svg, _png, img = render(chart, tmp_path, "p2", scale=2)
    assert img.size[0] > 1000
    with pytest.raises(ValueError, match="png"):
        plots.save(chart, tmp_path / "p.jpg")


def test_cli_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`stdf-duck plot` writes the figure; a missing --test or several wafers are usage errors (2)."""
    out = tmp_path / "w.svg"
    assert main(["plot", "wafermap", str(MULTI), "--wafer", "MS4LOT-02", "--out", str(out)]) == 0
    assert len(marks(out, "dice_marks")) == len(raw_final_bins(MULTI, 1))
    assert main(["plot", "histogram", str(MULTI), "--out", str(tmp_path / "h.png")]) == 2
    assert "--test" in capsys.readouterr().err
    assert main(["plot", "wafermap", str(MULTI), "--out", str(tmp_path / "w2.png")]) == 2
    assert "2 wafers" in capsys.readouterr().err
    assert main(["plot", "lotmaps", str(MULTI), "--color", "pass", "--out", str(out)]) == 0
    assert len(marks(out, "dice_marks")) == len(raw_final_bins(MULTI, 0)) + len(raw_final_bins(MULTI, 1))
    png = tmp_path / "s.png"
    assert main(["plot", "scatter", str(MULTI), "-t", "1020:IDD_ACTIVE", "-t", "1050:VREF", "--out", str(png)]) == 0
    assert PIL.open(png).size[0] > 100
    assert not (tmp_path / "h.png").exists()
