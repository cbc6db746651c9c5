"""stdf_duck against the real tester files of ../shared/data/stdf.

Every value compared here comes from ``expected/<file>.json``, computed by an independent parser
(pystdf plus a second byte-level decoder; see expected/README.md), never from stdf_duck's own output.
The module skips as a whole when the shared data folder is absent.
"""

from __future__ import annotations

import math
import struct
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SHARED_STDF, expected_cases, query, scalar

import stdf_duck

if not SHARED_STDF.is_dir():
    pytest.skip(f"real STDF data folder {SHARED_STDF} is absent", allow_module_level=True)

CASES = [(name, path, exp) for name, path, exp in expected_cases() if path.exists()]
if not CASES:
    pytest.skip(f"no real STDF files with expected values under {SHARED_STDF}", allow_module_level=True)

BY_NAME = {name: (path, exp) for name, path, exp in CASES}
NAMES = [name for name, _, _ in CASES]
COMPLETE = [name for name in NAMES if BY_NAME[name][1]["complete"]]
DAMAGED = "STS_001SRAM_8435_-30c_Nov_10_23h05m08s.stdf"
# The reference walked the damaged file naively (its values describe that walk up to where it broke); the
# per-file tests run over the complete files, the damaged one has its own tests below.

# expected MIR keys -> stdf_files columns
MIR_COLUMNS = {
    "LOT_ID": "lot_id",
    "PART_TYP": "part_typ",
    "NODE_NAM": "node_nam",
    "TSTR_TYP": "tstr_typ",
    "JOB_NAM": "job_nam",
    "EXEC_TYP": "exec_typ",
    "TEST_COD": "test_cod",
}


def _on_error(name: str) -> str:
    # clean files are read strictly (any damage would raise); damaged ones keep what precedes the damage
    return "raise" if BY_NAME[name][1]["complete"] else "warn"


@cache
def table(name: str, tbl: str) -> pa.Table:
    """One table of one real file, materialized once per test session."""
    path, _ = BY_NAME[name]
    return stdf_duck.read(tbl, path, on_error=_on_error(name)).to_arrow()  # type: ignore[arg-type]


def sums_close(got: float, exp: float, n: int) -> bool:
    """Sums of float32 values widened to float64: relative 1e-9, or absolute scaled by the count."""
    return math.isclose(got, exp, rel_tol=1e-9, abs_tol=1e-9 * max(1, n))


def fsum_finite(values: list[float | None]) -> float:
    return math.fsum(v for v in values if v is not None and math.isfinite(v))


def hard_bin_key(v: Any) -> str:
    return "null" if v is None else str(v)


def soft_bin_key(v: Any) -> str:
    return "null" if v is None or v == 65535 else str(v)


def test_every_expected_file_is_covered() -> None:
    # the module really runs over every real file, not over a subset
    assert len(CASES) == len(expected_cases())
    assert DAMAGED in NAMES


# ---------------------------------------------------------------------------------------------
# records and files


