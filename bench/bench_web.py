#!/usr/bin/env python3
"""Latency of the dashboard's pages and of the HTTP API on the 1,020-file archive of bench_analysis.py.

    .venv/bin/python bench/bench_web.py

`stdf-duck web --no-warm ARCHIVE`, then `stdf-duck web ARCHIVE` (once it says its pages are
warmed: stdf_duck.web.warm) and `stdf-duck serve ARCHIVE` are started on free ports. Each page is
loaded in headless Chromium (tests/cdp.py, over the DevTools protocol) twice: the first visit (on the
server without warming the analyses run; on the warmed one they are cached) and the next one
(Streamlit's cache); a page counts as loaded when its
texts (those the browser test checks) are drawn and its script has finished. Each API endpoint is
asked three times: the first answer and the best of the next two. The lot and wafer are the first of
the archive. Chromium comes from `make browser`; without it the pages are skipped.
Results: stdout and bench/data/web_results.json.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests")]

from bench_analysis import ARCHIVE, DATA, build_archive, cli, log  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*args: str, label: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log_path = DATA / f"{label}.log"
    with open(log_path, "wb") as err:
        p = subprocess.Popen([*cli(), *args, str(ARCHIVE), "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=err, start_new_session=True)  # fmt: skip
    return p, f"http://127.0.0.1:{port}"


def warmed(seconds: float = 900.0) -> str:
    """The dashboard's line saying its pages are warmed (stdf_duck.web.warm), once it is written."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for line in (DATA / "web-warm.log").read_text(errors="replace").splitlines():
            if "pages warmed" in line:
                return line.split("stdf-duck: ", 1)[-1]
        time.sleep(0.5)
    raise SystemExit("the dashboard did not say its pages were warmed")


def wait(url: str, seconds: float = 120.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no answer from {url}")


def pages(url: str) -> list[dict[str, Any]]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        log("no Chromium (make browser): the pages are skipped")
        return []
    from cdp import PAGE_TEXTS, Chromium, ready

    b = Chromium(chromium)
    try:
        # the browser's first load of Streamlit's scripts is not a page's answer: the SQL page (no
        # analysis runs until its button is pressed) is loaded once untimed
        b.load(f"{url}/?page=sql", ready(PAGE_TEXTS["sql"]), timeout=900)
        out = []
        for page, want in PAGE_TEXTS.items():
            first, again = (b.load(f"{url}/?page={page}", ready(want), timeout=900) for _ in range(2))
            out.append({"page": page, "first_s": round(first, 2), "again_s": round(again, 2)})
            log(f"  page {page}: {first:.2f} s, again {again:.2f} s")
        return out
    finally:
        b.close()


def endpoints(url: str, lot: str, wafer: str) -> list[dict[str, Any]]:
    out = []
    for ep in ("/lots", "/bins", f"/lots?lot={lot}", f"/bins?lot={lot}", f"/tests?lot={lot}",
               f"/tests/first_fail?lot={lot}", f"/wafers/map?lot={lot}&wafer={wafer}"):  # fmt: skip
        times, status = [], 0
        for _ in range(3):
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{url}{ep}", timeout=900) as r:
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            times.append(time.perf_counter() - t0)
        out.append(
            {
                "endpoint": ep,
                "status": status,
                "first_ms": round(times[0] * 1e3),
                "then_ms": round(min(times[1:]) * 1e3),
            }
        )
        log(f"  {ep}: {status}, {times[0] * 1e3:.0f} ms, then {min(times[1:]) * 1e3:.0f} ms")
    return out


def main() -> None:
    os.environ.setdefault("STDF_DUCK_SQL_DIR", str(REPO / "sql"))
    arch = build_archive()
    from stdf_duck.analysis import Source

    with Source(ARCHIVE) as s:
        lot, wafer = s.con.execute("SELECT lot_id, min(wafer_id) FROM parts GROUP BY 1 ORDER BY 1 LIMIT 1").fetchall()[
            0
        ]
    cold, cold_url = start("web", "--no-warm", label="web-cold")
    try:
        wait(f"{cold_url}/_stcore/health")
        log("dashboard without warming: pages (first visit, again) ...")
        got_cold = pages(cold_url)
    finally:
        stop(cold)
    web, web_url = start("web", label="web-warm")
    api, api_url = start("serve", label="serve")
    try:
        wait(f"{web_url}/_stcore/health")
        wait(f"{api_url}/health")
        warm = warmed()
        log(f"dashboard: {warm}")
        log("dashboard after warming: pages (first visit, again) ...")
        got_pages = pages(web_url)
        log("API endpoints ...")
        got_api = endpoints(api_url, lot, wafer)
    finally:
        stop(web)
        stop(api)
    cold_s = {r["page"]: r["first_s"] for r in got_cold}
    for r in got_pages:
        r["cold_first_s"] = cold_s.get(r["page"])
    print(f"\ndashboard and API latency: {ARCHIVE} ({arch['files']} files, {arch['parts']} parts), lot {lot}")
    print(f"dashboard: {warm}")
    print(f"{'page':<12}{'no warming: first visit s':>27}{'warmed: first visit s':>23}{'again s':>10}")
    for r in got_pages:
        cold_first = "-" if r["cold_first_s"] is None else f"{r['cold_first_s']:.2f}"
        print(f"{r['page']:<12}{cold_first:>27}{r['first_s']:>23.2f}{r['again_s']:>10.2f}")
    print(f"\n{'endpoint':<44}{'status':>7}{'first ms':>10}{'then ms':>10}")
    for r in got_api:
        print(f"{r['endpoint']:<44}{r['status']:>7}{r['first_ms']:>10}{r['then_ms']:>10}")
    out = DATA / "web_results.json"
    out.write_text(
        json.dumps({"archive": arch, "lot": lot, "warm": warm, "pages": got_pages, "api": got_api}, indent=1)
    )
    log(f"results: {out}")


def stop(p: subprocess.Popen[bytes]) -> None:
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(30)


if __name__ == "__main__":
    main()
