"""A message between a page and a worker: the Worker's own channel or a ``MessagePort`` (``python -m bench.channel``).

Why litebridge's frames travel on the kernel Worker's own channel (``docs/protocol.md``
section 1): ``bench/page/channel_floor.js`` echoes a small frame through an empty worker, each
way on the Worker's channel (``w``) or on a transferred ``MessagePort`` (``p``), no kernel and no
bridge. Prints, per browser, the p50 round trip of each mode over the rounds.

Usage::

    .venv/bin/python -m bench.channel [--browser chromium] [--browser firefox] [--rounds 4] [-n 500]

The page is a blank page served with COOP/COEP from a temporary directory, on 127.0.0.1 only;
Chromium through Playwright, Firefox through ``tests/browser``'s ``ProxiedBrowser``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from browsers import LiteBrowser

from litebridge.serve import start_server

from .browser import BENCH_BROWSERS, bench_browser
from .runner import page_script
from .stats import percentile

#: page -> worker, then worker -> page: ``w`` the Worker's own channel, ``p`` a MessagePort
MODES = {"ww": "Worker / Worker", "pp": "port / port", "wp": "Worker / port", "pw": "port / Worker"}


def run_browser(name: str, browser: LiteBrowser, url: str, rounds: int, n: int) -> None:
    """Open the blank page in ``browser``, measure, print one line per mode."""
    page = browser.open(url)
    out = page.evaluate(page_script("channel_floor.js"), {"n": n, "rounds": rounds})
    for mode, label in MODES.items():
        values = [float(value) for value in out[mode]]
        print(
            f"{name}: {label}: p50 {percentile(values, 50):.1f} us per round trip "
            f"(rounds {', '.join(f'{value:.1f}' for value in values)})",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.channel", description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="append", choices=BENCH_BROWSERS, help="default: both")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per mode (default 4)")
    parser.add_argument("-n", type=int, default=500, help="round trips per round (default 500)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<!doctype html><title>channel</title>\n", encoding="utf-8")
        server, _thread = start_server(Path(root), 0, isolation=True, sw_isolation=False)
        url = server.url + "index.html"
        try:
            for name in args.browser or list(BENCH_BROWSERS):
                with bench_browser(name) as browser:
                    run_browser(name, browser, url, args.rounds, args.n)
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
