"""The fault suite of issue 7: volume, faults and bad inputs, each ending in a named error.

Both header modes. Kernels: A and B in one tab (two notebooks' worth), C in a second tab of the
same browser context, plus throwaway kernels for restart and reload (never the shared ones).

- **Volume:** 10,800 calls at once across A, B and C: per kernel 1,200 ``await page.call``
  (gathered), 1,200 ``page.call_sync`` and 1,200 page -> Python ``k.call``, every answer tagged
  with who asked and who answered. 0 lost, 0 answered to the wrong caller, 0 hangs (every wait
  is bounded), and every table empty afterwards.
- **Faults:** a handler that throws or never answers, an exposed method that never returns or
  raises ``SystemExit``, a kernel restart and a page reload in the middle of a call.
- **Bad inputs:** refused before anything is sent, with an error naming the path.

The figures printed (``-s``) go into the issue note.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from bridge_helpers import EMPTY_TABLES, install_page_helpers, page_run, settled_table_counts
from harness import KernelError, LiteKernel, wait_for_app
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer

CALLS_PER_KIND = 1200

# Page handlers, registered by page code for every kernel of a tab.
_PAGE_JS = r"""
if (!window.__lbFaults) {
  window.__lbFaults = { recorded: 0, started: [], aborts: [] };
  window.litebridge.register({
    tagged(label, i) { return [label, i, this.kernel.id]; },
    record() { window.__lbFaults.recorded += 1; return true; },
    explode(message) { throw new RangeError(message); },
    silent(tag) {
      window.__lbFaults.started.push(tag);
      return new Promise((resolve) => {
        this.signal.addEventListener('abort', () => {
          window.__lbFaults.aborts.push([tag, String(this.signal.reason?.message ?? this.signal.reason)]);
          resolve('too late');
        });
      });
    },
  });
}
return true;
"""

_KERNEL_PY = r"""
import asyncio, json
import litebridge
from litebridge import page

LABEL = {label!r}

class Load:
    recorded = 0
    cancelled = 0
    def tag_back(self, label, i):
        return [LABEL, label, i]
    def record(self, *args):
        Load.recorded += 1
        return len(args)
    def leave(self):
        raise SystemExit(2)
    async def never(self):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            Load.cancelled += 1
            raise

page.expose(Load(), name="load")
"""

# One cell: n gathered `await page.call` then n `page.call_sync`, every answer checked.
_LOAD_CELL = r"""
kid = {kid!r}
n = {n}
bad = []
results = await asyncio.gather(*(page.call("tagged", LABEL, i) for i in range(n)))
bad += [("async", i, r) for i, r in enumerate(results) if r != [LABEL, i, kid]]
for i in range(n):
    r = page.call_sync("tagged", LABEL, i)
    if r != [LABEL, i, kid]:
        bad.append(("sync", i, r))
print(json.dumps({{"calls": 2 * n, "bad": len(bad), "first_bad": bad[:3]}}))
"""

# Start, on a page, the load of every kernel given: its Python cell and n page -> Python calls
# (retried after a `busy` refusal, which is an answer, not a loss), all at once.
_START_LOAD = r"""
const [kernels, n, ms] = arg;
const one = async ({ id, label, cell }) => {
  const k = await window.litebridge.kernel(id);
  let busy = 0;
  const call = async (i) => {
    for (;;) {
      try {
        return await k.invoke('load.tag_back', [label, i], { timeoutMs: ms });
      } catch (error) {
        if (error?.code !== 'busy') throw error;
        busy += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  };
  const pageCalls = Promise.allSettled(Array.from({ length: n }, (_, i) => call(i)));
  const execute = window.__lbTest.run(id, cell, ms)
    .catch((error) => ({ error: { ename: 'Hang', evalue: String(error) } }));
  const [settled, out] = await Promise.all([pageCalls, execute]);
  const rejected = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.message ?? s.reason));
  const wrong = settled.filter((s, i) => s.status === 'fulfilled'
    && JSON.stringify(s.value) !== JSON.stringify([label, label, i])).length;
  return { id, label, pageCalls: n, rejected: rejected.slice(0, 3), nrejected: rejected.length, wrong, busy, out };
};
window.__lbLoad = Promise.all(kernels.map(one));
return true;
"""


def _setup(kernel: LiteKernel, label: str) -> None:
    kernel.run(_KERNEL_PY.format(label=label))
    install_page_helpers(kernel.page)
    assert page_run(kernel.page, kernel.id, _PAGE_JS) == {"ok": True, "value": True}


@pytest.fixture(scope="module")
def kernel_a(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel, A."""
    _setup(kernel, "A")
    return kernel


