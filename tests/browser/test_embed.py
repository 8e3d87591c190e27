"""``embed()`` (issue 9): a host page runs code in, and calls, a kernel living in an iframe.

Both header modes. One hidden embedded kernel per mode, booted once by a host page on the site's
own origin (``embed_helpers.make_embed_root``); restart runs last. Origins, two kernels on one
page and the demo page are in ``test_embed_origins.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embed_helpers import call, execute, make_embed_root, open_host, start_kernel, stdout_of
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer, start_server

EXPOSE_PY = """
import asyncio
from litebridge import page

class Example:
    def multiply(self, a, b):
        return a * b
    def divide(self, a, b):
        return a / b
    async def noisy(self, seconds):
        print("printed by noisy")
        await asyncio.sleep(seconds)
        return "noisy done"

page.expose(Example())
"""


@pytest.fixture(scope="module")
def embed_server(site_dir: Path, isolated: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteServer]:
    """The host pages and the site view, on one origin (the host is on the site's own origin)."""
    root = make_embed_root(site_dir, tmp_path_factory.mktemp("embed"), embed_origins=[])
    server, thread = start_server(root, 0, isolation=isolated)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def host(lite_context: BrowserContext, embed_server: SiteServer) -> Iterator[Page]:
    """The host page with one embedded kernel, ``"a"``, hidden, with EXPOSE_PY run in it."""
    page = lite_context.new_page()
    open_host(page, embed_server.url + "host.html")
    started = start_kernel(page, "a")
    assert started["ok"], started
    setup = execute(page, "a", EXPOSE_PY)
    assert setup["ok"], setup
    assert setup["result"]["status"] == "ok", setup
    yield page
    page.evaluate("() => Object.values(window.__lbEmbedTest.kernels).forEach((k) => k.dispose())")
    page.close()


def _types(result: dict[str, Any]) -> list[str]:
    return [o["output_type"] + (f":{o['name']}" if o["output_type"] == "stream" else "") for o in result["outputs"]]


def test_transport_follows_the_headers(host: Page, isolated: bool) -> None:
    transport = host.evaluate("() => window.__lbEmbedTest.kernels.a.transport")
    assert transport == ("sab" if isolated else "jspi")
    out = execute(host, "a", "import litebridge\nlitebridge.transport")
    assert out["result"]["outputs"][-1]["data"]["text/plain"] == repr(transport)


def test_execute_collects_every_kind_of_output_in_order(host: Page) -> None:
    code = (
        "import sys\n"
        "from IPython.display import HTML, display\n"
        "print('to stdout')\n"
        "print('to stderr', file=sys.stderr)\n"
        "display(HTML('<b>bold</b>'))\n"
        "6 * 7"
    )
    out = execute(host, "a", code)
    assert out["ok"], out
    result = out["result"]
    assert result["status"] == "ok"
    assert result["error"] is None
    assert isinstance(result["executionCount"], int)
    assert _types(result) == ["stream:stdout", "stream:stderr", "display_data", "execute_result"], result["outputs"]
    assert stdout_of(result) == "to stdout\n"
    assert result["outputs"][1]["text"] == "to stderr\n"
    assert result["outputs"][2]["data"]["text/html"] == "<b>bold</b>"
    assert result["outputs"][3]["data"]["text/plain"] == "42"
    # onOutput saw every piece as it arrived (a stream may come in several pieces, which the
    # outputs merge as a notebook does)
    streamed = out["streamed"]
    assert [o for o in streamed if o["output_type"] != "stream"] == result["outputs"][2:]
    assert "".join(o["text"] for o in streamed if o["output_type"] == "stream" and o["name"] == "stderr") == (
        "to stderr\n"
    )

    again = execute(host, "a", "1 + 1")
    assert again["result"]["executionCount"] == result["executionCount"] + 1


def test_execute_error_reports_the_exception(host: Page) -> None:
    out = execute(host, "a", "print('before')\n1 / 0")
    assert out["ok"], out
    result = out["result"]
    assert result["status"] == "error"
    assert result["error"]["ename"] == "ZeroDivisionError"
    assert result["error"]["evalue"] == "division by zero"
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(result["error"]["traceback"]))
    assert "ZeroDivisionError" in traceback
    assert "1 / 0" in traceback or "1/0" in traceback.replace(" ", ""), traceback
    assert _types(result) == ["stream:stdout", "error"]
    assert result["outputs"][1]["ename"] == "ZeroDivisionError"
    # an execute queued behind one that raises still runs (JupyterLite's kernel client would
    # drop it without a reply if it waited in the kernel's queue)
    both = host.evaluate(
        """async () => {
          const k = window.__lbEmbedTest.kernels.a;
          const first = k.execute('import asyncio\\nawait asyncio.sleep(0.3)\\n1 / 0');
          const second = k.execute("'second'", { timeoutMs: 20000 });
          const settle = (p) => p.then((r) => r, (e) => window.__lbEmbedTest.describe(e));
          return [await settle(first), await settle(second)];
        }"""
    )
    assert both[0]["status"] == "error", both
    assert both[1]["status"] == "ok", both
    assert both[1]["outputs"][-1]["data"]["text/plain"] == "'second'"


