"""The ``page`` object: Python -> page calls, and serving page -> Python calls.

:class:`Page` owns ids, envelopes, the codec and the table of pending calls. It talks to the
page through a :class:`Link`, a small transport interface: in the kernel that is
:class:`litebridge._pyodide.PyodideLink` (the JavaScript worker helper of protocol section 10);
in unit tests an in-process fake. So call/answer matching, timeouts and late-answer dropping are
pure logic, tested in CPython.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ._call_future import CallFuture
from ._call_output import console_sink, mark_page_call, unmark_page_call
from ._call_output import install as install_call_output
from ._handles import HandleTable
from ._streams import StreamTable, is_stream_source
from ._window import JSHandle
from .codec import Buffer, decode_envelope, dumps, encode_envelope, plain_json
from .dispatch import Frame, Registry, answer_error, check_name, invoke_callable
from .errors import (
    BridgeError,
    BridgeUnavailable,
    CallTimeout,
    MethodLookupError,
    SyncUnavailable,
    UnknownMethodError,
    error_from_wire,
)
from .protocol import (
    HANDLE_KEY,
    KIND_APPLY,
    KIND_CALL,
    KIND_CANCEL,
    KIND_ERROR,
    KIND_OP,
    KIND_READY,
    KIND_REGISTER,
    KIND_RELEASE,
    KIND_RESULT,
    MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    TransportName,
)

_STREAM_KINDS = "litebridge.stream."

__all__ = ["FrameHandler", "Link", "Page", "explain_sync_unavailable"]

log = logging.getLogger("litebridge")

T = TypeVar("T")

FrameHandler = Callable[[str, Sequence[Buffer] | None], None]
"""Receives every frame the page posts: JSON text and its buffers (or None)."""

DEFAULT_TIMEOUT_S = 30.0

READY_WAIT_S = 10.0
"""How long after the hello the page may take to answer ``ready`` (seconds). A page answers
within milliseconds when the labextension is there; past this, calls fail at once with
:class:`BridgeUnavailable` instead of each waiting out its own timeout."""


class Link(Protocol):
    """What :class:`Page` needs from a transport (one per kernel).

    Implementations: :class:`litebridge._pyodide.PyodideLink` in the browser, fakes in tests.
    """

    @property
    def transport(self) -> TransportName:
        """What ``call_sync`` would use here and now: ``"sab"``, ``"jspi"`` or ``"async"``."""
        ...

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop that futures of pending calls belong to."""
        ...

    @property
    def isolated(self) -> bool:
        """True when the page is cross-origin isolated (SharedArrayBuffer available)."""
        ...

    @property
    def jspi_supported(self) -> bool:
        """True when the runtime has JavaScript Promise Integration at all."""
        ...

    def post(self, text: str, buffers: list[Buffer]) -> None:
        """Send one frame on the kernel's Worker channel (asynchronous traffic, section 3)."""
        ...

    def wait_page_ready(self, timeout_s: float | None) -> bool:
        """Block until the page attached to the SAB (PAGE_READY), at most ``timeout_s`` s."""
        ...

    def call_sab(self, text: str, buffers: list[Buffer], timeout_s: float | None) -> tuple[str, Sequence[Buffer]]:
        """One synchronous SAB round trip (section 7); raises :class:`CallTimeout`."""
        ...

    def block_call(self, call_id: int, future: asyncio.Future[T]) -> T:
        """Block until call ``call_id``'s ``future`` is done (JSPI) and return its result."""
        ...

    def may_resume_here(self) -> bool:
        """Whether a task may be resumed in the running call into Python (``CallFuture.answer``)."""
        ...


def explain_sync_unavailable(
    isolated: bool, jspi_supported: bool, what: str = "page.call_sync", instead: str = "`await page.call(...)`"
) -> str:
    """Explain why ``call_sync`` cannot block and what to do (the :class:`SyncUnavailable` text).

    Parameters
    ----------
    isolated : bool
        Whether the kernel's worker is cross-origin isolated. Called only when there is no SAB
        transport, so ``True`` means the browser has no ``SharedArrayBuffer`` although isolated
        (WebKitGTK under COOP/COEP).
    jspi_supported : bool
        Whether the runtime supports JSPI (so the reason is the call stack, not the browser).
    what : str, default ``"page.call_sync"``
        What cannot block, for the message.
    instead : str, default ``"`await page.call(...)`"``
        The awaitable form to suggest.

    Returns
    -------
    str
        The message.
    """
    reasons = []
    if isolated:
        reasons.append(
            "this browser has no SharedArrayBuffer although the page is cross-origin isolated "
            "(WebKitGTK, for one), so the SharedArrayBuffer transport cannot be used"
        )
    else:
        reasons.append(
            "the page is not cross-origin isolated, so there is no SharedArrayBuffer (serve the "
            "site with the headers 'Cross-Origin-Opener-Policy: same-origin' and "
            "'Cross-Origin-Embedder-Policy: require-corp', e.g. `python -m litebridge.serve`)"
        )
    if jspi_supported:
        reasons.append(
            "this code cannot block with JSPI here (pyodide.ffi.can_run_sync() is False: it was "
            "not entered through a cell or an async function, e.g. it runs in a callback of the "
            "JavaScript event loop or in an exposed method called by the page)"
        )
    else:
        reasons.append(
            "this browser has no JavaScript Promise Integration (JSPI) for "
            "pyodide.ffi.run_sync (use a browser with JSPI, e.g. Chromium)"
        )
    return f"{what} cannot block: " + "; and ".join(reasons) + f". Use {instead} instead, which works everywhere."


