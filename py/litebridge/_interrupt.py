"""Keyboard interrupts for the Pyodide kernel (docs/protocol.md section 11, COOP/COEP only).

The worker side of the kernel's Stop button: register a shared ``Int32Array`` with
``pyodide.setInterruptBuffer`` (Pyodide raises ``KeyboardInterrupt`` when the page writes
``SIGINT``, 2, into it) and announce that buffer to the page with a ``litebridge.interrupt``
message posted on the worker's global scope, where the labextension listens.

Where the ``KeyboardInterrupt`` may land: Pyodide checks the buffer whenever Python bytecode
runs, and a cell suspended in ``await`` runs none of its own. The next Python to run would be
the event loop's machinery (Pyodide's ``webloop``) or a page -> Python call, and a
``KeyboardInterrupt`` there breaks the kernel instead of the cell. So :func:`enable` installs a
``SIGINT`` handler that raises only inside the asyncio task of the running cell (recorded by
IPython's ``pre_run_cell`` event) and drops the signal anywhere else: Stop does not interrupt
a cell while it is suspended in ``await``, as before. The page clears the buffer when the cell
ends.

Pyodide checks the buffer while Python bytecode runs, not while ``time.sleep`` waits (its
``clock_nanosleep`` never returns ``EINTR``, so CPython's sleep loop never checks for signals):
:func:`enable` therefore replaces ``time.sleep`` with :func:`interruptible_sleep`, which waits on
the interrupt buffer itself with ``Atomics.wait`` and so wakes as soon as the page writes to it.

This module imports nothing from the ``litebridge`` package: the IPython startup file that the
wheel installs (``<sys.prefix>/etc/ipython/startup/50-litebridge-interrupt.py``) loads it on its
own when the kernel starts, without importing ``litebridge`` (which would connect the kernel to
the page). ``import litebridge`` calls :func:`enable` again; it is idempotent.
"""

from __future__ import annotations

import math
import time
from typing import Any, Final, SupportsIndex

__all__ = ["KIND_INTERRUPT", "SIGINT", "enable", "interrupt_buffer", "interruptible_sleep", "on_sigint"]

KIND_INTERRUPT: Final = "litebridge.interrupt"
"""Kind of the worker -> page message that carries the interrupt buffer (protocol section 11)."""

SIGINT: Final = 2
"""The value the page writes into the buffer; Pyodide raises ``KeyboardInterrupt`` for it."""


class _State:
    """What :func:`enable` registered (one per worker)."""

    buffer: Any = None
    #: True once the SIGINT handler and the IPython cell events are installed
    tracking: bool = False
    #: the asyncio task of the cell IPython is running (None: not in a task); NO_CELL between cells
    cell_task: object | None = None


NO_CELL: Final = object()
"""``_State.cell_task`` between cells."""

_state = _State()
_state.cell_task = NO_CELL
_native_sleep = time.sleep


def interrupt_buffer() -> Any:
    """Return the ``Int32Array`` registered by :func:`enable`, or ``None`` before (or without) it."""
    return _state.buffer


