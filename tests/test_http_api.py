"""The HTTP API (stdf_duck.api, `stdf-duck serve`) through FastAPI's TestClient, on an archive
materialized from a real tester file: each endpoint's rows equal the analysis function's on its
own Source (and expected/ where it has the number), the histogram equals numpy's over the
analysis's values, the export equals stdf_duck.analysis.export's file, POST /sql refuses every
escape from the archive with a 4xx JSON error, the row cap and the time limit hold, the token is
enforced, and the OpenAPI schema fuzzed by schemathesis never gets a 500."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from conftest import expected_of, real_file  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from stdf_duck import analysis  # noqa: E402
from stdf_duck.api import check_bind, create_app, is_loopback  # noqa: E402
from stdf_duck.cli import main  # noqa: E402

NAME = "lot2.stdf.gz"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = real_file(NAME)
    arch = tmp_path_factory.mktemp("http") / "arch"
    assert main(["materialize", str(path), "--archive", str(arch), "-q"]) == 0
    return arch


@pytest.fixture(scope="module")
def client(archive: Path) -> TestClient:
    return TestClient(create_app(archive))


def rows_of(rel: Any) -> list[dict[str, Any]]:
    """A relation's rows as the API's JSON would have them (NaN as None, dates ISO)."""
    cols = list(rel.columns)
    return [dict(zip(cols, [_plain(v) for v in r], strict=True)) for r in rel.fetchall()]


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def get(client: TestClient, url: str, status: int = 200, **params: Any) -> Any:
    r = client.get(url, params=params)
    assert r.status_code == status, r.text
    return r.json()


# ---- the analyses ---------------------------------------------------------------------------

TEST = "1000:glxy_SS_IH     <> glxy_pin2"

#: endpoint, query parameters, the analysis call giving the same rows
CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("/lots", {}, lambda s: analysis.yield_(s, by="lot")),
    ("/wafers", {"lot": "GAL-LOT"}, lambda s: analysis.yield_(s, by="wafer", lot="GAL-LOT")),
    ("/yield", {"by": "lot,site"}, lambda s: analysis.yield_(s, by="lot,site")),
    ("/sites", {}, lambda s: analysis.site_yield(s)),
    ("/bins", {"bin_type": "S"}, lambda s: analysis.bin_pareto(s, bin_type="S")),
    ("/bins/sites", {}, lambda s: analysis.bin_sites(s)),
    ("/tests", {"test_key": "number"}, lambda s: analysis.test_stats(s, test_key="number")),
    ("/tests/first_fail", {}, lambda s: analysis.first_fail(s)),
    ("/wafers/map", {"test": TEST}, lambda s: analysis.wafer_map(s, test=TEST)),
    ("/wafers/info", {}, lambda s: analysis.wafer_info(s)),
    ("/wafers/stacked", {}, lambda s: analysis.stacked_map(s)),
    ("/wafers/zones", {}, lambda s: analysis.zone_yield(s)),
    ("/wafers/radial", {"n_rings": 4}, lambda s: analysis.radial(s, n_rings=4)),
    ("/trend", {"test": TEST}, lambda s: analysis.trend(s, test=TEST)),
    ("/pat/limits", {"k": 3}, lambda s: analysis.pat_limits(s, k=3)),
    ("/pat/outliers", {"k": 3}, lambda s: analysis.pat_outliers(s, k=3)),
    ("/pat/yield", {"scope": "wafer"}, lambda s: analysis.pat_yield(s, scope="wafer")),
]


@pytest.mark.parametrize(("url", "params", "call"), CASES, ids=[c[0] for c in CASES])
def test_an_endpoint_answers_the_analysis_function(
    client: TestClient, archive: Path, url: str, params: dict[str, Any], call: Any
) -> None:
    answer = get(client, url, **params)
    with analysis.Source(archive) as src:
        want = rows_of(call(src))
    assert answer["truncated"] is False
    got = sorted(answer["rows"], key=_key)
    assert len(got) == len(want) > 0
    assert answer["columns"] == list(want[0])
    for a, b in zip(got, sorted(want, key=_key), strict=True):
        assert same(a, b), (a, b)


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal rows, floats to 1e-9 relative (sums of floats in parallel: the last digits vary)."""
    if list(a) != list(b):
        return False
    return all(
        x == pytest.approx(y, rel=1e-9) if isinstance(y, float) and isinstance(x, (int, float)) else x == y
        for x, y in zip(a.values(), b.values(), strict=True)
    )


