"""Assemble the offline Pyodide runtime that the JupyterLite site serves.

The npm package ``pyodide`` holds the core runtime (``pyodide.mjs``, ``pyodide.asm.wasm``,
``python_stdlib.zip``, ``pyodide-lock.json``) but no package wheels. The kernel needs micropip,
ipython and jedi plus their pure-Python dependencies; PyPI serves those exact versions as
``py3-none-any`` wheels, whose sha256 differ from the ones in the lock. This script:

1. fetches ``pyodide@<version>`` with ``npm pack`` (cached) and copies the core files;
2. downloads the wheels of the closure of ``--root`` packages from PyPI with pip (cached);
3. writes a ``pyodide-lock.json`` (with the ``pyodide-lock`` library) that lists exactly the
   wheels present, with their real sha256, plus the extra wheels (``--wheel``, e.g. litebridge).

Nothing here is fetched at run time: the output directory is self-contained.

Usage::

    python scripts/assemble_pyodide.py --dest lite/static/pyodide --cache _build/pyodide \
        --wheel _build/dist/litebridge-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from collections import deque
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename
from pyodide_lock import PackageSpec, PyodideLockSpec
from pyodide_lock.utils import add_wheels_to_spec, update_package_sha256

#: packages the kernel loads from the lock at boot (micropip) or with piplite (ipython, jedi)
DEFAULT_ROOTS = ("micropip", "ipython", "jedi")
#: files of the npm package that make up the runtime (the rest: docs, typings, source maps)
CORE_SUFFIXES = (".mjs", ".js", ".wasm", ".zip")
LOCK_NAME = "pyodide-lock.json"


def kernel_pyodide_version() -> str:
    """Return the Pyodide version that the installed jupyterlite-pyodide-kernel expects.

    Returns
    -------
    str
        For example ``"314.0.6"``.
    """
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION  # type: ignore[import-untyped]

    return str(PYODIDE_VERSION)


def fetch_npm_package(version: str, cache: Path) -> Path:
    """Fetch the ``pyodide`` npm package tarball into ``cache`` (once) and unpack it.

    Parameters
    ----------
    version : str
        npm version of ``pyodide``.
    cache : Path
        Cache directory; the tarball and its ``package/`` tree are kept there.

    Returns
    -------
    Path
        The unpacked ``package/`` directory.

    Raises
    ------
    subprocess.CalledProcessError
        If ``npm pack`` fails (e.g. no registry access).
    """
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"pyodide-{version}.tgz"
    unpacked = cache / f"pyodide-{version}"
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", "--loglevel=error", f"pyodide@{version}", "--pack-destination", str(cache)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not (unpacked / "package" / LOCK_NAME).exists():
        shutil.rmtree(unpacked, ignore_errors=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(unpacked, filter="data")
    return unpacked / "package"


def load_lock(path: Path, version: str) -> PyodideLockSpec:
    """Read a Pyodide lock file, tolerating the missing ``info.version`` of Pyodide 314.

    Parameters
    ----------
    path : Path
        The ``pyodide-lock.json`` from the npm package.
    version : str
        Pyodide version, used as ``info.version`` when the file has none.

    Returns
    -------
    PyodideLockSpec
        The validated lock.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    data["info"].setdefault("version", version)
    return PyodideLockSpec(**data)


def dependency_closure(lock: PyodideLockSpec, roots: list[str]) -> list[str]:
    """Return the lock entries needed by ``roots``, following ``depends``.

    Parameters
    ----------
    lock : PyodideLockSpec
        The lock to walk.
    roots : list of str
        Package names (any spelling; canonicalised).

    Returns
    -------
    list of str
        Lock keys, sorted.

    Raises
    ------
    KeyError
        If a root or a dependency is not in the lock.
    """
    by_canonical = {canonicalize_name(key): key for key in lock.packages}
    seen: set[str] = set()
    queue = deque(roots)
    while queue:
        key = by_canonical[canonicalize_name(queue.popleft())]
        if key in seen:
            continue
        seen.add(key)
        queue.extend(lock.packages[key].depends)
    return sorted(seen)