def interruptible_sleep(seconds: float | SupportsIndex) -> None:
    """``time.sleep`` that a keyboard interrupt ends (installed by :func:`enable`).

    Parameters
    ----------
    seconds : float
        How long to sleep, in seconds. Anything but a finite, positive ``int`` or ``float``
        (``0``, a negative or non-numeric value) goes to the original ``time.sleep``, which
        returns or raises as it always did (``ValueError``, ``TypeError``).

    Raises
    ------
    KeyboardInterrupt
        When the page writes ``SIGINT`` into the interrupt buffer while it sleeps.
    """
    buffer = _state.buffer
    if (
        buffer is None
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        _native_sleep(seconds)
        return
    import js as js_module
    import pyodide_js

    js: Any = js_module
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        js.Atomics.wait(buffer, 0, 0, remaining * 1000.0)
        if buffer[0] != 0:
            pyodide_js.checkInterrupt()  # raises KeyboardInterrupt (and resets the buffer)
            if buffer[0] != 0:  # put back for the cell (on_sigint): do not spin on it
                _native_sleep(min(remaining, 0.05))


def _current_task() -> object | None:
    import asyncio

    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop
        return None


def on_sigint(signum: int, frame: object) -> None:
    """Handle ``SIGINT``: raise ``KeyboardInterrupt`` in the running cell's code only.

    Parameters
    ----------
    signum, frame
        As for any ``signal`` handler (unused).

    Raises
    ------
    KeyboardInterrupt
        When called inside the asyncio task of the cell being run (or in a cell that runs
        outside any task, or when cells are not tracked). Anywhere else (while the cell awaits,
        between cells) the signal is dropped.
    """
    if not _state.tracking:
        raise KeyboardInterrupt
    cell = _state.cell_task
    if cell is NO_CELL:
        return  # no cell runs (the page sends SIGINT only while one does): dropped
    if cell is None or _current_task() is cell:
        raise KeyboardInterrupt
    # Elsewhere (the event loop's machinery while the cell awaits, a page -> Python call):
    # dropped. Put back, it would land at a random later point of the cell's task, such as
    # IPython showing the cell's own error, and swallow that error.


def _track_cells() -> None:
    """Install :func:`on_sigint` and record the running cell's task with IPython's events."""
    if _state.tracking:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import signal

    def started(*_: object) -> None:
        _state.cell_task = _current_task()

    def finished(*_: object) -> None:
        _state.cell_task = NO_CELL

    shell.events.register("pre_run_cell", started)
    shell.events.register("post_run_cell", finished)
    signal.signal(signal.SIGINT, on_sigint)
    _state.tracking = True


def _registered_buffer(pyodide_js: Any) -> Any:
    """Return the buffer Pyodide already watches (set by anyone), or ``None``.

    Reads ``pyodide._module.Py_EmscriptenSignalBuffer``, where ``setInterruptBuffer`` stores it
    (Pyodide 314, private): if that ever moves, this returns ``None`` and :func:`enable`
    registers its own buffer.
    """
    try:
        existing = pyodide_js._module.Py_EmscriptenSignalBuffer
    except AttributeError:
        return None
    return existing if getattr(existing, "length", 0) >= 1 else None


def enable() -> Any:
    """Make ``SIGINT`` written by the page raise ``KeyboardInterrupt`` in this kernel.

    Only in a cross-origin isolated worker (COOP/COEP: ``SharedArrayBuffer`` exists). Keeps a
    buffer Pyodide already watches (registered by someone else, or by an earlier call), else
    registers a new one-element ``Int32Array`` over a ``SharedArrayBuffer``. Each call posts
    ``{v: 1, id: 0, kind: "litebridge.interrupt", buffer}`` on the worker's global scope, so a
    page that attached late still learns it; the page keeps the latest one per kernel. Replaces
    ``time.sleep`` with :func:`interruptible_sleep` and, in an IPython kernel, installs
    :func:`on_sigint` as the ``SIGINT`` handler.

    Returns
    -------
    Int32Array (a ``JsProxy``) or None
        The buffer, or ``None`` outside Pyodide or without isolation (nothing is done then).
    """
    try:
        import js as js_module
        import pyodide_js
        from pyodide.ffi import to_js
    except ImportError:  # CPython: no kernel to interrupt
        return None
    js: Any = js_module
    if not getattr(js, "crossOriginIsolated", False) or getattr(js, "SharedArrayBuffer", None) is None:
        return None
    buffer = _registered_buffer(pyodide_js)
    if buffer is None:
        buffer = js.Int32Array.new(js.SharedArrayBuffer.new(4))
        pyodide_js.setInterruptBuffer(buffer)
    _state.buffer = buffer
    time.sleep = interruptible_sleep
    _track_cells()
    message = {"v": 1, "id": 0, "kind": KIND_INTERRUPT, "buffer": buffer}
    js.postMessage(to_js(message, dict_converter=js.Object.fromEntries))
    return buffer