@pytest.fixture(scope="module")
def kernel_b(lab_page: Page, kernel_a: LiteKernel) -> Iterator[LiteKernel]:
    """A second kernel in A's tab, B."""
    second = LiteKernel(lab_page)
    _setup(second, "B")
    yield second
    second.shutdown()


@pytest.fixture(scope="module")
def tab_c(lite_context: BrowserContext, site_server: SiteServer) -> Iterator[Page]:
    """A second tab of the same browser context."""
    tab = lite_context.new_page()
    tab.goto(site_server.url + "lab/index.html")
    wait_for_app(tab)
    yield tab
    tab.close()


@pytest.fixture(scope="module")
def kernel_c(tab_c: Page, kernel_a: LiteKernel) -> Iterator[LiteKernel]:
    """A kernel in the second tab, C."""
    third = LiteKernel(tab_c)
    _setup(third, "C")
    yield third
    third.shutdown()


def _load_spec(kernel: LiteKernel, label: str) -> dict[str, str]:
    return {"id": kernel.id, "label": label, "cell": _LOAD_CELL.format(kid=kernel.id, n=CALLS_PER_KIND)}


# --- volume -----------------------------------------------------------------------------------


def test_ten_thousand_mixed_calls_none_lost_none_misrouted(
    kernel_a: LiteKernel, kernel_b: LiteKernel, kernel_c: LiteKernel, isolated: bool
) -> None:
    ms = 120_000
    tab_a, tab_c = kernel_a.page, kernel_c.page
    assert page_run(tab_c, kernel_c.id, _START_LOAD, [[_load_spec(kernel_c, "C")], CALLS_PER_KIND, ms])["ok"]
    assert page_run(
        tab_a, kernel_a.id, _START_LOAD, [[_load_spec(kernel_a, "A"), _load_spec(kernel_b, "B")], CALLS_PER_KIND, ms]
    )["ok"]
    reports: list[dict[str, Any]] = []
    for tab, kernel in ((tab_a, kernel_a), (tab_c, kernel_c)):
        outcome = page_run(tab, kernel.id, "return await window.__lbLoad;", timeout_ms=ms)
        assert outcome["ok"], outcome
        reports.extend(outcome["value"])
    total = lost = wrong = busy = 0
    for report in reports:
        out = report["out"]
        assert out.get("error") is None, f"kernel {report['label']}: {out['error']}"
        python = json.loads(out["stdout"].strip().splitlines()[-1])
        assert python["bad"] == 0, f"kernel {report['label']} got wrong answers: {python['first_bad']}"
        assert report["nrejected"] == 0, f"kernel {report['label']}: {report['rejected']}"
        assert report["wrong"] == 0
        total += python["calls"] + report["pageCalls"]
        lost += report["nrejected"]
        wrong += python["bad"] + report["wrong"]
        busy += report["busy"]
    assert total == 3 * 3 * CALLS_PER_KIND >= 10_000
    for kernel in (kernel_a, kernel_b, kernel_c):
        assert settled_table_counts(kernel) == EMPTY_TABLES
    mode = "coop-coep" if isolated else "no-isolation"
    print(f"\n[faults {mode}] {total} calls, {lost} lost, {wrong} wrong, 0 hangs, {busy} busy refusals retried")


# --- faults -------------------------------------------------------------------------------------


def test_a_throwing_handler_is_a_named_error(kernel_a: LiteKernel) -> None:
    for call in ("page.call_sync('explode', 'bad day')", "await page.call('explode', 'bad day')"):
        kernel_a.run(
            f"try:\n    {call}\nexcept litebridge.JSError as exc:\n    caught = [exc.name, exc.message, exc.code]\n"
        )
        assert kernel_a.value("caught") == ["RangeError", "bad day", None]
    assert kernel_a.value("6 * 7") == 42


