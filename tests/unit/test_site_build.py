"""The site-build steps (litebridge.site_build, kernel_wheel) and the server's opt-out, in CPython."""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from litebridge.kernel_wheel import build_kernel_wheel
from litebridge.serve import start_server
from litebridge.site_build import (
    ISOLATION_SCRIPT,
    KERNEL_PLUGIN,
    main,
    patch_service_worker,
    preload_kernel_package,
    publish_embed,
)

JUPYTERLITE_SW = 'self.addEventListener("fetch",onFetch);'


def _site(tmp_path: Path, pyodide_url: str | None = "./static/pyodide/pyodide.mjs", lock: bool = True) -> Path:
    settings = {} if pyodide_url is None else {"pyodideUrl": pyodide_url}
    config = {"jupyter-config-data": {"litePluginSettings": {KERNEL_PLUGIN: settings}}}
    (tmp_path / "jupyter-lite.json").write_text(json.dumps(config))
    (tmp_path / "service-worker.js").write_text(JUPYTERLITE_SW)
    if lock:
        pyodide = tmp_path / "static" / "pyodide"
        pyodide.mkdir(parents=True)
        (pyodide / "pyodide-lock.json").write_text(json.dumps({"info": {}, "packages": {"micropip": {}}}))
    return tmp_path


