"""How much of ``call_sync`` (sab) is the page waking from idle (``python -m bench.wake``).

The profile of one ``call_sync`` (``bench/README.md``, "What costs the time") leaves 40-64% of
the call unexplained by the bridge's CPU and the JavaScript-only round trip, and attributes it to
the page's main thread going idle between calls that Python paces. This checks that directly:
``call_sync`` of the small JSON message is measured in alternating blocks with the page's main
thread idle, and kept awake by a ``MessageChannel`` ping-pong (one task per turn, the event loop
never sleeps; the bridge's handling of a sync call still waits for its turn between tasks).
If the page's wake-up costs nothing, both modes measure the same.

Usage::

    .venv/bin/python -m bench.wake [--site _output] [--browser chromium] [--browser firefox]
        [--blocks 6] [--reps 2]

Prints, per browser and repetition, the p50 of ``call_sync`` in each mode and their ratio.
Chromium through Playwright, Firefox through ``tests/browser``'s ``ProxiedBrowser``; the site is
served with COOP/COEP (transport ``sab``), on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from browsers import LiteBrowser
from harness import LiteKernel, wait_for_app

from litebridge.serve import SiteServer, start_server

from .browser import BENCH_BROWSERS, bench_browser
from .runner import KERNEL_SOURCE
from .stats import percentile

#: keeps the page's event loop busy with one MessageChannel task after another until stopped
AWAKE_ON = """() => {
  const channel = new MessageChannel();
  window.__lbAwake = true;
  window.__lbTurns = 0;
  channel.port1.onmessage = () => {
    window.__lbTurns += 1;
    if (window.__lbAwake) channel.port2.postMessage(0);
  };
  channel.port2.postMessage(0);
  return true;
}"""
#: stops it; returns how many turns it made
AWAKE_OFF = "() => { window.__lbAwake = false; return window.__lbTurns; }"
#: call_sync samples per block: samples, operations per sample, warm-up (``call_sync_small``)
SAMPLES = "10, 25, 20"


def measure(kernel: LiteKernel, blocks: int) -> tuple[dict[str, float], int]:
    """``call_sync`` p50 (microseconds) with the page idle and kept awake, and the last awake
    block's ping-pong turns (to show the page really ran it)."""
    samples: dict[str, list[float]] = {"idle": [], "awake": []}
    turns = 0
    for block in range(blocks):
        for mode in ("idle", "awake") if block % 2 == 0 else ("awake", "idle"):
            if mode == "awake":
                kernel.page.evaluate(AWAKE_ON)
            samples[mode] += kernel.value(f"call_sync_small({SAMPLES})")
            if mode == "awake":
                turns = int(kernel.page.evaluate(AWAKE_OFF))
    return {mode: percentile(values, 50) * 1e6 for mode, values in samples.items()}, turns


def run_browser(name: str, browser: LiteBrowser, server: SiteServer, blocks: int, reps: int) -> None:
    """Boot a bench kernel in ``browser`` and print ``reps`` comparisons."""
    page = browser.open(server.url + "lab/index.html")
    wait_for_app(page)
    kernel = LiteKernel(page, boot_timeout_s=90)
    kernel.run(KERNEL_SOURCE, timeout_s=300)
    transport = kernel.value("await setup()")["transport"]
    if transport != "sab":
        raise RuntimeError(f"{name}: transport {transport}, not sab: is the site served with COOP/COEP?")
    for rep in range(1, reps + 1):
        p50, turns = measure(kernel, blocks)
        print(
            f"{name} run {rep}: call_sync (sab) p50 {p50['idle']:.1f} us with the page idle, "
            f"{p50['awake']:.1f} us with it kept awake ({p50['awake'] / p50['idle']:.2f}x; "
            f"{turns} page tasks in the last awake block)",
            flush=True,
        )
    kernel.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.wake", description=__doc__.splitlines()[0])
    parser.add_argument("--site", default="_output", help="the built site (default _output)")
    parser.add_argument("--browser", action="append", choices=BENCH_BROWSERS, help="default: both")
    parser.add_argument("--blocks", type=int, default=6, help="alternating blocks per run (default 6)")
    parser.add_argument("--reps", type=int, default=2, help="runs per browser (default 2)")
    args = parser.parse_args(argv)
    server, _thread = start_server(Path(args.site).resolve(), 0, isolation=True, sw_isolation=False)
    try:
        for name in args.browser or list(BENCH_BROWSERS):
            with bench_browser(name) as browser:
                run_browser(name, browser, server, args.blocks, args.reps)
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