def _key(row: dict[str, Any]) -> str:
    """A sort key of a row that parallel float sums do not change (the order of tied rows is free)."""
    return json.dumps({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}, sort_keys=True)


def test_whatif_answers_the_analysis_function(client: TestClient, archive: Path) -> None:
    limits = {TEST: (-0.7, None)}
    body = {"limits": [{"test_key": TEST, "lo": -0.7, "hi": None}]}
    r = client.post("/whatif", json=body, params={"by": "wafer"})
    assert r.status_code == 200, r.text
    dice = client.post("/whatif/dice", json=body).json()
    with analysis.Source(archive) as src:
        want = rows_of(analysis.whatif(src, limits, by="wafer"))
        want_dice = rows_of(analysis.whatif_dice(src, limits))
    assert len(r.json()["rows"]) == len(want) == 1 and same(r.json()["rows"][0], want[0])
    assert sorted(dice["rows"], key=_key) == sorted(want_dice, key=_key)
    assert want[0]["dice"] == len(want_dice)
    assert client.post("/whatif", json={"limits": []}).status_code == 422
    bad = client.post("/whatif", json={"limits": [{"test_key": TEST, "lo": 1, "hi": 0}]})
    assert bad.status_code == 400 and "lo > hi" in bad.json()["error"]


def test_lot_yield_and_bins_are_the_independent_parsers(client: TestClient) -> None:
    """expected/ (an independent parser) counts 1569 parts (insertions) of lot GAL-LOT, 1389 of them
    passed; no passing part is tested again, so 1389 final dice are good and bin 1 holds them."""
    exp = expected_of(NAME)
    (lot,) = get(client, "/lots")["rows"]
    assert lot["lot_id"] == exp["mir"]["LOT_ID"]
    assert lot["insertions"] == exp["parts"]
    assert lot["good"] == exp["passed_count"]
    hard = {r["bin_num"]: r["count"] for r in get(client, "/bins", bin_type="H")["rows"]}
    assert sum(hard.values()) == lot["dice"]
    assert hard[1] == lot["good"]


def test_filters_select(client: TestClient) -> None:
    assert get(client, "/lots", lot="NO-SUCH-LOT")["rows"] == []
    assert get(client, "/lots", date_to="2001-06-04")["rows"] == []  # the file started 2001-06-05
    assert len(get(client, "/lots", date_from="2001-06-05", date_to="2001-06-05")["rows"]) == 1
    assert get(client, "/lots", site=9)["rows"] == []
    bad = client.get("/lots", params={"die_key": "nope"})
    assert bad.status_code == 422 and "die_key" in bad.json()["error"]
    assert get(client, "/yield", 400, by="nope")["error"].startswith("unknown grouping")


def test_the_distribution_is_numpy_s_histogram_of_the_results(client: TestClient, archive: Path) -> None:
    np = pytest.importorskip("numpy")
    answer = get(client, "/tests/distribution", test=TEST, bins=7)
    with analysis.Source(archive) as src:
        values = [
            r[0]
            for r in analysis.test_results(src)
            .filter(f"test_key = '{TEST}' AND result_valid AND isfinite(result)")
            .project("result")
            .fetchall()
        ]
        (stats,) = rows_of(analysis.test_stats(src).filter(f"test_key = '{TEST}'"))
    counts, edges = np.histogram(values, bins=7)
    assert [r["count"] for r in answer["rows"]] == counts.tolist()
    assert [r["bin_lo"] for r in answer["rows"]] == pytest.approx(edges[:-1].tolist())
    assert answer["rows"][-1]["bin_hi"] == pytest.approx(edges[-1])
    assert len(answer["stats"]) == 1 and same(answer["stats"][0], stats)
    assert sum(counts) == stats["n"] == len(values)
    per_site = get(client, "/tests/distribution", test=TEST, bins=7, per_site=True)["rows"]
    assert sum(r["count"] for r in per_site) == len(values)
    assert {r["site_num"] for r in per_site} >= {0}
    none = get(client, "/tests/distribution", test="no such test")
    assert none["rows"] == [] and none["stats"] == []


