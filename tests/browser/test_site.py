"""The built site: its tree, its apps in a real browser, the kernel, the content notebook.

Browser tests run for three servings of the same ``_output``: with COOP/COEP, without, and
without from a sub-path (as a GitHub Pages project site). The app and kernel boot tests
(``all_browsers``) run in every browser given with ``--browser``; the UI test in Chromium only.
App loads and the UI test skip servings other modules cover (CI's time budget): the apps load in
the sub-path serving here, and with and without COOP/COEP in ``shared_kernels.py`` (lab),
``test_bridge_ui.py`` (notebooks, repl) and the UI test (notebooks).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from harness import LiteKernel, wait_for_app, wait_for_kernel_idle
from page_protocol import BrowserPage
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

SERVINGS = [
    pytest.param(True, "/", id="coop-coep"),
    pytest.param(False, "/", id="no-isolation"),
    pytest.param(False, "/litebridge/", id="no-isolation-subpath"),
]
browser_servings = pytest.mark.parametrize(("isolated", "base_path"), SERVINGS, indirect=True, scope="module")
#: app loads: the sub-path serving only (the module docstring says where the others load)
APP_SERVINGS = [SERVINGS[2]]
#: the notebook UI: with COOP/COEP, and without from the sub-path
UI_SERVINGS = [SERVINGS[0], SERVINGS[2]]
all_browsers = pytest.mark.all_browsers

KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: executes in the soak test; the upstream waitAsync race hung about 5 in 100 (js/src/waitAsyncFix.ts)
SOAK_EXECUTES = 200


def _config(site_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((site_dir / "jupyter-lite.json").read_text())
    return dict(data["jupyter-config-data"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _litebridge_labextension(site_dir: Path) -> bool:
    names = [ext["name"] for ext in _config(site_dir).get("federated_extensions", [])]
    return "litebridge" in names and (site_dir / "extensions" / "litebridge" / "package.json").is_file()


# --- the built tree (no browser) ---------------------------------------------------------


@pytest.mark.parametrize("app", ["lab", "notebooks", "repl"])
def test_site_has_app(site_dir: Path, app: str) -> None:
    assert (site_dir / app / "index.html").is_file()
    assert (site_dir / "files" / "hello.ipynb").is_file() or (site_dir / "api" / "contents" / "all.json").is_file()


def test_content_notebook_is_in_site(site_dir: Path) -> None:
    listing = json.loads((site_dir / "api" / "contents" / "all.json").read_text())
    assert "hello.ipynb" in [entry["name"] for entry in listing["content"]]


def test_kernel_settings_are_offline(site_dir: Path) -> None:
    settings = _config(site_dir)["litePluginSettings"][KERNEL_PLUGIN]
    assert settings["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert settings["disablePyPIFallback"] is True
    assert "litebridge" in settings["loadPyodideOptions"]["packages"]
    assert all(url.startswith("./") for url in settings["pipliteUrls"])


def test_pyodide_lock_matches_wheels(site_dir: Path) -> None:
    pyodide = site_dir / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (pyodide / name).is_file(), name
    listed = {}
    for key, entry in lock["packages"].items():
        wheel = pyodide / entry["file_name"]
        assert wheel.is_file(), f"{key}: {entry['file_name']} missing"
        assert _sha256(wheel) == entry["sha256"], f"{key}: sha256 differs from the lock"
        listed[entry["file_name"]] = key
    present = {path.name for path in pyodide.glob("*.whl")}
    assert present == set(listed), f"wheels not in the lock: {present - set(listed)}"
    for needed in ("micropip", "ipython", "jedi", "litebridge"):
        assert needed in lock["packages"], needed
    assert lock["packages"]["litebridge"]["imports"] == ["litebridge"]
    assert lock["info"]["python"].startswith("3.14")


def test_comm_is_served_to_piplite(site_dir: Path) -> None:
    index = json.loads((site_dir / "pypi" / "all.json").read_text())
    assert "comm" in index
    for release in index["comm"]["releases"].values():
        for file in release:
            assert (site_dir / "pypi" / file["url"].split("?")[0].lstrip("./")).is_file()


def test_litebridge_labextension_in_site(site_dir: Path) -> None:
    assert _litebridge_labextension(site_dir), (
        "the litebridge labextension is not in the site: build js/ (npm run build) and rebuild the wheel"
    )


# --- in the browser ----------------------------------------------------------------------


@all_browsers
@pytest.mark.parametrize(("isolated", "base_path"), APP_SERVINGS, indirect=True, scope="module")
@pytest.mark.parametrize("app", ["lab", "notebooks", "repl"])
def test_app_loads(new_page: Any, app: str, base_path: str) -> None:
    page: BrowserPage = new_page(f"{app}/index.html")
    wait_for_app(page)
    assert page.evaluate("() => window.jupyterapp.serviceManager.kernelspecs.specs !== undefined")
    assert page.url.split("/")[3 if base_path == "/" else 4] == app


@all_browsers
@browser_servings
def test_page_isolation_matches_headers(lab_page: BrowserPage, isolated: bool) -> None:
    # where the browser is isolated without SharedArrayBuffer (WebKitGTK) the labextension hides
    # the page's crossOriginIsolated from the kernel (js/src/missingSabFix.ts) and says so
    seen = lab_page.evaluate(
        "() => self.crossOriginIsolated || globalThis[Symbol.for('litebridge.hiddenCrossOriginIsolation')] === true"
    )
    assert seen is isolated


@all_browsers
@browser_servings
def test_kernel_runs_pyodide_python(kernel: LiteKernel, isolated: bool) -> None:
    assert kernel.value("__import__('sys').version_info[:2]") == [3, 14]
    assert kernel.value("__import__('sys').platform") == "emscripten"
    assert kernel.value("__import__('pyodide').__version__") == "314.0.6"
    assert kernel.value("__import__('js').crossOriginIsolated") is isolated


@all_browsers
@browser_servings
def test_import_litebridge_without_pip(kernel: LiteKernel, base_path: str) -> None:
    # installed at boot from the lock, but not imported until asked for: checked where the kernel
    # is fresh (the sub-path serving is this module's alone; the others share their kernel with
    # modules that imported litebridge, see shared_kernels.py)
    if base_path != "/":
        assert kernel.value("'litebridge' in __import__('sys').modules") is False
    assert kernel.run("import litebridge\nprint(litebridge.__version__)").strip() == "0.1.0"


@all_browsers
@browser_servings
def test_errors_come_back_as_tracebacks(kernel: LiteKernel) -> None:
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        kernel.run("def f():\n    return 1 / 0\nf()")


@pytest.mark.parametrize(("isolated", "base_path"), UI_SERVINGS, indirect=True, scope="module")
def test_hello_notebook_through_the_ui(new_page: Any) -> None:
    page: Page = new_page("notebooks/index.html?path=hello.ipynb")
    wait_for_app(page)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    wait_for_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    expect(cells).to_have_count(3)
    expect(cells.nth(2).locator(".jp-OutputArea-output")).to_have_text("90", timeout=120_000)
    outputs = [
        [text.strip() for text in cells.nth(index).locator(".jp-OutputArea-output").all_inner_texts()]
        for index in range(3)
    ]
    assert outputs == [["python (3, 14) emscripten"], ["litebridge 0.1.0"], ["90"]]


@all_browsers
@browser_servings
def test_many_executes_complete(kernel: LiteKernel, site_dir: Path, isolated: bool) -> None:
    if isolated:
        # The kernel's coincident transport calls Atomics.waitAsync(...).value.then, which hangs
        # when the worker answered first (js/src/waitAsyncFix.ts); the labextension wraps
        # Atomics.waitAsync before the kernel starts. It must be in place, not just present.
        installed = kernel.page.evaluate(
            "() => Atomics.waitAsync?.[Symbol.for('litebridge.waitAsyncWrapped')] === true"
        )
        assert installed, "the litebridge waitAsync workaround is not installed on the page" + (
            "" if _litebridge_labextension(site_dir) else " (the litebridge labextension is not in the site)"
        )
    done = 0
    try:
        for index in range(SOAK_EXECUTES):
            out = kernel.execute(f"print({index})\n{index} * 2", timeout_s=20)
            assert (out.stdout, out.result) == (f"{index}\n", str(index * 2))
            done += 1
    except PlaywrightError as error:
        pytest.fail(f"execute {done + 1} of {SOAK_EXECUTES} did not complete: {error}")
    assert done == SOAK_EXECUTES