def download_wheels(specs: list[PackageSpec], python_version: str, wheel_cache: Path) -> None:
    """Download the PyPI wheels of ``specs`` (pinned to the lock's versions) into ``wheel_cache``.

    Parameters
    ----------
    specs : list of PackageSpec
        Lock entries; each must be a pure-Python package on PyPI.
    python_version : str
        Target Python, ``"3.14"``: pip picks wheels for it, never source distributions.
    wheel_cache : Path
        Directory for the wheels; wheels already there are not downloaded again.

    Raises
    ------
    subprocess.CalledProcessError
        If pip cannot find or download a wheel.
    """
    wheel_cache.mkdir(parents=True, exist_ok=True)
    have = {canonicalize_name(parse_wheel_filename(p.name)[0]) for p in wheel_cache.glob("*.whl")}
    missing = [f"{s.name}=={s.version}" for s in specs if canonicalize_name(s.name) not in have]
    if not missing:
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "--implementation",
            "py",
            "--abi",
            "none",
            "--platform",
            "any",
            "--dest",
            str(wheel_cache),
            *missing,
        ],
        check=True,
    )


def assemble(dest: Path, cache: Path, version: str, roots: list[str], extra_wheels: list[Path]) -> PyodideLockSpec:
    """Write the runtime, the wheels and the rewritten lock into ``dest``.

    Parameters
    ----------
    dest : Path
        Output directory (replaced), e.g. ``lite/static/pyodide``.
    cache : Path
        Cache directory for the npm tarball and the PyPI wheels.
    version : str
        Pyodide version.
    roots : list of str
        Lock packages whose dependency closure is shipped.
    extra_wheels : list of Path
        Pure-Python wheels to add to the lock (e.g. litebridge).

    Returns
    -------
    PyodideLockSpec
        The lock that was written.

    Raises
    ------
    RuntimeError
        If a downloaded wheel's version does not match the lock.
    """
    package = fetch_npm_package(version, cache)
    lock = load_lock(package / LOCK_NAME, version)
    keys = dependency_closure(lock, roots)
    specs = [lock.packages[key] for key in keys]
    wheel_cache = cache / "wheels"
    download_wheels(specs, lock.info.python.rsplit(".", 1)[0], wheel_cache)

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for path in sorted(package.iterdir()):
        if path.suffix in CORE_SUFFIXES and path.name != "pyodide.js.map":
            shutil.copy2(path, dest / path.name)

    wheels = {canonicalize_name(parse_wheel_filename(p.name)[0]): p for p in wheel_cache.glob("*.whl")}
    packages: dict[str, PackageSpec] = {}
    for key, spec in zip(keys, specs, strict=True):
        wheel = wheels[canonicalize_name(spec.name)]
        wheel_version = str(parse_wheel_filename(wheel.name)[1])
        if canonicalize_name(wheel_version) != canonicalize_name(spec.version):
            raise RuntimeError(f"{wheel.name}: lock wants {spec.name} {spec.version}")
        shutil.copy2(wheel, dest / wheel.name)
        entry = spec.model_copy(update={"file_name": wheel.name})
        packages[key] = update_package_sha256(entry, dest / wheel.name)
    lock = lock.model_copy(update={"packages": packages})

    copied = []
    for wheel in extra_wheels:
        shutil.copy2(wheel, dest / wheel.name)
        copied.append(dest / wheel.name)
    lock = add_wheels_to_spec(lock, copied, base_path=dest)
    lock.to_json(dest / LOCK_NAME, indent=1)
    return lock


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; see the module docstring.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status, 0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="output directory (replaced)")
    parser.add_argument("--cache", type=Path, required=True, help="cache for npm and PyPI downloads")
    parser.add_argument("--version", default=None, help="pyodide version (default: what the kernel expects)")
    parser.add_argument(
        "--root", action="append", default=None, help=f"lock packages to ship (default: {DEFAULT_ROOTS})"
    )
    parser.add_argument("--wheel", action="append", type=Path, default=[], help="extra wheel to add to the lock")
    args = parser.parse_args(argv)
    version = args.version or kernel_pyodide_version()
    lock = assemble(args.dest, args.cache, version, args.root or list(DEFAULT_ROOTS), args.wheel)
    print(f"pyodide {version}: {len(lock.packages)} packages in {args.dest / LOCK_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
