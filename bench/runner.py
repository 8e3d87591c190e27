"""The litebridge benchmark: the bridge and its baselines, measured in one browser run.

Serves the built site (``_output``) on 127.0.0.1 twice (with COOP/COEP: transport ``sab``;
without: transport ``jspi``), plus a copy of it without litebridge (for the kernel-start ratio)
and an aiohttp WebSocket server (the seed design's transport), then drives Debian's chromium:

- in a page of the isolated site: the raw JS floors (SAB+Atomics worker->page, postMessage
  page->worker), ``call_sync`` (sab), Pyodide's ``await`` floor, ``await page.call``, bulk
  bytes, page->Python ``k.call``, a Jupyter comm round trip, the WebSocket baselines, and a
  profile of ``call_sync``'s parts;
- in a page of the plain site: ``call_sync`` (jspi), the ``await`` floor, ``await page.call``,
  ``k.call``, bulk bytes over jspi;
- kernel start (navigation to the first output of a REPL cell) with and without litebridge,
  and through ``embed()`` (a host page next to the site: navigation to the first execute result);
- ``import litebridge`` in each fresh kernel.

Everything is timed inside the browser (``performance.now`` in JS, ``time.perf_counter`` in
the kernel), many operations per sample. The whole set runs ``--reps`` times (default 2); every
repetition is reported on its own. Writes ``<out>/latest.json`` and ``<out>/latest.md``.

Usage::

    .venv/bin/python -m bench [--reps 2] [--tiny] [--site _output] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from browsers import ProxiedBrowser
from embed_helpers import make_embed_root, open_host
from harness import CHROMIUM, CHROMIUM_ARGS, LiteKernel, NetworkGuard, wait_for_app
from page_protocol import BrowserPage
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from litebridge.serve import SiteServer, start_server

from . import ROOT
from .report import (
    BULK_SIZES,
    MIB,
    breakdown_table,
    cross_browser,
    evaluate,
    format_bound,
    kcall_breakdown,
    render_markdown,
    render_text,
    tables,
)
from .stats import Figure, make_figure
from .window_bench import measure_window
from .wsserver import WebSocketServer

HERE = Path(__file__).resolve().parent
PAGE_JS = HERE / "page"
KERNEL_SOURCE = (HERE / "kernel_bench.py").read_text(encoding="utf-8")

#: the browsers measured, in order: Debian's chromium (Playwright) and firefox-esr (puppeteer-core)
BROWSERS: tuple[str, ...] = ("chromium", "firefox")
#: the small JSON message of every small round trip (the kernel side uses the same)
SMALL = {"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}
#: marker printed by the first cell in the kernel-start measurement
FIRST_OUTPUT_MARKER = "litebridge-bench-first-output"
COMM_TARGET = "litebridge_bench"
#: operations per sample of the fast profile parts, times ``per_sample`` (FAST_FACTOR in the kernel)
PROFILE_FAST_FACTOR = 20
#: fewest can_run_sync() calls per sample: Firefox reads the clock in 1 ms steps without
#: COOP/COEP, and a sample of fewer sub-microsecond calls could read 0
JSPI_FAST_OPS = 20000
#: operations per sample of the small figures in Firefox's page without COOP/COEP, times
#: ``per_sample``: its clock reads in 1 ms steps there, so 25 calls would come in steps of 40 us;
#: 16x gives 2.5 us steps (4x gave 10 us steps: the jspi target's Firefox figures read 140, 150
#: or 160 us and its floor 40, 50 or 60 us, a ratio known to about 20%)
COARSE_CLOCK_FACTOR = 16
#: worker-side work between calls in the second raw SAB floor (microseconds), about what Python
#: spends per call_sync outside the round trip
RAW_GAP_US = 40
#: the raw SAB floor's worker polls STATE this long before Atomics.wait, as the bridge's worker
#: helper does (``WAIT_SPIN_MS`` in js/src/worker/helper.ts): floor and bridge wake alike
RAW_SPIN_US = 150
#: no DNS for anything but 127.0.0.1, on top of the per-context request checks
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
#: longest wait for one kernel start (seconds); a start takes 8-20 s here
START_TIMEOUT_S = 60.0
#: longest wait for a bench kernel to answer kernel_info (seconds)
BOOT_TIMEOUT_S = 90.0
#: longest wait for one benchmark cell or page script (seconds)
STEP_TIMEOUT_S = 300.0

IMPORT_CELL = """
import sys as _sys, time as _time
_already = 'litebridge' in _sys.modules
_t0 = _time.perf_counter()
import litebridge
_import_s = _time.perf_counter() - _t0
"""


@dataclass(frozen=True)
class Counts:
    """How much to measure.

    Attributes
    ----------
    samples : int
        Samples per small-message figure.
    per_sample : int
        Operations per sample (timed back to back, the sample is their mean).
    warmup : int
        Untimed operations before a figure.
    bulk : dict of str to (int, int)
        Per bulk size name: (samples, operations per sample).
    ws_bulk_samples : int
        Timed 16 MiB WebSocket transfers per direction (after one untimed).
    start_runs : int
        Kernel starts per variant (with / without litebridge) per repetition.
    start_warmup : int
        Kernel starts per variant per repetition before those, not counted (see ``measure_start``).
    blocks : int
        Alternating blocks the compared figures are measured in (see ``interleaved_blocks``).
    warmup_blocks : int
        Blocks measured first and left out of those figures (see ``collect_blocks``).
    """

    samples: int
    per_sample: int
    warmup: int
    bulk: dict[str, tuple[int, int]]
    ws_bulk_samples: int
    start_runs: int
    start_warmup: int
    blocks: int
    warmup_blocks: int


FULL = Counts(
    samples=40,
    per_sample=25,
    warmup=50,
    bulk={"1KiB": (20, 50), "64KiB": (20, 10), "1MiB": (15, 3), "16MiB": (8, 1)},
    ws_bulk_samples=8,
    start_runs=4,
    start_warmup=1,
    blocks=4,
    warmup_blocks=2,
)
#: a smoke run; every sample still spans well over 1 ms, the precision of Firefox's clock in a
#: page without COOP/COEP (a shorter sample can read 0 there)
TINY = Counts(
    samples=3,
    per_sample=10,
    warmup=1,
    bulk=dict.fromkeys(BULK_SIZES, (2, 4)),
    ws_bulk_samples=1,
    start_runs=1,
    start_warmup=0,
    blocks=1,
    warmup_blocks=1,
)


@dataclass
class Run:
    """State of one benchmark run: servers, browser, collected figures and notes."""

    browser: Browser
    counts: Counts
    isolated: SiteServer
    plain: SiteServer
    without: SiteServer
    websocket: WebSocketServer
    embed: SiteServer | None = None
    #: Firefox ESR behind its refusing proxy (``--browser firefox``), else None
    firefox: ProxiedBrowser | None = None
    #: the browser being measured: ``"chromium"`` (Playwright) or ``"firefox"``
    current: str = "chromium"
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    window_only: bool = False
    #: only raw.postmessage, k.call and its profile (``--only kcall``)
    kcall_only: bool = False


def log(message: str) -> None:
    """Progress line on stderr, with the elapsed time."""
    print(f"[bench {time.monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


_STARTED = time.monotonic()


#: the least time (milliseconds) the warm-up of a small-call figure lasts, after its
#: ``counts.warmup`` operations, in the page scripts (``warmupMs``) and the kernel
#: (``WARMUP_MIN_S``): after other work, the first few milliseconds of cross-thread round trips
#: are slow while the threads wake up (bench/README.md, eleventh round)
WARMUP_MIN_MS = 20.0


def warmup_setting() -> str:
    """Python source that sets the kernel benchmarks' ``WARMUP_MIN_S`` to :data:`WARMUP_MIN_MS`."""
    return f"WARMUP_MIN_S = {WARMUP_MIN_MS / 1000!r}"


