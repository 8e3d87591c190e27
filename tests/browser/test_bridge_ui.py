"""litebridge through the site's real UI: notebook app, repl app, the walkthrough notebook.

Both header modes. No set-up cell anywhere: ``from litebridge import page`` must work in any
notebook or console of the site, and ``await litebridge.kernel()`` on the page must resolve to
the kernel of the notebook or console being shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from bridge_helpers import page_settle
from harness import LiteKernel, wait_for_app, wait_for_kernel_idle
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

NewPage = Callable[[str], Page]
#: longest wait for a notebook or console to boot its kernel and show an output (milliseconds)
UI_TIMEOUT_MS = 120_000


def _walkthrough_outputs(isolated: bool) -> list[str]:
    """The text of every output of content/litebridge.ipynb, line breaks made spaces."""
    last = "\"sab: '  x'\"" if isolated else "'async: SyncUnavailable, use await page.call'"
    return [
        f"transport: {'sab' if isolated else 'jspi'}",
        "['indentLeft', 'indentRight']",
        "'    hello'",
        "'world    '",
        "['  a', '  b']",
        "{'answer': 42, 'items': [1, 2.5, None, True]}",
        "[object Uint8Array] of 1048576 bytes bytes 1048576 True",
        "['divide', 'ex.divide', 'ex.multiply', 'ex.slow_echo', 'multiply', 'slow_echo']",
        "[42, 6, 'echoed']",
        (
            "{'isPythonError': True, 'type': 'ZeroDivisionError', 'message': 'division by zero', "
            "'tracebackNamesDivide': True}"
        ),
        "SyntaxError | True",
        'unknown_method | no page handler named "noSuchHandler"',
        "cannot send set at args[1]['k']",
        "CallTimeout: True |  still here",
        "42",
        last,
        "' 2 clicks'",
        "['saved', 'litebridge walkthrough']",
    ]


def _output_texts(page: Page, selector: str) -> list[str]:
    # text_content, not inner_text: the notebook does not render cells scrolled out of view
    return [re.sub(r"\s*\n\s*", " ", text.strip()) for text in page.locator(selector).all_text_contents()]


def _wait_for_outputs(page: Page, selector: str, count: int) -> list[str]:
    """Wait until ``count`` outputs are shown; fail with what was shown (errors included)."""
    try:
        expect(page.locator(selector)).to_have_count(count, timeout=UI_TIMEOUT_MS)
    except AssertionError as error:
        raise AssertionError(f"{error}\noutputs shown: {_output_texts(page, selector)}") from None
    return _output_texts(page, selector)


def _run_all_cells(page: Page) -> None:
    """Run > Run All Cells in the notebook app, once the notebook's kernel is idle."""
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    wait_for_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def _current_kernel_check(page: Page, other: LiteKernel) -> dict[str, object]:
    """On ``page``, resolve ``litebridge.kernel()`` while ``other`` connected more recently."""
    return page_settle(
        page,
        "const k = await window.litebridge.kernel();"
        " const shown = window.litebridge.app.shell.currentWidget.sessionContext.session.kernel.id;"
        " const o = await window.litebridge.kernel(arg);"
        " return { current: k.id === shown, product: await k.call('multiply', 6, 7),"
        "   other: await o.call('multiply', 6, 7), kernels: window.litebridge.kernels().map((b) => b.id),"
        "   otherId: o.id, id: k.id };",
        other.id,
    )


def _start_other_kernel(page: Page) -> LiteKernel:
    """Start a second kernel on ``page`` that connects to litebridge after the shown one."""
    other = LiteKernel(page)
    other.run(
        "from litebridge import page\n"
        "class Other:\n"
        "    def multiply(self, a, b):\n"
        "        return 'other kernel'\n"
        "page.expose(Other())\n"
    )
    return other


