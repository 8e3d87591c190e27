"""Lab pages and kernels shared by every test module, one per browser and serving of the site.

Booting a Pyodide kernel costs 10-25 s on the 2-core CI machine; before this cache every module
booted its own per serving, and kernel boots were about half of ``make test``. Now the
``site_server``, ``lab_page`` and ``kernel`` fixtures of ``conftest.py`` come from here: one
served site per serving (``isolated``, ``base_path``, ``coi_service_worker``) for the session,
and per browser one lab page and one kernel per serving, opened in a browser (Chromium: a
guarded context; Firefox/WebKit: a proxied browser) that belongs to this cache, not to a module.

A module that needs a fresh kernel, or the lab page in its own ``lite_context`` (to read its
console there), marks itself ``own_kernel`` (``pytestmark = pytest.mark.own_kernel``).

Modules share kernel state: a module sets up what it needs in its own module-scoped fixtures
(registered handlers, exposed names) and must not assume names are absent unless it chose them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from browsers import LiteBrowser, PlaywrightBrowser, ProxiedBrowser
from harness import ConsoleLog, LiteKernel, NetworkGuard, wait_for_app, wait_for_isolation
from page_protocol import BrowserPage
from playwright.sync_api import Browser

from litebridge.serve import SiteServer, start_server

#: a serving of the site: (COOP/COEP headers, URL prefix, isolation by the service worker)
Serving = tuple[bool, str, bool]


def open_lab_page(browser: LiteBrowser, server: SiteServer, serving: Serving) -> BrowserPage:
    """Open the lab app of ``server`` in ``browser`` and wait until it has started (after the
    service worker's reload first, when ``serving`` isolates through it)."""
    page = browser.open(server.url + "lab/index.html")
    if serving[2]:
        wait_for_isolation(page)
    wait_for_app(page)
    return page


class SharedServers:
    """The built site served once per :data:`Serving` for the whole session.

    Parameters
    ----------
    site_dir : pathlib.Path
        The built site.
    """

    def __init__(self, site_dir: Path) -> None:
        self._site_dir = site_dir
        self._servers: dict[Serving, tuple[SiteServer, threading.Thread]] = {}

    def get(self, serving: Serving) -> SiteServer:
        """The server of ``serving``, started on 127.0.0.1 (ephemeral port) on first use."""
        if serving not in self._servers:
            isolated, base_path, coi_service_worker = serving
            self._servers[serving] = start_server(
                self._site_dir,
                0,
                isolation=isolated and not coi_service_worker,
                base_path=base_path,
                sw_isolation=coi_service_worker,  # with headers the page is isolated already
            )
        return self._servers[serving][0]

    def close(self) -> None:
        """Stop every server and wait for its thread."""
        for server, thread in self._servers.values():
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
        self._servers.clear()


class SharedKernels:
    """One lab page and one kernel per :data:`Serving`, in a browser of their own.

    Parameters
    ----------
    browser_name : str
        ``"chromium"``, ``"firefox"`` or ``"webkit"``.
    chromium : playwright.sync_api.Browser or None
        pytest-playwright's session ``Browser`` for Chromium; None for the other browsers.
    console_sources : list
        The conftest's list of console sources (for failure reports); this cache adds its own.
    """

    def __init__(
        self, browser_name: str, chromium: Browser | None, console_sources: list[Callable[[], list[str]]]
    ) -> None:
        self.browser_name = browser_name
        self._chromium = chromium
        self._console_sources = console_sources
        self._browser: LiteBrowser | None = None
        self._pages: dict[Serving, BrowserPage] = {}
        self._kernels: dict[Serving, LiteKernel] = {}

    @property
    def browser(self) -> LiteBrowser:
        """The cache's own browser, started on first use."""
        if self._browser is None:
            if self._chromium is not None:
                context = self._chromium.new_context()
                guard = NetworkGuard()
                guard.install(context)
                console = ConsoleLog()
                context.on("page", console.attach)
                self._browser = PlaywrightBrowser(context, guard, console.lines)
            else:
                self._browser = ProxiedBrowser(self.browser_name)
            self._console_sources.append(self._browser.console_lines)
        return self._browser

    @property
    def blocked(self) -> list[str]:
        """Non-local requests the cache's browser refused (empty before it starts)."""
        return self._browser.blocked if self._browser is not None else []

    def lab_page(self, serving: Serving, server: SiteServer) -> BrowserPage:
        """The lab app of ``server`` (after the service worker's reload when it isolates)."""
        if serving not in self._pages:
            self._pages[serving] = open_lab_page(self.browser, server, serving)
        page = self._pages[serving]
        # the servings' lab pages are tabs of one window: the one in use must be the visible one
        # (see BrowserPage.bring_to_front: a hidden lab runs one execute per second in Firefox)
        page.bring_to_front()
        return page

    def kernel(self, serving: Serving, server: SiteServer) -> LiteKernel:
        """A booted kernel in the lab page of ``serving``."""
        kernel = self._kernels.get(serving)
        if kernel is None:
            kernel = LiteKernel(self.lab_page(serving, server))
            self._kernels[serving] = kernel
        return kernel

    def close(self) -> None:
        """Shut the kernels down, close the pages and the browser."""
        for kernel in self._kernels.values():
            with contextlib.suppress(Exception):  # a kernel a test broke must not hide the other teardowns
                kernel.shutdown()
        self._kernels.clear()
        self._pages.clear()
        if self._browser is not None:
            self._console_sources.remove(self._browser.console_lines)
            if isinstance(self._browser, PlaywrightBrowser):
                self._browser.context.close()
            else:
                self._browser.close()
            self._browser = None
