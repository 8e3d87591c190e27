"""Issue 7 in a real kernel and page: the defects found by the fault hunt, and cancellation.

Both header modes (``sab`` with COOP/COEP, ``jspi`` without). One kernel per mode; each test
names the defect it guards against. Nothing is mocked: handlers run on the page, exposed
methods in the Pyodide kernel, over the bridge the site ships.
"""

from __future__ import annotations

import pytest
from bridge_helpers import EMPTY_TABLES, js_call, page_run, page_settle, settled_table_counts, setup_bridge
from harness import KernelError, LiteKernel

# Page handlers of this module: registered by the page (litebridge.register), for every kernel.
_RELIABILITY_JS = r"""
window.__lbAborts = [];
window.litebridge.register({
  hang(tag) {
    // never answers on its own; records the abort of its signal
    return new Promise((resolve) => {
      this.signal.addEventListener('abort', () => {
        window.__lbAborts.push([tag, String(this.signal.reason?.message ?? this.signal.reason)]);
        resolve('too late');
      });
    });
  },
  reenterCaller() { return this.kernel.call('multiply', 6, 7); },
  async callBackCaller() { return await this.kernel.call('multiply', 6, 7); },
  throwClosed() { throw new window.litebridge.BridgeError('closed', 'the other kernel went away'); },
  throwTimeout() { throw new window.litebridge.BridgeError('timeout', 'a page-side wait ran out'); },
  callerId() { return this.kernel.id; },
});
return true;
"""

_EXITS_PY = r"""
import asyncio

class Exits:
    cancelled = 0
    def leave(self):
        raise SystemExit(3)
    def interrupted(self):
        raise KeyboardInterrupt
    async def sleepy(self):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            Exits.cancelled += 1
            raise
        return "woke"

page.expose(Exits(), name="exits")
"""


