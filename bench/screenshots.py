"""Regenerate the screenshots under docs/screenshots/: the home page, an event, a place and the
timeline at a desktop's width (1280 px) and a phone's (390 px), in Debian's Chromium.

    python bench/screenshots.py [--release DIR]

Builds the bundled dataset into a temporary folder (unless ``--release`` names a built one),
serves it with ``kazdata serve`` on a free loopback port, and stops the server when done.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PAGES = {"home": "/", "event": "/doc/event/zhanaozen-shooting-2011-12-16", "place": "/doc/place/zhanaozen",
         "timeline": "/timeline"}
WIDTHS = (1280, 390)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(release: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "kazdata", "serve", "--release", str(release), "--port", str(port),
                               "--workers", "1", "--query-processes", "1"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("kazdata serve did not start")


def shoot(root: str) -> list[Path]:
    from playwright.sync_api import sync_playwright
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
            page = context.new_page()
            for name, path in PAGES.items():
                page.goto(root + path)
                target = OUT / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, help="a built release (default: build the bundled data)")
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        release = arguments.release
        if release is None:
            from kazdata.builder import build_release, quiet
            release = build_release(Path(folder) / "release", progress=quiet)
        port = _port()
        server = _serve(release, port)
        try:
            for path in shoot(f"http://127.0.0.1:{port}"):
                print(path.relative_to(ROOT))
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
