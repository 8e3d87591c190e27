"""``litebridge.window`` in a real kernel and page (issue 10): handles, callbacks, re-entry.

One kernel per hosting mode (the shared ones), Chromium: with COOP/COEP the sync forms use
``sab``; without isolation they use ``jspi`` in cells, and the awaitable form is also checked
where the transport is ``async`` (code running in an event-loop callback, where
``can_run_sync()`` is False). In WebKit, whose transport is ``async`` in every hosting mode,
one test runs the awaitable form with nothing forced. The restart test runs last: it restarts
the module's kernel.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from bridge_helpers import install_page_helpers, page_run, page_settle
from harness import KernelError, LiteKernel

pytestmark = pytest.mark.parametrize(
    "isolated", [True, False], ids=["coop-coep", "no-isolation"], indirect=True, scope="module"
)

SETUP_PY = """
import asyncio, gc
import litebridge
from litebridge import JSHandle, add_event_listener, alen, alist, aset, page, window
"""


@pytest.fixture(scope="module")
def win(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel with litebridge imported and the page helpers installed."""
    kernel.run(SETUP_PY)
    install_page_helpers(kernel.page)
    assert page_run(kernel.page, kernel.id, "return k.id;") == {"ok": True, "value": kernel.id}
    return kernel


@pytest.fixture(scope="module")
def transport(win: LiteKernel, isolated: bool) -> str:
    """``litebridge.transport`` in a cell: ``sab`` with COOP/COEP, ``jspi`` without (Chromium)."""
    value: str = win.value("litebridge.transport")
    assert value == ("sab" if isolated else "jspi")
    return value


def page_counts(kernel: LiteKernel) -> dict[str, int]:
    """The page side's reference counts of the kernel: ``k.handleCounts()``."""
    result = page_run(kernel.page, kernel.id, "return k.handleCounts();")
    assert result["ok"], result
    counts: dict[str, int] = result["value"]
    return counts


def settled_value(kernel: LiteKernel, expression: str, expected: Any, timeout_s: float = 5.0) -> Any:
    """``kernel.value(expression)`` once it equals ``expected`` (a page event's Python listener
    runs after the page's call returns), or as it is after ``timeout_s`` seconds."""
    value = kernel.value(expression)
    deadline = time.monotonic() + timeout_s
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        value = kernel.value(expression)
    return value


def settled_page_handles(kernel: LiteKernel, expected: int = 0, timeout_s: float = 5.0) -> int:
    """The page's live handle count once it is ``expected`` (releases cross asynchronously), or as it is."""
    handles = page_counts(kernel)["handles"]
    deadline = time.monotonic() + timeout_s
    while handles != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        handles = page_counts(kernel)["handles"]
    return handles