def _config(site: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    return data


def _packages(site: Path) -> list[str]:
    settings = _config(site)["litePluginSettings"][KERNEL_PLUGIN]  # type: ignore[index]
    return list(settings["loadPyodideOptions"]["packages"])


def _fake_package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg" / "litebridge"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "9.8.7"\n')
    (package / "_page.py").write_text("x = 1\n")
    (package / "py.typed").write_text("")
    (package / "_worker.js").write_text("(() => 1)();\n")
    (package / "notes.txt").write_text("not shipped")
    return package


# --- service worker --------------------------------------------------------------------------


def test_service_worker_loads_the_addition_once(tmp_path: Path) -> None:
    site = _site(tmp_path)
    assert patch_service_worker(site, b"// v1")
    assert patch_service_worker(site, b"// v2")
    text = (site / "service-worker.js").read_text()
    assert text.startswith(JUPYTERLITE_SW), "JupyterLite's code must stay first (its listeners run first)"
    assert text.count("importScripts(") == 1
    digest = hashlib.sha256(b"// v2").hexdigest()[:16]
    assert text.rstrip().endswith(f'importScripts("./{ISOLATION_SCRIPT}?v={digest}");')
    assert (site / ISOLATION_SCRIPT).read_bytes() == b"// v2"


def test_site_without_service_worker_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site = _site(tmp_path)
    (site / "service-worker.js").unlink()
    with caplog.at_level(logging.WARNING):
        assert patch_service_worker(site, b"//") is False
    assert "no service-worker.js" in caplog.text
    assert not (site / ISOLATION_SCRIPT).exists()


# --- embed.js ----------------------------------------------------------------------------------


def _labextension_static(site: Path, embed: bytes = b"export const embed = 1;", demo: bytes = b"<p>demo</p>") -> Path:
    static = site / "extensions" / "litebridge" / "static"
    static.mkdir(parents=True)
    (static / "embed.js").write_bytes(embed)
    (static / "demo.html").write_bytes(demo)
    return static


def test_embed_is_published_at_its_documented_address(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _labextension_static(site)
    assert publish_embed(site)
    assert (site / "litebridge" / "embed.js").read_bytes() == b"export const embed = 1;"
    assert (site / "litebridge" / "demo.html").read_bytes() == b"<p>demo</p>"
    # a rebuilt labextension replaces the published copies
    (site / "extensions" / "litebridge" / "static" / "embed.js").write_bytes(b"export const embed = 2;")
    assert publish_embed(site)
    assert (site / "litebridge" / "embed.js").read_bytes() == b"export const embed = 2;"


def test_embed_without_the_labextension_files_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site = _site(tmp_path)
    (_labextension_static(site) / "demo.html").unlink()
    with caplog.at_level(logging.WARNING):
        assert publish_embed(site) is False
    assert "static/demo.html" in caplog.text
    assert not (site / "litebridge").exists()


def test_command_line_runs_all_three_steps(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    site = _site(tmp_path / "site")
    _labextension_static(site)
    wheel = build_kernel_wheel(tmp_path / "dist", package_dir=_fake_package(tmp_path))
    assert main([str(site), "--wheel", str(wheel)]) == 0
    assert (site / "litebridge" / "embed.js").is_file()
    assert ISOLATION_SCRIPT in (site / "service-worker.js").read_text()
    assert _packages(site) == ["litebridge"]


# --- kernel package --------------------------------------------------------------------------


def test_kernel_wheel_is_reproducible_and_recorded(tmp_path: Path) -> None:
    package = _fake_package(tmp_path)
    first = build_kernel_wheel(tmp_path / "a", package, "9.8.7")
    second = build_kernel_wheel(tmp_path / "b", package, "9.8.7")
    assert first.name == "litebridge-9.8.7-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        record = archive.read("litebridge-9.8.7.dist-info/RECORD").decode()
        assert "Tag: py3-none-any" in archive.read("litebridge-9.8.7.dist-info/WHEEL").decode()
    assert "litebridge/notes.txt" not in names
    for name in ("litebridge/__init__.py", "litebridge/_page.py", "litebridge/py.typed", "litebridge/_worker.js"):
        assert name in names
        assert f"{name},sha256=" in record


def test_kernel_wheel_needs_the_built_worker_helper(tmp_path: Path) -> None:
    package = _fake_package(tmp_path)
    (package / "_worker.js").unlink()
    with pytest.raises(FileNotFoundError, match="npm run build"):
        build_kernel_wheel(tmp_path / "out", package, "1.0")


def test_preload_adds_wheel_to_lock_and_packages(tmp_path: Path) -> None:
    site = _site(tmp_path)
    package = _fake_package(tmp_path)
    assert preload_kernel_package(site, lambda d: build_kernel_wheel(d, package, "9.8.7")) == "added"
    lock_dir = site / "static" / "pyodide"
    entry = json.loads((lock_dir / "pyodide-lock.json").read_text())["packages"]["litebridge"]
    wheel = lock_dir / entry["file_name"]
    assert entry["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["imports"] == ["litebridge"]
    assert entry["version"] == "9.8.7"
    assert _packages(site) == ["litebridge"]

    # a second run (or this repository's own site, whose lock has litebridge) changes nothing
    def must_not_build(directory: Path) -> Path:
        raise AssertionError(f"built a wheel into {directory} although the lock has one")

    assert preload_kernel_package(site, must_not_build) == "present"
    assert _packages(site) == ["litebridge"]


def test_preload_with_a_remote_pyodide_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site = _site(tmp_path, pyodide_url="https://cdn.example/pyodide.mjs", lock=False)
    with caplog.at_level(logging.WARNING):
        assert preload_kernel_package(site, lambda d: d) == "no-local-lock"
    assert "cannot be preloaded" in caplog.text
    assert "%pip install litebridge" in caplog.text


# --- the server's opt-out --------------------------------------------------------------------


@pytest.fixture
def opted_out_url(tmp_path: Path) -> Iterator[str]:
    site = _site(tmp_path)
    server, thread = start_server(site, 0, isolation=False, base_path="/x/", sw_isolation=False)
    yield server.url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_server_sends_the_opt_out(opted_out_url: str, tmp_path: Path) -> None:
    with urllib.request.urlopen(opted_out_url + "jupyter-lite.json?x=1", timeout=10) as response:
        served = json.loads(response.read())
        assert response.headers.get("Cross-Origin-Embedder-Policy") is None
    assert served["jupyter-config-data"]["litebridge"] == {"crossOriginIsolation": False}
    assert KERNEL_PLUGIN in served["jupyter-config-data"]["litePluginSettings"]
    on_disk = json.loads((tmp_path / "jupyter-lite.json").read_text())
    assert "litebridge" not in on_disk["jupyter-config-data"], "the file itself must not change"
