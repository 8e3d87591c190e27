"""The kernel's Stop button and ``kernel.interrupt()`` (docs/usage.md, "Interrupt").

With COOP/COEP a running cell ends with ``KeyboardInterrupt`` -- a busy loop, ``time.sleep(60)``
and a ``page.call_sync(..., timeout=None)`` blocked on a page handler that never answers -- in
a kernel that never imported litebridge as well as in one that did, and the kernel (and the
bridge) work afterwards. Without isolation, Stop keeps JupyterLite's own behaviour: the running
cell finishes, the queued cells are dropped.

Cells are started and interrupted through the app's own kernel API (``KernelConnection`` of
``window.jupyterapp.serviceManager``), the Stop button through the notebook toolbar. Only
``page.evaluate``, ``page.wait_for_function`` and ``page.goto`` are used. The 20 s bounds
only guard against a hang; nothing here is timed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from harness import LiteKernel, wait_for_app
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer

#: a fresh kernel that never imported litebridge, and the lab page in the module's lite_context
#: (test_no_litebridge_warning_on_this_site reads its console there)
pytestmark = pytest.mark.own_kernel

#: longest wait for a cell to end after an interrupt (ms): guards against a hang only
END_MS = 20_000
#: longest wait for a cell to start running (ms)
START_MS = 60_000

# Page helpers on top of harness's window.__lbTest: start a cell without waiting for it, wait
# until it printed a marker, interrupt, collect its outcome.
_CELL_HELPERS = r"""
() => {
  if (window.__lbCells) return;
  const strip = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
  window.__lbCells = {
    cells: {},
    next: 0,
    start(kernelId, code) {
      const kernel = window.__lbTest.kernels[kernelId];
      const cell = { stdout: '', error: null, status: null, done: false };
      const key = ++this.next;
      this.cells[key] = cell;
      const future = kernel.requestExecute({ code, store_history: false, allow_stdin: false });
      future.onIOPub = (msg) => {
        const c = msg.content;
        if (msg.header.msg_type === 'stream') cell.stdout += c.text;
        if (msg.header.msg_type === 'error') {
          cell.error = { ename: c.ename, evalue: c.evalue, traceback: strip((c.traceback ?? []).join('\n')) };
        }
      };
      future.done.then(
        (reply) => { cell.status = reply.content.status; cell.done = true; },
        (error) => { cell.status = `rejected: ${error}`; cell.done = true; });
      return key;
    },
    interrupt(kernelId) { return window.__lbTest.kernels[kernelId].interrupt().then(() => true); },
  };
}
"""


@pytest.fixture(scope="module")
def cells_kernel(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel (it never imports litebridge unless a test does) with the cell helpers."""
    kernel.page.evaluate(_CELL_HELPERS)
    return kernel


def _start(kernel: LiteKernel, code: str) -> int:
    return int(kernel.page.evaluate("([id, code]) => window.__lbCells.start(id, code)", [kernel.id, code]))


def _wait_started(kernel: LiteKernel, key: int, marker: str = "started") -> None:
    kernel.page.wait_for_function(
        f"() => {{ const c = window.__lbCells.cells[{key}];"
        f" return c.done || c.stdout.includes({json.dumps(marker)}); }}",
        timeout=START_MS,
    )


def _wait_done(kernel: LiteKernel, key: int) -> dict[str, Any]:
    kernel.page.wait_for_function(f"() => window.__lbCells.cells[{key}].done", timeout=END_MS)
    cell: dict[str, Any] = kernel.page.evaluate("(key) => window.__lbCells.cells[key]", key)
    return cell


def _interrupt_cell(kernel: LiteKernel, code: str) -> dict[str, Any]:
    """Run ``code`` (which prints "started" first), interrupt it once it runs, return its outcome."""
    key = _start(kernel, code)
    _wait_started(kernel, key)
    assert kernel.page.evaluate("(key) => window.__lbCells.cells[key].done", key) is False, "ended by itself"
    kernel.page.evaluate("(id) => window.__lbCells.interrupt(id)", kernel.id)
    return _wait_done(kernel, key)


def _assert_keyboard_interrupt(cell: dict[str, Any]) -> None:
    assert cell["status"] == "error", cell
    assert cell["error"] is not None, cell
    # pyodide-kernel 0.8 reports ename as str(type): "<class 'KeyboardInterrupt'>"
    assert cell["error"]["ename"] in {"KeyboardInterrupt", "<class 'KeyboardInterrupt'>"}, cell
    assert cell["error"]["traceback"].rstrip().endswith("KeyboardInterrupt:"), cell