def test_a_silent_handler_times_out_and_is_aborted(kernel_a: LiteKernel) -> None:
    for tag, call in (
        ("s1", "page.call_sync('silent', 's1', timeout=0.5)"),
        ("s2", "await page.call('silent', 's2', timeout=0.5)"),
    ):
        with pytest.raises(KernelError, match="CallTimeout: no answer from the page"):
            kernel_a.run(call)
        aborts = kernel_a.page.evaluate("() => window.__lbFaults.aborts")
        assert [t for t, _ in aborts if t == tag] == [tag]
    assert settled_table_counts(kernel_a) == EMPTY_TABLES


def test_a_python_method_that_never_returns_times_out_and_is_cancelled(kernel_a: LiteKernel) -> None:
    before = kernel_a.value("Load.cancelled")
    result = page_run(kernel_a.page, kernel_a.id, "return await k.invoke('load.never', [], { timeoutMs: 500 });")
    assert result["error"]["code"] == "timeout"
    assert settled_table_counts(kernel_a) == EMPTY_TABLES
    assert kernel_a.value("Load.cancelled") == before + 1


def test_an_exposed_method_raising_system_exit(kernel_a: LiteKernel) -> None:
    result = page_run(kernel_a.page, kernel_a.id, "return await k.invoke('load.leave', [], { timeoutMs: 10000 });")
    assert result["error"]["isPythonError"]
    assert result["error"]["type"] == "SystemExit"
    assert kernel_a.value("page.call_sync('tagged', LABEL, 1)") == ["A", 1, kernel_a.id]


def _start_blocked_cell(page: Page, kernel: LiteKernel, tag: str) -> None:
    """Run ``page.call_sync('silent', tag, timeout=None)`` in ``kernel`` without waiting for it."""
    page.evaluate(
        "([id, code]) => { window.__lbBlocked = window.__lbTest.run(id, code, 120000)"
        ".then((out) => ({ settled: 'reply', out }), (error) => ({ settled: 'rejected', error: String(error) })); }",
        [kernel.id, f"page.call_sync('silent', {tag!r}, timeout=None)"],
    )
    page.wait_for_function("(tag) => window.__lbFaults.started.includes(tag)", arg=tag, timeout=30_000)


def test_kernel_restart_in_the_middle_of_calls(lab_page: Page, kernel_a: LiteKernel) -> None:
    kernel = LiteKernel(lab_page)
    try:
        _setup(kernel, "T")
        # page -> Python pending while Python -> page is blocked: both directions at once
        _start_blocked_cell(lab_page, kernel, "restart")
        pending = page_run(
            lab_page,
            kernel.id,
            "window.__lbPending = k.invoke('load.tag_back', ['T', 1], { timeoutMs: 60000 }).then("
            " (v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code, message: e.message })); return true;",
        )
        assert pending["ok"]
        lab_page.evaluate("(id) => window.__lbTest.kernels[id].restart()", kernel.id)
        # page -> Python: served re-entrantly while Python was blocked (docs/protocol.md section 8),
        # or a named error (closed by the restart); never a hang
        outcome = lab_page.evaluate("() => window.__lbPending")
        assert outcome["ok"] is True or outcome["code"] == "closed", outcome
        # Python -> page: the kernel is gone; its handler is aborted with the reason
        lab_page.wait_for_function("() => window.__lbFaults.aborts.some(([t]) => t === 'restart')", timeout=30_000)
        reason = next(r for t, r in lab_page.evaluate("() => window.__lbFaults.aborts") if t == "restart")
        assert "restarted or shut down" in reason
        blocked = lab_page.evaluate("() => window.__lbBlocked")
        assert blocked["settled"] in ("reply", "rejected")  # the cell ended: no hang
        # the restarted kernel works
        _setup(kernel, "T")
        assert kernel.value("page.call_sync('tagged', LABEL, 2)") == ["T", 2, kernel.id]
    finally:
        lab_page.evaluate("(id) => window.__lbTest.kernels[id] && window.__lbTest.shutdown(id)", kernel.id)


def test_page_reload_in_the_middle_of_a_call(lite_context: BrowserContext, site_server: SiteServer) -> None:
    tab = lite_context.new_page()
    try:
        tab.goto(site_server.url + "lab/index.html")
        wait_for_app(tab)
        kernel = LiteKernel(tab)
        _setup(kernel, "R")
        _start_blocked_cell(tab, kernel, "reload")
        tab.reload()
        wait_for_app(tab)
        fresh = LiteKernel(tab)
        _setup(fresh, "R2")
        assert fresh.value("page.call_sync('tagged', LABEL, 3)") == ["R2", 3, fresh.id]
        assert fresh.value("litebridge.transport") in ("sab", "jspi")
        fresh.shutdown()
    finally:
        tab.close()


