"""Screenshots of every page of the dashboard on the demo archive, for the README's tour.

    make tour                                   # make demo, make browser, then this script
    python examples/web_tour.py [--archive DIR] [--out DIR]

Starts `stdf-duck web ARCHIVE` (default: an archive of the demo lot alone, demo-out/SYN0001.stdf.gz of
`make demo`, materialized into demo-out/tour-archive), loads each page in
headless Chromium (tests/cdp.py, the browser tests' driver), waits until its texts are drawn and
its script has finished, and writes OUT/<page>.png (default docs/tour/), reduced to 256 colours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

#: page -> a button to press once it is drawn, and the text that follows
PRESS = {"sql": ("run", " rows")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", type=Path, help="an archive (default: the demo lot's, made here)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "tour")
    a = ap.parse_args()
    if a.archive is None:
        lot = REPO / "demo-out" / "SYN0001.stdf.gz"
        if not lot.is_file():
            raise SystemExit(f"no {lot}: run `make demo` first")
        a.archive = REPO / "demo-out" / "tour-archive"
        cmd = [sys.executable, "-m", "stdf_duck.cli", "materialize", str(lot), "--archive", str(a.archive), "-q"]
        subprocess.run(cmd, check=True)
    if not (a.archive / "archive.duckdb").is_file():
        raise SystemExit(f"no archive at {a.archive}")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        raise SystemExit("no Chromium: run `make browser` first")
    from cdp import PAGE_TEXTS, Chromium, ready
    from PIL import Image

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "stdf_duck.cli", "web", str(a.archive), "--port", str(port)]
    web = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        a.out.mkdir(parents=True, exist_ok=True)
        b = Chromium(chromium, width=1400, height=1000)
        try:
            for page, want in PAGE_TEXTS.items():
                seconds = b.load(f"{url}/?page={page}", ready(want), timeout=600)
                if page in PRESS:
                    label, then = PRESS[page]
                    b.js(
                        f"Array.from(document.querySelectorAll('button')).find(x => x.innerText.trim() == {label!r}).click()"
                    )
                    end = time.monotonic() + 60
                    while not b.js(ready([then])) and time.monotonic() < end:
                        time.sleep(0.25)
                time.sleep(1.5)  # charts draw after their data arrived
                png = a.out / f"{page}.png"
                b.screenshot(png)
                Image.open(png).convert("RGB").quantize(256).save(png, optimize=True)
                print(f"{png.relative_to(REPO) if png.is_relative_to(REPO) else png}: {seconds:.1f} s")
        finally:
            b.close()
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(30)


if __name__ == "__main__":
    main()