def test_values_handles_and_errors(win: LiteKernel, transport: str) -> None:
    win.run(
        # body.title, not document.title: JupyterLab rewrites document.title when its shell
        # changes, which can land between the write and the page's read below
        "window.document.body.title = 'litebridge window'\n"
        "window.localStorage.setItem('lb-k', 'v1')\n"
        "el = window.document.createElement('button')\n"
        "el.textContent = 'Click me'\n"
        "el.id = 'lb-button'\n"
        "window.document.body.appendChild(el)\n"
        "found = window.document.getElementById('lb-button')\n"
    )
    assert win.value("window.document.body.title") == "litebridge window"
    assert win.page.evaluate("() => document.body.title") == "litebridge window"
    assert win.value("window.localStorage.getItem('lb-k')") == "v1"
    assert win.value("repr(el)") == "<JSHandle HTMLButtonElement>"
    assert win.value("repr(window)") == "<JSHandle Window>"
    assert win.value("found is el") is True  # one live JSHandle per page object
    assert win.value("el.textContent") == "Click me"
    assert win.page.evaluate("() => document.getElementById('lb-button').textContent") == "Click me"
    assert win.value("[n in dir(el) for n in ('click', 'textContent', 'addEventListener')]") == [True, True, True]
    # values cross as values: lists, dicts, bytes; other objects as handles
    assert win.value("window.JSON.parse('[1, {\"a\": null}]')") == [1, {"a": None}]
    assert win.value("bytes(window.Uint8Array.new([1, 2, 255])).hex()") == "0102ff"
    assert win.value("window.Date.new(0).toISOString()") == "1970-01-01T00:00:00.000Z"
    assert win.value("repr(window.document.body.children)") == "<JSHandle HTMLCollection>"
    assert win.value("el['textContent']") == "Click me"
    # len(), iteration and `in`: collections, array-likes, Map and Set
    win.run(
        "ul = window.document.createElement('ul')\n"
        "for text in ('a', 'b', 'c'):\n"
        "    li = window.document.createElement('li')\n"
        "    li.textContent = text\n"
        "    ul.appendChild(li)\n"
    )
    assert win.value("[len(ul.children), [li.textContent for li in ul.children], ul.lastChild in ul.children]") == [
        3,
        ["a", "b", "c"],
        True,
    ]
    assert win.value(
        "[len(window.Map.new([['k', 1]])), list(window.Map.new([['k', 1]])), 2 in window.Set.new([1, 2])]"
    ) == [
        1,
        [["k", 1]],
        True,
    ]
    with pytest.raises(
        KernelError, match=r"JSHandle HTMLButtonElement has no len\(\): the page object has no integer length"
    ):
        win.run("len(el)")
    with pytest.raises(KernelError, match=r"JSHandle HTMLButtonElement is not iterable"):
        win.run("list(el)")
    # a page function that returns a promise is awaited on the page first
    assert win.value("window.fetch('jupyter-lite.json').status") == 200
    assert win.value("'jupyter-config-data' in window.fetch('jupyter-lite.json').json()") is True
    # a missing property is an AttributeError that names it
    win.run(
        "try:\n"
        "    el.colour\n"
        "    caught = None\n"
        "except AttributeError as exc:\n"
        "    caught = [type(exc).__name__, str(exc), exc.code]\n"
    )
    name, message, code = win.value("caught")
    assert (name, code) == ("UnknownPropertyError", "unknown_property")
    assert 'HTMLButtonElement has no property "colour"' in message
    assert win.value("[hasattr(el, 'colour'), getattr(el, 'colour', 'default')]") == [False, "default"]
    # page exceptions keep their name
    with pytest.raises(KernelError, match=r"JSError.*SyntaxError"):
        win.run("window.JSON.parse('{')")
    with pytest.raises(KernelError, match="HTMLBodyElement is not a function"):
        win.run("window.document.body()")
    # a released handle cannot be used any more
    win.run("tmp = window.document.createElement('span')\ntmp.release()\n")
    with pytest.raises(KernelError, match=r"ReferenceError.*<JSHandle HTMLSpanElement \(released\)> was released"):
        win.run("tmp.textContent")
    # page.call stays values-only
    with pytest.raises(KernelError, match="cannot send JSHandle at args\\[0\\]"):
        win.run("page.call_sync('nope', el)")


