"""Build the ``py3-none-any`` wheel of the kernel package from the installed ``litebridge``.

A JupyterLite site whose build environment has ``pip install litebridge`` holds the package
files but not a wheel; the kernel (Pyodide) can only load wheels. This module packs the files
the kernel needs (the ``.py`` modules, ``py.typed`` and the bundled worker helper
``_worker.js``) into a wheel with a RECORD, reproducibly (fixed timestamps and order).
Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

__all__ = ["KERNEL_FILES", "build_kernel_wheel"]

#: files of the package shipped to the kernel (glob patterns, relative to the package)
KERNEL_FILES: tuple[str, ...] = ("*.py", "py.typed", "_worker.js")
#: zip timestamp of every entry (the earliest a zip can hold): same input, same bytes
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_kernel_wheel(dest: Path, package_dir: Path | None = None, version: str | None = None) -> Path:
    """Write ``litebridge-<version>-py3-none-any.whl`` into ``dest``.

    Parameters
    ----------
    dest : Path
        Output directory (created if needed); an existing wheel of that name is replaced.
    package_dir : Path, optional
        The ``litebridge`` package directory (default: the one this module belongs to).
    version : str, optional
        Wheel version (default: ``litebridge.__version__``).

    Returns
    -------
    Path
        The wheel.

    Raises
    ------
    FileNotFoundError
        If the worker helper ``_worker.js`` is missing from the package (a source checkout
        whose JavaScript was not built: run ``npm run build`` in ``js/``).
    """
    from litebridge import __version__

    package_dir = package_dir or Path(__file__).parent
    version = version or __version__
    if not (package_dir / "_worker.js").is_file():
        raise FileNotFoundError(f"{package_dir / '_worker.js'} is missing: build js/ first (npm run build)")
    files = sorted({path for pattern in KERNEL_FILES for path in package_dir.glob(pattern) if path.is_file()})
    dist_info = f"litebridge-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [(f"litebridge/{path.name}", path.read_bytes()) for path in files]
    entries.append((f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: litebridge\nVersion: {version}\n".encode()))
    entries.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: litebridge.kernel_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{dist_info}/RECORD", f"{record}{dist_info}/RECORD,,\n".encode()))

    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"litebridge-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return wheel
