"""Reusable pieces for real-browser tests of the built JupyterLite site.

The fixtures in ``tests/browser/conftest.py`` wrap these; import from here for types and helpers.

- :data:`CHROMIUM_ARGS`, :data:`CHROMIUM` -- how Debian's chromium is launched (no downloads, no background traffic).
- :class:`NetworkGuard` -- routes every request: 127.0.0.1 goes through, anything else is
  aborted and recorded (``guard.blocked``).
- :class:`ConsoleLog` -- collects console messages (page and its workers) and page errors.
- :class:`LiteKernel` -- a Pyodide kernel started through the app's own kernel API
  (``window.jupyterapp.serviceManager``, enabled by ``exposeAppInBrowser`` in
  ``lite/jupyter-lite.json``); ``run(code)`` executes a cell and returns its output text,
  raising :class:`KernelError` with the traceback on an error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from page_protocol import BrowserPage
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route
from playwright.sync_api import Error as PlaywrightError

#: Debian's chromium; Playwright cannot download its own browsers here
CHROMIUM = "/usr/bin/chromium"
#: flags: headless, no sandbox (root), and no background traffic to the internet
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: hosts a test may talk to
LOCAL_HOSTS = frozenset({"127.0.0.1"})
#: kernel boot budget (seconds); a boot takes 10-20 s on a 2-core machine
BOOT_TIMEOUT_S = 120.0
#: default budget of one execute (seconds)
RUN_TIMEOUT_S = 60.0


@dataclass
class NetworkGuard:
    """Abort every request that does not go to 127.0.0.1, and remember it.

    Attributes
    ----------
    blocked : list of str
        URLs that were aborted, in order.
    seen : int
        Number of requests routed (allowed or blocked).
    """

    blocked: list[str] = field(default_factory=list)
    seen: int = 0

    def install(self, context: BrowserContext) -> None:
        """Route all requests of ``context`` (pages and their workers) through :meth:`handle`."""
        context.route("**/*", self.handle)
        context.on("request", self._on_request)

    def handle(self, route: Route) -> None:
        """Continue a local request, abort (and record) any other."""
        self.seen += 1
        url = route.request.url
        if self.is_local(url):
            route.continue_()
        else:
            self._record(url)
            route.abort("blockedbyclient")

    def _on_request(self, request: Any) -> None:
        """Record non-local requests that bypassed routing (e.g. from a service worker)."""
        url = str(request.url)
        if not self.is_local(url):
            self._record(url)

    def _record(self, url: str) -> None:
        if url not in self.blocked:
            self.blocked.append(url)

    @staticmethod
    def is_local(url: str) -> bool:
        """Whether ``url`` stays on this machine (127.0.0.1, or a data:/blob: URL)."""
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return True
        return parts.hostname in LOCAL_HOSTS


@dataclass
class ConsoleLog:
    """Console messages and uncaught errors of the pages of a context.

    Attributes
    ----------
    lines : list of str
        Every message as ``"[type] text"`` (page and worker consoles, page errors).
    """

    lines: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Start collecting from ``page`` (its workers' consoles included)."""
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.lines.append(f"[pageerror] {error}"))
        page.on("worker", lambda worker: worker.on("console", self._on_console))

    def _on_console(self, message: ConsoleMessage) -> None:
        self.lines.append(f"[{message.type}] {message.text}")

    def errors(self, since: int = 0) -> list[str]:
        """Return error lines (console errors and page errors) from index ``since`` on."""
        return [line for line in self.lines[since:] if line.startswith(("[error]", "[pageerror]"))]


class KernelError(AssertionError):
    """A cell raised: carries the kernel's ``ename``, ``evalue`` and plain-text traceback.

    Attributes
    ----------
    ename : str
        Exception class name, e.g. ``"ZeroDivisionError"``.
    evalue : str
        Exception message.
    traceback : str
        The traceback, ANSI colours removed.
    """

    def __init__(self, ename: str, evalue: str, traceback: str) -> None:
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        super().__init__(f"{ename}: {evalue}\n{traceback}")


