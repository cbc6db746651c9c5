"""A small client of `stdf-duck serve` for people who have only its URL (standard library only).

    from stdf_duck.client import Client
    c = Client("http://testfloor:8000", token="...")      # token: or the env STDF_DUCK_API_TOKEN
    c.lots()                                             # [{'lot_id': 'L1', 'dice': 1456, ...}]
    c.wafers(lot="L1", output="pandas")                  # a DataFrame (pandas installed)
    c.sql("SELECT count(*) AS n FROM parts WHERE lot_id = $1", ["L1"])
    c.export("results.parquet", lot="L1")                # streamed to the file

Every analysis method takes the endpoint's query parameters as keyword arguments (the filters
product, stage, lot, wafer, site, date_from, date_to, die_key; `by`; `limit`; ...) and returns
its rows: a list of dicts, or a pandas DataFrame / pyarrow Table with `output="pandas"` /
`"arrow"` (per call, or for every call on `Client(output=...)`). An error answer raises
`ApiError` with the server's status and message.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

TOKEN_ENV = "STDF_DUCK_API_TOKEN"
OUTPUTS = ("records", "pandas", "arrow")


class ApiError(Exception):
    """An error answer of the server: `status` (HTTP) and the server's `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Client:
    """The API at `url`; `token` (default: env STDF_DUCK_API_TOKEN) is sent as a bearer token."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 120.0, output: str = "records") -> None:
        self.url = url.rstrip("/")
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        self.timeout = timeout
        self.output = _output(output)
        self.last_truncated = False

    # -- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """The open response of `method path?params` (ApiError on an error status)."""
        url = f"{self.url}{path}"
        query = _query(params or {})
        if query:
            url = f"{url}?{query}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, _message(e)) from None

    def get(self, path: str, **params: Any) -> Any:
        """The JSON answer of GET `path` with query parameters `params`."""
        with self._request("GET", path, params) as resp:
            return json.load(resp)

    def _rows(self, path: str, params: dict[str, Any]) -> Any:
        output = _output(params.pop("output", None) or self.output)
        answer = self.get(path, **params)
        return _convert(answer["rows"], answer["columns"], output)

    # -- endpoints -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET /health (no token needed)."""
        return dict(self.get("/health"))

    def lots(self, **params: Any) -> Any:
        """Yield by lot."""
        return self._rows("/lots", params)

    def wafers(self, **params: Any) -> Any:
        """Yield by wafer (lot= for one lot)."""
        return self._rows("/wafers", params)

    def yield_(self, by: str | Sequence[str] = "lot", **params: Any) -> Any:
        """Yield by any grouping (by='lot,site', ...)."""
        return self._rows("/yield", {"by": by, **params})

    def sites(self, **params: Any) -> Any:
        """Yield per site against the other sites."""
        return self._rows("/sites", params)

    def bins(self, **params: Any) -> Any:
        """Bin Pareto (bin_type='H' or 'S')."""
        return self._rows("/bins", params)

    def bin_sites(self, **params: Any) -> Any:
        """Bin x site."""
        return self._rows("/bins/sites", params)

    def tests(self, **params: Any) -> Any:
        """Test statistics (n, mean, stddev, limits, Cp, Cpk, fails)."""
        return self._rows("/tests", params)

    def first_fail(self, **params: Any) -> Any:
        """First-fail Pareto."""
        return self._rows("/tests/first_fail", params)

    def distribution(self, test: str, **params: Any) -> dict[str, Any]:
        """A test's statistics and histogram: {'stats': [...], 'columns', 'rows': [bins], ...}."""
        return dict(self.get("/tests/distribution", test=test, **params))

    def wafer_map(self, **params: Any) -> Any:
        """One row per final die (lot=, wafer=; test= adds a test's value)."""
        return self._rows("/wafers/map", params)

    def wafer_info(self, **params: Any) -> Any:
        """WCR geometry and extent per wafer."""
        return self._rows("/wafers/info", params)

    def stacked_map(self, **params: Any) -> Any:
        """Stacked fail map per (x, y)."""
        return self._rows("/wafers/stacked", params)

    def zone_yield(self, **params: Any) -> Any:
        """Yield per zone (center, middle, edge)."""
        return self._rows("/wafers/zones", params)

    def radial(self, **params: Any) -> Any:
        """Yield per ring."""
        return self._rows("/wafers/radial", params)

    def trend(self, **params: Any) -> Any:
        """Yield and a test's mean in time order with control limits."""
        return self._rows("/trend", params)

    def correlation(self, test_a: str, test_b: str, **params: Any) -> Any:
        """Correlation of two tests."""
        return self._rows("/correlation", {"test_a": test_a, "test_b": test_b, **params})

    def pat_limits(self, **params: Any) -> Any:
        """PAT limits per test (scope=, k=)."""
        return self._rows("/pat/limits", params)

    def pat_outliers(self, **params: Any) -> Any:
        """Results outside their PAT limits."""
        return self._rows("/pat/outliers", params)

    def pat_yield(self, **params: Any) -> Any:
        """Yield before and after PAT."""
        return self._rows("/pat/yield", params)

    def whatif(self, limits: dict[str, tuple[float | None, float | None]], *, dice: bool = False, **params: Any) -> Any:
        """Yield before and after judging with `limits` {test_key: (lo, hi)} (POST /whatif), or
        every final die re-judged when `dice`."""
        output = _output(params.pop("output", None) or self.output)
        body = {"limits": [{"test_key": k, "lo": lo, "hi": hi} for k, (lo, hi) in limits.items()]}
        with self._request("POST", "/whatif/dice" if dice else "/whatif", params, body) as resp:
            answer = json.load(resp)
        return _convert(answer["rows"], answer["columns"], output)

    def sql(
        self, query: str, params: Sequence[Any] | dict[str, Any] | None = None, *, limit: int | None = None,
        output: str | None = None,
    ) -> Any:  # fmt: skip
        """Rows of one read-only query (POST /sql), `params` bound to $1/? (or $name). The
        server's answer's `truncated` is on `last_truncated`."""
        body: dict[str, Any] = {"sql": query, "params": _jsonable(params) if params is not None else None}
        if limit is not None:
            body["limit"] = limit
        with self._request("POST", "/sql", body=body) as resp:
            answer = json.load(resp)
        self.last_truncated = bool(answer["truncated"])
        rows = [dict(zip(answer["columns"], r, strict=True)) for r in answer["rows"]]
        return _convert(rows, answer["columns"], _output(output or self.output))

    def figure(self, kind: str, path: str | os.PathLike[str], **params: Any) -> str:
        """Write GET /figures/`kind` (wafermap, stacked, pareto, histogram, box, trend, scatter) to
        `path`: PNG or SVG by its suffix (test=, color=, by=, the filters, ...). Returns the path."""
        out = os.fspath(path)
        params.setdefault("format", "svg" if out.lower().endswith(".svg") else "png")
        self._download(f"/figures/{urllib.parse.quote(kind)}", params, out)
        return out

    def export(self, path: str | os.PathLike[str], **params: Any) -> str:
        """Stream GET /export to `path` (format from its suffix unless format= is given: csv or
        parquet; shape='long' or 'pivot'; tests=[...]; the filters). Returns the path."""
        out = os.fspath(path)
        if "format" not in params:
            params["format"] = "parquet" if out.lower().endswith((".parquet", ".pq")) else "csv"
        self._download("/export", params, out)
        return out

    def _download(self, path: str, params: dict[str, Any], out: str) -> None:
        """Stream GET `path` into `out` (a temporary name until complete)."""
        tmp = f"{out}.part"
        try:
            with self._request("GET", path, params) as resp, open(tmp, "wb") as f:
                shutil.copyfileobj(resp, f, 1 << 20)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def _output(output: str) -> str:
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
    return output


def _jsonable(v: Any) -> Any:
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _query(params: dict[str, Any]) -> str:
    """Query parameters: None left out, booleans as true/false, lists repeated, `by` lists joined."""
    items: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if k == "by" and isinstance(v, (list, tuple)):
            v = ",".join(v)
        for x in v if isinstance(v, (list, tuple)) else [v]:
            items.append((k, "true" if x is True else "false" if x is False else str(_jsonable(x))))
    return urllib.parse.urlencode(items)


def _message(e: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(e.read() or b"{}")
        return str(body.get("error") or body.get("detail") or e.reason)
    except (ValueError, AttributeError):
        return str(e.reason)


def _convert(rows: list[dict[str, Any]], columns: list[str], output: str) -> Any:
    if output == "pandas":
        import pandas as pd

        return pd.DataFrame.from_records(rows, columns=columns)
    if output == "arrow":
        import pyarrow as pa

        return pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.null()) for c in columns})
    return rows
