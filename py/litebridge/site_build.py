"""Post-build steps that put litebridge into a built JupyterLite site (``_output/``).

Both run from the lite build addon (:mod:`litebridge.lite_addon`, through the
``jupyterlite.addon.v0`` entry point, so ``pip install litebridge`` next to ``jupyterlite-core``
is enough) and from the command line (this repository's ``make site``, whose build environment
does not install litebridge)::

    python -m litebridge.site_build _output

1. :func:`patch_service_worker` -- JupyterLite's own ``service-worker.js`` loads litebridge's
   cross-origin-isolation addition (``importScripts``), so that a host without COOP/COEP headers
   (GitHub Pages) still gives the page ``SharedArrayBuffer`` after one reload.
2. :func:`preload_kernel_package` -- the kernel package is added to the site's local Pyodide lock
   and to ``loadPyodideOptions.packages``, so ``import litebridge`` works offline without ``%pip``.
3. :func:`publish_embed` -- the host module of ``embed()`` and its demo page, which the
   labextension ships in ``<site>/extensions/litebridge/static/``, are copied to their
   documented address ``<site>/litebridge/`` (docs/embed.md).

All are idempotent: a site that already has them (this repository's own build puts litebridge
into the lock with ``scripts/assemble_pyodide.py``) is left as it is. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "EMBED_DIR",
    "EMBED_FILES",
    "ISOLATION_SCRIPT",
    "KERNEL_PLUGIN",
    "main",
    "patch_service_worker",
    "preload_kernel_package",
    "publish_embed",
]

log = logging.getLogger("litebridge.site_build")

#: name of the service-worker addition in the site root (next to ``service-worker.js``)
ISOLATION_SCRIPT = "litebridge-isolation-sw.js"
#: JupyterLite's service worker (jupyterlite packages/apputils, ``WORKER_NAME``)
SERVICE_WORKER = "service-worker.js"
#: the settings key of the Pyodide kernel in ``jupyter-lite.json``
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: where ``embed.js`` and its demo page are published in the site (docs/embed.md)
EMBED_DIR = "litebridge"
#: the files published there, from the labextension's ``static/`` directory in the site
EMBED_FILES = ("embed.js", "demo.html")
#: the labextension's static files in a built site (jupyterlite copies federated extensions there)
_LABEXTENSION_STATIC = Path("extensions") / "litebridge" / "static"
#: the line appended to ``service-worker.js`` starts with this
_MARKER = "// litebridge: cross-origin isolation"


def patch_service_worker(output_dir: Path, script: bytes | None = None) -> bool:
    """Copy the isolation script into the site and make ``service-worker.js`` load it.

    The ``importScripts`` line is appended (after JupyterLite's own listeners, which the
    addition relies on); its URL carries the script's sha256 so browsers fetch a changed one.

    Parameters
    ----------
    output_dir : Path
        The built site (``jupyter lite build`` output).
    script : bytes, optional
        The service-worker addition (default: litebridge's built ``_isolation_sw.js``).

    Returns
    -------
    bool
        True if patched (or already patched with this script), False if the site has no
        ``service-worker.js`` (nothing to do; a warning is logged).

    Raises
    ------
    FileNotFoundError
        If litebridge's built service-worker script is missing (a source checkout whose
        JavaScript was not built).
    """
    worker = output_dir / SERVICE_WORKER
    if not worker.is_file():
        log.warning("[litebridge] %s has no %s: cross-origin isolation without headers is off", output_dir, worker.name)
        return False
    if script is None:
        source = resources.files("litebridge") / "_isolation_sw.js"
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing: build js/ first (npm run build)")
        script = source.read_bytes()
    (output_dir / ISOLATION_SCRIPT).write_bytes(script)
    digest = hashlib.sha256(script).hexdigest()[:16]
    line = f'{_MARKER}\nimportScripts("./{ISOLATION_SCRIPT}?v={digest}");\n'
    text = worker.read_text(encoding="utf-8")
    kept = text.split(f"\n{_MARKER}", 1)[0].rstrip("\n")
    worker.write_text(f"{kept}\n{line}", encoding="utf-8")
    return True


def _kernel_settings(config: dict[str, Any]) -> dict[str, Any]:
    data = config.setdefault("jupyter-config-data", {})
    plugins = data.setdefault("litePluginSettings", {})
    settings: dict[str, Any] = plugins.setdefault(KERNEL_PLUGIN, {})
    return settings


def _local_lock(output_dir: Path, pyodide_url: str | None) -> Path | None:
    """Return the site's own ``pyodide-lock.json`` next to ``pyodideUrl``, if it is a local one."""
    if not pyodide_url or urlsplit(pyodide_url).scheme or pyodide_url.startswith("/"):
        return None
    lock = (output_dir / pyodide_url.split("?")[0].split("#")[0]).parent / "pyodide-lock.json"
    return lock if lock.is_file() else None


