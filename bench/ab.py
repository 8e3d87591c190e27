"""Before/after comparison of builds of the site, in one browser run (``python -m bench.ab``).

Each change to the bridge was kept only if it paid in this comparison: the site built before
the change and the sites built after each change are served side by side (all with COOP/COEP,
or all without with ``--plain``),
one kernel is booted in each, and the figures are measured in blocks whose order rotates (A B C,
B C A, C A B, ...) so that a change of load on the shared machine hits every build alike.
Prints the p50 of each figure per build and its ratio to the first build (below 1: faster).

Usage::

    .venv/bin/python -m bench.ab --site before=/tmp/site-before --site after=_output \\
        [--blocks 6] [--figures call_sync,await_call,kcall] [--plain] [--browser firefox]

``--plain`` serves the sites without COOP/COEP: ``call_sync`` then uses transport ``jspi``.
``--browser firefox`` measures in Debian's Firefox ESR (driven as in the tests, behind a proxy
that refuses every non-local host) instead of Chromium.

Figures: ``call_sync`` (small JSON, sab), ``await_call`` (``await page.call``), ``kcall``
(page -> Python ``k.call``), ``page_serve`` (the page's CPU per sync call, ``page_serve.js``),
``bulk`` (16 MiB one way through ``call_sync``), ``echo`` (16 MiB echoed through ``call_sync``),
``parts`` (the pieces of one ``call_sync``, ``profile_call_sync_parts`` in ``kernel_bench.py``),
``kcall_parts`` (the pieces of one ``k.call``: ``page/kcall_parts.js``, then ``profile_kcall_parts``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import LiteKernel, wait_for_app
from page_protocol import BrowserPage

from litebridge.serve import start_server

from .browser import BENCH_BROWSERS, bench_browser
from .runner import KERNEL_SOURCE, WARMUP_MIN_MS, Counts, kcall_part_samples, ms_to_s, page_script, warmup_setting
from .stats import percentile

MIB = 1024 * 1024
SMALL = {"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}
FIGURES = ("call_sync", "await_call", "kcall", "page_serve", "bulk", "echo", "parts", "kcall_parts")
#: the request frame of ``call_sync("bench_echo", SMALL)`` as the kernel encodes it
FRAME = (
    '{"v":2,"id":1,"kind":"litebridge.call","method":"bench_echo",'
    '"args":[{"op":"echo","n":42,"x":1.5,"s":"hello","ok":true}],"sync":true}'
)


def _measure(kernel: LiteKernel, figure: str, samples: int, per_sample: int) -> dict[str, list[float]]:
    """Samples (seconds) of ``figure``: one list, or one per piece for ``parts``."""
    if figure == "parts":
        parts = kernel.value(f"profile_call_sync_parts({samples}, {per_sample}, {per_sample})", timeout_s=300)
        return {f"parts.{key}": list(value) for key, value in parts.items() if key not in ("counts", "frame")}
    if figure == "kcall_parts":
        counts = Counts(
            samples,
            per_sample,
            per_sample,
            bulk={},
            ws_bulk_samples=0,
            start_runs=0,
            start_warmup=0,
            blocks=1,
            warmup_blocks=0,
        )
        parts, _ops = kcall_part_samples(kernel, counts)
        return {f"kcall.{key}": values for key, values in parts.items()}
    return {figure: _measure_one(kernel, figure, samples, per_sample)}


def _measure_one(kernel: LiteKernel, figure: str, samples: int, per_sample: int) -> list[float]:
    args = f"{samples}, {per_sample}, {per_sample}"
    if figure == "call_sync":
        return list(kernel.value(f"call_sync_small({args})", timeout_s=300))
    if figure == "await_call":
        return list(kernel.value(f"await await_call_small({args})", timeout_s=300))
    if figure == "bulk":
        return list(kernel.value(f"bulk_sync({16 * MIB}, False, {max(2, samples // 4)}, 1)", timeout_s=300))
    if figure == "echo":
        return list(kernel.value(f"bulk_sync({16 * MIB}, True, {max(2, samples // 4)}, 1)", timeout_s=300))
    if figure == "page_serve":
        options = {"kernelId": kernel.id, "frame": FRAME, "samples": samples, "perSample": per_sample}
        return ms_to_s(kernel.page.evaluate(page_script("page_serve.js"), {**options, "warmup": per_sample})["serve"])
    if figure == "kcall":
        options = {
            "kernelId": kernel.id,
            "samples": samples,
            "perSample": per_sample,
            "warmup": per_sample,
            "warmupMs": WARMUP_MIN_MS,
        }
        out = kernel.page.evaluate(page_script("kcall.js"), {**options, "message": SMALL})
        return ms_to_s(out["samples"])
    raise ValueError(f"unknown figure {figure!r}: expected one of {FIGURES}")


def _boot(name: str, page: BrowserPage) -> LiteKernel:
    """Boot a kernel in ``page`` (the app's page) and load the bench's kernel code into it."""
    wait_for_app(page)
    kernel = LiteKernel(page, boot_timeout_s=90)
    kernel.run(KERNEL_SOURCE, timeout_s=300)
    kernel.run(warmup_setting(), timeout_s=300)
    transport = kernel.value("await setup()")["transport"]
    print(f"{name}: transport {transport}", file=sys.stderr, flush=True)
    return kernel


def main(argv: list[str] | None = None) -> int:
    """Compare two site builds; print p50 per figure and the ratio B / A."""
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="append", required=True, help="NAME=PATH of a built site (2 or more)")
    parser.add_argument("--blocks", type=int, default=6, help="rotating blocks (default 6)")
    parser.add_argument("--samples", type=int, default=10, help="samples per figure per block")
    parser.add_argument("--per-sample", type=int, default=25, help="operations per sample")
    parser.add_argument("--figures", default=",".join(FIGURES[:3]), help=f"comma-separated, of {FIGURES}")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="serve the sites without COOP/COEP: call_sync then measures transport jspi",
    )
    parser.add_argument("--browser", choices=BENCH_BROWSERS, default="chromium", help="default chromium")
    args = parser.parse_args(argv)
    figures = [name for name in args.figures.split(",") if name]
    sites = dict(item.split("=", 1) for item in args.site)
    if len(sites) < 2:
        parser.error("give at least two --site NAME=PATH")
    names = list(sites)
    servers = [
        start_server(Path(path).resolve(), 0, isolation=not args.plain, sw_isolation=False) for path in sites.values()
    ]
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    try:
        with bench_browser(args.browser) as browser:
            kernels = {
                name: _boot(name, browser.open(server.url + "lab/index.html"))
                for name, (server, _) in zip(names, servers, strict=True)
            }
            for block in range(args.blocks):
                order = names[block % len(names) :] + names[: block % len(names)]
                for name in order:
                    # Firefox runs the pages as tabs of one window, and a hidden tab's timers
                    # are clamped (page_protocol.BrowserPage.bring_to_front): each site is
                    # measured in the visible tab. An A/A run still read the second site's
                    # await_call at 0.79x the first's (bench/README.md, ninth round).
                    kernels[name].page.bring_to_front()
                    for figure in figures:
                        measured = _measure(kernels[name], figure, args.samples, args.per_sample)
                        for key, values in measured.items():
                            results[name].setdefault(key, []).extend(values)
                print(f"block {block + 1}/{args.blocks} done", file=sys.stderr, flush=True)
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    print("  ".join([f"{'figure':<16}", *(f"{name:>22}" for name in names)]))
    for figure in results[names[0]]:
        base = percentile(results[names[0]][figure], 50)
        cells = []
        for name in names:
            value = percentile(results[name][figure], 50)
            cells.append(f"{value * 1e6:>10.1f} us ({value / base:5.3f}x)")
        print("  ".join([f"{figure:<16}", *cells]))
    print("sites: " + ", ".join(f"{name}={path}" for name, path in sites.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