@pytest.mark.parametrize(("fmt", "shape"), [("csv", "long"), ("parquet", "long"), ("csv", "pivot")])
def test_the_export_streams_what_analysis_export_writes(
    client: TestClient, archive: Path, tmp_path: Path, fmt: str, shape: str
) -> None:
    r = client.get("/export", params={"format": fmt, "shape": shape, "lot": "GAL-LOT"})
    assert r.status_code == 200, r.text
    ref = tmp_path / f"ref.{fmt}"
    with analysis.Source(archive) as src:
        analysis.export(src, ref, shape, lot="GAL-LOT")
        n_results = src.sql("SELECT count(*) FROM stdf_test_results(lot := 'GAL-LOT')").fetchall()[0][0]
    if fmt == "csv":
        assert r.content == ref.read_bytes()
    else:
        import pyarrow.parquet as pq

        got, want = pq.read_table(io.BytesIO(r.content)), pq.read_table(ref)
        assert got.equals(want)
        assert got.num_rows == n_results
    assert not list(Path(client.app.state.db.scratch).glob(f"*.{fmt}"))  # the temporary file is gone


# ---- POST /sql --------------------------------------------------------------------------------


def sql(client: TestClient, q: str, params: Any = None, status: int = 200, **extra: Any) -> Any:
    r = client.post("/sql", json={"sql": q, "params": params, **extra})
    assert r.status_code == status, r.text
    return r.json()


def test_sql_reads_the_views_and_the_macros_with_bound_parameters(client: TestClient, archive: Path) -> None:
    exp = expected_of(NAME)
    got = sql(
        client, "SELECT count(*) AS n, count(*) FILTER (WHERE passed) AS p FROM parts WHERE lot_id = $1", ["GAL-LOT"]
    )
    assert got["columns"] == ["n", "p"]
    assert got["rows"][0][0] == exp["parts"]
    assert sql(client, "SELECT count(*) FROM parts WHERE lot_id = ?", ["x' OR 1=1 --"])["rows"] == [[0]]
    y = sql(client, "SELECT dice, good FROM stdf_yield(per := ['lot'])")
    with analysis.Source(archive) as src:
        (want,) = rows_of(analysis.yield_(src))
    assert y["rows"] == [[want["dice"], want["good"]]]
    assert sql(client, "WITH a AS (SELECT 1 AS x) FROM a")["rows"] == [[1]]
    assert sql(client, "SELECT $n + 1 AS y", {"n": 41})["rows"] == [[42]]
    assert sql(client, "SELECT count(*) FROM results")["rows"][0][0] > 0


ESCAPES = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_parquet('/work/shared/data/stdf/**/*.parquet')",
    "SELECT * FROM stdf_parts('/etc/passwd')",
    "SELECT * FROM stdf_files('/work/shared/data/stdf/rust-stdf/lot2.stdf.gz')",
    "SELECT (SELECT count(*) FROM stdf_ptr('/etc/x')) FROM range(1)",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('parts')",
    "COPY (SELECT 1) TO '/tmp/stdf-duck-api-escape.csv'",
    "COPY parts TO '/tmp/stdf-duck-api-escape.parquet' (FORMAT parquet)",
    "ATTACH '/tmp/stdf-duck-api-escape.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET enable_external_access",
    "PRAGMA version",
    "SELECT 1; SELECT 2",
    "SELECT 1; COPY (SELECT 1) TO '/tmp/stdf-duck-api-escape.csv'",
    "CREATE TABLE t AS SELECT 1",
    "DROP VIEW parts",
    "EXPORT DATABASE '/tmp/stdf-duck-api-escape'",
    "CALL pragma_version()",
    "SELECT * FROM 'http://127.0.0.1:1/x.csv'",
    "SELECT * FROM '/etc/passwd'",
    "EXPLAIN SELECT 1",
]