def page_script(name: str) -> str:
    """The source of a page-side script in ``bench/page/``."""
    return (PAGE_JS / name).read_text(encoding="utf-8")


# --- sites and contexts ------------------------------------------------------------------------


def make_site_without_litebridge(site: Path, dest: Path) -> Path:
    """A view of ``site`` without litebridge: its labextension and its kernel package removed.

    Every entry of ``site`` is symlinked into ``dest`` except ``jupyter-lite.json``, which is
    rewritten without the ``litebridge`` federated extension (so its JavaScript is never
    loaded) and without ``litebridge`` in the kernel's preloaded packages.

    Raises
    ------
    FileNotFoundError
        If ``site`` has no ``jupyter-lite.json``.
    """
    config_path = site / "jupyter-lite.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    data = config["jupyter-config-data"]
    data["federated_extensions"] = [e for e in data.get("federated_extensions", []) if e.get("name") != "litebridge"]
    for settings in data.get("litePluginSettings", {}).values():
        packages = settings.get("loadPyodideOptions", {}).get("packages")
        if isinstance(packages, list):
            packages[:] = [p for p in packages if p != "litebridge"]
    dest.mkdir(parents=True, exist_ok=True)
    for entry in site.iterdir():
        if entry.name != "jupyter-lite.json":
            (dest / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    (dest / "jupyter-lite.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return dest


@contextmanager
def guarded_context(run: Run, *, route: bool) -> Iterator[BrowserContext]:
    """A fresh browser context whose non-local requests are recorded in ``run.blocked``.

    ``route=True`` also aborts them (:class:`harness.NetworkGuard`); ``route=False`` only
    watches, so that request interception does not slow down what is being timed.
    """
    context = run.browser.new_context()
    guard = NetworkGuard()
    if route:
        guard.install(context)
    else:
        context.on(
            "request", lambda request: None if guard.is_local(request.url) else guard.blocked.append(request.url)
        )
    try:
        yield context
    finally:
        run.blocked.extend(url for url in guard.blocked if url not in run.blocked)
        context.close()


@contextmanager
def bench_page(run: Run) -> Iterator[Any]:
    """Pages for one measurement: yields ``open(url) -> BrowserPage`` in the browser being measured.

    Chromium: a fresh guarded context (non-local requests aborted and recorded), closed after.
    Firefox: tabs of the run's Firefox (its proxy refuses non-local hosts), closed after.
    """
    if run.current == "chromium":
        with guarded_context(run, route=True) as context:

            def open_chromium(url: str) -> BrowserPage:
                page = context.new_page()
                _collect_errors(run, page)
                page.goto(url)
                return page

            yield open_chromium
        return
    assert run.firefox is not None
    opened: list[BrowserPage] = []

    def open_firefox(url: str) -> BrowserPage:
        assert run.firefox is not None
        page = run.firefox.open(url)
        opened.append(page)
        return page

    try:
        yield open_firefox
    finally:
        for page in opened:
            with suppress(Exception):
                page.close()
        run.blocked.extend(url for url in run.firefox.blocked if url not in run.blocked)


def _collect_errors(run: Run, page: Page) -> None:
    def on_console(message: Any) -> None:
        if message.type == "error":
            run.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: run.console_errors.append(f"pageerror: {error}"))


# --- kernel start --------------------------------------------------------------------------------


#: what the REPL page shows when a kernel start hangs (for the notes)
_START_STATE_JS = """() => {
  const out = {};
  try {
    const app = window.jupyterapp;
    const widget = app && app.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
      && widget.sessionContext.session.kernel;
    out.app = Boolean(app);
    out.kernelStatus = kernel ? kernel.status : null;
    out.outputs = document.querySelectorAll('.jp-OutputArea-output').length;
    out.prompts = [...document.querySelectorAll('.jp-InputPrompt')].map((p) => p.textContent.trim());
  } catch (error) {
    out.error = String(error);
  }
  return out;
}"""


def first_output_s(run: Run, server: SiteServer) -> float | None:
    """Seconds from navigation to the first cell output in the REPL (None if it hung)."""
    code = f"print({FIRST_OUTPUT_MARKER!r})"
    with guarded_context(run, route=False) as context:
        context.add_init_script(page_script("first_output.js"))
        page = context.new_page()
        _collect_errors(run, page)
        page.goto(f"{server.url}repl/index.html?kernel=python&code={quote(code)}")
        errors_before = len(run.console_errors)
        try:
            page.wait_for_function(
                "() => window.__benchFirstOutputMs !== undefined", polling=250, timeout=START_TIMEOUT_S * 1000
            )
        except PlaywrightTimeoutError:
            state = page.evaluate(_START_STATE_JS)
            run.notes.append(
                {
                    "kernel_start_hung_after_s": START_TIMEOUT_S,
                    "site": "with litebridge" if server is run.isolated else "without litebridge",
                    "state": state,
                    "console_errors": run.console_errors[errors_before:][-10:],
                }
            )
            return None
        return float(page.evaluate("() => window.__benchFirstOutputMs")) / 1000.0


def first_output_s_firefox(run: Run, server: SiteServer) -> float | None:
    """:func:`first_output_s` in Firefox, which has no init scripts: the observer of
    ``first_output.js`` is installed once the page has loaded (the first output comes seconds
    later, after the kernel has booted); the time is still counted from navigation start."""
    code = f"print({FIRST_OUTPUT_MARKER!r})"
    with bench_page(run) as open_page:
        page = open_page(f"{server.url}repl/index.html?kernel=python&code={quote(code)}")
        page.evaluate(page_script("first_output.js"))
        try:
            page.wait_for_function("() => window.__benchFirstOutputMs !== undefined", timeout=START_TIMEOUT_S * 1000)
        except PlaywrightError as exc:
            run.notes.append(
                {
                    "kernel_start_hung_after_s": START_TIMEOUT_S,
                    "browser": run.current,
                    "site": "with litebridge" if server is run.isolated else "without litebridge",
                    "error": str(exc).splitlines()[0][:300],
                }
            )
            return None
        return float(page.evaluate("() => window.__benchFirstOutputMs")) / 1000.0


def embed_first_result(run: Run, server: SiteServer) -> dict[str, Any] | None:
    """Kernel start through ``embed()`` in a host page next to the site (None if it failed).

    The same COOP/COEP serving as the repl measurement; see ``bench/page/embed_first_result.js``
    for what is timed.
    """
    with guarded_context(run, route=False) as context:
        page = context.new_page()
        _collect_errors(run, page)
        errors_before = len(run.console_errors)
        try:
            open_host(page, server.url + "host.html")
            out: dict[str, Any] = page.evaluate(
                page_script("embed_first_result.js"),
                {"marker": FIRST_OUTPUT_MARKER, "timeoutMs": START_TIMEOUT_S * 1000},
            )
        except PlaywrightError as exc:
            run.notes.append(
                {
                    "embed_start_failed": str(exc).splitlines()[0][:300],
                    "console_errors": run.console_errors[errors_before:][-10:],
                }
            )
            return None
        if not out["ok"]:
            run.notes.append({"embed_start_failed": "the first execute did not print the marker", "result": out})
            return None
        return out


def _embed_start_s(run: Run, server: SiteServer, times: dict[str, list[float]]) -> float | None:
    """One embed() start: adds its parts to ``times``; returns navigation to first result (s)."""
    out = embed_first_result(run, server)
    if out is None:
        return None
    times["embed.call"].append(out["callToResultMs"] / 1000.0)
    if out["callToAppMs"] is not None:
        times["embed.app"].append(out["callToAppMs"] / 1000.0)
    if out["callToKernelMs"] is not None:
        times["embed.kernel"].append(out["callToKernelMs"] / 1000.0)
    return float(out["navigationToResultMs"]) / 1000.0


#: the kernel-start variants: figure suffix and label
_START_LABELS = {
    "with": "kernel start, navigation to first output, with litebridge",
    "without": "kernel start, navigation to first output, without litebridge",
    "embed": "kernel start through embed(): host navigation to first execute result",
    "embed.call": "kernel start through embed(): embed() call to first execute result",
    "embed.app": "embed(): embed() call to the frame's app started (UI loaded, before the kernel)",
    "embed.kernel": "embed(): embed() call to the frame's console having a kernel (starting)",
}


#: tries per kernel start sample (a hung boot is counted in the notes, then tried again)
START_ATTEMPTS = 3


def measure_start(run: Run, rep: int, figures: dict[str, Figure]) -> None:
    """Kernel start with and without litebridge, and through embed(); the order flips every repetition.

    Each variant first starts ``counts.start_warmup`` times uncounted (reported as
    ``warmup.start.*``). Measured: the first start of a variant was often the slowest (7 of 10
    first starts over their variant's p50 at 21:11, by up to 0.6 s), and counted it moved the
    p50s apart: the with/without ratio came out 1.02-1.04 in the repetition that starts with the
    bridge first and 0.97 in the one that starts it last (runs of 20:14 and 20:35,
    bench/README.md, twelfth round). Not measured, the likely reason: each variant's site is
    its own origin, and a first start there has no code cache yet (V8 caches compiled
    WebAssembly per origin: https://v8.dev/blog/wasm-code-caching).
    """
    variants = [("with", run.isolated), ("without", run.without)]
    if run.embed is not None and run.current == "chromium":  # embed(): Chromium only (not a target here)
        variants.append(("embed", run.embed))
    repl_start = first_output_s if run.current == "chromium" else first_output_s_firefox
    if rep % 2:
        variants.reverse()
    times: dict[str, list[float]] = {name: [] for name in _START_LABELS}
    warm: dict[str, list[float]] = {name: [] for name in _START_LABELS}
    hung = {name: 0 for name, _ in variants}
    rounds = [warm] * run.counts.start_warmup + [times] * run.counts.start_runs
    for into in rounds:
        for name, server in variants:
            # a boot that hangs is counted (run.notes) and tried again: without litebridge the
            # upstream races that js/src/waitAsyncFix.ts and coincidentResultFix.ts work around
            # still hang a boot now and then, and a figure needs its sample
            for _attempt in range(START_ATTEMPTS):
                seconds = _embed_start_s(run, server, into) if name == "embed" else repl_start(run, server)
                what = "warm-up " if into is warm else ""
                log(f"{run.current}: kernel start {what}{name}: {'hung' if seconds is None else f'{seconds:.1f} s'}")
                if seconds is not None:
                    into[name].append(seconds)
                    break
                hung[name] += 1
    for name, label in _START_LABELS.items():
        if times[name]:
            figures[f"start.{name}"] = make_figure(f"start.{name}", label, times[name])
        if warm[name]:
            warm_label = f"{label}: the first start per origin in this browser, not counted (no target)"
            figures[f"warmup.start.{name}"] = make_figure(f"warmup.start.{name}", warm_label, warm[name])
    if any(hung.values()):
        run.notes.append({"rep": rep + 1, "kernel_start_hung": hung})


# --- the bench kernels ---------------------------------------------------------------------------


def boot_bench_kernel(run: Run, open_page: Any, server: SiteServer) -> tuple[LiteKernel, float]:
    """Open the lab app, boot a kernel, time ``import litebridge``, load the kernel benchmarks.

    ``open_page(url)`` opens a page in the browser being measured (see :func:`bench_page`). A
    boot that does not answer within :data:`BOOT_TIMEOUT_S` is retried once in a new page (and
    recorded in ``run.notes``): one hung boot should not throw away the rest of the run.
    """
    for attempt in (1, 2):
        errors_before = len(run.console_errors)
        page = None
        try:
            page = open_page(server.url + "lab/index.html")
            wait_for_app(page)
            kernel = LiteKernel(page, boot_timeout_s=BOOT_TIMEOUT_S)
            break
        except PlaywrightError as exc:
            note = {
                "kernel_boot_failed": str(exc).splitlines()[0][:300],
                "site": "isolated" if server.isolation else "plain",
                "browser": run.current,
                "attempt": attempt,
                "console_errors": run.console_errors[errors_before:][-10:],
            }
            run.notes.append(note)
            log(f"kernel boot failed (attempt {attempt}): {note['kernel_boot_failed']}")
            if page is not None:
                page.close()
            if attempt == 2:
                raise
    kernel.run(IMPORT_CELL)
    if kernel.value("_already"):
        raise RuntimeError("litebridge was imported before the first cell: import time cannot be measured")
    import_s = float(kernel.value("_import_s"))
    kernel.run(KERNEL_SOURCE, timeout_s=STEP_TIMEOUT_S)
    kernel.run(warmup_setting(), timeout_s=STEP_TIMEOUT_S)
    setup = kernel.value("await setup()")
    run.versions.setdefault("pyodide", str(kernel.value("__import__('pyodide').__version__")))
    run.versions.setdefault("python_in_kernel", str(kernel.value("__import__('platform').python_version()")))
    log(f"kernel booted in {kernel.boot_s:.1f} s, transport {setup['transport']}, import {import_s * 1e3:.1f} ms")
    return kernel, import_s


#: the frame of the minimal round trips (``await_port_min``, ``jspi_port_min`` in
#: ``bench/kernel_bench.py``) and the request id its echo is marked to answer (the bridge's own
#: ids count up from 1)
PORT_ECHO_FRAME = '{"bench":"port_echo"}'
PORT_ECHO_ID = 2_000_000_000
#: the last two arguments of the kernel's port_min functions
ECHO_ARGS = f"{PORT_ECHO_FRAME!r}, {PORT_ECHO_ID}"
AWAIT_PORT_MIN_LABEL = (
    "await page.call floor: await of a round trip through the page's port echo, no bridge code "
    "(post, echo, entry into Python, task resumed)"
)
AWAIT_LEAN_LABEL = (
    "await page.call least bridge round trip: envelope from a template, no checks, the page's "
    "bridge serving it, a minimal receiver (json.loads, task resumed); no pending table, no timeout"
)
JSPI_PORT_MIN_LABEL = (
    "call_sync (jspi) floor: run_sync on a round trip through the page's port echo, no bridge code "
    "(post, echo, awaitAnswer resolved in JS, stack switch back)"
)


@contextmanager
def port_echo(kernel: LiteKernel) -> Iterator[None]:
    """The page's port echo of ``bench/page/port_echo.js`` in place for the ``with`` block."""
    options = {"kernelId": kernel.id, "frame": PORT_ECHO_FRAME, "answers": PORT_ECHO_ID}
    kernel.page.evaluate(page_script("port_echo.js"), {**options, "enable": True})
    try:
        yield
    finally:
        kernel.page.evaluate(page_script("port_echo.js"), {**options, "enable": False})


def kernel_samples(kernel: LiteKernel, call: str) -> Any:
    """Evaluate a kernel benchmark call (see ``bench/kernel_bench.py``) and return its JSON."""
    return kernel.value(call, timeout_s=STEP_TIMEOUT_S)


def small_args(counts: Counts) -> str:
    """``samples, per_sample, warmup`` as Python call arguments."""
    return f"{counts.samples}, {counts.per_sample}, {counts.warmup}"


def js_options(counts: Counts, **extra: Any) -> dict[str, Any]:
    """Options of a page script: counts, the warm-up's least duration, the small message."""
    return {
        "samples": counts.samples,
        "perSample": counts.per_sample,
        "warmup": counts.warmup,
        "warmupMs": WARMUP_MIN_MS,
        "message": SMALL,
        **extra,
    }


def ms_to_s(values: list[float]) -> list[float]:
    """Milliseconds (page scripts) to seconds."""
    return [v / 1000.0 for v in values]


def measure_bulk(
    kernel: LiteKernel, counts: Counts, figures: dict[str, Figure], transport: str, *, sync: bool, one_way: bool
) -> None:
    """Bulk bytes for every size: ``call_sync`` (``sync``) or ``await page.call``."""
    direction = "one_way" if one_way else "round_trip"
    what = "Python->page (size answered)" if one_way else "Python->page->Python (echoed)"
    for size_name, nbytes in BULK_SIZES.items():
        samples, per_sample = counts.bulk[size_name]
        echo = "False" if one_way else "True"
        call = (
            f"bulk_sync({nbytes}, {echo}, {samples}, {per_sample})"
            if sync
            else (f"await bulk_await({nbytes}, {echo}, {samples}, {per_sample})")
        )
        key = f"bulk.{transport}.{direction}.{size_name}"
        if key in figures:  # measured in the interleaved blocks
            continue
        api = "call_sync" if sync else "await page.call"
        figures[key] = make_figure(
            key, f"{api} ({transport}) {size_name} {what}", kernel_samples(kernel, call), per_sample, nbytes
        )


Samples = dict[str, list[float]]


def collect_blocks(measure_block: Callable[[], Samples], blocks: int, warmup_blocks: int) -> tuple[Samples, Samples]:
    """Run ``warmup_blocks`` blocks, then ``blocks`` counted ones; return (counted, warm-up) samples.

    Right after a kernel boots, its first thousands of calls run slower while the engines
    compile the hot code (V8 tiers WebAssembly and JavaScript up as they run): in Chromium 156
    ``call_sync`` (sab) took 306 us per call in the first block after boot and 108-180 us from
    the fifth block on (bench/README.md, "Warm-up"). The
    targets compare steady states, so those first blocks are measured alike for every figure
    and kept apart: the runner reports some of them as ``warmup.*`` figures.

    Parameters
    ----------
    measure_block : callable returning dict of str to list of float
        Measures one block: samples (seconds) per figure key.
    blocks : int
        Counted blocks.
    warmup_blocks : int
        Blocks measured before them and not counted.

    Returns
    -------
    tuple of (dict, dict)
        The counted samples and the warm-up samples, each per figure key in block order.
    """
    counted: Samples = {}
    warm: Samples = {}
    for index in range(warmup_blocks + blocks):
        into = warm if index < warmup_blocks else counted
        for key, values in measure_block().items():
            into.setdefault(key, []).extend(values)
    return counted, warm


def interleaved_blocks(run: Run, kernel: LiteKernel) -> tuple[Samples, Samples]:
    """Samples of the figures the targets compare, measured in alternating blocks.

    Each target compares a bridge figure with its baseline; on a shared machine the load
    drifts within seconds, so the floors, the bridge figures and the WebSocket baseline take
    turns: ``counts.blocks`` blocks, each with a share of every figure's samples, after
    ``counts.warmup_blocks`` blocks that are not counted (:func:`collect_blocks`). Returns the
    counted and the warm-up samples (seconds) per figure key.
    """
    counts = run.counts
    page = kernel.page
    blocks = counts.blocks
    share = max(1, counts.samples // blocks)
    bulk_share = max(1, -(-counts.bulk["16MiB"][0] // blocks))
    ws_share = max(1, -(-counts.ws_bulk_samples // blocks))
    args = f"{share}, {counts.per_sample}, {counts.warmup}"

    def block() -> Samples:
        out: Samples = {}
        raw = page.evaluate(
            page_script("raw_floor.js"),
            js_options(counts, samples=share, bulkBytes=16 * MIB, bulkSamples=bulk_share, workerSpinUs=RAW_SPIN_US),
        )
        out["raw.sab_sync"] = ms_to_s(raw["sab"])
        out["raw.sab_bulk.16MiB"] = ms_to_s(raw["bulk"])
        out["raw.sab_bulk_back.16MiB"] = ms_to_s(raw["bulkBack"])
        out["raw.postmessage"] = ms_to_s(raw["postMessage"])
        gap = page.evaluate(
            page_script("raw_floor.js"),
            js_options(counts, samples=share, gapUs=RAW_GAP_US, postMessageFloor=False, workerSpinUs=RAW_SPIN_US),
        )
        out[f"raw.sab_sync.gap{RAW_GAP_US}us"] = [v - RAW_GAP_US / 1e6 for v in ms_to_s(gap["sab"])]
        out["bulk.sab.one_way.16MiB"] = kernel_samples(kernel, f"bulk_sync({16 * MIB}, False, {bulk_share}, 1)")
        out["call_sync.sab"] = kernel_samples(kernel, f"call_sync_small({args})")
        out["await_floor.isolated"] = kernel_samples(kernel, f"await await_floor({args})")
        out["await_call.isolated"] = kernel_samples(kernel, f"await await_call_small({args})")
        out["profile.await.no_timeout"] = kernel_samples(kernel, f"await await_call_small({args}, timeout=None)")
        with port_echo(kernel):
            out["profile.await.port_min"] = kernel_samples(kernel, f"await await_port_min({args}, {ECHO_ARGS})")
        out["profile.await.lean"] = kernel_samples(kernel, f"await await_lean({args})")
        kcall = page.evaluate(page_script("kcall.js"), js_options(counts, samples=share, kernelId=kernel.id))
        out["kcall.isolated"] = ms_to_s(kcall["samples"])
        ws = page.evaluate(
            page_script("websocket.js"),
            js_options(counts, samples=share, baseUrl=run.websocket.url, bulkBytes=16 * MIB, bulkSamples=ws_share),
        )
        out["ws.small"] = ms_to_s(ws["small"])
        out["ws.bulk.one_way.16MiB"] = ms_to_s(ws["bulkOneWay"])
        out["ws.bulk.round_trip.16MiB"] = ms_to_s(ws["bulkRoundTrip"])
        return out

    return collect_blocks(block, blocks, counts.warmup_blocks)


#: the warm-up figures reported (``warmup.<key>``): the bridge's small calls right after boot
WARMUP_KEYS = ("call_sync.sab", "await_call.isolated", "kcall.isolated", "call_sync.jspi")


def add_warmup_figures(warm: Samples, per_sample: int, figures: dict[str, Figure]) -> None:
    """Report the warm-up samples of :data:`WARMUP_KEYS` as ``warmup.*`` figures.

    Call it after the counted figures are made: each takes its counted figure's label.
    """
    for key in WARMUP_KEYS:
        if warm.get(key) and key in figures:
            name = f"warmup.{key}"
            label = f"{figures[key].label}: the warm-up blocks right after boot (no target)"
            figures[name] = make_figure(name, label, warm[key], per_sample)


def window_figures(run: Run, kernel: LiteKernel, transport: str, figures: dict[str, Figure]) -> None:
    """The ``window`` figures of issue 10 (see ``bench/window_bench.py``)."""
    measure_window(
        kernel,
        transport,
        run.counts,
        figures,
        kernel_samples=kernel_samples,
        page_script=page_script,
        js_options=js_options,
        make_figure=make_figure,
    )
    log(
        f"window ({transport}): doc.title p50 {figures[f'window.title_read.{transport}'].p50_s * 1e6:.0f} us, "
        f"call_sync p50 {figures[f'window.call_sync.{transport}'].p50_s * 1e6:.0f} us"
    )


def measure_isolated(run: Run, figures: dict[str, Figure], import_times: list[float]) -> None:
    """Everything measured in a cross-origin isolated page (transport ``sab``)."""
    counts = run.counts
    with bench_page(run) as open_page:
        kernel, import_s = boot_bench_kernel(run, open_page, run.isolated)
        import_times.append(import_s)
        page = kernel.page
        if not page.evaluate("() => self.crossOriginIsolated"):
            raise RuntimeError("the isolated site's page is not crossOriginIsolated")
        if run.window_only:
            window_figures(run, kernel, "sab", figures)
            kernel.shutdown()
            return
        if run.kcall_only:
            measure_kcall_only(run, kernel, figures)
            kernel.shutdown()
            return
        per = counts.per_sample
        gap_key = f"raw.sab_sync.gap{RAW_GAP_US}us"
        samples, warm = interleaved_blocks(run, kernel)
        bulk = (1, 16 * MIB)  # one 16 MiB operation per sample
        small = (per, None)
        for key, label, (per_sample, nbytes) in (
            ("raw.sab_sync", "raw JS: worker->page sync round trip, SAB + Atomics, no Python", small),
            (
                gap_key,
                f"raw JS: SAB sync round trip when the worker works {RAW_GAP_US} us between calls (minus those)",
                small,
            ),
            ("raw.sab_bulk.16MiB", "raw JS: 16MiB worker->page over the SAB (copy in, copy out), no Python", bulk),
            (
                "raw.sab_bulk_back.16MiB",
                "raw JS: 16MiB page->worker over the SAB (copy in, copy out into a reused buffer), no Python",
                bulk,
            ),
            ("bulk.sab.one_way.16MiB", "call_sync (sab) 16MiB Python->page (size answered)", bulk),
            ("raw.postmessage", "raw JS: page->worker->page postMessage round trip", small),
            ("call_sync.sab", "page.call_sync small JSON, transport sab", small),
            ("await_floor.isolated", "Pyodide floor: await of a resolved JS promise", small),
            ("await_call.isolated", "await page.call small JSON", small),
            ("profile.await.no_timeout", "await page.call small JSON with timeout=None (no per-call timer)", small),
            ("profile.await.port_min", AWAIT_PORT_MIN_LABEL, small),
            ("profile.await.lean", AWAIT_LEAN_LABEL, small),
            ("kcall.isolated", "page->Python k.call small JSON", small),
            ("ws.small", "WebSocket page<->aiohttp round trip, small JSON", small),
            ("ws.bulk.one_way.16MiB", "WebSocket 16MiB page->aiohttp (size answered)", bulk),
            ("ws.bulk.round_trip.16MiB", "WebSocket 16MiB page->aiohttp->page (echoed)", bulk),
        ):
            figures[key] = make_figure(key, label, samples[key], per_sample, nbytes)
        add_warmup_figures(warm, per, figures)
        log(
            f"interleaved figures done: call_sync (sab) p50 {figures['call_sync.sab'].p50_s * 1e6:.0f} us, "
            f"await page.call p50 {figures['await_call.isolated'].p50_s * 1e6:.0f} us"
        )
        measure_bulk(kernel, counts, figures, "sab", sync=True, one_way=True)
        measure_bulk(kernel, counts, figures, "sab", sync=True, one_way=False)
        measure_bulk(kernel, counts, figures, "await", sync=False, one_way=False)
        log("bulk done")
        measure_kcall_parts(kernel, counts, figures)
        if run.current == "chromium":  # not a target; left out in Firefox to keep the run short
            kernel.run(f"setup_comm({COMM_TARGET!r})")
            comm = page.evaluate(page_script("comm.js"), js_options(counts, kernelId=kernel.id, target=COMM_TARGET))
            figures["comm.isolated"] = make_figure(
                "comm.isolated", "Jupyter comm round trip page->kernel->page, small JSON", ms_to_s(comm), per
            )
        profile = kernel_samples(kernel, f"profile_call_sync({small_args(counts)})")
        for part, label in (
            ("encode", "call_sync part: build + encode the envelope (Python)"),
            ("sab", "call_sync part: helper.callSync round trip incl. page handling"),
            ("decode", "call_sync part: decode the answer (Python)"),
            ("ffi", "call_sync part: a bare Python->JS call with the JSON string"),
        ):
            ops = per if part == "sab" else per * PROFILE_FAST_FACTOR
            figures[f"profile.sab.{part}"] = make_figure(f"profile.sab.{part}", label, profile[part], ops)
        measure_parts(kernel, counts, figures)
        await_parts = kernel_samples(kernel, f"await profile_await_parts({small_args(counts)})")
        for part, label in (
            ("send", "await page.call part: page.call() up to its future (encode, postMessage)"),
            ("hop", "await page.call part: await asyncio.sleep(0), one trip through Pyodide's loop"),
            ("full", "await page.call part: the whole await page.call, same loop as the parts"),
        ):
            key = f"profile.await.{part}"
            figures[key] = make_figure(key, label, await_parts[part], per)
        log("k.call, comm, profile done")
        if run.current == "chromium":  # window figures: Chromium only (issue 10's targets)
            window_figures(run, kernel, "sab", figures)
        kernel.shutdown()


#: the pieces of one call_sync timed by ``profile_call_sync_parts`` and ``page_serve.js``
_PART_LABELS = {
    "full": "call_sync parts: page.call_sync as a whole (same kernel, same loop as the parts)",
    "full_nogc": "call_sync parts: page.call_sync as a whole, Python's garbage collector off",
    "checks": "call_sync parts: link lookup, transport, timeout check, label (Python)",
    "encode": "call_sync parts: Page._encode_call: id, name check, envelope, encode (Python)",
    "link": "call_sync parts: PyodideLink.call_sab on the encoded frame (FFI + SAB round trip)",
    "helper": "call_sync parts: helper.callSync from a JS loop in the worker (no Python, no FFI)",
    "decode": "call_sync parts: decode_envelope + id/kind checks (Python)",
    "clock": "call_sync parts: one time.perf_counter() (not read per call_sync on sab)",
}
_PAGE_LABELS = {
    "serve": "page CPU per sync call: KernelBridge.serveSync(frame).run()",
    "frame_io": "page CPU per sync call: frame copies + TextDecoder/TextEncoder",
    "proxy": "page CPU: one handler `this` Proxy created and read",
}


def measure_parts(kernel: LiteKernel, counts: Counts, figures: dict[str, Figure]) -> None:
    """The pieces of one ``call_sync`` (sab): ``profile.parts.*`` (kernel) and ``profile.page.*``."""
    parts = kernel_samples(kernel, f"profile_call_sync_parts({small_args(counts)})")
    ops = parts.pop("counts")
    frame = parts.pop("frame")
    for part, label in _PART_LABELS.items():
        per_sample = ops["fast"] if part in ("checks", "encode", "decode", "clock") else ops["slow"]
        figures[f"profile.parts.{part}"] = make_figure(f"profile.parts.{part}", label, parts[part], per_sample)
    page = kernel.page.evaluate(
        page_script("page_serve.js"),
        {
            "kernelId": kernel.id,
            "frame": frame,
            "samples": counts.samples,
            "perSample": counts.per_sample,
            "warmup": counts.warmup,
        },
    )
    for part, label in _PAGE_LABELS.items():
        key = f"profile.page.{part}"
        figures[key] = make_figure(key, label, ms_to_s(page["frameIo" if part == "frame_io" else part]))


#: the pieces of one page -> Python k.call timed by ``kcall_parts.js`` (page) and
#: ``profile_kcall_parts`` (kernel): key, label, True if timed with the fast operation count
_KCALL_LABELS: dict[str, tuple[str, bool]] = {
    "full": ("k.call parts: await k.call as a whole (same page script as the page's parts)", False),
    "send": ("k.call parts: KernelBridge.invoke up to the port, postMessage a no-op (page)", True),
    "settle": ("k.call parts: the answer frame's handling + promise chain to the await (page)", True),
    "port": ("k.call parts: request frame on the kernel's port, answer awaited (no page bridge code)", False),
    "port_min": (
        "k.call parts: the same port round trip, the kernel answering from a minimal receiver (FFI in + post)",
        False,
    ),
    "deliver": ("k.call parts: the worker helper's frame receiver from a JS loop (FFI in + serve)", False),
    "serve": ("k.call parts: Page._on_frame: decode, route, exposed method, encode, post (Python)", False),
    "serve_nopost": ("k.call parts: Page._on_frame with PyodideLink.post a no-op (Python)", False),
    "decode": ("k.call parts: decode_envelope of the request (Python)", True),
    "invoke": ("k.call parts: Registry.invoke: lookup, bench.echo, answer_result (Python)", True),
    "post": ("k.call parts: PyodideLink.post of the answer: FFI + postMessage (Python)", False),
}


def kcall_part_samples(kernel: LiteKernel, counts: Counts) -> tuple[dict[str, list[float]], dict[str, int]]:
    """The pieces of one page -> Python ``k.call`` (page, then kernel), in seconds per operation.

    Returns the samples of every part of :data:`_KCALL_LABELS` and the operations per sample
    (``{"fast": ..., "slow": ...}``). Also used by ``bench.ab`` (figure ``kcall_parts``).
    """
    per = counts.per_sample
    page = kernel.page.evaluate(
        page_script("kcall_parts.js"), js_options(counts, kernelId=kernel.id, fastFactor=PROFILE_FAST_FACTOR)
    )
    frame = page.pop("frame")
    kernel.run("kcall_minimal_receiver(True)")
    try:
        minimal = kernel.page.evaluate(
            page_script("kcall_parts.js"),
            js_options(counts, kernelId=kernel.id, fastFactor=PROFILE_FAST_FACTOR, portOnly=True, frame=frame),
        )
    finally:
        kernel.run("kcall_minimal_receiver(False)")
    page["port_min"] = minimal["port"]
    parts = kernel_samples(kernel, f"profile_kcall_parts({small_args(counts)}, {frame!r})")
    ops: dict[str, int] = parts.pop("counts")  # the page's script uses the same counts (fastFactor)
    if ops != {"fast": per * PROFILE_FAST_FACTOR, "slow": per}:
        raise RuntimeError(f"profile_kcall_parts counted {ops}, the page script {per * PROFILE_FAST_FACTOR}/{per}")
    return {**{key: ms_to_s(page[key]) for key in ("full", "send", "settle", "port", "port_min")}, **parts}, ops


def measure_kcall_parts(kernel: LiteKernel, counts: Counts, figures: dict[str, Figure]) -> None:
    """The pieces of one page -> Python ``k.call`` as figures ``profile.kcall.*``."""
    samples, ops = kcall_part_samples(kernel, counts)
    for part, (label, fast) in _KCALL_LABELS.items():
        key = f"profile.kcall.{part}"
        figures[key] = make_figure(key, label, samples[part], ops["fast"] if fast else ops["slow"])


def measure_kcall_only(run: Run, kernel: LiteKernel, figures: dict[str, Figure]) -> None:
    """``--only kcall``: ``raw.postmessage`` and ``kcall.isolated`` in alternating blocks, then the profile."""
    counts = run.counts
    share = max(1, counts.samples // counts.blocks)

    def block() -> Samples:
        raw = kernel.page.evaluate(page_script("raw_floor.js"), js_options(counts, samples=share, sabFloor=False))
        kcall = kernel.page.evaluate(page_script("kcall.js"), js_options(counts, samples=share, kernelId=kernel.id))
        return {"raw.postmessage": ms_to_s(raw["postMessage"]), "kcall.isolated": ms_to_s(kcall["samples"])}

    samples, warm = collect_blocks(block, counts.blocks, counts.warmup_blocks)
    figures["raw.postmessage"] = make_figure(
        "raw.postmessage",
        "raw JS: page->worker->page postMessage round trip",
        samples["raw.postmessage"],
        counts.per_sample,
    )
    figures["kcall.isolated"] = make_figure(
        "kcall.isolated", "page->Python k.call small JSON", samples["kcall.isolated"], counts.per_sample
    )
    add_warmup_figures(warm, counts.per_sample, figures)
    measure_kcall_parts(kernel, counts, figures)
    log(
        f"k.call p50 {figures['kcall.isolated'].p50_s * 1e6:.0f} us, postMessage floor "
        f"{figures['raw.postmessage'].p50_s * 1e6:.0f} us"
    )


def measure_plain(run: Run, figures: dict[str, Figure], import_times: list[float]) -> None:
    """Everything measured in a page without COOP/COEP (transport ``jspi``).

    In Firefox, whose clock reads in 1 ms steps in such a page, every small-message sample is
    ``COARSE_CLOCK_FACTOR`` times longer.
    """
    if run.kcall_only:
        return
    counts = run.counts
    if run.current == "firefox":
        counts = replace(counts, per_sample=counts.per_sample * COARSE_CLOCK_FACTOR)
    per = counts.per_sample
    with bench_page(run) as open_page:
        kernel, import_s = boot_bench_kernel(run, open_page, run.plain)
        import_times.append(import_s)
        transport = kernel.value("litebridge.transport")
        if run.window_only:
            if transport == "jspi":
                window_figures(run, kernel, "jspi", figures)
            kernel.shutdown()
            return
        if transport != "jspi":  # a browser without JSPI: call_sync raises SyncUnavailable without COOP/COEP
            note = f"{run.current}: no call_sync without COOP/COEP (transport {transport}): jspi figures left out"
            if {"note": note} not in run.notes:
                run.notes.append({"note": note})
        share = max(1, counts.samples // counts.blocks)
        args = f"{share}, {per}, {counts.warmup}"

        def block() -> Samples:
            out: Samples = {}
            if transport == "jspi":
                out["call_sync.jspi"] = kernel_samples(kernel, f"call_sync_small({args})")
                with port_echo(kernel):
                    out["profile.jspi.port_min"] = kernel_samples(kernel, f"jspi_port_min({args}, {ECHO_ARGS})")
            out["await_floor.plain"] = kernel_samples(kernel, f"await await_floor({args})")
            out["await_call.plain"] = kernel_samples(kernel, f"await await_call_small({args})")
            kcall = kernel.page.evaluate(page_script("kcall.js"), js_options(counts, samples=share, kernelId=kernel.id))
            out["kcall.plain"] = ms_to_s(kcall["samples"])
            return out

        # the same alternating blocks as the isolated page's, for the jspi target's two figures
        samples, warm = collect_blocks(block, counts.blocks, counts.warmup_blocks)
        for key, label in (
            ("call_sync.jspi", "page.call_sync small JSON, transport jspi"),
            ("await_floor.plain", "Pyodide floor: await of a resolved JS promise (no COOP/COEP)"),
            ("await_call.plain", "await page.call small JSON (no COOP/COEP)"),
            ("kcall.plain", "page->Python k.call small JSON (no COOP/COEP)"),
            ("profile.jspi.port_min", JSPI_PORT_MIN_LABEL),
        ):
            if key in samples:
                figures[key] = make_figure(key, label, samples[key], per)
        add_warmup_figures(warm, per, figures)
        if transport == "jspi":
            fast = max(per * PROFILE_FAST_FACTOR, JSPI_FAST_OPS)
            jspi_parts = kernel_samples(kernel, f"profile_jspi_parts({small_args(counts)}, {fast})")
            for part, label, ops in (
                ("can_run_sync", "call_sync (jspi) part: pyodide.ffi.can_run_sync()", fast),
                ("run_sync", "call_sync (jspi) part: run_sync of a resolved JS promise (stack switch)", per),
            ):
                key = f"profile.jspi.{part}"
                figures[key] = make_figure(key, label, jspi_parts[part], ops)
            measure_bulk(kernel, counts, figures, "jspi", sync=True, one_way=False)
            log(f"call_sync (jspi) p50 {figures['call_sync.jspi'].p50_s * 1e6:.0f} us; plain page done")
        if transport == "jspi" and run.current == "chromium":  # window figures: Chromium only
            window_figures(run, kernel, "jspi", figures)
        kernel.shutdown()


# --- the whole run ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, OS and load of this machine."""
    cpu = platform.processor() or platform.machine()
    memory_kib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": None if memory_kib is None else round(memory_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "host_python": platform.python_version(),
    }


def run_benchmark(  # noqa: PLR0915 - one flat sequence of measurements
    site: Path,
    counts: Counts,
    reps: int,
    browsers: Sequence[str] = BROWSERS,
    only_start: bool = False,
    window_only: bool = False,
    kcall_only: bool = False,
) -> dict[str, Any]:
    """Run the whole benchmark ``reps`` times in each browser; return every figure and verdict.

    Each repetition measures Chromium, then Firefox (``browsers``), so that the two runs of a
    browser are apart in time as they would be on their own. ``only_start`` runs only the
    kernel-start figures (``start.*``: the repl app with and without litebridge, and
    ``embed()``); the other ratios and targets are then ``n/a``. With ``window_only``, only the
    ``window`` figures (and the ``call_sync`` they are compared with) are measured.

    ``only_start`` runs only the kernel-start figures (``start.*``: the repl app with and
    without litebridge, and ``embed()``); the other ratios and targets are then ``n/a``.
    With ``window_only``, only the ``window`` figures (and the ``call_sync`` they are compared
    with) are measured. With ``kcall_only``, only ``raw.postmessage``, ``kcall.isolated`` and
    the ``profile.kcall.*`` pieces (isolated page).

    Raises
    ------
    FileNotFoundError
        If ``site`` is not a built site.
    RuntimeError
        If a page or kernel does not behave (not isolated, a cell failed...).
    """
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    site = site.resolve()
    if not (site / "jupyter-lite.json").is_file():
        raise FileNotFoundError(f"no built site at {site}: run `make site` first")
    site_config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    rep_figures: dict[str, list[dict[str, Figure]]] = {name: [] for name in browsers}
    with tempfile.TemporaryDirectory(prefix="litebridge-bench-") as tmp, sync_playwright() as playwright:
        without_dir = make_site_without_litebridge(site, Path(tmp) / "site")
        embed_dir = make_embed_root(site, Path(tmp) / "embed", embed_origins=[])
        # Every site with the service worker's isolation opted out (as the tests serve them):
        # the plain site must stay non-isolated (transport jspi, not sab after a reload), and
        # the isolated ones are isolated by their headers already.
        servers = [
            start_server(site, 0, isolation=True, sw_isolation=False),
            start_server(site, 0, isolation=False, sw_isolation=False),
            start_server(without_dir, 0, isolation=True, sw_isolation=False),
            start_server(embed_dir, 0, isolation=True, sw_isolation=False),
        ]
        websocket = WebSocketServer().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS)
        run = Run(browser, counts, servers[0][0], servers[1][0], servers[2][0], websocket, embed=servers[3][0])
        try:
            run = Run(browser, counts, servers[0][0], servers[1][0], servers[2][0], websocket, embed=servers[3][0])
            run.window_only = window_only
            run.kcall_only = kcall_only
            run.versions["chromium"] = browser.version
            if "firefox" in browsers:
                run.firefox = ProxiedBrowser("firefox")
                run.versions["firefox"] = run.firefox.version
            for rep in range(reps):
                for name in browsers:
                    run.current = name
                    log(f"{name}: repetition {rep + 1} of {reps} (load average {os.getloadavg()[0]:.2f})")
                    figures: dict[str, Figure] = {}
                    import_times: list[float] = []
                    if not (window_only or kcall_only):
                        measure_start(run, rep, figures)
                    if only_start:
                        rep_figures[name].append(figures)
                        continue
                    measure_isolated(run, figures, import_times)
                    measure_plain(run, figures, import_times)
                    figures["import_litebridge"] = make_figure(
                        "import_litebridge", "import litebridge in a fresh kernel (one per kernel)", import_times
                    )
                    rep_figures[name].append(figures)
        finally:
            browser.close()
            if run.firefox is not None:
                run.blocked.extend(url for url in run.firefox.blocked if url not in run.blocked)
                run.firefox.close()
            websocket.stop()
            for server, thread in servers:
                server.shutdown()
                server.server_close()
                thread.join(timeout=10)
            shutil.rmtree(without_dir, ignore_errors=True)
            shutil.rmtree(embed_dir, ignore_errors=True)
    evaluations = {name: evaluate(figures) for name, figures in rep_figures.items()}
    main_browser = browsers[0]
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": {
            **machine_info(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            **run.versions,
            "jupyterlite": str(site_config.get("appVersion", "")),
            "litebridge": _litebridge_version(),
        },
        "counts": asdict(counts),
        "browsers": list(browsers),
        # the first browser (Chromium) at the top level, as before Firefox was measured
        "reps": [{key: figure.to_json() for key, figure in figures.items()} for figures in rep_figures[main_browser]],
        "ratios": evaluations[main_browser]["ratios"],
        "targets": evaluations[main_browser]["targets"],
        "notes": run.notes,
        "blocked_requests": run.blocked,
        "console_errors": run.console_errors[-50:],
        "_figures": rep_figures,
    }
    for name in browsers[1:]:
        results[name] = {
            "reps": [{key: figure.to_json() for key, figure in figures.items()} for figures in rep_figures[name]],
            "ratios": evaluations[name]["ratios"],
            "targets": evaluations[name]["targets"],
        }
    if "chromium" in evaluations and "firefox" in evaluations:
        results["cross_browser"] = cross_browser(evaluations["chromium"], evaluations["firefox"])
    return results


def _litebridge_version() -> str:
    import litebridge

    return litebridge.__version__


_INTRO = (
    "Produced by `make bench` (`bench/runner.py`). Every figure is timed inside the browser "
    "(`performance.now` in JavaScript, `time.perf_counter` in the kernel); a sample is the mean of "
    "several operations back to back; p50/p95 are over the samples, n is their number. Bulk MB/s are "
    "given at the p50 and at the p95 time. Ratios are p50 / p50 within one run. Each browser has its "
    "own floors, measured in that browser. The compared figures are measured in alternating blocks after "
    "warm-up blocks that are not counted (`warmup.*` figures: the first calls after a kernel boot). A "
    'target\'s "best possible here" is the value it would have if the bridge cost nothing beyond floors '
    'measured in the same run (listed under each targets table); "out of reach" means even that misses '
    "the target in every run and the target was not met in any; a figure that did better than its bound "
    "(floors measured slower than the bridge) is named by run."
)
_CROSS_INTRO = (
    "Best possible here: Firefox's best possible value of the target (under its own targets "
    "table) as a distance from its floor, over Chromium's distance as measured in the same "
    'repetition; "out of reach" means even a Firefox bridge at its floors would be more than '
    "1.5x further from them than Chromium's bridge was."
)
_TITLES = [
    "Figures (time per operation; MB/s for bulk: payload bytes / time, 1 MB = 10^6 bytes)",
    "Ratios to baselines",
    "Targets (issue 11; issue 4's kept where not tightened)",
]
_BREAKDOWN_INTRO = (
    "Each piece timed alone, p50 (see `bench/README.md`); `ffi`, `signal` and `rest` are differences "
    "of measured figures."
)


_KCALL_BREAKDOWN_INTRO = (
    "Each piece timed alone, p50, in the isolated page (see `bench/README.md`). The rows down to `full` are "
    "the call's critical path and add up to it (`worker_min`, `python` and `rest` are differences of measured "
    "figures); the rows below `full` are the worker's pieces timed in hot loops in the kernel."
)


def write_reports(results: dict[str, Any], out: Path) -> str:
    """Write ``latest.json`` and ``latest.md`` into ``out``; return the text report."""
    per_browser: dict[str, list[dict[str, Figure]]] = results.pop("_figures")
    machine = results["machine"]
    versions = results["versions"]
    browsers = ", ".join(
        f"{'Chromium' if name == 'chromium' else 'Firefox'} {versions.get(name)}" for name in per_browser
    )
    reps = len(next(iter(per_browser.values())))
    heading = (
        f"{results['date']}, {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']} GiB), "
        f"{browsers}, Pyodide {versions.get('pyodide')} (Python "
        f"{versions.get('python_in_kernel')}), JupyterLite {versions.get('jupyterlite')}, litebridge "
        f"{versions.get('litebridge')}; load average {machine['load_average_before'][0]} before, "
        f"{machine['load_average_after'][0]} after; {reps} repetitions per browser in one run, "
        f"{results['duration_s']:.0f} s"
    )
    if "report_rendered" in results:
        heading += f"; evaluated again {results['report_rendered']} with the current report rules (--rerender)"
    texts = [heading]
    markdown = ["# litebridge benchmark: latest run", "", f"Machine and versions: {heading}.", "", _INTRO]
    if "cross_browser" in results:
        cross = results["cross_browser"]
        header = [
            "target (distance from its floor)",
            *[f"run {i + 1}" for i in range(reps)],
            "verdict",
            "best possible here",
        ]
        rows = [
            [
                entry["label"],
                *[
                    f"{'-' if v is None else f'{v:.2f}x'} {verdict}"
                    for v, verdict in zip(entry["values"], entry["verdicts"], strict=True)
                ],
                entry["overall"],
                format_bound(entry.get("bound"), False),
            ]
            for entry in cross
        ]
        title = "Firefox vs Chromium: distance from the floor in Firefox / in Chromium (<= 1.5)"
        markdown += ["", f"## {title}", "", render_markdown((header, rows)), "", _CROSS_INTRO]
        texts.append(f"{title}\n{render_text((header, rows))}")
    for name, figures in per_browser.items():
        browser = "Chromium" if name == "chromium" else "Firefox"
        evaluation = results if name == next(iter(per_browser)) else results[name]
        parts = tables(figures, {"ratios": evaluation["ratios"], "targets": evaluation["targets"]})
        ordered = [parts[2], parts[0], parts[1]]  # targets first
        titles = [_TITLES[2], _TITLES[0], _TITLES[1]]
        for title, part in zip(titles, ordered, strict=True):
            markdown += ["", f"## {browser}: {title}", "", render_markdown(part)]
            texts.append(f"{browser}: {title}\n{render_text(part)}")
            if part is parts[2]:
                bounds = [t for t in evaluation["targets"] if "bound" in t]
                markdown += ["", "Best possible here, from floors of the same run:"]
                markdown += [f"- {t['label']}: {t['bound']['label']}" for t in bounds]
        table = breakdown_table(figures)
        title = f"{browser}: one call_sync (sab) accounted for"
        markdown += ["", f"## {title}", "", _BREAKDOWN_INTRO, "", render_markdown(table)]
        texts.append(f"{title}\n{render_text(table)}")
        table = breakdown_table(figures, kcall_breakdown)
        title = f"{browser}: one page -> Python k.call accounted for"
        markdown += ["", f"## {title}", "", _KCALL_BREAKDOWN_INTRO, "", render_markdown(table)]
        texts.append(f"{title}\n{render_text(table)}")
    if results["notes"]:
        markdown += ["", "## Notes", "", *(f"- {json.dumps(note)}" for note in results["notes"])]
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "latest.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    return "\n\n".join(texts)


def rerender(path: Path) -> dict[str, Any]:
    """The results of a run's ``latest.json``, evaluated again with the current ``report.py``.

    The measurements (every figure's samples) are kept as they were; the ratios, targets,
    bounds and cross-browser verdicts are computed anew, for a report whose rules changed after
    the run. ``report_rendered`` records when.
    """
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    browsers: list[str] = results["browsers"]
    names = {f.name for f in fields(Figure)}

    def figures_of(reps: list[dict[str, Any]]) -> list[dict[str, Figure]]:
        return [{key: Figure(**{k: v for k, v in d.items() if k in names}) for key, d in rep.items()} for rep in reps]

    per_browser = {browsers[0]: figures_of(results["reps"])}
    for name in browsers[1:]:
        per_browser[name] = figures_of(results[name]["reps"])
    evaluations = {name: evaluate(figures) for name, figures in per_browser.items()}
    results["ratios"] = evaluations[browsers[0]]["ratios"]
    results["targets"] = evaluations[browsers[0]]["targets"]
    for name in browsers[1:]:
        results[name]["ratios"] = evaluations[name]["ratios"]
        results[name]["targets"] = evaluations[name]["targets"]
    if "chromium" in evaluations and "firefox" in evaluations:
        results["cross_browser"] = cross_browser(evaluations["chromium"], evaluations["firefox"])
    results["report_rendered"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["_figures"] = per_browser
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables; exit 1 if the site reached beyond 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_output", help="built site (default: _output)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where latest.json/.md go")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of the whole set (default: 2)")
    parser.add_argument("--tiny", action="store_true", help="tiny counts: a smoke run, figures are meaningless")
    parser.add_argument(
        "--only-start",
        action="store_true",
        help="only the kernel-start figures (repl app with/without litebridge, embed()); use another --out",
    )
    parser.add_argument(
        "--only",
        choices=["window", "kcall"],
        help=(
            "measure only these figures (window: the window figures and call_sync, issue 10; kcall: "
            "k.call, the postMessage floor and the k.call profile)"
        ),
    )
    parser.add_argument(
        "--browser",
        action="append",
        choices=BROWSERS,
        help="measure this browser (repeatable; default: chromium and firefox)",
    )
    parser.add_argument(
        "--rerender",
        type=Path,
        metavar="LATEST_JSON",
        help="measure nothing: evaluate a run's latest.json again with the current report rules, into --out",
    )
    args = parser.parse_args(argv)
    if args.rerender is not None:
        print(write_reports(rerender(args.rerender), args.out))
        return 0
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    browsers = tuple(name for name in BROWSERS if name in (args.browser or BROWSERS))
    results = run_benchmark(
        args.site,
        TINY if args.tiny else FULL,
        args.reps,
        browsers,
        only_start=args.only_start,
        window_only=args.only == "window",
        kcall_only=args.only == "kcall",
    )
    if args.only is not None and args.out == HERE / "results":
        args.out = HERE / "results" / args.only  # a partial run does not replace latest.*
    text = write_reports(results, args.out)
    print(text)
    print(f"\nwritten: {args.out / 'latest.json'}, {args.out / 'latest.md'}")
    if results["blocked_requests"]:
        print(f"ERROR: the browser tried to reach non-local hosts: {results['blocked_requests']}", file=sys.stderr)
        return 1
    return 0