# Page-side helpers, installed once per page as window.__lbTest. They only use the app's public
# service API (KernelManager / KernelConnection); every wait is bounded.
_PAGE_HELPERS = r"""
() => {
  if (window.__lbTest) return;
  const withTimeout = (promise, ms, what) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const strip = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
  window.__lbTest = {
    kernels: {},
    async start(name, timeoutMs) {
      const app = window.jupyterapp;
      const kernel = await withTimeout(
        app.serviceManager.kernels.startNew({ name }), timeoutMs, 'kernel start');
      this.kernels[kernel.id] = kernel;
      // resolves with the first kernel_info_reply, once the kernel is connected and booted
      const info = await withTimeout(kernel.info, timeoutMs, 'kernel_info_reply');
      return { id: kernel.id, info: info ?? null };
    },
    async run(id, code, timeoutMs) {
      const kernel = this.kernels[id];
      const out = { stdout: '', stderr: '', result: null, display: [], error: null, status: null };
      const future = kernel.requestExecute({ code, store_history: false, allow_stdin: false });
      future.onIOPub = (msg) => {
        const c = msg.content;
        switch (msg.header.msg_type) {
          case 'stream': out[c.name === 'stderr' ? 'stderr' : 'stdout'] += c.text; break;
          case 'execute_result': out.result = c.data['text/plain'] ?? null; break;
          case 'display_data': out.display.push(c.data['text/plain'] ?? ''); break;
          case 'error':
            out.error = { ename: c.ename, evalue: c.evalue, traceback: strip(c.traceback.join('\n')) };
            break;
        }
      };
      const reply = await withTimeout(future.done, timeoutMs, `execute ${JSON.stringify(code.slice(0, 80))}`);
      out.status = reply.content.status;
      return out;
    },
    async shutdown(id) {
      const kernel = this.kernels[id];
      delete this.kernels[id];
      if (kernel) await withTimeout(kernel.shutdown(), 10000, 'kernel shutdown');
    },
  };
}
"""


@dataclass
class RunOutput:
    """What one execute produced.

    Attributes
    ----------
    stdout, stderr : str
        Concatenated stream text.
    result : str or None
        ``text/plain`` of the execute_result (the cell's last expression), if any.
    display : list of str
        ``text/plain`` of each display_data.
    """

    stdout: str
    stderr: str
    result: str | None
    display: list[str]


def wait_for_app(page: BrowserPage, timeout_s: float = 60.0) -> None:
    """Wait until the JupyterLite app on ``page`` has started (``window.jupyterapp`` is set).

    Raises
    ------
    playwright.sync_api.Error
        If the app does not start within ``timeout_s`` seconds (``TimeoutError`` in Chromium,
        :class:`page_protocol.PageError` elsewhere).
    """
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.serviceManager", timeout=timeout_s * 1000)
    # jupyterapp is set before app.start(): wait for the start and for the kernel specs too
    page.evaluate(
        """async (ms) => {
          const app = window.jupyterapp;
          const ready = Promise.all([app.started, app.serviceManager.kernelspecs.ready]);
          let timer;
          const timeout = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`app not started after ${ms} ms`)), ms);
          });
          await Promise.race([ready, timeout]).finally(() => clearTimeout(timer));
        }""",
        int(timeout_s * 1000),
    )


