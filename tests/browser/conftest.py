"""Fixtures for real-browser tests against the built site (Debian's chromium, Playwright).

Every test module gets, per value of ``isolated`` (module-scoped, ``True`` = COOP/COEP headers,
``crossOriginIsolated`` in the page; ``False`` = no headers and the site's service-worker
isolation switched off, so the page stays non-isolated):

``site_dir`` (session)
    ``pathlib.Path`` of the built site (``--site-dir``, default ``_output``); fails if absent.
``isolated`` (module, params ``[True, False]``, ids ``coop-coep`` / ``no-isolation``)
    Override for one mode: ``pytestmark = pytest.mark.parametrize("isolated", [True],
    indirect=True, scope="module")``.
``base_path`` (module, default ``"/"``)
    URL prefix the site is served under; parametrize it indirectly like ``isolated``.
``coi_service_worker`` (module, default ``False``)
    ``True`` with ``isolated=True``: no headers at all (as GitHub Pages), the page is made
    cross-origin isolated by the site's service worker after one reload (``lab_page`` waits for
    it). Parametrize both indirectly, e.g. ``pytest.mark.parametrize(("isolated",
    "coi_service_worker"), [(True, True)], indirect=True, scope="module")``. With
    ``isolated=False`` the server sends the site's opt-out (``litebridge.crossOriginIsolation:
    false`` in ``jupyter-lite.json``), so that pages stay non-isolated.
``site_server`` (module)
    A :class:`litebridge.serve.SiteServer` on 127.0.0.1 with an ephemeral port; ``.url`` is the
    site root (ending in ``/``). One per serving for the whole session (``shared_servers``).
``lite_context`` (module)
    A fresh ``BrowserContext`` with a :class:`harness.NetworkGuard` (non-127.0.0.1 requests are
    aborted and recorded: any makes the test fail at teardown) and a :class:`harness.ConsoleLog`
    (errors are printed in the report of a failed test). Attributes ``guard`` and ``console``.
``new_page`` (function)
    A factory ``new_page(path) -> Page`` opening ``site_server.url + path`` in ``lite_context``
    (console collected); pages are closed at the end of the test.
``lab_page`` (module)
    The lab app (``lab/index.html``) with ``window.jupyterapp`` ready.
``kernel`` (module)
    A booted :class:`harness.LiteKernel` in ``lab_page``: ``kernel.run(code) -> str`` (stdout plus
    result repr; raises :class:`harness.KernelError` with the traceback), ``kernel.execute(code)``,
    ``kernel.value(expr)`` (JSON round trip), ``kernel.page.evaluate(js)`` for JavaScript in the
    page. ``lab_page`` and ``kernel`` are shared by every module of one browser and serving
    (:mod:`shared_kernels`: a kernel boot costs 10-25 s) and live in a browser of their own, not
    in ``lite_context``; a module marked ``own_kernel`` gets its own, in ``lite_browser``.

Browsers (``browser_name``, pytest-playwright's session-scoped parameter): ``--browser chromium
--browser firefox --browser webkit`` runs the matrix (``make test`` does; the default is
chromium). A test runs in Firefox and WebKit only when marked ``@pytest.mark.all_browsers``
(module-wide: ``pytestmark``); other tests are deselected there, as they may use all of
Playwright. ``lab_page``, ``kernel`` and ``new_page`` work in every browser; their pages are
:class:`page_protocol.BrowserPage` (in Chromium, Playwright ``Page`` objects as before).

``lite_browser`` (module)
    The module's :class:`browsers.LiteBrowser`: Chromium is ``lite_context``; Firefox and WebKit
    are launched with a refusing proxy (:class:`deny_proxy.DenyProxy`) as their network guard.
``hosting_mode`` (module)
    ``"coop-coep"`` or ``"no-isolation"``: the row of the transport table in ``docs/usage.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import BROWSER_NAMES, LiteBrowser, PlaywrightBrowser, ProxiedBrowser
from harness import CHROMIUM, CHROMIUM_ARGS, ConsoleLog, LiteKernel, NetworkGuard
from page_protocol import BrowserPage
from playwright.sync_api import Browser, BrowserContext
from shared_kernels import Serving, SharedKernels, SharedServers, open_lab_page

from litebridge.serve import SiteServer

#: console sources of the live browsers: each returns "[type] text" lines
_CONSOLES: list[Callable[[], list[str]]] = []
#: the marker that lets a test run in Firefox and WebKit too
ALL_BROWSERS = "all_browsers"
#: the marker that gives a module its own lab page and kernel (see shared_kernels.py)
OWN_KERNEL = "own_kernel"
#: the marker of soak tests: long and probabilistic, run only with --soak (`make soak`)
SOAK = "soak"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``all_browsers`` marker."""
    config.addinivalue_line(
        "markers", f"{ALL_BROWSERS}: run in every browser given with --browser (else in chromium only)"
    )
    config.addinivalue_line(
        "markers", f"{OWN_KERNEL}: the module boots its own lab page and kernel instead of the shared ones"
    )
    config.addinivalue_line(
        "markers", f"{SOAK}: a long, probabilistic soak test, deselected unless --soak is given (`make soak`)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect, for browsers other than chromium, tests not marked ``all_browsers``; tests
    marked ``only_browser`` (pytest-playwright's) for another browser; and tests marked ``soak``
    unless ``--soak`` is given."""
    soak = bool(config.getoption("--soak"))
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("browser_name", "chromium") if callspec is not None else "chromium"
        if name not in BROWSER_NAMES:
            raise pytest.UsageError(f"--browser {name}: expected one of {', '.join(BROWSER_NAMES)}")
        only = item.get_closest_marker("only_browser")
        if (
            (name != "chromium" and item.get_closest_marker(ALL_BROWSERS) is None)
            or (only is not None and name not in only.args)
            or (not soak and item.get_closest_marker(SOAK) is not None)
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's chromium with flags that keep it off the internet (pytest-playwright hook)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def site_dir(pytestconfig: pytest.Config) -> Path:
    """The built site; fails with a hint when it has not been built."""
    path = Path(pytestconfig.getoption("--site-dir")).resolve()
    if not (path / "jupyter-lite.json").is_file():
        pytest.fail(f"no built site at {path}: run `make site` first")
    return path


@pytest.fixture(scope="module", params=[True, False], ids=["coop-coep", "no-isolation"])
def isolated(request: pytest.FixtureRequest) -> bool:
    """Serve with COOP/COEP/CORP headers (True) or without (False)."""
    return bool(request.param)


@pytest.fixture(scope="module")
def base_path(request: pytest.FixtureRequest) -> str:
    """URL prefix of the site ("/" unless parametrized indirectly)."""
    return str(getattr(request, "param", "/"))


@pytest.fixture(scope="module")
def coi_service_worker(request: pytest.FixtureRequest) -> bool:
    """Isolate through the site's service worker instead of headers (False unless parametrized)."""
    return bool(getattr(request, "param", False))


@pytest.fixture(scope="session")
def shared_servers(site_dir: Path) -> Iterator[SharedServers]:
    """The built site served once per serving for the whole session (:mod:`shared_kernels`)."""
    servers = SharedServers(site_dir)
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def shared_kernels(
    browser_name: str, shared_servers: SharedServers, request: pytest.FixtureRequest
) -> Iterator[SharedKernels]:
    """Per browser: one lab page and kernel per serving, shared by modules (:mod:`shared_kernels`)."""
    # requested here, during setup, so that pytest tears the shared pages down before the browser
    chromium: Browser | None = request.getfixturevalue("browser") if browser_name == "chromium" else None
    kernels = SharedKernels(browser_name, chromium, _CONSOLES)
    yield kernels
    kernels.close()


@pytest.fixture(scope="module")
def serving(isolated: bool, base_path: str, coi_service_worker: bool) -> Serving:
    """The module's serving of the site: ``(isolated, base_path, coi_service_worker)``."""
    return (isolated, base_path, coi_service_worker)


@pytest.fixture(scope="module")
def own_kernel(request: pytest.FixtureRequest) -> bool:
    """Whether the module is marked ``own_kernel`` (its own lab page and kernel)."""
    return request.node.get_closest_marker(OWN_KERNEL) is not None


@pytest.fixture(scope="module")
def site_server(shared_servers: SharedServers, serving: Serving) -> SiteServer:
    """The built site served on 127.0.0.1 (ephemeral port) in the requested mode (shared)."""
    return shared_servers.get(serving)


@pytest.fixture(scope="module")
def lite_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context whose requests are guarded and whose consoles are collected."""
    context = browser.new_context()
    guard = NetworkGuard()
    guard.install(context)
    console = ConsoleLog()
    context.on("page", console.attach)
    context.guard = guard  # type: ignore[attr-defined]
    context.console = console  # type: ignore[attr-defined]
    source = console.errors
    _CONSOLES.append(source)
    yield context
    _CONSOLES.remove(source)
    context.close()


@pytest.fixture(scope="module")
def lite_browser(browser_name: str, request: pytest.FixtureRequest) -> Iterator[LiteBrowser]:
    """The module's browser: ``lite_context`` in Chromium, a fresh Firefox or WebKit otherwise."""
    if browser_name == "chromium":
        context = request.getfixturevalue("lite_context")
        yield PlaywrightBrowser(context, context.guard, context.console.lines)
        return
    browser = ProxiedBrowser(browser_name)
    source = browser.console_lines
    _CONSOLES.append(source)
    try:
        yield browser
    finally:
        _CONSOLES.remove(source)
        browser.close()


@pytest.fixture(scope="module")
def hosting_mode(isolated: bool, coi_service_worker: bool) -> str:
    """The hosting mode's row name in the transport table of ``docs/usage.md``."""
    if coi_service_worker:
        return "service-worker"
    return "coop-coep" if isolated else "no-isolation"


@pytest.fixture(scope="module")
def lab_page(
    shared_kernels: SharedKernels,
    serving: Serving,
    site_server: SiteServer,
    own_kernel: bool,
    request: pytest.FixtureRequest,
) -> Iterator[BrowserPage]:
    """The lab app of the served site, started (a Playwright ``Page`` in Chromium), after the
    service worker's reload when ``coi_service_worker``: shared by modules unless ``own_kernel``."""
    if not own_kernel:
        yield shared_kernels.lab_page(serving, site_server)
        return
    page = open_lab_page(request.getfixturevalue("lite_browser"), site_server, serving)
    yield page
    page.close()


@pytest.fixture(scope="module")
def kernel(
    lab_page: BrowserPage, shared_kernels: SharedKernels, serving: Serving, site_server: SiteServer, own_kernel: bool
) -> Iterator[LiteKernel]:
    """A booted Pyodide kernel in the lab page: shared by modules unless ``own_kernel``."""
    if not own_kernel:
        yield shared_kernels.kernel(serving, site_server)
        return
    lite_kernel = LiteKernel(lab_page)
    yield lite_kernel
    lite_kernel.shutdown()


@pytest.fixture
def new_page(lite_browser: LiteBrowser, site_server: SiteServer) -> Iterator[Callable[[str], Any]]:
    """Factory: open ``site_server.url + path`` in a new page of the module's browser.

    The page is a Playwright ``Page`` in Chromium, a :class:`page_protocol.BrowserPage` elsewhere.
    """
    pages: list[BrowserPage] = []

    def open_page(path: str) -> Any:
        page = lite_browser.open(site_server.url + path)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


@pytest.fixture(autouse=True)
def _no_foreign_requests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if its browser tried to reach anything but 127.0.0.1."""
    sources: list[list[str]] = []
    # an own_kernel module's lab page lives in lite_browser, which lab_page asks for at run time
    # (so it is not in fixturenames): its guard is checked too
    own_lab = "lab_page" in request.fixturenames and request.node.get_closest_marker(OWN_KERNEL) is not None
    if "lite_browser" in request.fixturenames or own_lab:
        sources.append(request.getfixturevalue("lite_browser").blocked)
    elif "lite_context" in request.fixturenames:
        sources.append(request.getfixturevalue("lite_context").guard.blocked)
    if "shared_kernels" in request.fixturenames:
        sources.append(request.getfixturevalue("shared_kernels").blocked)
    if not sources:
        yield
        return
    before = [len(source) for source in sources]
    yield
    blocked = [url for source, start in zip(sources, before, strict=True) for url in source[start:]]
    if blocked:
        pytest.fail(f"the browser tried to reach non-local hosts (aborted): {blocked}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the browser console errors to the report of a failed test."""
    report = yield
    if report.failed and _CONSOLES:
        lines = [line for source in _CONSOLES for line in source() if line.startswith(("[error]", "[pageerror]"))]
        if lines:
            report.sections.append(("browser console errors", "\n".join(lines[-200:])))
    return report