def preload_kernel_package(output_dir: Path, make_wheel: Callable[[Path], Path]) -> str:
    """Make the Pyodide kernel load ``litebridge`` at boot, from the site's own lock.

    Pyodide preloads (``loadPyodideOptions.packages``) only packages of its lock, so the
    wheel goes next to the lock, with an entry (sha256, ``imports``) in it.

    Parameters
    ----------
    output_dir : Path
        The built site; its ``jupyter-lite.json`` must already name ``pyodideUrl`` (the
        jupyterlite-pyodide-kernel addons set it when ``<lite_dir>/static/pyodide`` exists).
    make_wheel : callable
        ``make_wheel(directory) -> Path`` writes the kernel wheel into ``directory`` (see
        :func:`litebridge.kernel_wheel.build_kernel_wheel`); called only if the lock lacks it.

    Returns
    -------
    str
        ``"added"``, ``"present"`` (the lock already has litebridge and its wheel: nothing
        changed but the packages list), or ``"no-local-lock"`` (Pyodide comes from elsewhere,
        e.g. a CDN, whose lock cannot be changed: a warning says what to do instead).

    Raises
    ------
    FileNotFoundError
        If ``output_dir`` has no ``jupyter-lite.json``.
    """
    config_path = output_dir / "jupyter-lite.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    settings = _kernel_settings(config)
    lock_path = _local_lock(output_dir, settings.get("pyodideUrl"))
    if lock_path is None:
        log.warning(
            "[litebridge] the site loads Pyodide from %r, not from its own files: litebridge cannot be "
            "preloaded (Pyodide preloads only packages of its lock). Put a Pyodide distribution in "
            "<lite_dir>/static/pyodide, or run `%%pip install litebridge` in the kernel.",
            settings.get("pyodideUrl", "the default CDN"),
        )
        return "no-local-lock"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    entry = lock["packages"].get("litebridge")
    status = "present"
    if entry is None or not (lock_path.parent / entry["file_name"]).is_file():
        wheel = make_wheel(lock_path.parent)
        version = wheel.name.split("-")[1]
        lock["packages"]["litebridge"] = {
            "name": "litebridge",
            "version": version,
            "file_name": wheel.name,
            "install_dir": "site",
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "package_type": "package",
            "imports": ["litebridge"],
            "depends": [],
            "unvendored_tests": False,
        }
        lock_path.write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
        status = "added"
    options = settings.setdefault("loadPyodideOptions", {})
    packages = options.setdefault("packages", [])
    if "litebridge" not in packages:
        packages.append("litebridge")
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return status


def publish_embed(output_dir: Path) -> bool:
    """Copy ``embed.js`` and ``demo.html`` from the site's labextension to ``<site>/litebridge/``.

    ``jupyter lite build`` copies the labextension (from the wheel's shared data) to
    ``<site>/extensions/litebridge/``; a host page imports ``<site>/litebridge/embed.js``, the
    address docs/embed.md documents, which does not depend on the labextension's layout.

    Parameters
    ----------
    output_dir : Path
        The built site (``jupyter lite build`` output).

    Returns
    -------
    bool
        True if both files are in ``<site>/litebridge/`` now (copied, or replaced by the
        labextension's current ones), False if the site has no litebridge labextension with
        them (nothing is done; a warning is logged).
    """
    static = output_dir / _LABEXTENSION_STATIC
    missing = [name for name in EMBED_FILES if not (static / name).is_file()]
    if missing:
        log.warning(
            "[litebridge] %s has no %s: embed() is not published in %s/",
            output_dir,
            ", ".join(str(_LABEXTENSION_STATIC / name) for name in missing),
            EMBED_DIR,
        )
        return False
    target = output_dir / EMBED_DIR
    target.mkdir(exist_ok=True)
    for name in EMBED_FILES:
        shutil.copyfile(static / name, target / name)
    return True


def _copy_or_build_wheel(wheel: Path | None) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        if wheel is not None:
            return Path(shutil.copy2(wheel, directory / wheel.name))
        from litebridge.kernel_wheel import build_kernel_wheel

        return build_kernel_wheel(directory)

    return make


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three steps on a built site (command line; see the module docstring).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 if the directory is not a built site.
    """
    parser = argparse.ArgumentParser(prog="python -m litebridge.site_build", description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path, help="the built site (jupyter lite build output)")
    parser.add_argument("--wheel", type=Path, default=None, help="kernel wheel to use (default: build one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.output_dir / "jupyter-lite.json").is_file():
        print(f"{args.output_dir} is not a built JupyterLite site (no jupyter-lite.json)")
        return 1
    patched = patch_service_worker(args.output_dir)
    preload = preload_kernel_package(args.output_dir, _copy_or_build_wheel(args.wheel))
    embed = publish_embed(args.output_dir)
    log.info(
        "[litebridge] service worker: %s; kernel package: %s; embed.js: %s",
        "isolating" if patched else "absent",
        preload,
        f"{EMBED_DIR}/" if embed else "absent",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