def test_executes_queue_in_order_and_outputs_never_mix(host: Page) -> None:
    outcomes = host.evaluate(
        """async () => {
          const k = window.__lbEmbedTest.kernels.a;
          const order = [];
          const runs = [0, 1, 2].map((i) => k.execute(
            `import asyncio\\nfor j in range(3):\\n    print('run ${i}', j)\\n    await asyncio.sleep(0.05)\\n${i}`,
            { onOutput: () => order.push(i) }));
          const results = await Promise.all(runs);
          return { results, order };
        }"""
    )
    for i, result in enumerate(outcomes["results"]):
        assert result["status"] == "ok"
        assert stdout_of(result) == "".join(f"run {i} {j}\n" for j in range(3))
        assert result["outputs"][-1]["data"]["text/plain"] == str(i)
    # they ran one after the other, in the order they were asked for
    assert outcomes["order"] == sorted(outcomes["order"])
    counts = [r["executionCount"] for r in outcomes["results"]]
    assert counts == sorted(counts)
    assert len(set(counts)) == 3


def test_execute_timeout_rejects_and_the_kernel_keeps_serving(host: Page) -> None:
    code = "import time\nfor _ in range(30):\n    time.sleep(0.1)\nprint('slept')"
    out = execute(host, "a", code, timeout_ms=500)
    assert out["ok"] is False
    assert out["error"]["name"] == "BridgeError"
    assert out["error"]["code"] == "timeout"
    assert "did not finish within 500 ms" in out["error"]["message"]
    assert "import time" in out["error"]["message"]
    after = execute(host, "a", "'after'")
    assert after["ok"], after
    assert after["result"]["outputs"][-1]["data"]["text/plain"] == "'after'"
    # the late outputs of the timed-out execute went nowhere near the next one
    assert "slept" not in stdout_of(after["result"])


def test_host_calls_python(host: Page) -> None:
    assert call(host, "a", "multiply", 6, 7) == {"ok": True, "value": 42}
    raised = call(host, "a", "divide", 1, 0)
    assert raised["ok"] is False
    assert raised["error"]["name"] == "PythonError"
    assert raised["error"]["type"] == "ZeroDivisionError"
    assert "divide" in raised["error"]["traceback"]
    unknown = call(host, "a", "nope")
    assert unknown["error"]["name"] == "BridgeError"
    assert unknown["error"]["code"] == "unknown_method"
    assert "'nope'" in unknown["error"]["message"]
    bad = host.evaluate(
        "() => window.__lbEmbedTest.kernels.a.call('multiply', () => 1, 2)"
        ".then(() => 'resolved', (e) => `${e.name}: ${e.message}`)"
    )
    assert bad == "TypeError: cannot send function at args[0]"


def test_python_calls_host_handlers(host: Page) -> None:
    code = (
        "from litebridge import page, JSError, UnknownMethodError\n"
        "r = await page.call('record', 1, 'two', [3])\n"
        "slow = await page.call('slowEcho', {'k': 'v'}, 50)\n"
        "try:\n"
        "    await page.call('fail', 'boom')\n"
        "except JSError as e:\n"
        "    failed = (e.name, e.message)\n"
        "try:\n"
        "    await page.call('missing')\n"
        "except UnknownMethodError as e:\n"
        "    missing = str(e)\n"
        "print(r, slow, failed)\n"
        "print(missing)\n"
    )
    host.evaluate("() => { window.__lbEmbedTest.calls.length = 0; }")
    out = execute(host, "a", code)
    assert out["ok"], out
    assert out["result"]["status"] == "ok", out
    lines = stdout_of(out["result"]).splitlines()
    assert lines[0] == "recorded by a {'k': 'v'} ('RangeError', 'boom')"
    assert "missing" in lines[1]
    assert host.evaluate("() => window.__lbEmbedTest.calls") == [{"kernel": "a", "args": [1, "two", [3]]}]


