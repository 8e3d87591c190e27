"""Kernels and tabs: each kernel talks only to its own page; restart and shut down close calls.

Both header modes. Kernels here: the module's ``kernel`` ("A") and a second one in the same
tab ("B"), one in a second tab of the same browser context ("C"), and a throwaway kernel for
restart and shut down (never the shared ones).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from bridge_helpers import install_page_helpers, js_call, page_run, page_settle
from harness import KernelError, LiteKernel, wait_for_app
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer


def _identify(kernel: LiteKernel, label: str) -> None:
    """Set up ``kernel`` with handlers and an exposed object that say ``label``."""
    kernel.run(
        "import litebridge\n"
        "from litebridge import page\n"
        "class Named:\n"
        "    def __init__(self, label):\n"
        "        self.label = label\n"
        "    def name(self, i=0):\n"
        "        return [self.label, i]\n"
        f"page.expose(Named({label!r}), name='me')\n"
        f"page.expose(Named({label!r}), name='only{label}')\n"
        f'page.register(\'{{ who(i) {{ return ["{label}", i]; }}, only{label}() {{ return "{label}"; }} }}\')\n'
    )
    install_page_helpers(kernel.page)
    assert page_run(kernel.page, kernel.id, "return k.id;")["value"] == kernel.id


@pytest.fixture(scope="module")
def kernel_a(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel, labelled A."""
    _identify(kernel, "A")
    return kernel


@pytest.fixture(scope="module")
def kernel_b(lab_page: Page, kernel_a: LiteKernel) -> Iterator[LiteKernel]:
    """A second kernel in the same tab as A, labelled B."""
    second = LiteKernel(lab_page)
    _identify(second, "B")
    yield second
    second.shutdown()


@pytest.fixture(scope="module")
def kernel_c(lite_context: BrowserContext, site_server: SiteServer, kernel_a: LiteKernel) -> Iterator[LiteKernel]:
    """A kernel in a second tab of the same browser context, labelled C."""
    tab = lite_context.new_page()
    tab.goto(site_server.url + "lab/index.html")
    wait_for_app(tab)
    third = LiteKernel(tab)
    _identify(third, "C")
    yield third
    third.shutdown()
    tab.close()


def _caught(kernel: LiteKernel, call: str) -> Any:
    kernel.run(f"try:\n    {call}\n    caught = None\nexcept litebridge.BridgeError as exc:\n    caught = [exc.code]\n")
    return kernel.value("caught")


# --- isolation ------------------------------------------------------------------------------------


def test_same_handler_name_two_kernels_one_tab(kernel_a: LiteKernel, kernel_b: LiteKernel) -> None:
    for kernel, label in ((kernel_a, "A"), (kernel_b, "B")):
        assert kernel.value("page.call_sync('who', 1)") == [label, 1]
        assert kernel.value("await page.call('who', 2)") == [label, 2]
    # handlers registered by one kernel's Python are not visible to the other kernel
    assert _caught(kernel_b, "page.call_sync('onlyA')")[0] == "unknown_method"
    assert _caught(kernel_a, "await page.call('onlyB')")[0] == "unknown_method"
    assert kernel_b.value("page.call_sync('onlyB')") == "B"


def test_exposed_objects_two_kernels_one_tab(kernel_a: LiteKernel, kernel_b: LiteKernel) -> None:
    page = kernel_a.page
    assert js_call(page, kernel_a.id, "me.name", 1) == {"ok": True, "value": ["A", 1]}
    assert js_call(page, kernel_b.id, "me.name", 2) == {"ok": True, "value": ["B", 2]}
    error = js_call(page, kernel_b.id, "onlyA.name")["error"]
    assert error["code"] == "unknown_method"
    ids = page_run(page, kernel_a.id, "return window.litebridge.kernels().map((b) => b.id);")["value"]
    assert kernel_a.id in ids
    assert kernel_b.id in ids


def test_interleaved_calls_two_kernels_one_tab(kernel_a: LiteKernel, kernel_b: LiteKernel) -> None:
    # 200 page -> Python calls, alternating kernels, all in flight at once
    result = page_run(
        kernel_a.page,
        kernel_a.id,
        "const [a, b] = await Promise.all(arg.map((id) => window.litebridge.kernel(id)));"
        " const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? b : a).call('me.name', i));"
        " const results = await Promise.all(calls);"
        " return results.filter(([label, i], n) => label !== (n % 2 ? 'B' : 'A') || i !== n);",
        [kernel_a.id, kernel_b.id],
    )
    assert result == {"ok": True, "value": []}