isolated_only = pytest.mark.parametrize("isolated", [True], ids=["coop-coep"], indirect=True, scope="module")


@isolated_only
def test_interrupt_busy_loop_without_litebridge_imported(cells_kernel: LiteKernel) -> None:
    """A kernel that never imported litebridge: ``while True: pass`` ends with KeyboardInterrupt."""
    code = "import sys\nprint('started', flush=True)\nwhile True:\n    pass"
    _assert_keyboard_interrupt(_interrupt_cell(cells_kernel, code))
    assert cells_kernel.value("'litebridge' in __import__('sys').modules") is False
    assert cells_kernel.run("print(6 * 7)") == "42\n"


@isolated_only
def test_interrupt_sleep(cells_kernel: LiteKernel) -> None:
    """``time.sleep(60)`` ends with KeyboardInterrupt, and the next cell runs."""
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    _assert_keyboard_interrupt(_interrupt_cell(cells_kernel, code))
    assert cells_kernel.run("print('after')") == "after\n"


@isolated_only
def test_a_cell_sent_right_after_an_interrupt_runs(cells_kernel: LiteKernel) -> None:
    """A cell sent as soon as ``interrupt()`` resolved, while the interrupted cell is still ending,
    runs after it (JupyterLite's kernel client dropped it, without a reply, when the
    interrupted cell's error came)."""
    running = _start(cells_kernel, "import time\nprint('started', flush=True)\ntime.sleep(60)")
    _wait_started(cells_kernel, running)
    after = int(
        cells_kernel.page.evaluate(
            "async (id) => { await window.__lbCells.interrupt(id);"
            " return window.__lbCells.start(id, \"print('sent right after')\"); }",
            cells_kernel.id,
        )
    )
    _assert_keyboard_interrupt(_wait_done(cells_kernel, running))
    cell = _wait_done(cells_kernel, after)
    assert cell["status"] == "ok", cell
    assert cell["stdout"] == "sent right after\n", cell


@isolated_only
def test_interrupt_call_sync_blocked_on_page(cells_kernel: LiteKernel) -> None:
    """``call_sync(timeout=None)`` on a handler that never answers ends with KeyboardInterrupt; the
    SAB is left consistent: the next ``call_sync`` and ``await page.call`` work."""
    cells_kernel.run(
        "from litebridge import page\n"
        "page.register('{ never() { return new Promise(() => {}); }, echo(x) { return x; } }')"
    )
    assert cells_kernel.value("__import__('litebridge').transport") == "sab"
    code = "print('started', flush=True)\npage.call_sync('never', timeout=None)"
    cell = _interrupt_cell(cells_kernel, code)
    _assert_keyboard_interrupt(cell)
    assert "call_sync" in cell["error"]["traceback"], cell
    assert cells_kernel.value("page.call_sync('echo', [1, 'two'])") == [1, "two"]
    assert cells_kernel.value("await page.call('echo', 'async')") == "async"
    assert cells_kernel.value("[page.call_sync('echo', i) for i in range(50)] == list(range(50))") is True


@isolated_only
def test_interrupt_while_awaiting_does_not_break_the_kernel(cells_kernel: LiteKernel) -> None:
    """A cell suspended in ``await`` runs no Python of its own: Stop leaves it alone (as before),
    rather than raising in Pyodide's event loop machinery; it ends as it would have, and the
    kernel and the bridge work afterwards."""
    code = "import asyncio\nprint('started', flush=True)\nawait asyncio.sleep(2)\nprint('resumed')"
    cell = _interrupt_cell(cells_kernel, code)
    assert cell["status"] == "ok", cell
    assert cell["stdout"] == "started\nresumed\n", cell
    cells_kernel.run(
        "from litebridge import page\n"
        "page.register('{ hang() { return new Promise(() => {}); }, echo(x) { return x; } }')"
    )
    code = "print('started', flush=True)\nawait page.call('hang', timeout=2)"
    cell = _interrupt_cell(cells_kernel, code)
    assert cell["status"] == "error", cell
    assert "CallTimeout" in cell["error"]["ename"], cell
    assert cell["stdout"] == "started\n", cell
    assert cells_kernel.value("await page.call('echo', 'still here')") == "still here"
    assert cells_kernel.run("print('next')") == "next\n"