def test_call_sync_reaches_a_host_handler(host: Page, isolated: bool) -> None:
    host.evaluate("() => { window.__lbEmbedTest.calls.length = 0; }")
    code = (
        "import litebridge\n"
        "from litebridge import page\n"
        "print(litebridge.transport, page.call_sync('record', 'sync'), page.call_sync('slowEcho', 5, 20))"
    )
    out = execute(host, "a", code)
    assert out["ok"], out
    assert out["result"]["status"] == "ok", out
    assert stdout_of(out["result"]) == f"{'sab' if isolated else 'jspi'} recorded by a 5\n"
    assert host.evaluate("() => window.__lbEmbedTest.calls") == [{"kernel": "a", "args": ["sync"]}]


def test_output_of_a_host_call_is_not_attributed_to_a_running_execute(host: Page) -> None:
    outcome = host.evaluate(
        """async () => {
          const k = window.__lbEmbedTest.kernels.a;
          const running = k.execute(
            "import asyncio\\nprint('cell start')\\nawait asyncio.sleep(1)\\nprint('cell end')");
          await new Promise((r) => setTimeout(r, 300));
          const value = await k.call('noisy', 0);
          return { value, result: await running };
        }"""
    )
    assert outcome["value"] == "noisy done"
    assert stdout_of(outcome["result"]) == "cell start\ncell end\n"


def test_interrupt_stops_a_running_execute(host: Page, isolated: bool) -> None:
    if not isolated:
        pytest.skip("Pyodide's interrupt buffer is a SharedArrayBuffer: needs COOP/COEP")
    outcome = host.evaluate(
        """async () => {
          const k = window.__lbEmbedTest.kernels.a;
          const running = k.execute(
            'import time\\nfor _ in range(100):\\n    time.sleep(0.05)\\nprint("not interrupted")');
          const queued = k.execute("print('queued ran')");
          await new Promise((r) => setTimeout(r, 800));
          const interrupted = await k.interrupt().then(() => 'ok', (e) => `${e.name}: ${e.message}`);
          // sent right after the interrupt, while the interrupted execute is still ending
          const next = k.execute("'next'", { timeoutMs: 20000 }).catch((e) => window.__lbEmbedTest.describe(e));
          return { interrupted, result: await running, queued: await queued, next: await next };
        }"""
    )
    assert outcome["interrupted"] == "ok"
    result = outcome["result"]
    assert result["status"] == "error", result
    assert result["error"]["ename"] == "KeyboardInterrupt"
    # as the app's interrupt drops the queued cells: the execute queued behind it is aborted
    assert outcome["queued"]["status"] == "aborted", outcome["queued"]
    assert outcome["queued"]["outputs"] == []
    assert outcome["next"]["status"] == "ok", outcome["next"]
    assert outcome["next"]["outputs"][-1]["data"]["text/plain"] == "'next'"


def test_restart_gives_a_fresh_kernel_and_keeps_host_handlers(host: Page, isolated: bool) -> None:
    """Runs last: restarts the shared kernel."""
    assert execute(host, "a", "marker = 'before restart'")["ok"]
    outcome = host.evaluate(
        """async () => {
          const k = window.__lbEmbedTest.kernels.a;
          const running = k.execute('import asyncio\\nawait asyncio.sleep(30)');
          const pending = k.call('noisy', 30).then((v) => ({ ok: true, v }), (e) => window.__lbEmbedTest.describe(e));
          await new Promise((r) => setTimeout(r, 500));
          await k.restart();
          return { running: await running, pending: await pending, transport: k.transport };
        }"""
    )
    assert outcome["running"]["status"] == "aborted"
    assert outcome["pending"]["code"] == "closed"
    assert outcome["transport"] == ("sab" if isolated else "jspi")
    fresh = execute(host, "a", "marker")
    assert fresh["result"]["status"] == "error"
    assert fresh["result"]["error"]["ename"] == "NameError"
    # host handlers survive the restart; exposed Python objects do not
    out = execute(host, "a", "from litebridge import page\nawait page.call('record', 'after restart')")
    assert out["result"]["outputs"][-1]["data"]["text/plain"] == "'recorded by a'"
    assert call(host, "a", "multiply", 2, 3)["error"]["code"] == "unknown_method"
