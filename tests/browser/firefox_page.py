"""Firefox ESR for the browser tests: puppeteer-core in a node sidecar, spoken to in JSON lines.

Playwright cannot drive Debian's ``firefox-esr``; puppeteer-core can, over WebDriver BiDi
(``firefox_sidecar/sidecar.mjs``, its ``package.json`` pins the version). This module starts the
sidecar, and :class:`FirefoxPage` implements :class:`page_protocol.BrowserPage` over it. Worker
console messages are not delivered over BiDi: only the page's console is collected.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

from page_protocol import EVALUATE_JS, WAIT_JS, PageError, decode_result

#: Debian's Firefox ESR
FIREFOX = "/usr/bin/firefox-esr"
SIDECAR_DIR = Path(__file__).resolve().parent / "firefox_sidecar"
#: longest wait for one sidecar answer (s); every page-side wait in the tests is shorter
ANSWER_TIMEOUT_S = 600.0


class FirefoxBrowser:
    """One Firefox process behind the sidecar; refuses non-local hosts through ``proxy``.

    Parameters
    ----------
    proxy : str
        ``"127.0.0.1:<port>"`` of a :class:`deny_proxy.DenyProxy`.

    Attributes
    ----------
    version : str
        The browser's version string, e.g. ``"firefox/153.7.0"``.

    Raises
    ------
    PageError
        If node, the sidecar's ``node_modules`` or Firefox is missing, or Firefox does not start.
    """

    name = "firefox"

    def __init__(self, proxy: str) -> None:
        if not (SIDECAR_DIR / "node_modules" / "puppeteer-core").is_dir():
            raise PageError(f"puppeteer-core is not installed: run `npm ci` in {SIDECAR_DIR} (make test does)")
        self._process = subprocess.Popen(
            ["node", str(SIDECAR_DIR / "sidecar.mjs")],
            cwd=SIDECAR_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"LITEBRIDGE_FIREFOX": FIREFOX, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        )
        self._next_id = 0
        self._lock = threading.Lock()
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.pages: list[FirefoxPage] = []
        self.version = str(self.request("launch", proxy=proxy))

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.rstrip())

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request to the sidecar and return its ``value``.

        Raises
        ------
        PageError
            With the sidecar's message when it answers ``ok: false``, or when it died.
        """
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            assert self._process.stdin is not None
            assert self._process.stdout is not None
            try:
                self._process.stdin.write(json.dumps({"id": ident, "op": op, **fields}) + "\n")
                self._process.stdin.flush()
                line = self._process.stdout.readline()
            except OSError as error:
                raise PageError(f"the Firefox sidecar is gone ({error}): {self._stderr[-5:]}") from error
            if not line:
                raise PageError(f"the Firefox sidecar exited during {op!r}: {self._stderr[-10:]}")
            answer = json.loads(line)
            if answer.get("id") != ident:
                raise PageError(f"the Firefox sidecar answered {answer.get('id')} to request {ident}")
            if not answer["ok"]:
                raise PageError(f"Firefox, {op}: {answer['error']}")
            return answer["value"]

    def new_page(self) -> FirefoxPage:
        """Open a blank tab."""
        page = FirefoxPage(self, int(self.request("newPage")))
        self.pages.append(page)
        return page

    def console_lines(self) -> list[str]:
        """Console lines of every page opened so far (``"[type] text"``)."""
        lines: list[str] = []
        for page in self.pages:
            lines.extend(page.console_lines())
        return lines

    def close(self) -> None:
        """Quit Firefox and the sidecar."""
        with contextlib.suppress(PageError):
            self.request("quit")
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


class FirefoxPage:
    """A Firefox tab, as a :class:`page_protocol.BrowserPage`."""

    def __init__(self, browser: FirefoxBrowser, ident: int) -> None:
        self._browser = browser
        self._id = ident
        self._closed = False

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Run a function source (called with ``arg``) or an expression in the page; awaited."""
        text = self._browser.request("call", page=self._id, fn=EVALUATE_JS, args=[expression, arg])
        return decode_result(str(text))

    def wait_for_function(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll ``expression`` every 50 ms until truthy, at most ``timeout`` ms (default 30 000)."""
        ms = 30_000 if timeout is None else int(timeout)
        return decode_result(str(self._browser.request("call", page=self._id, fn=WAIT_JS, args=[expression, ms])))

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event (60 s at most)."""
        self._browser.request("goto", page=self._id, url=url, timeoutMs=60_000)

    @property
    def url(self) -> str:
        """The current URL."""
        return str(self._browser.request("url", page=self._id))

    def console_lines(self) -> list[str]:
        """The page's console messages and errors so far (workers' are not delivered)."""
        if self._closed:
            return []
        return [str(line) for line in self._browser.request("console", page=self._id)]

    def bring_to_front(self) -> None:
        """Activate the tab (WebDriver BiDi ``browsingContext.activate``)."""
        self._browser.request("front", page=self._id)

    def close(self) -> None:
        """Close the tab (idempotent)."""
        if not self._closed:
            self._closed = True
            self._browser.request("close", page=self._id)
