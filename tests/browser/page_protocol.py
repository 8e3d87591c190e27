"""The small page interface every browser of the test matrix implements.

Tests that run in Chromium, Firefox and WebKit use only this subset of Playwright's ``Page``:
``evaluate(js, arg)``, ``wait_for_function(js, timeout=ms)``, ``goto(url)``, ``url``, ``close()``.
Playwright's ``Page`` satisfies it as it is (Chromium); :mod:`firefox_page` (puppeteer-core in a
node sidecar) and :mod:`webkit_page` (selenium) implement it for the other two. Both run
JavaScript through the same page-side wrappers, :data:`EVALUATE_JS` and :data:`WAIT_JS`, so that a
function source is called with ``arg`` and awaited exactly as Playwright does, and results come
back as JSON.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from playwright.sync_api import Error as PlaywrightError


class BrowserPage(Protocol):
    """A page of the site in some browser (the subset of Playwright's ``Page`` tests may use)."""

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Run ``expression`` (a function source, called with ``arg``, or an expression); await it.

        Returns the value as JSON data (``undefined`` becomes ``None``); raises when it throws.
        """
        ...

    def wait_for_function(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll ``expression`` until truthy; ``timeout`` in milliseconds; raises when it expires."""
        ...

    def goto(self, url: str) -> Any:
        """Navigate to ``url`` and wait for its load event."""
        ...

    @property
    def url(self) -> str:
        """The page's current URL."""
        ...

    def close(self) -> None:
        """Close the page."""
        ...

    def bring_to_front(self) -> None:
        """Make the page its window's visible tab.

        A hidden tab's timers are clamped to 1 s (HTML allows it; Firefox's
        ``dom.min_background_timeout_value`` is 1000 ms), and JupyterLite's in-page kernel socket
        (mock-socket) delivers every message on a 4 ms timer: each execute of a hidden lab takes
        a second in Firefox.
        """
        ...


class PageError(PlaywrightError):
    """JavaScript threw, a wait expired or the browser failed, in Firefox or WebKit.

    A subclass of Playwright's ``Error`` so that one ``except`` catches the same failure in all
    three browsers.
    """


#: ``async (source, arg) => json``: run a function source (called with ``arg``) or an expression
EVALUATE_JS = r"""async (source, arg) => {
  let value;
  try {
    value = (0, eval)('(' + source + '\n)');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    value = (0, eval)(source);
  }
  if (typeof value === 'function') value = value(arg);
  value = await value;
  return JSON.stringify({ value: value === undefined ? null : value });
}"""

#: ``async (source, timeoutMs) => json``: poll like ``EVALUATE_JS`` (no arg) until truthy
WAIT_JS = r"""async (source, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  let fn;
  try {
    fn = (0, eval)('(' + source + '\n)');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const probe = typeof fn === 'function' ? fn : () => (0, eval)(source);
  for (;;) {
    const value = await probe();
    if (value) return JSON.stringify({ value: value === true ? true : null });
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${source.slice(0, 120)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}"""

#: a page script that copies console messages and uncaught errors into ``window.__lbConsole``
#: (WebKitGTK's WebDriver has no console API); idempotent
CONSOLE_HOOK_JS = r"""() => {
  if (window.__lbConsole) return;
  const lines = [];
  window.__lbConsole = lines;
  const text = (args) => args.map((a) => {
    if (typeof a === 'string') return a;
    try { return a instanceof Error ? String(a.stack ?? a) : JSON.stringify(a); } catch { return String(a); }
  }).join(' ');
  for (const type of ['log', 'info', 'warn', 'error', 'debug']) {
    const original = console[type].bind(console);
    const label = type === 'warn' ? 'warning' : type;
    console[type] = (...args) => { lines.push(`[${label}] ${text(args)}`); original(...args); };
  }
  window.addEventListener('error', (e) => lines.push(`[pageerror] ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => lines.push(`[pageerror] ${e.reason}`));
}"""


def decode_result(text: str) -> Any:
    """Decode the JSON text :data:`EVALUATE_JS` / :data:`WAIT_JS` returned."""
    return json.loads(text)["value"]