def wait_for_isolation(page: BrowserPage, timeout_s: float = 60.0) -> None:
    """Wait until ``page`` is cross-origin isolated, across the service worker's reload.

    On a host without COOP/COEP headers the site's service worker (litebridge's addition to
    JupyterLite's) makes the page isolated; the page reloads itself once for that.

    Raises
    ------
    AssertionError
        If the page is not isolated within ``timeout_s`` seconds (the message says what it
        saw: service-worker control, the reload marker).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            page.wait_for_function("() => self.crossOriginIsolated", timeout=2000)
            return
        except PlaywrightError:
            # not isolated yet, or the reload replaced the document while waiting
            continue
    state = page.evaluate(
        """() => ({controlled: navigator.serviceWorker?.controller?.scriptURL ?? null,
                  reloaded: sessionStorage.getItem('litebridge:isolation-reload')})"""
    )
    raise AssertionError(f"page not cross-origin isolated after {timeout_s} s: {state}")


def wait_for_kernel_idle(page: BrowserPage, timeout_s: float = BOOT_TIMEOUT_S) -> None:
    """Wait until the kernel of the notebook or console shown on ``page`` is booted and idle.

    Executes sent while a JupyterLite kernel is still connecting can be lost (seen with Run All
    Cells on a loaded machine), so UI tests wait for this before running cells.

    Raises
    ------
    playwright.sync_api.TimeoutError
        If the shown widget's kernel is not idle within ``timeout_s`` seconds.
    """
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=timeout_s * 1000,
    )


class LiteKernel:
    """A Pyodide kernel running in ``page``, started with the app's kernel API.

    Parameters
    ----------
    page : page_protocol.BrowserPage
        A page of the site with the app loaded (see :func:`wait_for_app`): a Playwright ``Page``
        in Chromium, a Firefox or WebKit page otherwise.
    name : str
        Kernel spec name (``"python"`` is the Pyodide kernel).
    boot_timeout_s : float
        Seconds to wait for the kernel to answer ``kernel_info``.

    Attributes
    ----------
    page : page_protocol.BrowserPage
        The page the kernel belongs to: use ``page.evaluate(js)`` to run JavaScript there.
    id : str
        Kernel id.
    info : dict
        The ``kernel_info_reply`` content.
    boot_s : float
        Seconds from start request to the kernel's first answer.

    Raises
    ------
    playwright.sync_api.Error
        If the kernel does not boot in time (the message says what timed out).
    """

    def __init__(self, page: BrowserPage, name: str = "python", boot_timeout_s: float = BOOT_TIMEOUT_S) -> None:
        self.page = page
        page.evaluate(_PAGE_HELPERS)
        started = time.monotonic()
        reply = page.evaluate("([name, ms]) => window.__lbTest.start(name, ms)", [name, int(boot_timeout_s * 1000)])
        self.boot_s = time.monotonic() - started
        self.id: str = reply["id"]
        self.info: dict[str, Any] = reply["info"] or {}

    def execute(self, code: str, timeout_s: float = RUN_TIMEOUT_S) -> RunOutput:
        """Execute ``code`` as one cell and return everything it produced.

        Parameters
        ----------
        code : str
            Python source.
        timeout_s : float
            Seconds to wait for the execute reply.

        Returns
        -------
        RunOutput
            Streams, result and displays.

        Raises
        ------
        KernelError
            If the cell raised (the kernel's traceback is in the message).
        playwright.sync_api.Error
            If no reply came within ``timeout_s``.
        """
        out = self.page.evaluate(
            "([id, code, ms]) => window.__lbTest.run(id, code, ms)", [self.id, code, int(timeout_s * 1000)]
        )
        if out["error"] is not None:
            error = out["error"]
            raise KernelError(error["ename"], error["evalue"], error["traceback"])
        return RunOutput(out["stdout"], out["stderr"], out["result"], out["display"])

    def run(self, code: str, timeout_s: float = RUN_TIMEOUT_S) -> str:
        """Execute ``code`` and return its stdout followed by its result's text (if any).

        Parameters
        ----------
        code : str
            Python source.
        timeout_s : float
            Seconds to wait for the execute reply.

        Returns
        -------
        str
            ``stdout + result`` (``result`` is the repr of the last expression).

        Raises
        ------
        KernelError
            If the cell raised.
        """
        out = self.execute(code, timeout_s)
        return out.stdout + (out.result or "")

    def value(self, expression: str, timeout_s: float = RUN_TIMEOUT_S) -> Any:
        """Evaluate a Python expression and return its value decoded from JSON.

        Parameters
        ----------
        expression : str
            A Python expression whose value is JSON-serialisable.
        timeout_s : float
            Seconds to wait.

        Returns
        -------
        Any
            The value, through ``json.dumps`` in the kernel and ``json.loads`` here.

        Raises
        ------
        KernelError
            If evaluating or serialising raised.
        """
        out = self.execute(f"import json as _j\nprint(_j.dumps({expression}))", timeout_s)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def shutdown(self) -> None:
        """Shut the kernel down (its worker is terminated)."""
        self.page.evaluate("(id) => window.__lbTest.shutdown(id)", self.id)