@dataclass(slots=True)
class _Pending:
    future: CallFuture
    deadline: float  # loop.time() seconds when it expires; math.inf: never
    label: str
    timeout_s: float | None
    own_deadline: float  # the caller's deadline; ``deadline`` is earlier until the page is ready


_DEADLINE_SLACK_S = 0.001
"""A shared-timer wake-up expires calls due within this many seconds (timer jitter)."""


def _check_timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if type(timeout) is float and timeout > 0:  # the common case, NaN fails "> 0"
        return timeout
    if not isinstance(timeout, int | float) or not timeout > 0 or math.isnan(timeout):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    return float(timeout)


_METHOD_JSON: dict[str, str] = {}
"""Method names already checked, each with its JSON string (names repeat: one dict lookup per
call afterwards)."""


def _method_json(method: object) -> str:
    """Check a method name (TypeError or UnknownMethodError) and return its JSON string."""
    if type(method) is str:
        quoted = _METHOD_JSON.get(method)
        if quoted is not None:
            return quoted
    if type(method) is not str or not method:
        raise TypeError(f"method must be a non-empty str, got {method!r}")
    try:
        check_name(method)
    except MethodLookupError as exc:  # refused before sending, as the page would refuse it
        raise UnknownMethodError("BridgeError", str(exc), "", exc.code) from None
    quoted = dumps(method)
    if len(_METHOD_JSON) < 4096:
        _METHOD_JSON[method] = quoted
    return quoted


def _default_connector(on_frame: FrameHandler) -> Link:
    if sys.platform != "emscripten":
        raise BridgeUnavailable(
            "litebridge talks to a page from the Pyodide kernel of JupyterLite; this is "
            f"Python {sys.version.split()[0]} on {sys.platform}, where there is no page "
            "(litebridge.codec, .dispatch and .errors work anywhere)"
        )
    from ._pyodide import PyodideLink  # browser only

    link = PyodideLink(on_frame)
    # print() in a page call goes to the browser console, never into a cell (_call_output.py)
    install_call_output(console_sink)
    return link


