"""Any JupyterLite site: ``pip install litebridge`` in its build environment is enough.

A second, minimal site is built in a temporary directory, in its own temporary virtual
environment (never the shared ``.venv``) holding only ``jupyterlite-core``,
``jupyterlite-pyodide-kernel`` (the pins of ``requirements/site.txt``) and the litebridge wheel
(``_build/dist``), with this repository's local Pyodide runtime minus litebridge (what a site
with an offline Pyodide has). Nothing of litebridge is configured: the labextension comes from
the wheel's shared data, and litebridge's lite addon (entry point ``jupyterlite.addon.v0``)
adds the kernel package to the site's Pyodide lock and preloads it. A bridge call then runs in
that site, offline (the network guard of ``lite_context`` fails the test on any other host).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import js_call, setup_bridge
from harness import LiteKernel, wait_for_app
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer, start_server

ROOT = Path(__file__).resolve().parents[2]
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: generous: pip (from its cache) and a lite build on a loaded 2-core machine
BUILD_TIMEOUT_S = 900


def _pins(names: tuple[str, ...]) -> list[str]:
    """The exact pins of ``names`` from requirements/site.txt."""
    pins = {}
    for line in (ROOT / "requirements" / "site.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    return [pins[name] for name in names]


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def _pyodide_without_litebridge(source: Path, dest: Path) -> None:
    """Copy the local Pyodide runtime, leaving litebridge out of its files and its lock."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("litebridge-*.whl"))
    lock_path = dest / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"].pop("litebridge", None)
    lock_path.write_text(json.dumps(lock))


@pytest.fixture(scope="module")
def third_party_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the minimal site; return its output directory."""
    wheels = sorted((ROOT / "_build" / "dist").glob("litebridge-*-py3-none-any.whl"))
    runtime = ROOT / "lite" / "static" / "pyodide"
    if not wheels or not (runtime / "pyodide-lock.json").is_file():
        pytest.fail("no litebridge wheel or local Pyodide runtime: run `make site` first")
    work = tmp_path_factory.mktemp("third_party")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            *_pins(("jupyterlite-core", "jupyterlite-pyodide-kernel")),
            str(wheels[-1]),
        ],
        work,
    )
    lite_dir = work / "site"
    _pyodide_without_litebridge(runtime, lite_dir / "static" / "pyodide")
    shutil.copytree(ROOT / "lite" / "pypi", lite_dir / "pypi", ignore=shutil.ignore_patterns(".*"))
    (lite_dir / "jupyter-lite.json").write_text(
        json.dumps(
            {
                "jupyter-lite-schema-version": 0,
                "jupyter-config-data": {
                    "appName": "someone else's site",
                    "exposeAppInBrowser": True,
                    "litePluginSettings": {KERNEL_PLUGIN: {"disablePyPIFallback": True}},
                },
            }
        )
    )
    _run([str(venv / "bin" / "jupyter"), "lite", "build", "--output-dir", str(work / "out")], lite_dir)
    return work / "out"


@pytest.fixture(scope="module")
def third_party_server(third_party_site: Path) -> Iterator[SiteServer]:
    """The minimal site, served with COOP/COEP headers."""
    server, thread = start_server(third_party_site, 0)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def third_party_kernel(lite_context: BrowserContext, third_party_server: SiteServer) -> Iterator[LiteKernel]:
    """A kernel booted in the lab app of the minimal site."""
    page: Page = lite_context.new_page()
    page.goto(third_party_server.url + "lab/index.html")
    wait_for_app(page)
    kernel = LiteKernel(page)
    yield kernel
    kernel.shutdown()
    page.close()


def test_build_added_litebridge(third_party_site: Path) -> None:
    config: dict[str, Any] = json.loads((third_party_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    assert "litebridge" in [ext["name"] for ext in config["federated_extensions"]]
    assert "litebridge" in config["litePluginSettings"][KERNEL_PLUGIN]["loadPyodideOptions"]["packages"]
    lock = json.loads((third_party_site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    entry = lock["packages"]["litebridge"]
    assert (third_party_site / "static" / "pyodide" / entry["file_name"]).is_file()
    assert entry["imports"] == ["litebridge"]
    assert "litebridge-isolation-sw.js" in (third_party_site / "service-worker.js").read_text()
    # embed() at its documented address, published by the addon (no Makefile step)
    static = third_party_site / "extensions" / "litebridge" / "static"
    for name in ("embed.js", "demo.html"):
        assert (third_party_site / "litebridge" / name).read_bytes() == (static / name).read_bytes()


def test_bridge_call_without_pip(third_party_kernel: LiteKernel) -> None:
    # setup_bridge imports litebridge: no %pip, no piplite
    setup_bridge(third_party_kernel)
    assert third_party_kernel.value("litebridge.transport") == "sab"
    assert third_party_kernel.value('page.call_sync("indentLeft", "hi", 2)') == "  hi"
    assert js_call(third_party_kernel.page, third_party_kernel.id, "ex.multiply", 6, 7) == {"ok": True, "value": 42}
    # the site serves the embed module there, and it loads (no kernel started: only the import)
    exported = third_party_kernel.page.evaluate(
        "async (path) => { const m = await import(new URL(path, location.href).href);"
        " return [typeof m.embed, typeof m.BridgeError]; }",
        "../litebridge/embed.js",
    )
    assert exported == ["function", "function"]
