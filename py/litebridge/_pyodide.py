"""The browser link: the JavaScript worker helper (protocol section 10) driven from Pyodide.

Imported only when ``sys.platform == "emscripten"``. The helper's source ships as package data
(``litebridge/_worker.js``, built from ``js/src/worker/helper.ts``); evaluating it with
``pyodide.code.run_js`` returns the helper object. Every round trip is one helper call: the
bound JavaScript methods are looked up once and cached here (a cached FFI call costs about
1.5 us, a fresh attribute lookup plus call 6-8 us, measured with Pyodide 314 in Chromium 156).
"""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Sequence
from importlib import resources
from typing import Any, TypeVar

import js
import pyodide
from pyodide.code import run_js
from pyodide.ffi import JsException, create_proxy

from ._page import FrameHandler
from .codec import Buffer
from .errors import BridgeUnavailable, CallTimeout
from .protocol import TransportName

try:  # Pyodide's JSPI API (pyodide.ffi.run_sync / can_run_sync, Pyodide >= 0.26)
    from pyodide.ffi import can_run_sync, run_sync
except ImportError:  # pragma: no cover - older Pyodide

    def can_run_sync() -> bool:
        return False

    def run_sync(x: Any) -> Any:
        raise RuntimeError("pyodide.ffi.run_sync is not available in this Pyodide")


__all__ = ["PyodideLink"]

T = TypeVar("T")

HELPER_RESOURCE = "_worker.js"


def _ms(timeout_s: float | None) -> float:
    return float("inf") if timeout_s is None else timeout_s * 1000.0