def test_python_callbacks_and_the_reentrant_click(win: LiteKernel, transport: str) -> None:
    win.run(
        "clicks = []\n"
        "def on_click(event):\n"
        "    print('clicked', event.type)\n"
        "    clicks.append(event.type)\n"
        "el.addEventListener('click', on_click)\n"
    )
    # on_click runs (and prints, into this cell) before el.click() returns
    out = win.run("el.click()\nprint('after click', clicks)\n")
    assert out == "clicked click\nafter click ['click']\n"
    # the same Python callable is the same page function: removeEventListener finds it
    out = win.run("el.removeEventListener('click', on_click)\nel.click()\nprint(clicks)\n")
    assert out == "['click']\n"
    # a page function made from a Python callable returns its result, and takes handles
    win.run("window.lbDouble = lambda x: x * 2\nwindow.lbTag = lambda node: node.tagName\n")
    assert page_settle(win.page, "return await window.lbDouble(21);") == {"ok": True, "value": 42}
    assert page_settle(win.page, "return await window.lbTag(document.body);") == {"ok": True, "value": "BODY"}
    failing = page_settle(win.page, "return await window.lbDouble();")
    assert failing["ok"] is False
    assert failing["error"]["isPythonError"]
    assert failing["error"]["type"] == "TypeError"
    # a Python object that is not callable: the page calls its public methods by name
    win.run(
        "class Counter:\n"
        "    def __init__(self):\n"
        "        self.n = 0\n"
        "    def add(self, k):\n"
        "        self.n += k\n"
        "        return self.n\n"
        "counter = Counter()\n"
        "window.lbCounter = counter\n"
        "window.lbIsCounter = lambda o: o is counter\n"
    )
    added = page_settle(win.page, "return [await window.lbCounter.add(2), await window.lbCounter.add(3)];")
    assert added == {"ok": True, "value": [2, 5]}
    assert page_settle(win.page, "return await window.lbIsCounter(window.lbCounter);") == {"ok": True, "value": True}
    for method, code in (("nope", "unknown_method"), ("_private", None)):
        refused = page_settle(win.page, f"return await window.lbCounter.{method}();")
        assert refused["ok"] is False, refused
        if code is not None:
            assert (refused["error"]["code"], refused["error"]["message"]) == (
                code,
                "the Python Counter object has no method 'nope'",
            )
    assert win.value("[counter.n, window.lbCounter is counter]") == [5, True]
    # add_event_listener: preventDefault declared up front, applied while the event is dispatched
    win.run(
        "submits = []\n"
        "form = window.document.createElement('form')\n"
        "listener = add_event_listener(form, 'submit', lambda e: submits.append(e.type), prevent_default=True)\n"
        "not_prevented = form.dispatchEvent(window.Event.new('submit', {'cancelable': True}))\n"
    )
    assert win.value("[not_prevented, submits]") == [False, ["submit"]]
    win.run("listener.remove()\nagain = form.dispatchEvent(window.Event.new('submit', {'cancelable': True}))\n")
    assert win.value("[again, submits]") == [True, ["submit"]]
    # a button and a counter, built with window only (as in the walkthrough notebook)
    win.run(
        "count = 0\n"
        "counter = window.document.createElement('span')\n"
        "def bump(event):\n"
        "    global count\n"
        "    count += 1\n"
        "    counter.textContent = f'{count} clicks'\n"
        "button = window.document.createElement('button')\n"
        "add_event_listener(button, 'click', bump)\n"
        "button.click(); button.click()\n"
    )
    assert win.value("counter.textContent") == "2 clicks"
    # idle kernel: a click on the page runs the Python listener too (served from the port)
    win.run("window.document.body.appendChild(button); button.id = 'lb-counter'\n")
    win.page.evaluate("() => document.getElementById('lb-counter').click()")
    win.page.wait_for_function("() => true")
    settled_value(win, "count", 3)
    assert win.value("[count, counter.textContent]") == [3, "3 clicks"]


def test_page_calls_are_served_while_python_blocks(win: LiteKernel, transport: str) -> None:
    """The former ``busy`` refusal: a handler that calls back into the blocked kernel."""
    win.run(
        "def multiply(a, b):\n"
        "    return a * b\n"
        "page.expose(multiply)\n"
        "page.register('''{ async viaKernel() { return await this.kernel.call('multiply', 6, 7); } }''')\n"
    )
    assert win.value("page.call_sync('viaKernel')") == 42
    # with sab, an async Python method cannot run while the kernel blocks: a handler that waits
    # for it is a genuine deadlock, which ends in a named error within the call's timeout (never
    # a hang); with jspi the event loop runs while Python is suspended, so it is served
    win.run(
        "async def later():\n"
        "    await asyncio.sleep(0)\n"
        "    return 'late'\n"
        "page.expose(later)\n"
        "page.register('''{ async waitsForAsync() { return await this.kernel.call('later'); } }''')\n"
    )
    if transport == "jspi":
        assert win.value("page.call_sync('waitsForAsync', timeout=10)") == "late"
        return
    started = time.monotonic()
    with pytest.raises(KernelError, match="CallTimeout"):
        win.run("page.call_sync('waitsForAsync', timeout=1.5)")
    assert time.monotonic() - started < 20
    assert win.value("page.call_sync('viaKernel')") == 42  # and the kernel serves again