def test_walkthrough_notebook_runs_clean(new_page: NewPage, isolated: bool) -> None:
    page = new_page("notebooks/index.html?path=litebridge.ipynb")
    wait_for_app(page)
    _run_all_cells(page)
    expected = _walkthrough_outputs(isolated)
    texts = _wait_for_outputs(page, ".jp-Cell .jp-OutputArea-output", len(expected))
    assert texts == expected
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0

    # `await litebridge.kernel()` picks the notebook's kernel, even when another kernel of the
    # page connected after it.
    other = _start_other_kernel(page)
    try:
        check = _current_kernel_check(page, other)
        assert check["ok"] is True, check
        value = check["value"]
        assert isinstance(value, dict)
        assert value["current"] is True
        assert value["product"] == 42
        assert value["other"] == "other kernel"
        assert value["kernels"] == [value["id"], value["otherId"]]
    finally:
        other.shutdown()


# one header mode only (CI's time budget): the repl test below covers both transports in an app
# other than the lab, and nothing here depends on the transport
@pytest.mark.parametrize("isolated", [True], ids=["coop-coep"], indirect=True, scope="module")
def test_notebook_app_without_setup_cell(new_page: NewPage) -> None:
    # a notebook created in the browser, opened in the notebook app: its first cell imports
    page = new_page("notebooks/index.html")
    wait_for_app(page)
    page.evaluate(
        """async () => {
          const cell = (source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
          const content = { nbformat: 4, nbformat_minor: 5,
            metadata: { kernelspec: { name: 'python', display_name: 'Python (Pyodide)', language: 'python' } },
            cells: [
              cell('from litebridge import page\\npage.expose(lambda a, b: a * b + 1, name="fma")\\n'
                   + 'page.register("{ twice(x) { return [x, x]; } }")'),
              cell('page.call_sync("twice", "sync"), await page.call("twice", "async")'),
            ] };
          await window.jupyterapp.serviceManager.contents.save('no-setup.ipynb',
            { type: 'notebook', format: 'json', content });
        }"""
    )
    page.goto(page.url.replace("notebooks/index.html", "notebooks/index.html?path=no-setup.ipynb"))
    wait_for_app(page)
    _run_all_cells(page)
    texts = _wait_for_outputs(page, ".jp-Cell .jp-OutputArea-output", 2)
    assert texts == ["['twice']", "(['sync', 'sync'], ['async', 'async'])"]
    result = page_settle(page, "return await (await window.litebridge.kernel()).call('fma', 6, 7);")
    assert result == {"ok": True, "value": 43}


def _console_run(page: Page, code: str, outputs: int) -> list[str]:
    """Type ``code`` into the console prompt, run it with Shift+Enter, return the output texts."""
    prompt = page.locator(".jp-CodeConsole-promptCell .cm-content")
    expect(prompt).to_be_visible(timeout=60_000)
    wait_for_kernel_idle(page)
    prompt.click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    return _wait_for_outputs(page, ".jp-CodeConsole-content .jp-OutputArea-output", outputs)


def test_repl_console_without_setup(new_page: NewPage, isolated: bool) -> None:
    page = new_page("repl/index.html?kernel=python")
    wait_for_app(page)
    code = (
        "from litebridge import page; import litebridge; "
        "page.register('{ shout(s) { return s.toUpperCase() + \"!\"; } }'); "
        "print(litebridge.transport, page.call_sync('shout', 'hi'), await page.call('shout', 'there'))"
    )
    try:
        texts = _console_run(page, code, 1)
    except PlaywrightError as error:
        raise AssertionError(f"could not type into the console: {error}") from None
    assert texts == [f"{'sab' if isolated else 'jspi'} HI! THERE!"]
    texts = _console_run(page, "page.expose(lambda: 'from the console', name='where'); print('exposed')", 2)
    assert texts[1] == "exposed"
    other = _start_other_kernel(page)
    try:
        result = page_settle(page, "return await (await window.litebridge.kernel()).call('where');")
        assert result == {"ok": True, "value": "from the console"}
    finally:
        other.shutdown()