def _load_helper_source() -> str:
    try:
        return resources.files("litebridge").joinpath(HELPER_RESOURCE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BridgeUnavailable(
            f"litebridge/{HELPER_RESOURCE} is missing from the installed package: the wheel "
            "was built without its JavaScript worker helper (build js/ first)"
        ) from None


def _to_bytes_list(buffers: Any) -> list[Buffer] | None:
    """Copy a JS array of Uint8Array (or null/undefined) into a list of bytes."""
    if buffers is None:
        return None
    try:
        return [item.to_bytes() for item in buffers]
    except TypeError:  # JS null may arrive as pyodide.ffi.jsnull, which is not iterable
        return None


def _split_answer(answer: Any) -> tuple[str, list[Buffer]]:
    """Split an answer frame as the helper returns it (``callSync``, ``awaitAnswer``): JSON, buffers.

    The helper gives the frame's JSON text alone when it has no buffers, else a JS array
    ``[json, ...Uint8Array]``; the buffers are copied into ``bytes`` here, at once: those of a
    ``callSync`` answer are views of a scratch buffer the next ``callSync`` reuses.
    """
    if isinstance(answer, str):
        return answer, []
    parts = list(answer)
    return str(parts[0]), [part.to_bytes() for part in parts[1:]]


class PyodideLink:
    """The :class:`litebridge._page.Link` of the Pyodide kernel.

    Parameters
    ----------
    on_frame : FrameHandler
        Receives every frame the page posts (answers and page -> Python calls).

    Raises
    ------
    BridgeUnavailable
        When the helper's source is missing from the package.
    """

    def __init__(self, on_frame: FrameHandler) -> None:
        helper = run_js(_load_helper_source())
        self._on_frame = on_frame
        # Kept for the kernel's lifetime: the helper calls it for every frame from the page.
        self._receiver = create_proxy(self._receive)
        self._post = helper.post
        self._call_sync = helper.callSync
        self._wait_page_ready = helper.waitPageReady
        self._await_answer = helper.awaitAnswer
        self._wake = helper.wake
        self._helper = helper
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = asyncio.get_event_loop()
        self._isolated = bool(getattr(js, "crossOriginIsolated", False))
        wasm = getattr(js, "WebAssembly", None)
        self._jspi_supported = hasattr(wasm, "Suspending") or hasattr(wasm, "Suspender")
        self._has_sab = bool(helper.connect(self._receiver, str(pyodide.__version__), platform.python_version()))
        self._enable_interrupt(helper)

    @staticmethod
    def _enable_interrupt(helper: Any) -> None:
        """Let a keyboard interrupt end a blocked ``call_sync`` (protocol section 11)."""
        import pyodide_js

        from ._interrupt import enable

        buffer = enable()
        if buffer is not None:
            helper.setInterrupt(buffer, pyodide_js.checkInterrupt)

    def _receive(self, text: str, buffers: Any) -> None:
        self._on_frame(text, _to_bytes_list(buffers))

    @property
    def transport(self) -> TransportName:
        """``"sab"`` with a SharedArrayBuffer, else ``"jspi"`` if ``can_run_sync()`` here."""
        if self._has_sab:
            return "sab"
        return "jspi" if can_run_sync() else "async"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """Pyodide's WebLoop."""
        return self._loop

    @property
    def isolated(self) -> bool:
        """``crossOriginIsolated`` of the worker."""
        return self._isolated

    @property
    def jspi_supported(self) -> bool:
        """Whether ``WebAssembly.Suspending`` (JSPI) exists in this browser."""
        return self._jspi_supported

    def may_resume_here(self) -> bool:
        """Whether a task may be resumed in the running call into Python (``CallFuture.answer``).

        Where the browser has JSPI, a task may block (``run_sync``) only where Python was entered
        through a JSPI ``promising`` wrapper, as the WebLoop enters it for every handle; the
        helper enters Python that way for answer frames (protocol section 10), so this is
        ``can_run_sync()`` there. Without JSPI nothing can block, and this is True.
        """
        return not self._jspi_supported or can_run_sync()

    def post(self, text: str, buffers: list[Buffer]) -> None:
        """Post one frame to the page (the Worker channel); the helper copies the buffers before returning."""
        # A Python list argument reaches JS as a PyProxy that Pyodide destroys after the call.
        self._post(text, buffers or None)

    def wait_page_ready(self, timeout_s: float | None) -> bool:
        """Wait for PAGE_READY in the SAB header, at most ``timeout_s`` seconds."""
        return bool(self._wait_page_ready(_ms(timeout_s)))

    def call_sab(self, text: str, buffers: list[Buffer], timeout_s: float | None) -> tuple[str, Sequence[Buffer]]:
        """One SAB round trip; returns the answer's JSON text and buffers."""
        try:
            answer = self._call_sync(text, buffers or None, _ms(timeout_s))
        except JsException as exc:
            name = getattr(exc, "name", "")
            if name == "CallTimeout":
                raise CallTimeout(str(exc)) from None
            if name == "BridgeUnavailable":
                raise BridgeUnavailable(str(getattr(exc, "message", exc))) from None
            raise
        return _split_answer(answer)

    def block_call(self, call_id: int, future: asyncio.Future[T]) -> T:
        """Block with JSPI until the page answers call ``call_id`` or ``future`` ends otherwise.

        Python blocks in ``pyodide.ffi.run_sync`` on the helper's promise of the answer
        (``awaitAnswer``): the page marks the answer to a ``sync`` request
        (``answers``, protocol section 3) and the helper resolves the promise with that frame in
        JavaScript. No Python runs between the answer's arrival and the caller's resumption: the
        frame is handled here, after ``run_sync`` returns, which settles ``future`` through the
        page's pending table. Whatever else ends the call (its timeout, a refusal) settles
        ``future`` first: its done callback gives the wait up (``wake``) and the outcome is read
        from ``future``.

        ``run_sync`` only ever sees a promise that resolves: an exception that crosses the JSPI
        suspension ends the whole cell and cannot be caught by the caller's ``try``/``except``
        (seen with Pyodide 314.0.6 in Chromium 156).

        Parameters
        ----------
        call_id : int
            The id of the ``sync: true`` request already posted to the page.
        future : asyncio.Future
            The call's future in the page's pending table.

        Returns
        -------
        object
            ``future``'s result.

        Raises
        ------
        BaseException
            ``future``'s exception (for example ``CallTimeout``, ``PageError``).
        """
        wake = self._wake

        def give_up(_future: asyncio.Future[T]) -> None:
            wake(call_id)

        while not future.done():
            # The callback is attached only while blocked: a future settled below by the answer
            # frame then schedules no callback on the loop.
            future.add_done_callback(give_up)
            try:
                frame = run_sync(self._await_answer(call_id))
            except BaseException:
                wake(call_id)  # an interrupt while blocked: nothing waits for the answer any more
                raise
            finally:
                future.remove_done_callback(give_up)
            if frame is not None:  # None: woken, the future is done
                self._on_frame(*_split_answer(frame))
        return future.result()
