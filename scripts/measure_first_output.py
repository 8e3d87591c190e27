"""Measure the time from navigation to the first cell output, with and without COOP/COEP.

Opens ``repl/index.html?kernel=python&code=...`` of the built site in Debian's chromium (a fresh
browser context per run, so nothing is cached) and waits for the output of that code. Prints one
line per run and the median per mode.

Usage::

    .venv/bin/python scripts/measure_first_output.py [--runs 3] [--site _output]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "py"), str(ROOT / "tests" / "browser")]

from harness import CHROMIUM, CHROMIUM_ARGS, NetworkGuard  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from litebridge.serve import start_server  # noqa: E402

CODE = "print('first output')"
#: give up on one run after this long (milliseconds)
TIMEOUT_MS = 90_000


def measure(site: Path, isolated: bool, runs: int) -> list[float]:
    """Return ``runs`` timings (seconds) from navigation to the first output."""
    server, thread = start_server(site, 0, isolation=isolated)
    timings: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(runs):
                context = browser.new_context()
                guard = NetworkGuard()
                guard.install(context)
                page = context.new_page()
                started = time.monotonic()
                page.goto(f"{server.url}repl/index.html?kernel=python&code={quote(CODE)}")
                try:
                    page.get_by_text("first output", exact=True).first.wait_for(state="attached", timeout=TIMEOUT_MS)
                except PlaywrightTimeoutError:
                    shot = Path(tempfile.gettempdir()) / f"first-output-timeout-{len(timings)}.png"
                    page.screenshot(path=shot)
                    print(f"run {len(timings) + 1}: no output after {TIMEOUT_MS / 1000:.0f} s (screenshot: {shot})")
                    timings.append(float("inf"))
                else:
                    timings.append(time.monotonic() - started)
                if guard.blocked:
                    raise RuntimeError(f"non-local requests: {guard.blocked}")
                context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    return timings


def main() -> int:
    """Run the measurement; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site", type=Path, default=ROOT / "_output")
    args = parser.parse_args()
    for isolated in (True, False):
        mode = "COOP/COEP" if isolated else "no isolation"
        timings = measure(args.site, isolated, args.runs)
        runs = ", ".join(f"{t:.1f}" for t in timings)
        print(f"{mode:>12}: median {statistics.median(timings):.1f} s (runs: {runs})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