@pytest.fixture(scope="module")
def bridged(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel with the standard handlers and examples, plus this module's."""
    setup_bridge(kernel)
    assert page_run(kernel.page, kernel.id, _RELIABILITY_JS) == {"ok": True, "value": True}
    kernel.run(_EXITS_PY)
    return kernel


def _aborts(kernel: LiteKernel) -> list[list[str]]:
    aborts: list[list[str]] = kernel.page.evaluate("() => window.__lbAborts")
    return aborts


# --- defect 1: a timed-out call_sync left the kernel marked busy (jspi) ------------------------------


def test_call_sync_timeout_does_not_leave_the_kernel_busy(bridged: LiteKernel) -> None:
    with pytest.raises(KernelError, match="CallTimeout"):
        bridged.run("page.call_sync('hang', 'd1', timeout=0.5)")
    # the page serves calls into the kernel again at once, in both transports
    assert js_call(bridged.page, bridged.id, "multiply", 6, 7) == {"ok": True, "value": 42}
    assert [tag for tag, _ in _aborts(bridged) if tag == "d1"] == ["d1"]
    assert settled_table_counts(bridged) == EMPTY_TABLES


# --- defect 2: bridge error codes reach Python ----------------------------------------------------------


def test_reentrant_call_is_served_not_refused(bridged: LiteKernel) -> None:
    # formerly refused with code busy (protocol section 8): now served on the blocked stack
    assert bridged.value("page.call_sync('reenterCaller')") == 42


@pytest.mark.parametrize(
    ("handler", "exception", "code"),
    [("throwClosed", "BridgeClosed", "closed"), ("throwTimeout", "CallTimeout", "timeout")],
)
def test_page_bridge_errors_become_their_python_classes(
    bridged: LiteKernel, handler: str, exception: str, code: str
) -> None:
    for call in (f"page.call_sync({handler!r})", f"await page.call({handler!r})"):
        bridged.run(
            f"try:\n    {call}\n    caught = None\nexcept litebridge.BridgeError as exc:\n"
            "    caught = [type(exc).__name__, exc.code]\n"
        )
        assert bridged.value("caught") == [exception, code], call


# --- defect 3: BaseException in an exposed method got no answer ------------------------------------------


@pytest.mark.parametrize(
    ("method", "etype"), [("exits.leave", "SystemExit"), ("exits.interrupted", "KeyboardInterrupt")]
)
def test_base_exceptions_are_answered(bridged: LiteKernel, method: str, etype: str) -> None:
    result = page_run(bridged.page, bridged.id, "return await k.invoke(arg, [], { timeoutMs: 10000 });", method)
    assert result["ok"] is False
    assert result["error"]["isPythonError"], result
    assert result["error"]["type"] == etype
    assert bridged.value("6 * 7") == 42  # the kernel keeps working


# --- defect 4: handlers get their calling kernel ---------------------------------------------------------


def test_handlers_get_the_calling_kernel(bridged: LiteKernel) -> None:
    assert bridged.value("page.call_sync('callerId')") == bridged.id
    assert bridged.value("await page.call('callBackCaller')") == 42


# --- defect 5: one connection per kernel ----------------------------------------------------------------


def test_a_second_page_or_a_reload_keeps_one_connection(bridged: LiteKernel) -> None:
    bridged.run(
        "import importlib\n"
        "from litebridge import Page\n"
        "old = litebridge.page\n"
        "same = Page() is old\n"
        "litebridge = importlib.reload(litebridge)\n"
        "kept = litebridge.page is old\n"
    )
    assert bridged.value("[same, kept]") == [True, True]
    # the objects exposed before the reload are still served: nothing was orphaned
    assert js_call(bridged.page, bridged.id, "ex.multiply", 2, 3) == {"ok": True, "value": 6}
    assert bridged.value("page.call_sync('indentLeft', 'x', 1)") == " x"


# --- defect 6: the real reason, fast ------------------------------------------------------------------------


def test_a_hello_of_another_version_is_refused_with_the_reason(bridged: LiteKernel) -> None:
    bridged.run(
        "import asyncio, js, json\n"
        "from pyodide.ffi import create_proxy, to_js\n"
        "channel = js.MessageChannel.new()\n"
        "refused = asyncio.get_running_loop().create_future()\n"
        "on_refusal = create_proxy(lambda event: refused.set_result(event.data.json))\n"
        "channel.port1.onmessage = on_refusal\n"
        "hello = js.Object.fromEntries(to_js([['v', 99], ['id', 0], ['kind', 'litebridge.hello'],\n"
        "    ['port', channel.port2], ['sab', None], ['pyodide', 'x'], ['python', 'y']]))\n"
        "js.postMessage(hello, to_js([channel.port2]))\n"
        "refusal = json.loads(await asyncio.wait_for(refused, 10))\n"
    )
    refusal = bridged.value("refusal")
    assert refusal["kind"] == "litebridge.error"
    assert refusal["id"] == 0
    assert refusal["error"]["code"] == "bad_request"
    assert "version 99" in refusal["error"]["message"]
    # the kernel's own connection is untouched
    assert bridged.value("page.call_sync('indentLeft', 'y', 1)") == " y"


def test_a_hello_from_a_worker_no_bridge_attached_to_is_refused(bridged: LiteKernel) -> None:
    refusal = page_settle(
        bridged.page,
        "const source = `const ch = new MessageChannel();"
        " ch.port1.onmessage = (e) => postMessage({ relay: e.data.json });"
        " postMessage({ v: 2, id: 0, kind: 'litebridge.hello', port: ch.port2, sab: null, pyodide: 'x', python: 'y' },"
        " [ch.port2]);`;"
        " const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));"
        " try {"
        "   const json = await new Promise((resolve, reject) => {"
        "     setTimeout(() => reject(new Error('no refusal within 10 s')), 10000);"
        "     worker.addEventListener('message', (e) => { if (e.data && e.data.relay) resolve(e.data.relay); });"
        "   });"
        "   return JSON.parse(json);"
        " } finally { worker.terminate(); }",
    )
    assert refusal["ok"], refusal
    assert refusal["value"]["id"] == 0
    assert refusal["value"]["error"]["code"] == "bad_request"
    assert "did not attach to this worker" in refusal["value"]["error"]["message"]


# --- cancellation ---------------------------------------------------------------------------------------------


def test_cancelling_a_python_task_aborts_the_page_handler(bridged: LiteKernel) -> None:
    bridged.run(
        "task = asyncio.ensure_future(page.call('hang', 'task', timeout=None))\n"
        "await asyncio.sleep(0.3)\n"
        "task.cancel()\n"
        "await asyncio.sleep(0.3)\n"
        "cancelled = task.cancelled()\n"
    )
    assert bridged.value("cancelled") is True
    aborts = [reason for tag, reason in _aborts(bridged) if tag == "task"]
    assert len(aborts) == 1
    assert "cancelled" in aborts[0]
    assert settled_table_counts(bridged) == EMPTY_TABLES


@pytest.mark.parametrize(
    "call", ["await page.call('hang', 'timeout', timeout=0.3)", "page.call_sync('hang', 'timeout-sync', timeout=0.3)"]
)
def test_a_timeout_aborts_the_page_handler(bridged: LiteKernel, call: str) -> None:
    tag = call.split("'")[3]
    with pytest.raises(KernelError, match="CallTimeout"):
        bridged.run(call)
    assert [t for t, _ in _aborts(bridged) if t == tag] == [tag]
    assert settled_table_counts(bridged) == EMPTY_TABLES


def test_a_page_timeout_or_abort_cancels_the_python_task(bridged: LiteKernel) -> None:
    before = bridged.value("Exits.cancelled")
    timed_out = page_run(bridged.page, bridged.id, "return await k.invoke('exits.sleepy', [], { timeoutMs: 300 });")
    assert timed_out["error"]["code"] == "timeout"
    aborted = page_run(
        bridged.page,
        bridged.id,
        "const c = new AbortController(); setTimeout(() => c.abort(new Error('user left')), 300);"
        " return await k.invoke('exits.sleepy', [], { signal: c.signal });",
    )
    assert aborted["error"]["message"] == "user left"
    assert settled_table_counts(bridged) == EMPTY_TABLES
    assert bridged.value("Exits.cancelled") == before + 2