@pytest.mark.parametrize("q", ESCAPES)
def test_every_escape_is_refused_with_a_json_error(client: TestClient, q: str) -> None:
    r = client.post("/sql", json={"sql": q})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["error"]
    assert not Path("/tmp/stdf-duck-api-escape.csv").exists()
    assert sql(client, "SELECT current_setting('enable_external_access')")["rows"] == [[False]]


def test_paths_out_of_the_archive_are_refused_and_in_it_read(client: TestClient, archive: Path) -> None:
    root = archive.resolve()
    for q in (
        f"SELECT * FROM read_text('{root}/../../../../etc/hostname')",
        f"SELECT count(*) FROM glob('{root}/../*')",
        f"SELECT * FROM read_text('{root}/parts/../../{root.name}-other/x')",
        "SELECT * FROM read_text('file:///etc/hostname')",
    ):
        r = client.post("/sql", json={"sql": q})
        assert r.status_code == 403 and "Permission" in r.json()["error"], (q, r.text)
    n = sql(client, f"SELECT count(*) FROM read_parquet('{root}/parts/*/*/*/*.parquet')")["rows"][0][0]
    assert n == expected_of(NAME)["parts"]


def test_the_row_cap_and_the_time_limit(archive: Path) -> None:
    small = TestClient(create_app(archive, max_rows=5, timeout=0.5))
    got = sql(small, "SELECT * FROM range(100)")
    assert got["rows"] == [[i] for i in range(5)] and got["truncated"] is True
    assert sql(small, "SELECT * FROM range(100)", limit=3)["rows"] == [[0], [1], [2]]
    assert sql(small, "SELECT * FROM range(5)")["truncated"] is False
    stacked = small.get("/wafers/stacked").json()
    assert len(stacked["rows"]) == 5 and stacked["truncated"] is True
    slow = sql(small, "SELECT sum(hash(i)) FROM range(100000000000) t(i)", status=408)
    assert "0.5 s" in slow["error"]
    assert sql(small, "SELECT 1")["rows"] == [[1]]  # the connection still serves


# ---- the token ----------------------------------------------------------------------------------