class Page:
    """The page this kernel runs in: call its JavaScript handlers, expose Python to it.

    Use the ready-made instance ``litebridge.page``. The connection to the page is made when
    ``litebridge`` is imported in the Pyodide kernel (or on first use).

    Parameters
    ----------
    connector : callable, optional
        Makes the :class:`Link` given the frame handler; by default the Pyodide worker helper.
        Tests pass an in-process fake.
    """

    _kernel_page: Page | None = None
    """The one Page of this process that talks to the real page (default connector)."""

    def __new__(cls, connector: Callable[[FrameHandler], Link] | None = None) -> Page:
        """One connection per kernel: ``Page()`` without a connector is always the same object.

        A second hello would orphan the first connection (its pending calls, its exposed
        objects), so ``Page()``, ``importlib.reload(litebridge)`` and ``litebridge.page`` all
        share one instance. Tests pass their own ``connector`` and get fresh objects.
        """
        if connector is not None:
            return super().__new__(cls)
        if Page._kernel_page is None:
            Page._kernel_page = super().__new__(cls)
        return Page._kernel_page

    def __init__(self, connector: Callable[[FrameHandler], Link] | None = None) -> None:
        if getattr(self, "_initialised", False):
            return  # the kernel's Page, already set up: keep its connection and state
        self._initialised = True
        self._connector = connector or _default_connector
        self._link: Link | None = None
        self._failure: BridgeUnavailable | None = None
        self._refusal: BridgeUnavailable | None = None
        self._connected_at = math.inf
        self._streams = StreamTable(self._post_frame, lambda: self.connect().loop)
        self._registry = Registry()
        self._registry.streams = self._streams
        self._pending: dict[int, _Pending] = {}
        self._serving: dict[int, asyncio.Future[Frame]] = {}
        # One timer for every pending call's deadline (not one per call: in Pyodide's WebLoop
        # each timer is a JS setTimeout plus a proxy). It is armed for the earliest deadline
        # known when it was armed, or later; calls answered early leave it armed.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = math.inf
        self._next_id = 1
        self._sync_depth = 0  # > 0 while blocked in a sync call (callbacks are then re-entrant)
        self._table: HandleTable[JSHandle] = HandleTable(JSHandle, self._schedule_release)
        self._table.owner = self
        self._release_scheduled = False
        self._page_ready = False
        self._sab_ready = False
        self.page_version: str | None = None
        """The litebridge version of the page side, once its ``ready`` arrived."""

    # --- connection -------------------------------------------------------------------------
    def connect(self) -> Link:
        """Connect to the page if not yet done (send the hello) and return the link.

        Returns
        -------
        Link
            The transport link.

        Raises
        ------
        BridgeUnavailable
            Outside the Pyodide kernel, or when the worker helper failed to start (the error
            is remembered: later calls raise it again at once).
        """
        if self._link is not None:
            return self._link
        if self._failure is not None:
            raise self._failure
        try:
            self._link = self._connector(self._on_frame)
            self._connected_at = self._link.loop.time()
        except BridgeUnavailable as exc:
            self._failure = exc
            raise
        except Exception as exc:
            self._failure = BridgeUnavailable(f"litebridge could not start its worker helper: {exc!r}")
            raise self._failure from exc
        return self._link

    @property
    def transport(self) -> TransportName | None:
        """What ``call_sync`` uses here: ``"sab"``, ``"jspi"`` or ``"async"``.

        ``"sab"``: SharedArrayBuffer + Atomics (the page is cross-origin isolated).
        ``"jspi"``: ``pyodide.ffi.run_sync`` over the Worker channel (``can_run_sync()`` is True
        in this context). ``"async"``: ``call_sync`` raises :class:`SyncUnavailable`; only
        ``await page.call`` works. None when there is no page (not in the Pyodide kernel).
        """
        try:
            return self.connect().transport
        except BridgeUnavailable:
            return None

    @property
    def counts(self) -> dict[str, int]:
        """Live entries of the bridge's tables, for checking that nothing leaks.

        Returns
        -------
        dict
            ``{"calls": n, "serving": m}``: Python -> page calls waiting for an answer, and
            page -> Python calls of ``async`` methods still running. Both are 0 when idle.
        """
        return {"calls": len(self._pending), "serving": len(self._serving)}

    @property
    def stream_counts(self) -> dict[str, int]:
        """Live byte streams and the bytes they hold here, for checking bounds and leaks.

        Returns
        -------
        dict
            ``{"producing", "consuming", "buffered_bytes", "peak_buffered_bytes"}``: streams
            sent to / received from the page that have not ended, bytes held for them now, and
            the most ever held at once (bounded by 4 MiB per stream: 4 chunks of 1 MiB).
        """
        return self._streams.counts

    @property
    def handles(self) -> dict[str, int]:
        """Live references between the kernel and the page, for checking that nothing leaks.

        Returns
        -------
        dict
            ``{"handles": n, "objects": m, "queued": q}``: page objects this kernel holds
            :class:`~litebridge.JSHandle` objects for (``window`` not counted), Python callables
            the page holds functions for, and handle releases not yet sent to the page (sent
            with the next operation, or at once when the kernel is idle). The page's side:
            ``(await litebridge.kernel()).handleCounts()``.
        """
        return self._table.counts

    @property
    def window(self) -> JSHandle:
        """The page's ``globalThis`` as a :class:`~litebridge.JSHandle` (``litebridge.window``)."""
        return self._table.window

    # --- Python -> page -----------------------------------------------------------------------
    def call(self, method: str, *args: object, timeout: float | None = DEFAULT_TIMEOUT_S) -> asyncio.Future[Any]:
        """Call a page handler asynchronously: ``await page.call("indentLeft", "hello", 4)``.

        Works with every transport. The call is sent at once; the returned future is
        resolved when the page answers.

        Parameters
        ----------
        method : str
            The handler name (registered with :meth:`register` or by page code).
        *args : object
            The arguments: JSON values, ``bytes``/``bytearray``/``memoryview`` anywhere.
        timeout : float or None, default 30.0
            Seconds to wait for the answer; None waits forever.

        Returns
        -------
        asyncio.Future
            Resolves to the handler's result (``bytes`` for binary values) or fails with
            :class:`JSError` (the handler threw; ``.name``, ``.message``, ``.stack``),
            :class:`UnknownMethodError` (no such handler, or a forbidden name),
            :class:`CallTimeout` (no answer in time; a late answer is dropped),
            :class:`BridgeClosed` (code ``closed``) or :class:`BridgeUnavailable` (the page
            never attached, or refused this kernel). Cancelling it (``task.cancel()``,
            ``asyncio.timeout``...) and its timeout both abort the page handler: its
            ``this.signal`` (an ``AbortSignal``) fires.

        Raises
        ------
        TypeError
            At once, before anything is sent, when an argument cannot be sent; the message
            names its type and path (``cannot send set at args[1]['k']``).
        ValueError
            At once, when the call would exceed the 256 MiB frame limit.
        UnknownMethodError
            At once, for a private, reserved or malformed method name (``"_x"``, ``"a..b"``;
            code ``forbidden_name`` or ``bad_request``), which the page would refuse too.
        BridgeUnavailable
            Outside the Pyodide kernel, or at once when the page never attached or refused
            the connection (the message says which).
        """
        link = self._link or self.connect()
        call_id, text, buffers = self._encode_call(method, args, sync=False)
        return self._send(link, call_id, text, buffers, _check_timeout(timeout), f"call({method!r})")

    def call_sync(self, method: str, *args: object, timeout: float | None = DEFAULT_TIMEOUT_S) -> Any:
        """Call a page handler and block until it answers: no ``await`` needed.

        Uses the SharedArrayBuffer when the page is cross-origin isolated, else JSPI
        (``pyodide.ffi.run_sync``, Pyodide's API for blocking on an awaitable; it works when
        ``pyodide.ffi.can_run_sync()`` is True, as in notebook cells in Chromium). While it
        blocks, the kernel runs no Python: page -> Python calls are refused with code
        ``busy`` until it returns.

        Parameters
        ----------
        method : str
            The handler name.
        *args : object
            The arguments, as for :meth:`call`.
        timeout : float or None, default 30.0
            Seconds to wait for the answer; None waits forever.

        Returns
        -------
        Any
            The handler's result.

        Raises
        ------
        TypeError
            Before sending, when an argument cannot be sent (names type and path).
        ValueError
            Before sending, when the call would exceed the 256 MiB frame limit.
        UnknownMethodError
            Before sending, for a private, reserved or malformed method name.
        JSError
            The handler threw (``.name``, ``.message``, ``.stack``).
        UnknownMethodError
            No handler of that name, or a forbidden name.
        CallTimeout
            No answer within ``timeout`` (a ``TimeoutError``); the late answer is dropped and
            the page handler's ``this.signal`` is aborted.
        BridgeClosed
            Code ``closed`` from the page (e.g. a handler's own call to a closed kernel).
        SyncUnavailable
            Neither a SharedArrayBuffer nor JSPI is usable here; the message says why and
            what to do (``await page.call``).
        BridgeUnavailable
            Outside the Pyodide kernel, or the page never attached.
        """
        link = self._link or self.connect()
        mode = link.transport
        if mode == "async":
            raise SyncUnavailable(explain_sync_unavailable(link.isolated, link.jspi_supported))
        call_id, text, buffers = self._encode_call(method, args, sync=True)
        label = f"call_sync({method!r})"
        timeout_s = _check_timeout(timeout)
        if mode == "sab":
            return self._sab_round_trip(link, call_id, text, buffers, timeout_s, label)
        return self._block(link, call_id, self._send(link, call_id, text, buffers, timeout_s, label))

    def register(self, source: str, *, timeout: float | None = DEFAULT_TIMEOUT_S) -> Any:
        """Register page handlers from JavaScript source: the methods of an object expression.

        ``page.register("{ indentLeft(line, n) { return line.padStart(line.length + n); } }")``

        Parameters
        ----------
        source : str
            A JavaScript object expression; each of its methods becomes a handler named after
            its key (handlers registered earlier under the same names are replaced).
        timeout : float or None, default 30.0
            Seconds to wait for the page; None waits forever.

        Returns
        -------
        list of str or None, or asyncio.Future
            With transport ``sab`` or ``jspi``: done synchronously, returns the page's answer
            (the handler names registered, or None). With ``async``: the message is sent and
            a future of that answer is returned (``await`` it to see errors; calls sent after
            it are handled after it either way).

        Raises
        ------
        JSError
            The source does not evaluate to an object of functions (e.g. a ``SyntaxError``,
            code ``bad_request``); raised at once with ``sab``/``jspi``, by the future else.
        CallTimeout, BridgeUnavailable
            As :meth:`call_sync`.
        """
        if type(source) is not str:
            raise TypeError(f"source must be a str of JavaScript, got {type(source).__name__}")
        link = self.connect()
        call_id = self._take_id()
        envelope = {"v": PROTOCOL_VERSION, "id": call_id, "kind": KIND_REGISTER, "source": source}
        text, buffers = encode_envelope(envelope)
        timeout_s = _check_timeout(timeout)
        mode = link.transport
        if mode == "sab":
            return self._sab_round_trip(link, call_id, text, buffers, timeout_s, "register()")
        future = self._send(link, call_id, text, buffers, timeout_s, "register()")
        if mode == "jspi":
            return self._block(link, call_id, future)
        return future

    # --- page -> Python ------------------------------------------------------------------------
    def expose(self, obj: object, name: str | None = None) -> None:
        """Make Python callable from the page: ``await k.call("multiply", 6, 7)`` in JavaScript.

        Parameters
        ----------
        obj : object
            An object whose public methods (names not starting with ``_``) become callable,
            or a function. ``async def`` methods are awaited (the kernel serves other calls
            meanwhile); exceptions reject the page's promise with a ``PythonError`` carrying
            the type, message and traceback.
        name : str or None, default None
            Call the methods as ``"<name>.<method>"``; without a name as ``"<method>"`` (the
            most recently exposed object wins on a clash). A function is called as ``name``,
            by default its ``__name__``.

        Raises
        ------
        ValueError
            When ``name`` is malformed, has a ``.``, starts with ``_`` or is reserved.
        """
        self._registry.expose(obj, name)
        # Outside the kernel exposing is harmless: there is just nobody to call.
        with contextlib.suppress(BridgeUnavailable):
            self.connect()

    @property
    def exposed(self) -> list[str]:
        """Every name the page can call, sorted (``["divide", "ex.multiply", ...]``)."""
        return self._registry.names()

    # --- window (protocol section 13) ----------------------------------------------------------
    def _op(
        self,
        target: int,
        op: str,
        name: str | int | None,
        args: Sequence[object],
        *,
        sync: bool,
        path: Sequence[str | int] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
    ) -> Any:
        """Send one ``litebridge.op``: blocking (``sync``) or as a future of the result."""
        link = self._link or self.connect()
        mode = link.transport
        if sync and mode == "async":
            raise SyncUnavailable(
                explain_sync_unavailable(
                    link.isolated,
                    link.jspi_supported,
                    "window (a JSHandle)",
                    "the awaitable form `await handle.aio...`",
                )
            )
        if self._table._releases:
            self._flush_releases()
        call_id = self._take_id()
        envelope: dict[str, object] = {
            "v": PROTOCOL_VERSION,
            "id": call_id,
            "kind": KIND_OP,
            "op": op,
            "target": target,
            "args": list(args),
            "sync": sync,
        }
        if name is not None:
            envelope["name"] = name
        if path:
            envelope["path"] = list(path)
        text, buffers = encode_envelope(envelope, "args", "args", exporter=self._table.export)
        label = f"window {op} {name!r}" if name is not None else f"window {op}"
        timeout_s = _check_timeout(timeout)
        if not sync:
            return self._send(link, call_id, text, buffers, timeout_s, label)
        if mode == "sab":
            return self._sab_round_trip(link, call_id, text, buffers, timeout_s, label)
        return self._block(link, call_id, self._send(link, call_id, text, buffers, timeout_s, label))

    def _import(self, key: str, value: Any) -> Any:
        """Decode a reference tag: ``$handle`` -> JSHandle, ``$py`` -> the Python object."""
        if key == HANDLE_KEY:
            return self._table.import_handle(value)
        return self._table.lookup(value)

    def _schedule_release(self) -> None:
        """Flush queued handle releases once the kernel is idle again (or with the next op)."""
        if self._release_scheduled or self._link is None:
            return
        self._release_scheduled = True
        with contextlib.suppress(Exception):
            self._link.loop.call_soon(self._flush_releases)

    def _flush_releases(self) -> None:
        self._release_scheduled = False
        pairs = self._table.take_releases()
        if pairs and self._link is not None and self._page_ready:
            envelope = {"v": PROTOCOL_VERSION, "id": 0, "kind": KIND_RELEASE, "ids": pairs}
            with contextlib.suppress(Exception):
                self._link.post(*encode_envelope(envelope))

    # --- internals -----------------------------------------------------------------------------
    def _encode_call(self, method: str, args: tuple[object, ...], *, sync: bool) -> tuple[int, str, list[Buffer]]:
        """Take an id and encode a ``litebridge.call`` envelope; TypeError before anything is sent."""
        method_json = _method_json(method)
        args_json = plain_json(args)
        call_id = self._take_id()
        if args_json is not None:
            # the common case: the envelope's text is written at once, as dumps(envelope)
            # would write it (key order included), with no walk, no buffers and no streams;
            # as in encode_envelope's own fast path, a text that is not ASCII or too long goes
            # to encode_envelope, which measures its UTF-8 size and names what is wrong
            text = (
                f'{{"v":{PROTOCOL_VERSION},"id":{call_id},"kind":"{KIND_CALL}","method":{method_json},'
                f'"args":{args_json},"sync":{"true" if sync else "false"}}}'
            )
            if text.isascii() and len(text) <= MAX_PAYLOAD_BYTES:
                return call_id, text, []
        envelope = {
            "v": PROTOCOL_VERSION,
            "id": call_id,
            "kind": KIND_CALL,
            "method": method,
            "args": args,
            "sync": sync,
        }
        streams = self._streams
        mark = streams.mark()
        try:
            text, buffers = encode_envelope(
                envelope, "args", "args", _refuse_sync_stream if sync else streams.exporter(call_id)
            )
        except BaseException:
            streams.rollback(mark)
            raise
        return call_id, text, buffers

    def _take_id(self) -> int:
        call_id = self._next_id
        self._next_id = call_id + 1
        return call_id

    def _check_reachable(self, now: float, label: str) -> None:
        """Raise at once when the page refused this kernel or never attached in time."""
        if self._refusal is not None:
            raise self._refusal
        if not self._page_ready and now > self._connected_at + READY_WAIT_S:
            raise BridgeUnavailable(self._never_attached(label))

    def _never_attached(self, label: str) -> str:
        return (
            f"the page never attached to this kernel ({label}): it did not answer the "
            f"kernel's hello within {READY_WAIT_S:g} s. Is the litebridge labextension "
            "installed and enabled in this JupyterLite site? (the browser console of the page "
            "says more)"
        )

    def _send(
        self,
        link: Link,
        call_id: int,
        text: str,
        buffers: list[Buffer],
        timeout_s: float | None,
        label: str,
    ) -> asyncio.Future[Any]:
        loop = link.loop
        now = loop.time()
        if self._refusal is not None or not self._page_ready:
            self._check_reachable(now, label)
        future = CallFuture(loop=loop)
        future._lb_id = call_id
        future._lb_page = self
        future._lb_wakeup = None
        future._lb_shared = False
        own_deadline = math.inf if timeout_s is None else now + timeout_s
        deadline = own_deadline
        if not self._page_ready:  # the hello is unanswered: fail when the ready window closes
            deadline = min(deadline, self._connected_at + READY_WAIT_S)
        self._pending[call_id] = _Pending(future, deadline, label, timeout_s, own_deadline)
        try:
            link.post(text, buffers)
        except BaseException:
            self._pending.pop(call_id, None)
            self._streams.stop_call(call_id, f"{label} could not be sent")
            future._lb_page = None
            raise
        if deadline < self._timer_when:
            self._arm(loop, deadline)
        return future

    def _block(self, link: Link, call_id: int, future: asyncio.Future[T]) -> T:
        """Block on call ``call_id``'s future with JSPI; an interrupt while blocked cancels the call."""
        self._sync_depth += 1
        try:
            return link.block_call(call_id, future)
        except BaseException:
            if not future.done():
                future.cancel()
            raise
        finally:
            self._sync_depth -= 1

    def _cancel_pending(self, call_id: int, reason: str) -> None:
        """Forget a pending call and tell the page to abort its handler (never raises)."""
        self._pending.pop(call_id, None)
        self._post_cancel(call_id, reason)
        self._streams.stop_call(call_id, reason)

    def _post_cancel(self, call_id: int, reason: str) -> None:
        envelope = {"v": PROTOCOL_VERSION, "id": call_id, "kind": KIND_CANCEL, "reason": reason}
        with contextlib.suppress(Exception):
            self._post_answer(encode_envelope(envelope))

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """(Re)arm the shared deadline timer to fire at ``when`` (``loop.time()`` seconds)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire_due, loop)
        self._timer_when = when

    def _expire_due(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail every call past its deadline and re-arm for the next (the shared timer fired)."""
        self._timer = None
        self._timer_when = math.inf
        now = loop.time() + _DEADLINE_SLACK_S
        due: list[int] = []
        earliest = math.inf
        for call_id, pending in self._pending.items():
            if pending.deadline <= now:
                due.append(call_id)
            elif pending.deadline < earliest:
                earliest = pending.deadline
        for call_id in due:
            pending = self._pending.pop(call_id)
            if not pending.future.done():
                pending.future._lb_page = None
                pending.future.set_exception(self._timeout_error(pending.label, pending.timeout_s))
            if self._page_ready:
                self._post_cancel(call_id, f"{pending.label} timed out in Python")
            self._streams.stop_call(call_id, f"{pending.label} timed out")
        if earliest < self._timer_when:  # set_exception's callbacks run later, never here
            self._arm(loop, earliest)

    def _timeout_error(self, label: str, timeout_s: float | None) -> BridgeError:
        if self._refusal is not None:
            return self._refusal
        if not self._page_ready:
            return BridgeUnavailable(self._never_attached(label))
        return CallTimeout(f"no answer from the page to {label} within {timeout_s} s")

    def _sab_round_trip(
        self,
        link: Link,
        call_id: int,
        text: str,
        buffers: list[Buffer],
        timeout_s: float | None,
        label: str,
    ) -> Any:
        limit_s = timeout_s
        if not self._sab_ready:  # first sync calls: wait for the page, within the ready window
            self._wait_sab_ready(link, timeout_s, label)
            if timeout_s is not None:
                timeout_s = max(timeout_s - (time.monotonic() - self._sab_wait_started), 0.001)
        self._sync_depth += 1
        try:
            answer_text, answer_buffers = link.call_sab(text, buffers, timeout_s)
        except CallTimeout:
            self._post_cancel(call_id, f"{label} timed out in Python")
            raise CallTimeout(f"no answer from the page to {label} within {limit_s} s") from None
        except BaseException:  # KeyboardInterrupt (interrupt) while blocked: abort the handler
            self._post_cancel(call_id, f"{label} was interrupted in Python")
            raise
        finally:
            self._sync_depth -= 1
        try:
            answer = decode_envelope(answer_text, answer_buffers, self._streams.importer, self._import)
        except ValueError as exc:
            raise BridgeError(f"malformed answer from the page to {label}: {exc}") from None
        kind = answer["kind"]
        if answer["id"] != call_id or kind not in (KIND_RESULT, KIND_ERROR):
            raise BridgeError(
                f"unexpected answer from the page to {label}: id {answer['id']} kind {kind!r}, expected id {call_id}"
            )
        if kind == KIND_RESULT:
            return answer.get("value")
        raise error_from_wire(answer.get("error"))

    _sab_wait_started = 0.0

    def _wait_sab_ready(self, link: Link, timeout_s: float | None, label: str) -> None:
        """Wait for PAGE_READY, bounded by the call's timeout and by the ready window."""
        self._sab_wait_started = time.monotonic()
        if self._refusal is not None:
            raise self._refusal
        remaining = self._connected_at + READY_WAIT_S - link.loop.time()
        wait_s = max(remaining, 0.0) if timeout_s is None else min(timeout_s, max(remaining, 0.0))
        if link.wait_page_ready(wait_s):
            self._sab_ready = True
            return
        if self._refusal is not None:  # set by a frame that arrived meanwhile
            raise self._refusal
        if wait_s >= remaining:
            raise BridgeUnavailable(self._never_attached(label))
        raise CallTimeout(f"the page did not attach to this kernel within {timeout_s} s ({label})")

    def _on_frame(self, text: str, buffers: Sequence[Buffer] | None) -> None:
        """Handle one frame from the page; never raises (it is called from JavaScript)."""
        try:
            self._handle_frame(text, buffers)
        except Exception:
            log.exception("litebridge: failed to handle a frame from the page")

    def _handle_frame(self, text: str, buffers: Sequence[Buffer] | None) -> None:
        try:
            message = decode_envelope(text, buffers, self._streams.importer, self._import)
        except ValueError as exc:
            log.warning("litebridge: dropped a malformed frame from the page: %s", exc)
            return
        kind = message["kind"]
        call_id = message["id"]
        if kind == KIND_ERROR and call_id == 0:  # the page refused the hello (any version)
            self._refuse(message.get("error"))
            return
        if message["v"] != PROTOCOL_VERSION:
            if kind == KIND_CALL and call_id >= 1:
                refusal = BridgeError(
                    f"protocol version {message['v']} is not supported: this kernel's "
                    f"litebridge speaks version {PROTOCOL_VERSION}"
                )
                self._post_answer(answer_error(call_id, refusal, "bad_request"))
            return
        if kind in {KIND_RESULT, KIND_ERROR}:
            self._settle(call_id, message)
        elif kind in {KIND_CALL, KIND_APPLY}:
            self._serve(call_id, message)
        elif kind == KIND_RELEASE:
            self._table.release_objects(message.get("ids"))
        elif kind == KIND_CANCEL:
            task = self._serving.get(call_id)
            if task is not None:
                task.cancel(str(message.get("reason", "cancelled by the page")))
        elif kind.startswith(_STREAM_KINDS):
            self._streams.on_message(message)
        elif kind == KIND_READY:
            self._on_ready(message)
        else:
            log.warning("litebridge: dropped a frame of unexpected kind %r", kind)

    def _on_ready(self, message: dict[str, Any]) -> None:
        """Record that the page attached (``litebridge.ready``)."""
        self._page_ready = True
        for pending in self._pending.values():  # the ready window no longer bounds them
            pending.deadline = pending.own_deadline
        page = message.get("page")
        self.page_version = page if isinstance(page, str) else None

    def _refuse(self, error: object) -> None:
        """Fail every call now and from now on: the page refused this kernel's connection."""
        reason = error_from_wire(error)
        message = getattr(reason, "message", str(reason))
        self._refusal = BridgeUnavailable(f"the page refused this kernel's litebridge connection: {message}")
        pending = list(self._pending.values())
        self._pending.clear()
        for entry in pending:
            if not entry.future.done():
                entry.future._lb_page = None
                entry.future.set_exception(self._refusal)

    def _settle(self, call_id: int, message: dict[str, Any]) -> None:
        pending = self._pending.pop(call_id, None)
        if pending is None:
            return  # a late answer to a call that timed out: dropped
        if pending.future.done():
            return  # the caller cancelled it
        pending.future._lb_page = None  # answered: nothing to cancel
        error = None if message["kind"] == KIND_RESULT else error_from_wire(message.get("error"))
        if error is not None:
            self._streams.stop_call(call_id, f"{pending.label} failed")
        assert self._link is not None  # a frame arrived, so the link exists
        pending.future.answer(message.get("value"), error, may_resume=self._link.may_resume_here)

    def _serve(self, call_id: int, message: dict[str, Any]) -> None:
        apply = message["kind"] == KIND_APPLY
        # Output of a callback served while Python is blocked in a sync call (re-entrant)
        # belongs to the running cell; otherwise it goes to the console (_call_output.py).
        reentrant = apply and self._sync_depth > 0
        token = None if reentrant else mark_page_call(message.get("method", "callback"))
        # the mark is copied into the task of an async method, created while it is set
        try:
            if apply:
                answer = self._apply(call_id, message)
            else:
                answer = self._registry.invoke(call_id, message.get("method"), message.get("args"))
            if isinstance(answer, tuple):
                self._post_answer(answer)
                return
            assert self._link is not None  # a frame arrived, so the link exists
            task = asyncio.ensure_future(answer, loop=self._link.loop)
        finally:
            if token is not None:
                unmark_page_call(token)
        self._serving[call_id] = task
        task.add_done_callback(lambda done: self._task_done(call_id, done))

    def _apply(self, call_id: int, message: dict[str, Any]) -> Frame | Awaitable[Frame]:
        """Serve ``litebridge.apply``: call a Python callable the page holds."""
        args = message.get("args")
        if type(args) is not list:
            return answer_error(call_id, TypeError("'args' must be an array"), "bad_request")
        try:
            function = self._table.lookup(message.get("object"))
            if "name" in message:  # a method of a Python object that is not callable
                function = _method_of(function, message["name"])
        except BridgeError as exc:
            return answer_error(call_id, exc)
        return invoke_callable(call_id, function, args, self._table.export)  # type: ignore[arg-type]

    def _task_done(self, call_id: int, task: asyncio.Future[Frame]) -> None:
        if self._serving.get(call_id) is task:
            del self._serving[call_id]
        if task.cancelled():
            # Cancelled by the page (it gave up and dropped the call) or by Python code; an
            # answer is sent either way, and the page drops it if it no longer waits.
            answer = answer_error(call_id, asyncio.CancelledError("the Python call was cancelled"))
        else:
            answer = task.result()
        self._post_answer(answer)

    def _post_frame(self, text: str, buffers: list[Buffer]) -> None:
        self._post_answer((text, buffers))

    def _post_answer(self, answer: Frame) -> None:
        if self._link is None:
            return
        try:
            self._link.post(*answer)
        except Exception:
            log.exception("litebridge: could not post an answer to the page")


def _method_of(obj: object, name: object) -> Callable[..., object]:
    """Return the public method ``name`` of a Python object the page holds.

    For ``litebridge.apply`` with ``name``. Raises :class:`MethodLookupError` with
    ``bad_request``, ``forbidden_name`` or ``unknown_method`` otherwise, as for exposed methods.
    """
    segments = check_name(name)
    if len(segments) != 1:
        raise MethodLookupError(f"bad method name {name!r}: one attribute of the object, without '.'", "bad_request")
    segment = segments[0]
    method = getattr(obj, segment, None)
    if method is None or not callable(method):
        what = "no method" if method is None else "an attribute that is not callable:"
        raise MethodLookupError(f"the Python {type(obj).__name__} object has {what} {segment!r}", "unknown_method")
    return method  # type: ignore[no-any-return]


def _refuse_sync_stream(value: object, path: Callable[[], str]) -> int | None:
    """Codec hook of ``call_sync``: a stream argument is refused (nothing could produce it)."""
    if is_stream_source(value):
        raise TypeError(
            f"cannot send {type(value).__name__} at {path()} with call_sync: the kernel is blocked "
            "until the page answers, so nothing could produce the stream; use await page.call(...)"
        )
    return None