@isolated_only
def test_interrupt_when_idle_does_not_hit_the_next_cell(cells_kernel: LiteKernel) -> None:
    """Stop pressed while no cell runs is a no-op: the next cell is not interrupted."""
    cells_kernel.page.evaluate("(id) => window.__lbCells.interrupt(id)", cells_kernel.id)
    assert cells_kernel.run("import time\nfor _ in range(20):\n    time.sleep(0.01)\nprint('ran')") == "ran\n"


@pytest.mark.parametrize("isolated", [False], ids=["no-isolation"], indirect=True, scope="module")
def test_without_isolation_stop_only_drops_queued_cells(cells_kernel: LiteKernel) -> None:
    """No COOP/COEP, no SharedArrayBuffer: the running cell finishes, the queued one is dropped."""
    running = _start(cells_kernel, "import time\nprint('started', flush=True)\ntime.sleep(2)\nprint('finished')")
    queued = _start(cells_kernel, "print('queued ran')")
    _wait_started(cells_kernel, running)
    cells_kernel.page.evaluate("(id) => window.__lbCells.interrupt(id)", cells_kernel.id)
    first = _wait_done(cells_kernel, running)
    second = _wait_done(cells_kernel, queued)
    assert first["status"] == "ok", first
    assert "finished" in first["stdout"], first
    assert second["status"] == "error", second
    assert "queued ran" not in second["stdout"], second
    assert cells_kernel.run("print('still works')") == "still works\n"


# --- the real Stop button of a notebook --------------------------------------------------------


@pytest.fixture(scope="module")
def notebook_page(lite_context: BrowserContext, site_server: SiteServer) -> Iterator[Page]:
    """A new, empty notebook in the lab app, with its kernel booted and idle."""
    page = lite_context.new_page()
    page.goto(site_server.url + "lab/index.html")
    wait_for_app(page)
    page.evaluate(
        "() => window.jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python' }).then(() => true)"
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=START_MS * 2,
    )
    yield page
    page.close()


_RUN_IN_NOTEBOOK = r"""
async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.activeCell;
  cell.model.sharedModel.setSource(code);
  await window.jupyterapp.commands.execute('notebook:run-cell');
  return true;
}
"""


@isolated_only
def test_stop_button_interrupts_a_notebook_cell(notebook_page: Page) -> None:
    """The notebook toolbar's Stop button ends ``while True: pass`` with KeyboardInterrupt."""
    page = notebook_page
    page.evaluate(
        "() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
        " window.__lbBusy = () => s.session.kernel.status === 'busy'; return true; }"
    )
    page.evaluate(
        r"""() => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cell = panel.content.activeCell;
          cell.model.sharedModel.setSource("print('started', flush=True)\nwhile True:\n    pass");
          void window.jupyterapp.commands.execute('notebook:run-cell');
          return true;
        }"""
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')].some((n) => n.textContent.includes('started'))",
        timeout=START_MS,
    )
    clicked = page.evaluate(
        r"""() => {
          const panel = window.jupyterapp.shell.currentWidget;
          const button = panel.node.querySelector('.jp-Toolbar [data-command="notebook:interrupt-kernel"]');
          if (button === null) return false;
          // what a mouse click sends (the toolbar acts on mousedown or click, depending on the button)
          for (const type of ['mousedown', 'mouseup', 'click']) {
            button.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, composed: true, button: 0 }));
          }
          return true;
        }"""
    )
    assert clicked, "no Stop (notebook:interrupt-kernel) button in the notebook toolbar"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some((n) => n.textContent.includes('KeyboardInterrupt'))",
        timeout=END_MS,
    )
    page.wait_for_function("() => !window.__lbBusy()", timeout=END_MS)
    page.evaluate(_RUN_IN_NOTEBOOK, "print(6 * 7)")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')].some((n) => n.textContent.trim() === '42')",
        timeout=END_MS,
    )


@isolated_only
def test_no_litebridge_warning_on_this_site(lite_context: BrowserContext, cells_kernel: LiteKernel) -> None:
    """The internals the interrupt depends on were found, and the upstream patches' version check
    recognised this site's pyodide-kernel (0.8.x): the console has no ``litebridge:`` warning."""
    # the version check ran while the app started, long before the kernel booted
    lines = [line for line in lite_context.console.lines if "litebridge:" in line]  # type: ignore[attr-defined]
    assert lines == []
