"""Before/after comparison of two builds of the site, in one Chromium run (``python -m bench.ab``).

Each change to the bridge was kept only if it paid in this comparison: the site built before
the change (``--a``) and after it (``--b``) are served side by side (both with COOP/COEP), one
kernel is booted in each, and the figures are measured in alternating blocks (A, B, B, A, A,
B, ...) so that a change of load on the shared machine hits both builds alike. Prints the p50
of each figure for A and B and the ratio B / A (below 1: B is faster).

Usage::

    .venv/bin/python -m bench.ab --a /tmp/site-before --b _output [--blocks 6] [--figures ...]

Figures: ``call_sync`` (small JSON, sab), ``await_call`` (``await page.call``), ``kcall``
(page -> Python ``k.call``), ``bulk`` (16 MiB one way through ``call_sync``), ``echo`` (16 MiB
echoed through ``call_sync``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .runner import CHROMIUM, CHROMIUM_ARGS, KERNEL_SOURCE, OFFLINE_ARGS, ms_to_s, page_script
from .stats import percentile

from harness import LiteKernel, NetworkGuard, wait_for_app  # noqa: E402, I001 - on sys.path through runner
from playwright.sync_api import sync_playwright  # noqa: E402

from litebridge.serve import start_server  # noqa: E402

MIB = 1024 * 1024
SMALL = {"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}
FIGURES = ("call_sync", "await_call", "kcall", "bulk", "echo")


def _measure(kernel: LiteKernel, figure: str, samples: int, per_sample: int) -> list[float]:
    args = f"{samples}, {per_sample}, {per_sample}"
    if figure == "call_sync":
        return list(kernel.value(f"call_sync_small({args})", timeout_s=300))
    if figure == "await_call":
        return list(kernel.value(f"await await_call_small({args})", timeout_s=300))
    if figure == "bulk":
        return list(kernel.value(f"bulk_sync({16 * MIB}, False, {max(2, samples // 4)}, 1)", timeout_s=300))
    if figure == "echo":
        return list(kernel.value(f"bulk_sync({16 * MIB}, True, {max(2, samples // 4)}, 1)", timeout_s=300))
    if figure == "kcall":
        options = {"kernelId": kernel.id, "samples": samples, "perSample": per_sample, "warmup": per_sample}
        out = kernel.page.evaluate(page_script("kcall.js"), {**options, "message": SMALL})
        return ms_to_s(out["samples"])
    raise ValueError(f"unknown figure {figure!r}: expected one of {FIGURES}")


def main(argv: list[str] | None = None) -> int:
    """Compare two site builds; print p50 per figure and the ratio B / A."""
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the site before the change")
    parser.add_argument("--b", type=Path, required=True, help="the site after the change")
    parser.add_argument("--blocks", type=int, default=6, help="alternating blocks (default 6)")
    parser.add_argument("--samples", type=int, default=10, help="samples per figure per block")
    parser.add_argument("--per-sample", type=int, default=25, help="operations per sample")
    parser.add_argument("--figures", default=",".join(FIGURES[:3]), help=f"comma-separated, of {FIGURES}")
    args = parser.parse_args(argv)
    figures = [name for name in args.figures.split(",") if name]
    servers = [start_server(site.resolve(), 0, isolation=True) for site in (args.a, args.b)]
    results: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS)
            kernels: dict[str, Any] = {}
            guard = NetworkGuard()
            for name, (server, _thread) in zip("AB", servers, strict=True):
                context = browser.new_context()
                guard.install(context)
                page = context.new_page()
                page.goto(server.url + "lab/index.html")
                wait_for_app(page)
                kernel = LiteKernel(page, boot_timeout_s=90)
                kernel.run(KERNEL_SOURCE, timeout_s=300)
                kernel.value("await setup()")
                kernels[name] = kernel
            for block in range(args.blocks):
                order = "AB" if block % 2 == 0 else "BA"
                for name in order:
                    for figure in figures:
                        values = _measure(kernels[name], figure, args.samples, args.per_sample)
                        results[name].setdefault(figure, []).extend(values)
                print(f"block {block + 1}/{args.blocks} done", file=sys.stderr, flush=True)
            browser.close()
            if guard.blocked:
                print(f"ERROR: non-local requests: {guard.blocked}", file=sys.stderr)
                return 1
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    print(f"{'figure':<12} {'A p50':>12} {'B p50':>12} {'B/A':>7}   (A={args.a}, B={args.b})")
    for figure in figures:
        a = percentile(results["A"][figure], 50)
        b = percentile(results["B"][figure], 50)
        print(f"{figure:<12} {a * 1e6:>10.1f}us {b * 1e6:>10.1f}us {b / a:>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
