"""Helpers for the litebridge browser tests (``test_bridge*.py``).

They drive the real bridge from both ends: Python cells run in a :class:`harness.LiteKernel`,
page JavaScript runs in the kernel's page through ``window.litebridge``. Nothing is mocked.

- :data:`HANDLERS_JS` -- page handlers every test module registers with ``page.register``.
- :data:`EXAMPLE_PY` -- the ``Example`` class of the issue, plus a call recorder, exposed to
  the page as ``Example()`` and ``name="ex"``.
- :func:`setup_bridge` -- import litebridge in a kernel, register, expose, wait for the page.
- :func:`page_run` -- run an async JavaScript body on the page with ``k`` (the kernel's bridge)
  bound; returns ``{"ok": True, "value": ...}`` or ``{"ok": False, "error": {...}}`` with the
  error's ``name``, ``code``, ``type``, ``message``, ``traceback`` and class checks.
- :func:`page_settle` -- the same without a kernel (``arg`` only).
- :func:`js_call` -- ``k.call(method, *args)`` from the page, settled like :func:`page_run`.
"""

from __future__ import annotations

import time
from typing import Any

from harness import LiteKernel
from page_protocol import BrowserPage

#: handlers registered from Python with ``page.register`` (per kernel)
HANDLERS_JS = r"""{
    indentLeft(line, count) { return line.padStart(line.length + count); },
    indentRight(line, count) { return line.padEnd(line.length + count); },
    echo(value) { return value; },
    later(value, ms) { return new Promise((resolve) => setTimeout(() => resolve(value), ms)); },
    boom(message) { throw new RangeError(message); },
    record(...args) { globalThis.__lbRecorded = (globalThis.__lbRecorded ?? 0) + 1; return args.length; },
    returnFunction() { return { k: [() => 1] }; },
    returnSet() { return [new Set([1])]; },
    describe(value) {
        const kind = (v) => v instanceof Uint8Array ? `Uint8Array(${v.length})`
            : Array.isArray(v) ? v.map(kind)
            : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, kind(x)]))
            : typeof v;
        return kind(value);
    },
    makeBinary() {
        return { u8: new Uint8Array([1, 2, 3]), ab: new Uint8Array([4, 5]).buffer,
                 i16: new Int16Array([1, -1]), nested: [new Uint8Array([9])], empty: new Uint8Array(0) };
    },
    gated(tag) {
        return new Promise((resolve) => { globalThis.__lbGate = () => resolve(tag); });
    },
    async releaseGateThenAnswer(tag) {
        globalThis.__lbGate?.();
        // let the released (late) answer reach the worker before this call answers
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tag;
    },
}"""

#: Python side: the issue's Example class and a recorder of page -> Python calls
EXAMPLE_PY = r"""
import asyncio

class Example:
    def multiply(self, a, b):
        return a * b

    def divide(self, a, b):
        return a / b

    async def slow_echo(self, x, delay=0.05):
        await asyncio.sleep(delay)
        return x

    def _private(self):
        return "secret"

    def make_set(self):
        return {1, 2}

class Recorder:
    def __init__(self):
        self.count = 0

    def record(self, *args):
        self.count += 1
        return len(args)

example = Example()
recorder = Recorder()
"""

# Installed once per page as window.__lbBridge: settles a promise into plain, JSON-able data.
_PAGE_HELPERS = r"""
() => {
  if (window.__lbBridge) return;
  const plain = (v) => {
    if (v instanceof Uint8Array) return { u8: Array.from(v) };
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return v === undefined ? null : v;
  };
  const describe = (e) => ({
    name: e?.name ?? null,
    code: e?.code ?? null,
    type: e?.type ?? null,
    message: String(e?.message ?? e),
    traceback: e?.traceback ?? null,
    isPythonError: e instanceof window.litebridge.PythonError,
    isBridgeError: e instanceof window.litebridge.BridgeError,
    isTypeError: e instanceof TypeError,
  });
  window.__lbBridge = {
    plain,
    describe,
    async settle(run) {
      try {
        return { ok: true, value: plain(await run()) };
      } catch (error) {
        return { ok: false, error: describe(error) };
      }
    },
  };
}
"""