# --- bad inputs ------------------------------------------------------------------------------------

_PY_BAD = [
    ("float('nan')", "cannot send float nan at args[0]"),
    ("[1, float('inf')]", "cannot send float inf at args[0][1]"),
    ("{'k': 2**53}", "cannot send int 9007199254740992 at args[0]['k']"),
    ("cyclic", "cyclic"),
    ("'\\ud800'", "lone surrogate at args[0]"),
    ("{1, 2}", "cannot send set at args[0]"),
    ("lambda: 1", "cannot send function at args[0]"),
]


@pytest.mark.parametrize(("value", "message"), _PY_BAD, ids=[v for v, _ in _PY_BAD])
def test_python_bad_inputs_are_refused_before_sending(kernel_a: LiteKernel, value: str, message: str) -> None:
    before = kernel_a.page.evaluate("() => window.__lbFaults.recorded")
    kernel_a.run("cyclic = [1]\ncyclic.append(cyclic)\n")
    for call in (f"page.call_sync('record', {value})", f"await page.call('record', {value})"):
        with pytest.raises(KernelError, match="TypeError") as info:
            kernel_a.run(call)
        assert message in info.value.evalue
    assert kernel_a.page.evaluate("() => window.__lbFaults.recorded") == before


def test_python_private_names_and_oversized_payloads_are_refused_before_sending(kernel_a: LiteKernel) -> None:
    before = kernel_a.page.evaluate("() => window.__lbFaults.recorded")
    with pytest.raises(KernelError, match="UnknownMethodError") as info:
        kernel_a.run("page.call_sync('_record')")
    assert "'_record' is forbidden" in info.value.evalue
    kernel_a.run("half = bytes(2**27 + 1)")
    with pytest.raises(KernelError, match="ValueError") as info:
        kernel_a.run("page.call_sync('record', half, half)")
    assert "over the limit of 268435456 bytes (256 MiB)" in info.value.evalue
    kernel_a.run("del half")
    assert kernel_a.page.evaluate("() => window.__lbFaults.recorded") == before


_JS_BAD = [
    ("NaN", "TypeError", "cannot send NaN at args[0]"),
    ("[1, Infinity]", "TypeError", "cannot send Infinity at args[0][1]"),
    ("{ k: 10n }", "TypeError", "cannot send bigint at args[0].k"),
    ("(() => { const c = [1]; c.push(c); return c; })()", "TypeError", "cannot send cyclic structure at args[0][1]"),
    ("'\\ud800'", "TypeError", "lone surrogate at args[0]"),
    ("new Set([1])", "TypeError", "cannot send Set at args[0]"),
    ("() => 1", "TypeError", "cannot send function at args[0]"),
]


@pytest.mark.parametrize(("value", "name", "message"), _JS_BAD, ids=[v for v, _, _ in _JS_BAD])
def test_page_bad_inputs_are_refused_before_sending(kernel_a: LiteKernel, value: str, name: str, message: str) -> None:
    before = kernel_a.value("Load.recorded")
    result = page_run(kernel_a.page, kernel_a.id, f"return await k.call('load.record', {value});")
    assert result["ok"] is False
    assert result["error"]["name"] == name
    assert message in result["error"]["message"]
    assert kernel_a.value("Load.recorded") == before


def test_page_private_names_and_oversized_payloads_are_refused_before_sending(kernel_a: LiteKernel) -> None:
    before = kernel_a.value("Load.recorded")
    private = page_run(kernel_a.page, kernel_a.id, "return await k.call('load._secret');")
    assert private["error"]["code"] == "forbidden_name"
    big = page_run(
        kernel_a.page,
        kernel_a.id,
        "const half = new Uint8Array(129 * 1024 * 1024); return await k.call('load.record', half, half);",
    )
    assert big["error"]["name"] == "RangeError"
    assert "over the limit of 268435456 bytes (256 MiB)" in big["error"]["message"]
    assert kernel_a.value("Load.recorded") == before
