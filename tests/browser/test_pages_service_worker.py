"""GitHub Pages: the built site served from a sub-path with no headers at all.

The site's service worker (litebridge's addition to JupyterLite's ``service-worker.js``) makes
the page cross-origin isolated after one automatic reload, so the bridge gets its
SharedArrayBuffer transport; JupyterLite's own uses of the worker (files saved in the lab,
``input()``) keep working. With the opt-out in ``jupyter-lite.json`` the page stays as served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bridge_helpers import js_call, setup_bridge
from harness import LiteKernel, wait_for_app
from playwright.sync_api import Page

NewPage = Callable[[str], Page]

SUBPATH = "/litebridge/"
#: the lab page, its kernel and the pages this module opens share one browser context (the service
#: worker's registration and the lab's storage are per context): not the shared kernels
pytestmark = pytest.mark.own_kernel

pages_mode = pytest.mark.parametrize(
    ("isolated", "coi_service_worker", "base_path"),
    [pytest.param(True, True, SUBPATH, id="pages-service-worker")],
    indirect=True,
    scope="module",
)
opted_out = pytest.mark.parametrize(
    ("isolated", "coi_service_worker", "base_path"),
    [pytest.param(False, False, SUBPATH, id="pages-opted-out")],
    indirect=True,
    scope="module",
)

FILE_FROM_KERNEL = "lb_sw_from_kernel.txt"
FILE_FROM_PAGE = "lb_sw_from_page.txt"

_NAVIGATION = """() => ({
    isolated: self.crossOriginIsolated,
    type: performance.getEntriesByType('navigation')[0].type,
    reloadMarker: sessionStorage.getItem('litebridge:isolation-reload') !== null,
    controller: navigator.serviceWorker.controller?.scriptURL ?? null,
})"""

# input(): execute with allow_stdin and answer the input_request from the page
_RUN_WITH_INPUT = """async ([id, code, answer]) => {
    const kernel = window.__lbTest.kernels[id];
    const out = { prompts: [], stdout: '', status: null };
    const future = kernel.requestExecute({ code, allow_stdin: true, store_history: false });
    future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'stream') out.stdout += msg.content.text;
    };
    future.onStdin = (msg) => {
        out.prompts.push(msg.content.prompt);
        kernel.sendInputReply({ status: 'ok', value: answer }, msg.header);
    };
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('input() execute timed out after 60 s')), 60000);
    });
    const reply = await Promise.race([future.done, timeout]).finally(() => clearTimeout(timer));
    out.status = reply.content.status;
    return out;
}"""

_CONTENTS = """async ([name, content]) => {
    const contents = window.jupyterapp.serviceManager.contents;
    if (content !== null) {
        await contents.save(name, { type: 'file', format: 'text', content });
    }
    const model = await contents.get(name, { content: true, type: 'file', format: 'text' });
    return model.content;
}"""


@pages_mode
def test_isolated_by_the_service_worker_after_one_reload(lab_page: Page, site_server: Any) -> None:
    assert site_server.isolation is False, "this mode must be served without COOP/COEP"
    state = lab_page.evaluate(_NAVIGATION)
    assert state["isolated"] is True
    assert state["type"] == "reload", state
    assert state["reloadMarker"] is True, state
    assert state["controller"].startswith(site_server.url + "service-worker.js"), state


@pages_mode
def test_transport_is_sab_and_calls_work(kernel: LiteKernel) -> None:
    setup_bridge(kernel)
    assert kernel.value("litebridge.transport") == "sab"
    assert kernel.value('page.call_sync("indentRight", "world", 4)') == "world    "
    assert js_call(kernel.page, kernel.id, "ex.multiply", 6, 7) == {"ok": True, "value": 42}


@pages_mode
def test_input_works(kernel: LiteKernel) -> None:
    out = kernel.page.evaluate(_RUN_WITH_INPUT, [kernel.id, "name = input('name? ')\nprint('hi', name)", "pages"])
    assert out["status"] == "ok", out
    assert out["prompts"] == ["name? "], out
    assert out["stdout"].rstrip().endswith("hi pages"), out


@pages_mode
def test_files_saved_in_the_lab_survive_a_reload(kernel: LiteKernel, new_page: NewPage) -> None:
    kernel.run(f"with open({FILE_FROM_KERNEL!r}, 'w') as f:\n    f.write('written by the kernel')")
    assert kernel.page.evaluate(_CONTENTS, [FILE_FROM_KERNEL, None]) == "written by the kernel"
    assert kernel.page.evaluate(_CONTENTS, [FILE_FROM_PAGE, "saved from the page"]) == "saved from the page"

    # the lab loaded again: controlled and isolated at once, without a second reload
    page = new_page("lab/index.html")
    state = page.evaluate(_NAVIGATION)
    assert state["isolated"] is True, state
    assert state["type"] == "navigate", state
    wait_for_app(page)
    assert page.evaluate(_CONTENTS, [FILE_FROM_KERNEL, None]) == "written by the kernel"
    second = LiteKernel(page)
    try:
        assert second.value(f"open({FILE_FROM_KERNEL!r}).read()") == "written by the kernel"
        assert second.value(f"open({FILE_FROM_PAGE!r}).read()") == "saved from the page"
        assert second.value("__import__('js').crossOriginIsolated") is True
    finally:
        second.shutdown()


@opted_out
def test_opt_out_keeps_the_page_as_served(new_page: NewPage, site_server: Any) -> None:
    page = new_page("lab/index.html")
    wait_for_app(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    probe = page.evaluate(
        "async (url) => (await fetch(url, { cache: 'no-store' })).json()", site_server.url + "api/litebridge/isolation"
    )
    assert probe == {"by": "litebridge", "crossOriginIsolation": False}
    # a navigation the service worker serves stays non-isolated, and nothing reloads
    page.goto(site_server.url + "lab/index.html")
    wait_for_app(page)
    state = page.evaluate(_NAVIGATION)
    assert state["controller"] is not None, state
    assert state["isolated"] is False, state
    assert state["type"] == "navigate", state
    assert state["reloadMarker"] is False, state