def test_handle_counts_return_to_zero(win: LiteKernel, transport: str) -> None:
    drop_handles = (
        "import sys\n"
        "# the last uncaught error's traceback keeps its frames (and their handles) alive: in\n"
        "# sys.last_* and in IPython's traceback formatter, which keeps it for %debug\n"
        "sys.last_type = sys.last_value = sys.last_traceback = sys.last_exc = None\n"
        "get_ipython().InteractiveTB.tb = None\n"
        "for name, value in list(globals().items()):\n"
        "    if isinstance(value, (JSHandle, litebridge.Listener)) and value is not window:\n"
        "        del globals()[name]\n"
        "gc.collect()\n"
        "await asyncio.sleep(0.05)\n"
    )
    win.run(drop_handles)
    # every handle of the earlier tests of the module is gone, on both sides
    live = win.value("[repr(r()) for r, _ in page._table._handles.values()]")
    assert win.value("[page.handles['handles'], page.handles['queued']]") == [0, 0], live
    assert settled_page_handles(win) == 0
    win.run(
        "create = window.document.createElement  # a bound method: one round trip per call\n"
        "for i in range(10_000):\n"
        "    with create('div') as div:\n"
        "        pass\n"
        "for i in range(1_000):\n"
        "    create('p')  # released by garbage collection\n"
        "del create, div\n"
        "await asyncio.sleep(0.05)\n",
        timeout_s=240,
    )
    assert win.value("[page.handles['handles'], page.handles['queued']]") == [0, 0]
    # the page's Python function count moves with its garbage collector: only handles are compared
    assert settled_page_handles(win) == 0


def test_awaitable_form_where_the_transport_is_async(win: LiteKernel, isolated: bool) -> None:
    """Without isolation, the transport is ``async`` where ``can_run_sync()`` is False.

    In Chromium cells (and the WebLoop's tasks) JSPI works, so the test makes
    ``pyodide.ffi.can_run_sync`` report False, as it does in a browser without JSPI (WebKit) or
    in Python the page called: every operation then goes over the port with ``sync: false``.
    With COOP/COEP the transport stays ``sab`` and the same forms are checked.
    """
    win.run("import litebridge._pyodide as _lb_link\n_lb_real_can_run_sync = _lb_link.can_run_sync\n")
    if not isolated:
        win.run("_lb_link.can_run_sync = lambda: False\n")
    try:
        _awaitable_forms(win, can_block=isolated)
    finally:
        win.run("_lb_link.can_run_sync = _lb_real_can_run_sync\n")


@pytest.mark.all_browsers
@pytest.mark.only_browser("webkit")
def test_awaitable_form_where_the_browser_cannot_block(win: LiteKernel) -> None:
    """WebKit: the transport is ``async`` in cells in every hosting mode (no JSPI, no
    SharedArrayBuffer in its worker: the table in ``docs/usage.md``), with nothing forced.

    The awaitable form, a method call with a handle argument, a Python listener the page's click
    calls, a page function made from a Python callable, and the sync form's ``SyncUnavailable``.
    """
    _awaitable_forms(win, can_block=False)
    win.run(
        "events = []\n"
        "async def listening_button():\n"
        "    button = await window.aio.document.createElement('button')\n"
        "    await aset(button.aio.id, 'lb-async-button')\n"
        "    await window.aio.document.body.appendChild(button)\n"
        "    await button.aio.addEventListener('click', lambda event: events.append(repr(event)))\n"
        "    await aset(window.aio.lbTriple, lambda x: x * 3)\n"
        "    return button\n"
        "async_button = await listening_button()\n"
    )
    assert win.value("repr(async_button)") == "<JSHandle HTMLButtonElement>"
    win.page.evaluate("() => document.getElementById('lb-async-button').click()")
    settled_value(win, "len(events)", 1)
    (event,) = win.value("events")
    assert event.startswith("<JSHandle "), event
    assert event.endswith("Event>"), event
    assert page_settle(win.page, "return await window.lbTriple(14);") == {"ok": True, "value": 42}
    with pytest.raises(KernelError, match="SyncUnavailable"):
        win.run("async_button.click()")