def install_page_helpers(page: BrowserPage) -> None:
    """Install ``window.__lbBridge`` on ``page`` (idempotent); waits for ``window.litebridge``."""
    page.wait_for_function("() => window.litebridge !== undefined", timeout=60_000)
    page.evaluate(_PAGE_HELPERS)


def page_run(page: BrowserPage, kernel_id: str, body: str, arg: Any = None, timeout_ms: int = 60_000) -> dict[str, Any]:
    """Run an async JavaScript function body on ``page`` with the kernel's bridge bound.

    Parameters
    ----------
    page : page_protocol.BrowserPage
        A page of the site with the litebridge labextension.
    kernel_id : str
        The kernel whose bridge is bound as ``k``.
    body : str
        Body of an ``async (k, arg) => { ... }`` function; its return value is the result.
    arg : Any
        A JSON value passed as ``arg``.
    timeout_ms : int
        Longest wait for the kernel's bridge, in milliseconds.

    Returns
    -------
    dict
        ``{"ok": True, "value": v}`` (``Uint8Array`` as ``{"u8": [...]}``) or
        ``{"ok": False, "error": {name, code, type, message, traceback, isPythonError,
        isBridgeError, isTypeError}}``.
    """
    install_page_helpers(page)
    source = (
        "async ([id, arg, ms]) => {\n"
        "  const k = await window.litebridge.kernel(id, { timeoutMs: ms });\n"
        f"  return window.__lbBridge.settle(async () => {{\n{body}\n}});\n"
        "}"
    )
    result: dict[str, Any] = page.evaluate(source, [kernel_id, arg, timeout_ms])
    return result


def page_settle(page: BrowserPage, body: str, arg: Any = None) -> dict[str, Any]:
    """Run an async JavaScript function body ``(arg) => {...}`` on ``page``, settled as in :func:`page_run`."""
    install_page_helpers(page)
    source = f"async (arg) => window.__lbBridge.settle(async () => {{\n{body}\n}})"
    result: dict[str, Any] = page.evaluate(source, arg)
    return result


def js_call(page: BrowserPage, kernel_id: str, method: str, *args: Any) -> dict[str, Any]:
    """``await k.call(method, ...args)`` on the page, settled as in :func:`page_run`."""
    return page_run(page, kernel_id, "return await k.call(arg[0], ...arg[1]);", [method, list(args)])


def setup_bridge(kernel: LiteKernel) -> None:
    """Import litebridge in ``kernel``, register :data:`HANDLERS_JS`, expose the examples.

    Afterwards the kernel has ``page``, ``litebridge``, ``example`` (exposed unnamed and as
    ``"ex"``) and ``recorder`` (exposed as ``"rec"``), and the page has its bridge.
    """
    kernel.run(EXAMPLE_PY)
    kernel.run(
        "import litebridge\n"
        "from litebridge import page\n"
        f"_lb_handlers = page.register({HANDLERS_JS!r})\n"
        "page.expose(example)\n"
        "page.expose(Example(), name='ex')\n"
        "page.expose(recorder, name='rec')\n"
    )
    install_page_helpers(kernel.page)
    connected = page_run(kernel.page, kernel.id, "return k.id;")
    assert connected == {"ok": True, "value": kernel.id}, connected


#: both sides' tables when nothing is pending (see :func:`table_counts`)
EMPTY_TABLES: dict[str, Any] = {"page": {"calls": 0, "serving": 0}, "python": {"calls": 0, "serving": 0}}


def table_counts(kernel: LiteKernel) -> dict[str, Any]:
    """The bridge's live table entries on both sides: ``k.counts()`` and Python's ``page.counts``.

    Returns
    -------
    dict
        ``{"page": {"calls", "serving"}, "python": {"calls", "serving"}}``.
    """
    page_counts = page_run(kernel.page, kernel.id, "return k.counts();")["value"]
    return {"page": page_counts, "python": kernel.value("page.counts")}


def settled_table_counts(kernel: LiteKernel, timeout_s: float = 5.0) -> dict[str, Any]:
    """:func:`table_counts` once they are :data:`EMPTY_TABLES`, or as they are after ``timeout_s``.

    A cancel crosses asynchronously, so the other side's table empties a moment later.
    """
    counts = table_counts(kernel)
    for _ in range(int(timeout_s * 10)):
        if counts == EMPTY_TABLES:
            break
        time.sleep(0.1)
        counts = table_counts(kernel)
    return counts
