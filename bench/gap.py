"""The raw SAB floor when the worker works between calls (``python -m bench.gap``).

Why ``call_sync`` (sab) cannot come within 2.5x of the back-to-back raw floor in Firefox:
``bench/page/raw_floor.js`` times the sync round trip of a small JSON message through a
SharedArrayBuffer between an empty worker and the page (no kernel, no bridge), with the worker
busy for ``gap`` microseconds before each call (standing for the caller's own work: a
``call_sync`` from Python encodes and decodes between calls, 10-15 us in Firefox). Prints, per
browser and gap, the p50 round trip with the gap taken out, over alternating rounds.

Usage::

    .venv/bin/python -m bench.gap [--browser chromium] [--browser firefox] [--rounds 3] [--gap 0 --gap 10 ...]

The page is a blank page served with COOP/COEP from a temporary directory, on 127.0.0.1 only;
Chromium through Playwright, Firefox through ``tests/browser``'s ``ProxiedBrowser``. The
worker polls ``STATE`` for as long as the bridge's worker helper does before it sleeps.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from browsers import LiteBrowser

from litebridge.serve import start_server

from .browser import BENCH_BROWSERS, bench_browser
from .runner import RAW_SPIN_US, page_script
from .stats import percentile

#: the small message of the bridge's benchmarks (``kernel_bench.SMALL``)
SMALL = {"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}
#: microseconds of worker work before each call, by default
GAPS_US = (0, 5, 10, 15, 20, 40)


def run_browser(name: str, browser: LiteBrowser, url: str, rounds: int, gaps: list[int]) -> None:
    """Open the blank page in ``browser``, measure every gap ``rounds`` times, print a line per gap."""
    page = browser.open(url)
    samples: dict[int, list[float]] = {gap: [] for gap in gaps}
    for _ in range(rounds):
        for gap in gaps:
            options = {
                "samples": 10,
                "perSample": 25,
                "warmup": 25,
                "message": SMALL,
                "gapUs": gap,
                "postMessageFloor": False,
                "workerSpinUs": RAW_SPIN_US,
            }
            out = page.evaluate(page_script("raw_floor.js"), options)
            samples[gap].extend(float(value) * 1000 - gap for value in out["sab"])
    for gap, values in samples.items():
        print(
            f"{name}: worker busy {gap} us before each call: p50 {percentile(values, 50):.1f} us per round trip "
            f"(the gap taken out; p95 {percentile(values, 95):.1f}, n {len(values)})",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.gap", description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="append", choices=BENCH_BROWSERS, help="default: both")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every gap (default 3)")
    default = ", ".join(map(str, GAPS_US))
    parser.add_argument("--gap", action="append", type=int, help=f"microseconds (default {default})")
    args = parser.parse_args(argv)
    gaps = args.gap or list(GAPS_US)
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<!doctype html><title>gap</title>\n", encoding="utf-8")
        server, _thread = start_server(Path(root), 0, isolation=True, sw_isolation=False)
        url = server.url + "index.html"
        try:
            for name in args.browser or list(BENCH_BROWSERS):
                with bench_browser(name) as browser:
                    run_browser(name, browser, url, args.rounds, gaps)
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