def _awaitable_forms(win: LiteKernel, can_block: bool) -> None:
    """The awaitable form in a cell; ``can_block``: the transport is ``sab`` (else ``async``)."""
    win.run(
        "async def awaited_forms():\n"
        "    out = {'transport': litebridge.transport}\n"
        "    # a property of the page's own (JupyterLab rewrites document.title when its shell changes)\n"
        "    await aset(window.aio.document.body.dataset.lbAio, 'set by aset')\n"
        "    out['title'] = await window.aio.document.body.dataset.lbAio\n"
        "    await window.aio.localStorage.setItem('lb-k', 'v2')\n"
        "    out['item'] = await window.aio.localStorage.getItem('lb-k')\n"
        "    response = await window.aio.fetch('jupyter-lite.json')\n"
        "    out['status'] = await response.aio.status\n"
        "    out['window'] = (await window.aio) is window\n"
        "    out['len'] = await alen(window.aio.navigator.languages)\n"
        "    out['list'] = await alist(window.aio.navigator.languages)\n"
        "    try:\n"
        "        await alist(window.aio.JSON)\n"
        "    except TypeError as exc:\n"
        "        out['not_iterable'] = str(exc)\n"
        "    try:\n"
        "        window.document\n"
        "        out['sync'] = 'no error'\n"
        "    except litebridge.SyncUnavailable as exc:\n"
        "        out['sync'] = str(exc)\n"
        "    try:\n"
        "        await window.aio.document.nothing_here\n"
        "    except AttributeError as exc:\n"
        "        out['missing'] = str(exc)\n"
        "    return out\n"
        "out = await awaited_forms()\n"
    )
    out: dict[str, Any] = win.value("out")
    assert out["transport"] == ("sab" if can_block else "async")
    assert out["title"] == "set by aset"
    assert out["item"] == "v2"
    assert out["status"] == 200
    assert out["window"] is True
    assert out["len"] == len(out["list"]) >= 1
    assert all(isinstance(language, str) for language in out["list"])
    assert out["not_iterable"].startswith("JSHandle Window.JSON is not iterable"), out
    assert 'has no property "nothing_here"' in out["missing"]
    if can_block:
        assert out["sync"] == "no error"
    else:
        assert "window (a JSHandle) cannot block" in out["sync"]
        assert "await handle.aio" in out["sync"]


def test_restart_frees_page_handles_and_closes_callbacks(win: LiteKernel) -> None:
    """Runs last: restarts the module's kernel."""
    win.run("keep = [window.document.createElement('p') for _ in range(5)]\nwindow.lbDead = lambda: 'alive'\n")
    assert page_settle(win.page, "return await window.lbDead();") == {"ok": True, "value": "alive"}
    before = page_counts(win)
    assert before["handles"] >= 5
    page_run(win.page, win.id, "window.__lbOld = k; return true;")
    win.page.evaluate("(id) => window.__lbTest.kernels[id].restart()", win.id)
    dead = page_settle(win.page, "return await window.lbDead();")
    assert dead["ok"] is False
    assert dead["error"]["code"] == "closed"
    assert page_settle(win.page, "return window.__lbOld.handleCounts();") == {
        "ok": True,
        "value": {"handles": 0, "python": 0},
    }
