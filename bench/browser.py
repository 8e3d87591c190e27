"""The browser a bench tool measures in (``bench.ab``, ``bench.wake``, ``bench.channel``).

Debian's Chromium through Playwright, or Debian's Firefox ESR as the tests drive it
(:class:`browsers.ProxiedBrowser`), both as a :class:`browsers.LiteBrowser`, both offline: every
request for a host other than 127.0.0.1 is refused, and the run fails if one was made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from browsers import LiteBrowser, ProxiedBrowser
from harness import CHROMIUM, CHROMIUM_ARGS, ConsoleLog, NetworkGuard
from page_protocol import BrowserPage
from playwright.sync_api import Browser, Playwright, sync_playwright

from .runner import OFFLINE_ARGS

#: the browsers a bench tool can measure in
BENCH_BROWSERS = ("chromium", "firefox")


class ChromiumPages:
    """Chromium as a :class:`browsers.LiteBrowser` that opens each page in a context of its own.

    A context per page keeps the compared sites of ``bench.ab`` apart (storage, service
    workers); one :class:`harness.NetworkGuard` guards them all.
    """

    name = "chromium"

    def __init__(self, playwright: Playwright) -> None:
        self._browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS)
        self._guard = NetworkGuard()
        self._console = ConsoleLog()

    def open(self, url: str) -> BrowserPage:
        """A new page, in a new guarded context, at ``url``."""
        context = self._browser.new_context()
        self._guard.install(context)
        context.on("page", self._console.attach)
        page = context.new_page()
        page.goto(url)
        return page

    @property
    def blocked(self) -> list[str]:
        """What the guard aborted."""
        return self._guard.blocked

    def console_lines(self) -> list[str]:
        """Console lines of every page and its workers."""
        return self._console.lines

    def close(self) -> None:
        """Close the browser and every context it opened."""
        self._browser.close()


@contextmanager
def bench_browser(name: str) -> Iterator[LiteBrowser]:
    """Run browser ``name`` (``"chromium"`` or ``"firefox"``) for the ``with`` block.

    Raises
    ------
    ValueError
        For another name.
    RuntimeError
        At the end of the block, when a non-local request was made (it was refused).
    """
    if name not in BENCH_BROWSERS:
        raise ValueError(f"no such bench browser {name!r}: expected one of {BENCH_BROWSERS}")
    with ExitStack() as stack:
        if name == "chromium":
            browser: LiteBrowser = ChromiumPages(stack.enter_context(sync_playwright()))
        else:
            browser = ProxiedBrowser(name)
        stack.callback(browser.close)
        yield browser
        if browser.blocked:
            raise RuntimeError(f"{name}: non-local requests were made: {browser.blocked}")
