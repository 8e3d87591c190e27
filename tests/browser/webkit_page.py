"""WebKitGTK for the browser tests: selenium, ``WebKitWebDriver`` and ``MiniBrowser`` under Xvfb.

MiniBrowser has no headless mode, so :class:`WebKitBrowser` starts its own ``Xvfb`` display. The
WebDriver session sends every non-127.0.0.1 request to the refusing proxy (W3C ``proxy``
capability). There is no console API: :data:`page_protocol.CONSOLE_HOOK_JS` is run in each page
after it loads, so messages logged before that are missed. One WebDriver session has one
current window: each :class:`WebKitPage` is a window, switched to before each command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from typing import Any

from page_protocol import CONSOLE_HOOK_JS, EVALUATE_JS, WAIT_JS, PageError, decode_result
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.webkitgtk.options import Options
from selenium.webdriver.webkitgtk.service import Service

WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
#: longest single WebDriver script (s); every page-side wait in the tests is shorter
SCRIPT_TIMEOUT_S = 330
#: longest wait for WebKitWebDriver to answer one command (s): MiniBrowser has been seen to
#: vanish mid-session, and the driver then never answers
COMMAND_TIMEOUT_S = SCRIPT_TIMEOUT_S + 30
#: longest wait for a new session, and for quitting one (s)
SESSION_TIMEOUT_S = 60

_ASYNC_CALL = """
const done = arguments[arguments.length - 1];
const fn = (0, eval)('(' + arguments[0] + ')');
Promise.resolve().then(() => fn(arguments[1], arguments[2])).then(
  (text) => done({ ok: true, text }),
  (error) => done({ ok: false, error: String(error && error.stack ? error.message + '\\n' + error.stack : error) }));
"""


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Start ``Xvfb`` on a free display; return the process and its ``DISPLAY`` (``":N"``).

    Raises
    ------
    PageError
        If Xvfb is missing or does not report a display within 20 s.
    """
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", "1280x1024x24"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError as error:
        raise PageError("Xvfb is not installed (apt-get install xvfb; make test does)") from error
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        process.kill()
        raise PageError("Xvfb did not report a display")
    return process, f":{number}"


def _set_command_timeout(driver: webdriver.WebKitGTK, seconds: float) -> None:
    """Bound every later HTTP request to the driver to ``seconds``."""
    executor = driver.command_executor
    if isinstance(executor, RemoteConnection):
        executor.client_config.timeout = seconds


