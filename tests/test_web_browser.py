"""The dashboard in a real browser: `stdf-duck web` serves an archive of the multisite fixture, and
headless Chromium loads every page: the rendered DOM holds the page's expected text
(tests/fixtures/README.md: lot MS4LOT 88 dice, 76 good, yield 86.4%; each wafer 44 dice, 38 good;
hard bins 1: 76, 2: 10, 3: 2) and no error box, and a screenshot of the page is drawn (not blank,
the sidebar there). Chromium is driven over its DevTools protocol (tests/cdp.py): each page is
waited for until its texts are there and its script has finished. Set STDF_DUCK_WEB_SHOTS=DIR to
keep the screenshots.

Chromium comes from Debian (`make browser`, run by `make test` when it is absent). Without it
these tests skip, unless STDF_DUCK_BROWSER=required (CI: .ci/run), where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from cdp import Chromium, ready  # noqa: E402
from conftest import FIXTURES  # noqa: E402

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
if CHROMIUM is None:
    if os.environ.get("STDF_DUCK_BROWSER") == "required":
        pytest.fail("Chromium is required (STDF_DUCK_BROWSER=required) but absent: make browser", pytrace=False)
    pytest.skip("no Chromium (make browser installs it from Debian)", allow_module_level=True)

pytestmark = pytest.mark.slow

#: page -> text its rendered DOM must hold (numbers in text elements: metrics, markdown, tables)
EXPECTED = {
    "overview": ["first-pass yield", "86.4%", "88", "76", "yield trend across lots"],
    "lot": [
        "88 dice, 76 good, yield 86.4%",
        "MS4LOT-01",
        "MS4LOT-02",
        ">44<",  # the wafers table: dice, good of each wafer
        ">38<",
        "stacked fail map",
    ],
    "wafer": ["MS4LOT-01", "flat/notch", "44", "38", "86.4%", "die (x, y)"],
    "tests": ["search tests", "1000:CONTINUITY", "Cpk", "trend across lots"],
    "bins": ["hard bin Pareto", "PARAMETRIC", "FUNCTIONAL", "76", "86.4%", "site 1/4"],
    "files": ["ledger", "multisite_le.stdf", "warnings (0)"],
    "sql": ["row limit", "FROM parts"],
    "export": ["prepare the file", "pivot", "Parquet"],
}
#: marks of a Streamlit error box in the DOM
ERRORS = ("stException", "stAlertContentError", "Traceback")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


#: the server's log (stdout and stderr)
LOG: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`stdf-duck web ARCHIVE --port N` in a subprocess of its own group; its URL."""
    root = tmp_path_factory.mktemp("webui") / "arch"
    cli = [sys.executable, "-m", "stdf_duck.cli"]
    subprocess.run([*cli, "materialize", str(FIXTURES / "multisite_le.stdf"), "--archive", str(root), "-q"], check=True)
    port = _free_port()
    LOG["web"] = root.parent / "web.log"
    log = open(LOG["web"], "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cli, "web", str(root), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not _healthy(url, 90):
            raise AssertionError(f"stdf-duck web did not answer: {(root.parent / 'web.log').read_text()[-2000:]}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    assert CHROMIUM is not None
    b = Chromium(CHROMIUM, width=1400, height=1600)
    try:
        yield b
    finally:
        b.close()


def drawn(png: Path) -> bool:
    """A screenshot of a page: the sidebar's grey at its left, and ink in the main area."""
    from PIL import Image

    im = Image.open(png).convert("RGB")
    w, h = im.size
    side = im.getpixel((40, h - 40))
    main = im.crop((320, 0, w, h)).convert("L")
    ink = sum(main.histogram()[:160]) / (main.width * main.height)
    return isinstance(side, tuple) and side != (255, 255, 255) and side[0] > 200 and ink > 0.002


@pytest.mark.parametrize("page", list(EXPECTED))
def test_page_renders_its_numbers_without_an_error(server: str, browser: Chromium, page: str, tmp_path: Path) -> None:
    seconds = browser.load(f"{server}/?page={page}", ready(EXPECTED[page]))
    text = browser.html()
    for mark in ERRORS:
        assert mark not in text, f"page {page} shows an error box ({mark})"
    time.sleep(1.0)  # charts and tables draw after their data arrived
    png = tmp_path / f"{page}.png"
    browser.screenshot(png)
    assert drawn(png), f"page {page}: the screenshot is blank"
    keep = os.environ.get("STDF_DUCK_WEB_SHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(png, os.path.join(keep, png.name))
    print(f"page {page}: rendered in {seconds:.2f} s")


def test_the_server_warms_every_page_and_says_so(server: str) -> None:
    """`stdf-duck web` draws every page once at its start (stdf_duck.web.warm) and logs it, no page
    failing; the pages' Streamlit warnings of bare mode are not in the log."""
    from stdf_duck.web import PAGES

    end = time.monotonic() + 120
    while "pages warmed" not in (text := LOG["web"].read_text(errors="replace")) and time.monotonic() < end:
        time.sleep(0.2)
    line = next(x for x in text.splitlines() if "pages warmed" in x)
    assert [w.split()[0] for w in line.split("(", 1)[1].rstrip(")").split(", ")] == list(PAGES), line
    assert "failed" not in text and "ScriptRunContext" not in text, text[-2000:]


def test_the_server_stops_cleanly_while_it_warms(tmp_path: Path) -> None:
    """SIGTERM while the warming thread is inside DuckDB: the thread's query is interrupted and
    joined before the interpreter ends (a thread still in DuckDB then aborts the process:
    'terminate called ...', exit 134)."""
    root = tmp_path / "arch"
    cli = [sys.executable, "-m", "stdf_duck.cli"]
    subprocess.run([*cli, "materialize", str(FIXTURES / "multisite_le.stdf"), "--archive", str(root), "-q"], check=True)
    for delay in (0.0, 0.5, 1.5):
        port = _free_port()
        with open(tmp_path / "web.log", "wb") as log:
            proc = subprocess.Popen([*cli, "web", str(root), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            try:
                assert _healthy(f"http://127.0.0.1:{port}", 90)
                time.sleep(delay)
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(30)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        text = (tmp_path / "web.log").read_text(errors="replace")
        assert rc == 0 and "terminate called" not in text and "failed" not in text, (delay, rc, text[-2000:])