@pytest.mark.parametrize("name", COMPLETE)
def test_record_counts(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query(
        "SELECT rec_name, rec_typ, rec_sub, count(*) FROM r GROUP BY ALL",
        r=table(name, "records"),
    )
    got: Counter[str] = Counter()
    for rec_name, typ, sub, n in rows:
        key = f"T{typ}_{sub}" if rec_name == "UNKNOWN" else rec_name
        got[key] += n
    assert dict(got) == exp["record_counts"]
    assert sum(got.values()) == exp["records_total"]


@pytest.mark.parametrize("name", COMPLETE)
def test_record_offsets_walk_the_stream(name: str) -> None:
    # each record starts where the previous one ended (4-byte header + REC_LEN)
    rows = query(
        "SELECT byte_offset, rec_len FROM r ORDER BY record_index",
        r=table(name, "records"),
    )
    assert rows[0][0] == 0
    for (off, length), (nxt, _) in zip(rows, rows[1:], strict=False):
        assert nxt == off + 4 + length


@pytest.mark.parametrize("name", COMPLETE)
def test_files_row(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = table(name, "files").to_pylist()
    assert len(rows) == 1
    f = rows[0]
    assert f["byte_order"] == exp["byte_order"]
    assert f["compression"] == (exp["compression"] or "none")
    assert f["n_records"] == exp["records_total"]
    # stdf-reference.md: complete = stream undamaged, MRR present and no part left open at the end
    # (a part opened without PIR by an orphan test record and never closed counts as open)
    open_parts = scalar("SELECT count(*) FILTER (NOT complete) FROM p", p=table(name, "parts"))
    assert f["complete"] == (exp["complete"] and "MRR" in exp["record_counts"] and open_parts == 0)
    assert f["n_parts"] == exp["parts"] + open_parts
    for key, col in MIR_COLUMNS.items():
        want = exp["mir"][key]
        # an empty MIR string is a missing value: NULL in the derived table
        assert f[col] == (want or None), (col, f[col], want)


@pytest.mark.parametrize("name", COMPLETE)
def test_stream_size(name: str) -> None:
    _, exp = BY_NAME[name]
    f = table(name, "files").to_pylist()[0]
    assert f["stream_size"] == exp["stream_size"]
    if exp["compression"] is None:
        assert f["file_size"] == exp["file_size"]


# ---------------------------------------------------------------------------------------------
# parts and bins


@pytest.mark.parametrize("name", COMPLETE)
def test_parts_counts(name: str) -> None:
    _, exp = BY_NAME[name]
    parts = table(name, "parts")
    assert scalar("SELECT count(*) FILTER (complete) FROM p", p=parts) == exp["parts"]
    assert scalar("SELECT count(*) FILTER (has_pir) FROM p", p=parts) == exp["pir_count"]
    # PRRs with no PIR, parts opened by a PIR and never closed
    assert scalar("SELECT count(*) FILTER (complete AND NOT has_pir) FROM p", p=parts) == exp["prr_without_pir"]
    assert scalar("SELECT count(*) FILTER (has_pir AND NOT complete) FROM p", p=parts) == exp["unclosed_parts"]


@pytest.mark.parametrize("name", COMPLETE)
def test_pass_fail_from_part_flg(name: str) -> None:
    _, exp = BY_NAME[name]
    parts = table(name, "parts")
    rows = query("SELECT part_flg, passed, pass_source FROM p WHERE complete", p=parts)
    by_flag = Counter()
    by_passed = Counter()
    for flg, passed, source in rows:
        if flg is None:
            by_flag["absent"] += 1
        elif flg & 0x10:
            by_flag["unknown"] += 1
        elif flg & 0x08:
            by_flag["failed"] += 1
        else:
            by_flag["passed"] += 1
        if source == "part_flg":
            by_passed["passed" if passed else "failed"] += 1
    assert by_flag["passed"] == exp["passed_count"]
    assert by_flag["failed"] == exp["failed_count"]
    assert by_flag["unknown"] == exp["unknown_pass_fail_count"]
    assert by_flag["absent"] == exp["part_flg_absent"]
    # where pass/fail comes from PART_FLG, stdf_parts.passed says the same
    decided = exp["passed_count"] + exp["failed_count"]
    assert by_passed["passed"] + by_passed["failed"] == decided
    assert by_passed["passed"] == exp["passed_count"]
    assert by_passed["failed"] == exp["failed_count"]


@pytest.mark.parametrize("name", COMPLETE)
def test_bin_counts(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query("SELECT hard_bin, soft_bin FROM p WHERE complete", p=table(name, "parts"))
    hard = Counter(hard_bin_key(h) for h, _ in rows)
    soft = Counter(soft_bin_key(s) for _, s in rows)
    assert dict(hard) == exp["hard_bin_counts"]
    assert dict(soft) == exp["soft_bin_counts"]


@pytest.mark.parametrize("name", COMPLETE)
def test_site_part_counts(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query(
        "SELECT head_num, site_num, count(*) FROM p WHERE complete GROUP BY ALL",
        p=table(name, "parts"),
    )
    assert {f"{h}/{s}": n for h, s, n in rows} == exp["site_part_counts"]


# ---------------------------------------------------------------------------------------------
# PTR


@pytest.mark.parametrize("name", COMPLETE)
def test_ptr_per_test(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query("SELECT test_num, result, test_flg FROM t", t=table(name, "ptr"))
    assert len(rows) == exp["ptr"]["count"]
    values: dict[int, list[float | None]] = defaultdict(list)
    n_fail: Counter[int] = Counter()
    n_invalid: Counter[int] = Counter()
    for test_num, result, flg in rows:
        values[test_num].append(result)
        n_fail[test_num] += bool((flg or 0) & 0x80)
        n_invalid[test_num] += bool((flg or 0) & 0x02)
    assert {str(t) for t in values} == set(exp["ptr"]["tests"])
    assert len(values) == exp["ptr"]["n_tests"]
    nonfinite = sum(1 for vs in values.values() for v in vs if v is not None and not math.isfinite(v))
    assert nonfinite == exp["ptr"]["n_nonfinite"]
    bad = []
    for t, vs in values.items():
        e = exp["ptr"]["tests"][str(t)]
        present = [v for v in vs if v is not None]
        got = (len(vs), len(present), n_fail[t], n_invalid[t])
        want = (e["n"], e["n_result_present"], e["n_fail"], e["n_result_invalid_flag"])
        if got != want or not sums_close(fsum_finite(present), e["sum_result"], len(present)):
            bad.append((t, got, want, fsum_finite(present), e["sum_result"]))
    assert not bad, bad[:10]
    assert sum(1 for vs in values.values() for v in vs if v is not None) == exp["ptr"]["n_result_present"]


def _keyed(rows: list[tuple[Any, ...]]) -> dict[str, tuple[int, float]]:
    acc: dict[str, list[float]] = defaultdict(list)
    for hard_bin, test_num, result in rows:
        acc[f"{hard_bin_key(hard_bin)}/{test_num}"].append(result)
    return {k: (len(vs), fsum_finite(vs)) for k, vs in acc.items()}


def _compare_keyed(got: dict[str, tuple[int, float]], want: dict[str, list[Any]]) -> None:
    assert set(got) == set(want), sorted(set(got) ^ set(want))[:10]
    bad = [
        (k, got[k], want[k])
        for k in want
        if got[k][0] != want[k][0] or not sums_close(got[k][1], want[k][1], want[k][0])
    ]
    assert not bad, bad[:10]


@pytest.mark.parametrize("name", COMPLETE)
def test_keyed_ptr_raw(name: str) -> None:
    """Raw PTRs joined to their part on (file_id, part_index); the hard bin comes from the part's PRR."""
    _, exp = BY_NAME[name]
    rows = query(
        """
        SELECT p.hard_bin, t.test_num, t.result
        FROM t JOIN p ON t.file_id::VARCHAR = p.file_id AND t.part_index = p.part_index
        WHERE t.result IS NOT NULL AND p.has_pir AND p.complete
        """,
        t=table(name, "ptr"),
        p=table(name, "parts"),
    )
    _compare_keyed(_keyed(rows), exp["keyed_ptr"])


@pytest.mark.parametrize("name", COMPLETE)
def test_keyed_ptr_through_results(name: str) -> None:
    """The same check through stdf_results: multi-site PTRs land on the right part."""
    _, exp = BY_NAME[name]
    if any(t["n_result_invalid_flag"] for t in exp["ptr"]["tests"].values()):
        pytest.skip("stdf_results nulls RESULT for PTRs flagged invalid; the raw check covers this file")
    rows = query(
        """
        SELECT p.hard_bin, r.test_num, r.result
        FROM r JOIN p ON r.file_id::VARCHAR = p.file_id AND r.part_index = p.part_index
        WHERE r.rec_type = 'PTR' AND r.result IS NOT NULL AND p.has_pir AND p.complete
        """,
        r=table(name, "results"),
        p=table(name, "parts"),
    )
    _compare_keyed(_keyed(rows), exp["keyed_ptr"])


@pytest.mark.parametrize("name", COMPLETE)
def test_results_ptr_rows(name: str) -> None:
    """stdf_results has one row per PTR, except defaults-only PTRs outside any part."""
    _, exp = BY_NAME[name]
    n_results = scalar("SELECT count(*) FROM r WHERE rec_type = 'PTR'", r=table(name, "results"))
    outside = query(
        "SELECT test_flg, parm_flg FROM t WHERE part_index IS NULL",
        t=table(name, "ptr"),
    )
    # a PTR outside parts is dropped only when it carries defaults alone (TEST_FLG 0x10, PARM_FLG 0)
    assert all((flg or 0) & 0x10 and not parm for flg, parm in outside), outside[:10]
    assert len(outside) <= exp["orphan_ptr"]
    assert n_results == exp["ptr"]["count"] - len(outside)


@pytest.mark.parametrize("name", COMPLETE)
def test_results_part_key_matches_raw(name: str) -> None:
    """Every stdf_results test row is keyed to the same part as its raw record (per record_index)."""
    rows = query(
        """
        SELECT count(*), count(*) FILTER (r.part_index IS DISTINCT FROM t.part_index
                                          OR r.head_num <> t.head_num OR r.site_num <> t.site_num)
        FROM r JOIN t USING (record_index)
        WHERE r.rec_type = 'PTR'
        """,
        r=table(name, "results"),
        t=table(name, "ptr"),
    )
    n, mismatched = rows[0]
    assert n == scalar("SELECT count(*) FROM r WHERE rec_type = 'PTR'", r=table(name, "results"))
    assert mismatched == 0


@pytest.mark.parametrize("name", COMPLETE)
def test_orphans_and_unclosed(name: str) -> None:
    """Orphan PTRs (no open part) are the PTRs of parts opened without a PIR, or of no part;
    PTRs of parts never closed match `unclosed_ptr`; stdf_warnings reports each such part."""
    _, exp = BY_NAME[name]
    ptr, parts, warnings = table(name, "ptr"), table(name, "parts"), table(name, "warnings")
    orphan = scalar(
        """
        SELECT count(*) FROM t LEFT JOIN p ON t.file_id::VARCHAR = p.file_id AND t.part_index = p.part_index
        WHERE t.part_index IS NULL OR NOT p.has_pir
        """,
        t=ptr,
        p=parts,
    )
    assert orphan == exp["orphan_ptr"]
    unclosed = scalar(
        """
        SELECT count(*) FROM t JOIN p ON t.file_id::VARCHAR = p.file_id AND t.part_index = p.part_index
        WHERE p.has_pir AND NOT p.complete
        """,
        t=ptr,
        p=parts,
    )
    assert unclosed == exp["unclosed_ptr"]
    codes = Counter(code for (code,) in query("SELECT code FROM w", w=warnings))
    assert codes["implicit_pir"] == scalar("SELECT count(*) FILTER (NOT has_pir) FROM p", p=parts)
    assert codes["part_without_prr"] == scalar("SELECT count(*) FILTER (NOT complete) FROM p", p=parts)
    if exp["orphan_ptr"] == 0 and exp["unclosed_parts"] == 0 and exp["prr_without_pir"] == 0:
        assert codes["implicit_pir"] == 0
        assert codes["part_without_prr"] == 0


# ---------------------------------------------------------------------------------------------
# MPR, FTR


@pytest.mark.parametrize("name", COMPLETE)
def test_mpr_raw(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query("SELECT rtn_rslt FROM m", m=table(name, "mpr"))
    assert len(rows) == exp["mpr"]["count"]
    values = [v for (lst,) in rows for v in (lst or [])]
    assert len(values) == exp["mpr"]["n_rtn_rslt"]
    assert sum(1 for v in values if v is not None and not math.isfinite(v)) == exp["mpr"]["n_nonfinite"]
    assert sums_close(fsum_finite(values), exp["mpr"]["sum_rtn_rslt"], len(values))


@pytest.mark.parametrize("name", COMPLETE)
def test_mpr_results(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query(
        "SELECT result, test_flg, record_index FROM r WHERE rec_type = 'MPR'",
        r=table(name, "results"),
    )
    assert len({ri for _, _, ri in rows}) == exp["mpr"]["count"]
    assert len(rows) == exp["mpr"]["n_rtn_rslt"]
    if any((flg or 0) & 0x10 for _, flg, _ in rows):
        pytest.skip("stdf_results nulls results of MPRs flagged not executed; the raw check covers this file")
    values = [v for v, _, _ in rows]
    assert sums_close(fsum_finite(values), exp["mpr"]["sum_rtn_rslt"], len(values))


@pytest.mark.parametrize("name", COMPLETE)
def test_ftr(name: str) -> None:
    _, exp = BY_NAME[name]
    rows = query("SELECT test_flg FROM f", f=table(name, "ftr"))
    assert len(rows) == exp["ftr"]["count"]
    assert sum(1 for (flg,) in rows if (flg or 0) & 0x80) == exp["ftr"]["n_fail"]
    n_results = scalar("SELECT count(*) FROM r WHERE rec_type = 'FTR'", r=table(name, "results"))
    assert n_results == exp["ftr"]["count"]


@pytest.mark.parametrize("name", COMPLETE)
def test_complete_files_have_no_damage_warning(name: str) -> None:
    codes = {c for (c,) in query("SELECT code FROM w", w=table(name, "warnings"))}
    assert not codes & {"truncated", "format", "io", "no_mrr"}, codes


# ---------------------------------------------------------------------------------------------
# the damaged file


def _damaged() -> tuple[Path, dict[str, Any]]:
    if DAMAGED not in BY_NAME:
        pytest.skip(f"{DAMAGED} is absent")
    return BY_NAME[DAMAGED]


def _damage_offset(exp: dict[str, Any]) -> int:
    # "last record header at offset 2217 (...)": where the reference's naive walk broke
    (err,) = exp["errors"]
    return int(err["message"].split("offset ")[1].split()[0])


def _naive_walk(path: Path) -> list[tuple[int, int, int]]:
    """(offset, typ, sub) of the headers a naive walk follows (little-endian file), until one overruns."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 4 <= len(data):
        n, typ, sub = struct.unpack_from("<HBB", data, pos)
        if pos + 4 + n > len(data):
            break
        out.append((pos, typ, sub))
        pos += 4 + n
    return out


def _damaged_record(path: Path, exp: dict[str, Any]) -> int:
    """Offset of the damaged record: the last record the reference decoded (a PMR) before the naive
    walk read garbage (MANIFEST: the PMR at 2152 declares REC_LEN 24, a valid FTR header is at 2168)."""
    walk = _naive_walk(path)
    assert exp["last_record_decoded"] == "PMR"
    return max(off for off, typ, sub in walk if (typ, sub) == (1, 60))


RESYNC = 2168  # MANIFEST: the FTR header inside the damaged PMR
AFTER_RESYNC = 188  # MANIFEST: records parsed cleanly from the resync to the MRR


def _before_damage(exp: dict[str, Any]) -> dict[str, int]:
    """Record counts before the damaged record: the reference's, less the garbage it walked as
    records of undefined types (T0_0, T14_115) and less the damaged PMR itself."""
    want = {k: v for k, v in exp["record_counts"].items() if not k.startswith("T")}
    want["PMR"] -= 1
    return want


def test_damaged_expected_offset() -> None:
    path, exp = _damaged()
    assert not exp["complete"]
    assert _damage_offset(exp) == 2217
    assert _damaged_record(path, exp) == 2152


@pytest.mark.parametrize("tbl", ["records", "files", "parts", "results", "ptr", "warnings"])
def test_damaged_raises(tbl: str) -> None:
    path, exp = _damaged()
    with pytest.raises(stdf_duck.StdfFormatError) as info:
        stdf_duck.read(tbl, path).to_arrow()
    e = info.value
    assert isinstance(e, ValueError)
    assert e.offset == _damaged_record(path, exp)  # the damaged record, not where a naive walk ends
    assert e.record == "PMR"
    assert DAMAGED in str(e) and f"records chain again from byte {RESYNC}" in str(e)
    assert e.path is not None and Path(e.path).name == DAMAGED


def test_damaged_raises_in_duckdb() -> None:
    path, exp = _damaged()
    with pytest.raises(Exception) as info:
        query("SELECT count(*) FROM r", r=stdf_duck.read("records", path))
    assert DAMAGED in str(info.value)


def test_damaged_warn_keeps_every_record() -> None:
    path, exp = _damaged()
    recs = stdf_duck.read("records", path, on_error="warn").to_arrow()
    at = _damaged_record(path, exp)
    rows = query("SELECT byte_offset, rec_name FROM r ORDER BY record_index", r=recs)
    before = Counter(name for off, name in rows if off < at)
    assert dict(before) == _before_damage(exp)
    after = [(off, name) for off, name in rows if off >= at]
    assert after[0] == (RESYNC, "FTR") and after[-1][1] == "MRR" and len(after) == AFTER_RESYNC
    assert "UNKNOWN" not in {name for _, name in rows}  # no garbage read as records
    assert len(rows) == sum(_before_damage(exp).values()) + AFTER_RESYNC


def test_damaged_warn_reports_the_damage() -> None:
    path, exp = _damaged()
    rows = stdf_duck.read("warnings", path, on_error="warn").to_arrow().to_pylist()
    desync = [w for w in rows if w["code"] == "desync"]
    assert len(desync) == 1
    w = desync[0]
    at = _damaged_record(path, exp)
    assert w["byte_offset"] == at and f"bytes {at}..{RESYNC} skipped" in w["message"]
    assert DAMAGED in (w["file_path"] or "") or DAMAGED in w["message"]
    assert not [w for w in rows if w["code"] == "truncated"]  # the walk reached the MRR
    files = stdf_duck.read("files", path, on_error="warn").to_arrow().to_pylist()
    assert len(files) == 1
    assert files[0]["complete"] is False
    assert files[0]["n_warnings"] == len(rows)


def test_damaged_in_a_list_warn_goes_on() -> None:
    """on_error='warn' over several files: the damaged one keeps its rows, the others are whole."""
    path, exp = _damaged()
    others = [n for n in COMPLETE if BY_NAME[n][1]["records_total"] < 5000][:2]
    if not others:
        pytest.skip("no small complete file to pair with")
    paths = [path] + [BY_NAME[n][0] for n in others]
    recs = stdf_duck.read("records", paths, on_error="warn")
    files = stdf_duck.read("files", paths, on_error="warn")
    rows = query(
        "SELECT f.file_name, count(*) FROM r JOIN f ON r.file_id::VARCHAR = f.file_id GROUP BY ALL",
        r=recs,
        f=files,
    )
    want = {DAMAGED: sum(_before_damage(exp).values()) + AFTER_RESYNC}
    want |= {n: BY_NAME[n][1]["records_total"] for n in others}
    assert dict(rows) == want
    with pytest.raises(stdf_duck.StdfFormatError):
        stdf_duck.read("records", paths).to_arrow()