def test_two_tabs_do_not_see_each_other(kernel_a: LiteKernel, kernel_c: LiteKernel) -> None:
    assert kernel_c.page is not kernel_a.page
    assert kernel_c.value("page.call_sync('who', 3)") == ["C", 3]
    assert kernel_a.value("page.call_sync('who', 4)") == ["A", 4]
    assert js_call(kernel_c.page, kernel_c.id, "me.name", 5) == {"ok": True, "value": ["C", 5]}
    # each tab knows only its own kernels
    tab_c = page_run(kernel_c.page, kernel_c.id, "return window.litebridge.kernels().map((b) => b.id);")["value"]
    tab_a = page_run(kernel_a.page, kernel_a.id, "return window.litebridge.kernels().map((b) => b.id);")["value"]
    assert tab_c == [kernel_c.id]
    assert kernel_c.id not in tab_a
    missing = page_run(
        kernel_a.page, kernel_a.id, "return await window.litebridge.kernel(arg, { timeoutMs: 500 });", kernel_c.id
    )
    assert missing["error"]["code"] == "timeout"
    assert f"kernel {kernel_c.id} did not connect" in missing["error"]["message"]
    # handlers registered by page code in one tab are not seen by the other tab's kernel
    page_run(kernel_a.page, kernel_a.id, "window.litebridge.register({ tabOne() { return 1; } });")
    assert kernel_a.value("page.call_sync('tabOne')") == 1
    assert _caught(kernel_c, "page.call_sync('tabOne')")[0] == "unknown_method"


def test_two_tabs_calls_at_the_same_time(kernel_a: LiteKernel, kernel_c: LiteKernel) -> None:
    # start 100 page -> Python calls in tab C, then 100 in tab A while C's are in flight
    start = (
        "window.__lbBatch = Promise.all(Array.from({ length: 100 }, (_, i) => k.call('me.name', i)))"
        ".then((rs) => rs.filter(([label, i], n) => label !== arg || i !== n).length);"
    )
    page_run(kernel_c.page, kernel_c.id, start, "C")
    page_run(kernel_a.page, kernel_a.id, start, "A")
    assert page_run(kernel_a.page, kernel_a.id, "return await window.__lbBatch;") == {"ok": True, "value": 0}
    assert page_run(kernel_c.page, kernel_c.id, "return await window.__lbBatch;") == {"ok": True, "value": 0}


# --- restart and shut down ---------------------------------------------------------------------------

_SLOW_PY = (
    "import asyncio\n"
    "import litebridge\n"
    "from litebridge import page\n"
    "class Slow:\n"
    "    started = 0\n"
    "    async def wait(self, seconds):\n"
    "        Slow.started += 1\n"
    "        await asyncio.sleep(seconds)\n"
    "        return 'finished'\n"
    "    def ping(self):\n"
    "        return 'pong'\n"
    "page.expose(Slow(), name='slow')\n"
)

# Start a page -> Python call to the slow method and keep its outcome in window.__lbPending.
_START_PENDING = (
    "window.__lbPending = k.call('slow.wait', 600).then("
    "  (value) => ({ ok: true, value }), (error) => ({ ok: false, error: window.__lbBridge.describe(error) }));"
    " window.__lbHeld = k;"
    " return true;"
)


def _start_pending_call(kernel: LiteKernel, started_before: int) -> None:
    assert page_run(kernel.page, kernel.id, _START_PENDING) == {"ok": True, "value": True}
    # the call reached Python and is running (the kernel is idle meanwhile: it only awaits)
    for _ in range(100):
        if kernel.value("Slow.started") > started_before:
            return
        time.sleep(0.1)
    pytest.fail("the slow call never reached Python")


def test_restart_and_shutdown_reject_pending_page_calls(lab_page: Page) -> None:
    kernel = LiteKernel(lab_page)
    try:
        kernel.run(_SLOW_PY)
        install_page_helpers(lab_page)
        _start_pending_call(kernel, 0)
        lab_page.evaluate("(id) => window.__lbTest.kernels[id].restart()", kernel.id)
        outcome = lab_page.evaluate("() => window.__lbPending")
        assert outcome["ok"] is False
        assert outcome["error"]["isBridgeError"]
        assert outcome["error"]["code"] == "closed"
        assert "slow.wait" in outcome["error"]["message"]
        # the old bridge stays closed: a new call on it rejects at once
        late = page_settle(lab_page, "return await window.__lbHeld.call('slow.ping');")
        assert late["error"]["code"] == "closed"

        # the restarted kernel is fresh and gets a new bridge once it imports litebridge
        with pytest.raises(KernelError, match="NameError"):
            kernel.run("Slow")
        kernel.run(_SLOW_PY)
        assert js_call(lab_page, kernel.id, "slow.ping") == {"ok": True, "value": "pong"}
        assert kernel.value("litebridge.transport") in ("sab", "jspi")

        _start_pending_call(kernel, 0)
        kernel.shutdown()
        outcome = lab_page.evaluate("() => window.__lbPending")
        assert outcome["ok"] is False
        assert outcome["error"]["code"] == "closed"
        assert "slow.wait" in outcome["error"]["message"]
        assert kernel.id not in lab_page.evaluate("() => window.litebridge.kernels().map((b) => b.id)")
    finally:
        lab_page.evaluate("(id) => window.__lbTest.kernels[id] && window.__lbTest.shutdown(id)", kernel.id)