class WebKitBrowser:
    """A WebKitGTK MiniBrowser driven over WebDriver; non-local hosts go to ``proxy``.

    Parameters
    ----------
    proxy : str
        ``"127.0.0.1:<port>"`` of a :class:`deny_proxy.DenyProxy`.

    Attributes
    ----------
    version : str
        ``"webkitgtk/<version>"``.

    Raises
    ------
    PageError
        If WebKitWebDriver, MiniBrowser or Xvfb is missing or the session does not start.
    """

    name = "webkit"

    def __init__(self, proxy: str) -> None:
        self._xvfb, self._display = start_xvfb()
        self._proxy = proxy
        self.pages: list[WebKitPage] = []
        try:
            self.driver = self._start_session()
        except PageError:
            self._xvfb.kill()
            raise
        self.version = f"webkitgtk/{self.driver.capabilities.get('browserVersion', '?')}"
        self._first_window: str | None = self.driver.current_window_handle

    def _start_session(self) -> webdriver.WebKitGTK:
        """A new WebDriver session; one retry with a new driver process.

        Seen in CI: a new-session request that WebKitWebDriver never answers (read timeout after
        :data:`SESSION_TIMEOUT_S`) while the next attempt starts at once.
        """
        try:
            return self._try_session()
        except PageError:
            return self._try_session()

    def _try_session(self) -> webdriver.WebKitGTK:
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        options.set_capability(
            "proxy",
            {"proxyType": "manual", "httpProxy": self._proxy, "sslProxy": self._proxy, "noProxy": ["127.0.0.1"]},
        )
        service = Service(WEBKIT_DRIVER, env={**os.environ, "DISPLAY": self._display})
        # selenium's HTTP timeout defaults to the socket default (none): bound the new session
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(SESSION_TIMEOUT_S)
        try:
            driver = webdriver.WebKitGTK(options=options, service=service)
        except Exception as error:  # WebDriverException, OSError, urllib3's ReadTimeoutError
            service.stop()
            raise PageError(f"WebKitWebDriver did not start a session: {error}") from error
        finally:
            socket.setdefaulttimeout(previous)
        _set_command_timeout(driver, COMMAND_TIMEOUT_S)
        driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        return driver

    def _end_session(self) -> None:
        _set_command_timeout(self.driver, SESSION_TIMEOUT_S)
        with contextlib.suppress(Exception):  # WebDriverException, OSError, urllib3's ReadTimeoutError
            self.driver.quit()
        self.driver.service.stop()

    def new_page(self) -> WebKitPage:
        """Open a window; when every earlier page is closed, in a fresh session.

        Seen here: in WebKitGTK 2.50 a JupyterLite app loaded in a session soon after another
        one (same origin) may never start (``jupyterapp`` missing or ``app.started`` pending);
        a new session (a new, empty website data store) has no such history.
        """
        if self.pages and all(page.closed for page in self.pages):
            self._end_session()
            self.pages = []
            self.driver = self._start_session()
            self._first_window = self.driver.current_window_handle
        if self._first_window is not None:
            handle, self._first_window = self._first_window, None
        else:
            self.driver.switch_to.new_window("tab")
            handle = str(self.driver.current_window_handle)
        page = WebKitPage(self, handle)
        self.pages.append(page)
        return page

    def console_lines(self) -> list[str]:
        """Console lines of every open page since its console hook was installed."""
        lines: list[str] = []
        for page in self.pages:
            lines.extend(page.console_lines())
        return lines

    def close(self) -> None:
        """End the WebDriver session and Xvfb."""
        self._end_session()
        self._xvfb.terminate()
        try:
            self._xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._xvfb.kill()


class WebKitPage:
    """A WebKitGTK window, as a :class:`page_protocol.BrowserPage`."""

    def __init__(self, browser: WebKitBrowser, handle: str) -> None:
        self._browser = browser
        self._handle = handle
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _driver(self) -> webdriver.WebKitGTK:
        driver = self._browser.driver
        if self._closed:
            raise PageError("the page is closed")
        if driver.current_window_handle != self._handle:
            driver.switch_to.window(self._handle)
        return driver

    def _call(self, fn: str, *args: Any) -> Any:
        try:
            answer = self._driver().execute_async_script(_ASYNC_CALL, fn, *args)
        except (WebDriverException, OSError) as error:
            raise PageError(f"WebKit: {getattr(error, 'msg', None) or error}") from error
        if not answer["ok"]:
            raise PageError(f"WebKit: {answer['error']}")
        return decode_result(answer["text"])

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Run a function source (called with ``arg``) or an expression in the page; awaited."""
        return self._call(EVALUATE_JS, expression, arg)

    def wait_for_function(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll ``expression`` every 50 ms until truthy, at most ``timeout`` ms (default 30 000)."""
        return self._call(WAIT_JS, expression, 30_000 if timeout is None else int(timeout))

    def goto(self, url: str) -> None:
        """Navigate (WebDriver waits for the load event), then hook the console."""
        try:
            self._driver().get(url)
        except WebDriverException as error:
            raise PageError(f"WebKit: {error.msg or error}") from error
        self.evaluate(CONSOLE_HOOK_JS)

    @property
    def url(self) -> str:
        """The current URL."""
        return str(self._driver().current_url)

    def console_lines(self) -> list[str]:
        """Console lines collected by the hook (empty before the first :meth:`goto`)."""
        if self._closed:
            return []
        try:
            lines = self.evaluate("() => window.__lbConsole ?? []")
        except PageError:
            return []
        return [str(line) for line in lines]

    def bring_to_front(self) -> None:
        """Switch the session to this window (WebDriver "Switch To Window" selects it)."""
        self._driver()

    def close(self) -> None:
        """Close the window (idempotent); the session stays for the other pages."""
        if self._closed:
            return
        driver = self._driver()
        self._closed = True
        if len(driver.window_handles) > 1:
            driver.close()
            driver.switch_to.window(driver.window_handles[0])
        else:  # the session's last window: kept (the next page starts a new session)
            driver.get("about:blank")
