"""The three browsers of the test matrix behind one small interface (``lite_browser`` fixture).

================  =========================================  =====================================
``browser_name``  driven by                                   network guard
================  =========================================  =====================================
``chromium``      Playwright (Debian's chromium)              Playwright routes (:class:`harness.NetworkGuard`)
``firefox``       puppeteer-core sidecar (:mod:`firefox_page`)  refusing proxy (:class:`deny_proxy.DenyProxy`)
``webkit``        selenium + WebKitWebDriver (:mod:`webkit_page`)  refusing proxy
================  =========================================  =====================================

A :class:`LiteBrowser` opens pages (:class:`page_protocol.BrowserPage`), and says what it refused
(``blocked``) and what the pages logged (``console_lines``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from harness import NetworkGuard
from page_protocol import BrowserPage
from playwright.sync_api import BrowserContext

if TYPE_CHECKING:  # imported lazily below: only the browser in use is loaded
    from firefox_page import FirefoxBrowser
    from webkit_page import WebKitBrowser

#: every browser name the matrix knows, in run order
BROWSER_NAMES = ("chromium", "firefox", "webkit")


class LiteBrowser(Protocol):
    """A running browser the tests open pages in."""

    name: str

    def open(self, url: str) -> BrowserPage:
        """Open ``url`` in a new page and wait for its load event."""
        ...

    @property
    def blocked(self) -> list[str]:
        """Requests for hosts other than 127.0.0.1 that were refused, in order."""
        ...

    def console_lines(self) -> list[str]:
        """``"[type] text"`` console lines of the pages (what the browser can deliver)."""
        ...

    def close(self) -> None:
        """Close the browser (or context) and everything it opened."""
        ...


class PlaywrightBrowser:
    """Chromium: the module's guarded Playwright context (``lite_context``) as a :class:`LiteBrowser`."""

    name = "chromium"

    def __init__(self, context: BrowserContext, guard: NetworkGuard, console: list[str]) -> None:
        self.context = context
        self._guard = guard
        self._console = console

    def open(self, url: str) -> BrowserPage:
        """A new Playwright page (it is a :class:`BrowserPage` as it is) at ``url``."""
        page = self.context.new_page()
        page.goto(url)
        return page

    @property
    def blocked(self) -> list[str]:
        """What the context's :class:`harness.NetworkGuard` aborted."""
        return self._guard.blocked

    def console_lines(self) -> list[str]:
        """The context's :class:`harness.ConsoleLog` lines (pages and workers)."""
        return self._console

    def close(self) -> None:
        """Nothing: ``lite_context`` closes the context."""


class ProxiedBrowser:
    """Firefox or WebKit with a :class:`deny_proxy.DenyProxy` of its own, as a :class:`LiteBrowser`.

    Parameters
    ----------
    name : str
        ``"firefox"`` or ``"webkit"``.

    Raises
    ------
    ValueError
        For another name.
    page_protocol.PageError
        If the browser cannot be started (the message says what is missing).
    """

    def __init__(self, name: str) -> None:
        from deny_proxy import DenyProxy

        self.name = name
        self.proxy = DenyProxy().start()
        try:
            if name == "firefox":
                import firefox_page

                self._browser: FirefoxBrowser | WebKitBrowser = firefox_page.FirefoxBrowser(self.proxy.address)
            elif name == "webkit":
                import webkit_page

                self._browser = webkit_page.WebKitBrowser(self.proxy.address)
            else:
                raise ValueError(f"no such browser {name!r}: expected one of {BROWSER_NAMES}")
        except BaseException:
            self.proxy.stop()
            raise
        self.version = self._browser.version

    def open(self, url: str) -> BrowserPage:
        """A new page at ``url``."""
        page = self._browser.new_page()
        page.goto(url)
        return page

    @property
    def blocked(self) -> list[str]:
        """What the proxy refused."""
        return self.proxy.blocked

    def console_lines(self) -> list[str]:
        """Console lines of the pages (page consoles only; see the driver modules)."""
        return self._browser.console_lines()

    def close(self) -> None:
        """Quit the browser, then stop the proxy."""
        try:
            self._browser.close()
        finally:
            self.proxy.stop()