def test_a_non_loopback_bind_needs_a_token(archive: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "s3cret")
    with pytest.raises(ValueError, match="STDF_DUCK_API_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ValueError, match="STDF_DUCK_API_TOKEN"):
        create_app(archive, public=True)
    with pytest.raises(ValueError, match="STDF_DUCK_API_TOKEN"):
        create_app(archive, token="", public=True)


def test_serve_refuses_to_start_on_a_public_address_without_a_token(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STDF_DUCK_API_TOKEN", raising=False)
    assert main(["serve", str(archive), "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "STDF_DUCK_API_TOKEN" in capsys.readouterr().err


def test_the_token_is_checked_on_every_endpoint_but_health(archive: Path) -> None:
    app = create_app(archive, token="s3cret-token", public=True)
    c = TestClient(app)
    assert c.get("/health").status_code == 200
    spec = app.openapi()["paths"]
    paths = [(m, p) for p, ops in spec.items() if p != "/health" for m in ops] + [
        ("get", "/docs"),
        ("get", "/openapi.json"),
    ]
    assert len(paths) > 15
    good = {"Authorization": "Bearer s3cret-token"}
    for method, p in paths:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            r = c.request(method, p, headers=headers)
            assert r.status_code == 401, (p, headers, r.status_code)
            assert "s3cret" not in r.text and r.json()["error"]
    assert c.get("/lots", headers=good).status_code == 200
    assert c.get("/docs", headers=good).status_code == 200
    assert c.post("/sql", json={"sql": "SELECT 1"}, headers=good).json()["rows"] == [[1]]


# ---- figures -----------------------------------------------------------------------------------


def test_figures_are_the_plots_functions_rendered(client: TestClient, archive: Path, tmp_path: Path) -> None:
    plots = pytest.importorskip("stdf_duck.plots")
    pytest.importorskip("vl_convert")
    import struct
    import xml.etree.ElementTree as ET

    spec = get(client, "/figures/wafermap", format="json", color="pass")
    with analysis.Source(archive) as src:
        assert spec == json.loads(json.dumps(plots.wafer_map(src, color="pass").to_dict()))
        plots.save(plots.bin_pareto(src, bin_type="S"), tmp_path / "ref.svg")
    svg = client.get("/figures/pareto", params={"format": "svg", "bin_type": "S"})
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == (tmp_path / "ref.svg").read_bytes()
    root = ET.fromstring(svg.content)
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    png = client.get("/figures/pareto", params={"bin_type": "S", "scale": 2})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png.content[16:24])  # IHDR
    assert (w, h) == (round(2 * width), round(2 * height))
    lots = get(client, "/figures/lotmaps", format="json", color="pass")
    with analysis.Source(archive) as src:
        assert lots == json.loads(json.dumps(plots.lot_maps(src, color="pass").to_dict()))
    assert get(client, "/figures/lotmaps", 400, color="1050:VREF")["error"].startswith("lotmaps: color")
    assert get(client, "/figures/histogram", 400)["error"].startswith("a histogram needs test=")
    assert get(client, "/figures/nope", 422)["error"]


# ---- the schema, fuzzed ---------------------------------------------------------------------------


def test_the_openapi_schema_fuzzed_gives_no_server_error(archive: Path) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    app = create_app(archive, max_rows=50, timeout=5)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: list[int] = []
    for op in schema.get_all_operations():
        operation = op.ok()
        strategy = operation.as_strategy()

        examples = 3 if operation.path.startswith("/figures") else 10  # rendering a PNG takes seconds

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            response = case.call()
            seen.append(response.status_code)
            assert response.status_code < 500, (case.path, case.query, case.body, response.text)
            if response.status_code >= 400:
                assert response.json()["error"]

        fuzz()
    assert len(seen) > 100
    assert 200 in seen


# ---- a live archive -----------------------------------------------------------------------------


def test_the_database_follows_what_a_writer_adds(tmp_path: Path) -> None:
    """A writer publishes a new catalog at each commit: the next request reads it (the ledger, a
    table that had no files, the new lot), while a request in flight keeps its own connection."""
    from conftest import FIXTURES

    from stdf_duck import connect
    from stdf_duck.api.db import Database
    from stdf_duck.archive import materialize

    root = tmp_path / "arch"
    hand, multisite = FIXTURES / "mpr_ftr.stdf", FIXTURES / "multisite_le.stdf"
    assert materialize([str(hand)], root, workers=1).ok  # no wafer (tests/fixtures/README.md)
    db = Database(root, refresh=0)
    try:
        with db.cursor() as held:
            assert held.execute("SELECT count(*) FROM ingest").fetchall() == [(1,)]
            assert held.execute("SELECT count(*) FROM wafers").fetchall() == [(0,)]
            assert materialize([str(multisite)], root, workers=1).ok
            with connect() as con:
                n_wafers = con.execute(f"SELECT count(*) FROM stdf_wafers('{multisite}')").fetchall()[0][0]
            assert n_wafers > 0
            with db.source() as src:
                assert src.con.execute("SELECT count(*) FROM ingest").fetchall() == [(2,)]
                assert src.con.execute("SELECT count(*) FROM parts").fetchall() == [(3 + 94,)]
                assert src.con.execute("SELECT count(*) FROM wafers").fetchall() == [(n_wafers,)]
                lots = analysis.yield_(src, by=["lot"]).df()
                assert dict(zip(lots["lot_id"], lots["dice"], strict=True)) == {"MPRFTR": 3, "MS4LOT": 88}
            # the request that began before the write answers from the catalog it began with
            assert held.execute("SELECT count(*) FROM ingest").fetchall() == [(1,)]
    finally:
        db.close()
