"""litebridge benchmarks: ``python -m bench`` (see :mod:`bench.runner`).

Importing the package puts ``py/`` (the litebridge package) and ``tests/browser/`` (the browser
drivers and the kernel harness the benchmarks share with the tests) on ``sys.path``, once for
every module of it.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root."""

for _path in (ROOT / "py", ROOT / "tests" / "browser"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
