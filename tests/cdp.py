"""Headless Chromium driven over the DevTools protocol, for the dashboard's browser tests: one
browser per test module; a page is loaded, then waited for until a condition written in
JavaScript holds (its texts are drawn and Streamlit's script no longer runs), then read or
screenshot. A fixed wait (--virtual-time-budget) cannot know when a Streamlit page has arrived
over its websocket: on a busy machine it took pictures of the empty shell.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

#: the dashboard's pages -> texts each shows once its analyses are done (bench/bench_web.py and
#: examples/web_tour.py wait for them; tests/test_web_browser.py also checks the numbers)
PAGE_TEXTS = {
    "overview": ["first-pass yield", "yield trend across lots"],
    "lot": ["stacked fail map"],
    "wafer": ["flat/notch", "die (x, y)"],
    "tests": ["Cpk", "trend across lots"],
    "bins": ["hard bin Pareto", "site 1/"],
    "files": ["ledger", "warnings ("],
    "sql": ["row limit"],
    "export": ["prepare the file"],
}


def ready(want: list[str]) -> str:
    """JavaScript: a Streamlit page holds every text of `want` and Streamlit's script is not running."""
    return (
        f"(() => {{ const h = document.documentElement.outerHTML; return {json.dumps(want)}.every(w => h.includes(w))"
        ' && !document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')'
        " && !h.includes('stSkeleton'); })()"
    )


class Chromium:
    def __init__(self, binary: str, width: int = 1400, height: int = 1600) -> None:
        self.profile = tempfile.mkdtemp(prefix="cdp-")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stderr is not None
        browser_url = ""
        end = time.monotonic() + 60
        while not browser_url and time.monotonic() < end:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            browser_url = m.group(1) if m else ""
        if not browser_url:
            self.close()
            raise AssertionError("Chromium did not start its DevTools endpoint")
        self.proc.stderr.close()
        port = int(browser_url.split(":")[2].split("/")[0])
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.stack = ExitStack()
        self.ws = self.stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30))
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=120))
            if msg.get("id") == me:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    def js(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    def load(self, url: str, ready: str, timeout: float = 120.0) -> float:
        """Navigate to `url` and wait until the JavaScript expression `ready` is true (polled);
        returns the seconds it took. Raises when it is still false after `timeout`."""
        t0 = time.monotonic()
        self.call("Page.navigate", url=url)
        while time.monotonic() - t0 < timeout:
            if self.js(f"Boolean({ready})"):
                return time.monotonic() - t0
            time.sleep(0.25)
        raise AssertionError(f"{url}: not ready after {timeout:.0f} s ({ready})")

    def html(self) -> str:
        return str(self.js("document.documentElement.outerHTML"))

    def text(self) -> str:
        return str(self.js("document.body.innerText"))

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            if getattr(self, "stack", None) is not None:
                self.stack.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)
