"""GET /figures/{kind}: the figures of stdf_duck.plots as PNG, SVG or their Vega-Lite JSON spec.

Registered only when stdf_duck.plots and its renderer (altair, vl-convert) are installed; the
figure is drawn by the plots function on the request's cursor and rendered by `plots.save` to
the scratch folder, then streamed and removed.
"""

from __future__ import annotations

import importlib.util
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from .db import Database
from .routes import F, TestKey

Kind = Literal["wafermap", "lotmaps", "stacked", "pareto", "histogram", "box", "trend", "scatter"]
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def available() -> bool:
    """stdf_duck.plots, altair and vl_convert are installed (found without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("altair", "vl_convert")) and (
        importlib.util.find_spec("stdf_duck.plots") is not None
    )


def _call(kind: str, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The plots function name and its keyword arguments for `kind` from the query's values."""
    if kind in ("histogram", "box", "scatter") and not (p.get("test") or (p.get("test_a") and p.get("test_b"))):
        raise ValueError(f"a {kind} needs test= (scatter: test_a= and test_b=)")
    f = p["filters"]
    tk = p["test_key"]
    if kind == "wafermap":
        return "wafer_map", {"color": p["color"], "bin_type": p["bin_type"], "test_key": tk, **f}
    if kind == "lotmaps":
        if p["color"] not in ("bin", "pass"):
            raise ValueError("lotmaps: color must be bin or pass")
        return "lot_maps", {"color": p["color"], "bin_type": p["bin_type"], **f}
    if kind == "stacked":
        return "stacked_map", f
    if kind == "pareto":
        return "bin_pareto", {"bin_type": p["bin_type"], **f}
    if kind == "histogram":
        return "histogram", {"test": p["test"], "by": p["by"], "bins": p["bins"], "test_key": tk, **f}
    if kind == "box":
        return "box", {"test": p["test"], "by": p["by"] or "site", "test_key": tk, **f}
    if kind == "trend":
        return "trend", {"test": p["test"], "by": p["by"] or "lot", "test_key": tk, **f}
    if p.get("test_a") is None or p.get("test_b") is None:
        raise ValueError("a scatter needs test_a= and test_b=")
    return "scatter", {"test_a": p["test_a"], "test_b": p["test_b"], "test_key": tk, **f}


def figures_router(db: Database) -> APIRouter:
    """The figure endpoint (see the module doc)."""
    r = APIRouter()

    @r.get(
        "/figures/{kind}",
        tags=["figures"],
        summary="A figure of stdf_duck.plots as PNG, SVG or its Vega-Lite spec (JSON)",
        responses={200: {"content": {"image/png": {}, "image/svg+xml": {}, "application/json": {}}}},
    )
    def figure(
        kind: Kind,
        f: F,
        format: Literal["png", "svg", "json"] = "png",
        test: str | None = None,
        test_a: str | None = None,
        test_b: str | None = None,
        test_key: TestKey = "number_name",
        by: Annotated[Literal["site", "wafer", "lot", "stage", "file"] | None, Query()] = None,
        color: Annotated[
            str, Query(description="Wafer map: bin, pass (pass/fail) or a test's test_key value.")
        ] = "bin",
        bin_type: Literal["H", "S"] = "H",
        bins: Annotated[int, Query(ge=1, le=500)] = 40,
        scale: Annotated[float, Query(gt=0, le=4)] = 1.0,
    ) -> Response:
        plots: Any = importlib.import_module("stdf_duck.plots")  # registered only when installed

        name, kwargs = _call(kind, {**locals(), "filters": f.kwargs()})
        with db.source() as src, db.time_limit(src.con):
            chart = getattr(plots, name)(src, **kwargs)
        if format == "json":
            return JSONResponse(plots.spec(chart))
        path = db.scratch_path(f".{format}")
        plots.save(chart, path, scale=scale)
        return FileResponse(path, media_type=MEDIA[format], background=BackgroundTask(_remove, path))

    return r


def _remove(path: str) -> None:
    import contextlib
    import os

    with contextlib.suppress(OSError):
        os.remove(path)
