"""The documented transports by browser and hosting mode (the table in ``docs/usage.md``).

The table sits between ``<!-- transport-table ... -->`` and ``<!-- /transport-table -->``: one row
per hosting mode, whose first cell names it in backticks (``coop-coep``, ``no-isolation``, ...),
one column per browser (``Chromium``, ``Firefox``, ``WebKit``), cells like ```sab```. Tests
compare what they observe with it, so the documentation cannot drift from the browsers.
"""

from __future__ import annotations

import re
from pathlib import Path

USAGE_MD = Path(__file__).resolve().parents[2] / "docs" / "usage.md"
_START = "<!-- transport-table"
_END = "<!-- /transport-table -->"
_TICKED = re.compile(r"`([^`]+)`")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_transport_table(path: Path = USAGE_MD) -> dict[tuple[str, str], str]:
    """Parse the table into ``{(hosting_mode, browser_name): transport}``.

    Parameters
    ----------
    path : Path
        The Markdown file (default ``docs/usage.md``).

    Returns
    -------
    dict
        Keys like ``("coop-coep", "webkit")`` (browser names lower-case), values ``"sab"``,
        ``"jspi"`` or ``"async"``.

    Raises
    ------
    ValueError
        If the markers, the header or a row's mode or transport cannot be read.
    """
    text = path.read_text(encoding="utf-8")
    start, end = text.find(_START), text.find(_END)
    if start < 0 or end < start:
        raise ValueError(f"{path}: no {_START} ... {_END} block")
    rows = [line for line in text[start:end].splitlines() if line.lstrip().startswith("|")]
    if len(rows) < 3:
        raise ValueError(f"{path}: the transport table has no rows")
    browsers = [name.lower() for name in _cells(rows[0])[1:]]
    table: dict[tuple[str, str], str] = {}
    for row in rows[2:]:
        cells = _cells(row)
        modes = _TICKED.findall(cells[0])
        if len(modes) != 1 or len(cells) != len(browsers) + 1:
            raise ValueError(f"{path}: cannot read transport table row {row!r}")
        for browser, cell in zip(browsers, cells[1:], strict=True):
            transport = _TICKED.findall(cell)
            if transport not in (["sab"], ["jspi"], ["async"]):
                raise ValueError(f"{path}: {modes[0]}/{browser}: {cell!r} is not `sab`, `jspi` or `async`")
            table[(modes[0], browser)] = transport[0]
    return table
