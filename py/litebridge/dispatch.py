"""The registry of Python objects exposed to the page, and page -> Python call dispatch.

Pure Python: no browser needed, so it is unit-tested in CPython.

Names (protocol section 2) are dot-separated segments. A segment that starts with ``_``, or is
``constructor``, ``__proto__`` or ``prototype``, never resolves. Resolution is shallow on
purpose: ``"multiply"`` is a public method of an object exposed without a name (the latest
exposed object that has it wins) or a function exposed under that name, and
``"ex.multiply"`` is a public method of the object exposed as ``"ex"``. Attributes of
attributes (``"ex.helper.run"``) are not reachable, so exposing an object does not expose
every module it holds a reference to.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, TypeAlias

from .codec import Buffer, Exporter, StreamExport, encode_envelope
from .errors import MethodLookupError, error_to_wire
from .protocol import FORBIDDEN_SEGMENTS, KIND_ERROR, KIND_RESULT, PROTOCOL_VERSION, ErrorCode

__all__ = ["Frame", "Registry", "answer_error", "answer_result", "check_name", "invoke_callable"]

Frame: TypeAlias = tuple[str, list[Buffer]]
"""An encoded message: JSON text and its buffers."""

_MISSING: Final = object()


class ResultStreams(Protocol):
    """Sends async iterables in results as streams (``litebridge._streams.StreamTable``)."""

    def exporter(self, call_id: int | None) -> StreamExport:
        """Return the codec hook."""
        ...

    def mark(self) -> int:
        """Return a mark for :meth:`rollback`."""
        ...

    def rollback(self, mark: int) -> None:
        """Forget the streams exported since ``mark``."""
        ...


def check_name(name: object) -> list[str]:
    """Split a method name into segments, refusing malformed, private and reserved ones.

    Parameters
    ----------
    name : object
        The name from the message (should be a str such as ``"ex.multiply"``).

    Returns
    -------
    list of str
        The segments.

    Raises
    ------
    MethodLookupError
        ``code="bad_request"`` for a non-str or empty name or an empty segment;
        ``code="forbidden_name"`` for a segment that starts with ``_`` or is
        ``constructor``/``__proto__``/``prototype``.
    """
    if not isinstance(name, str) or not name:
        raise MethodLookupError(f"bad method name {name!r}: expected a non-empty str", "bad_request")
    segments = name.split(".")
    for segment in segments:
        if not segment:
            raise MethodLookupError(f"bad method name {name!r}: empty segment", "bad_request")
        if segment[0] == "_" or segment in FORBIDDEN_SEGMENTS:
            raise MethodLookupError(
                f"method name {name!r} is forbidden: segment {segment!r} is private or reserved "
                "(names starting with '_', 'constructor', '__proto__' and 'prototype' are never "
                "callable)",
                "forbidden_name",
            )
    return segments


def answer_result(
    call_id: int, value: object, streams: ResultStreams | None = None, exporter: Exporter | None = None
) -> Frame:
    """Encode a ``litebridge.result`` message.

    Parameters
    ----------
    call_id : int
        The id of the call answered.
    value : object
        The result.
    streams : ResultStreams or None, default None
        Sends async iterables in the result as streams; without it they are unserializable.
    exporter : Exporter or None, default None
        Sends what is not a value by reference (answers to ``litebridge.apply``).

    Returns
    -------
    Frame
        The message; when ``value`` cannot be encoded, a ``litebridge.error`` of code
        ``unserializable`` whose message names the type and path (``result[0]``...).
    """
    envelope = {"v": PROTOCOL_VERSION, "id": call_id, "kind": KIND_RESULT, "value": value}
    if streams is None:
        try:
            return encode_envelope(envelope, "value", "result", None, exporter)
        except (TypeError, ReferenceError) as exc:
            return answer_error(call_id, exc, "unserializable")
    mark = streams.mark()
    try:
        return encode_envelope(envelope, "value", "result", streams.exporter(None), exporter)
    except (TypeError, ReferenceError) as exc:
        streams.rollback(mark)
        return answer_error(call_id, exc, "unserializable")


def answer_error(call_id: int, exc: BaseException, code: ErrorCode | None = None, skip_frames: int = 0) -> Frame:
    """Encode a ``litebridge.error`` message for a Python exception.

    Parameters
    ----------
    call_id : int
        The id of the call answered.
    exc : BaseException
        The exception (type, message and traceback are sent).
    code : str or None, default None
        The protocol error code, when the bridge produced the error.
    skip_frames : int, default 0
        Leading traceback frames to leave out.

    Returns
    -------
    Frame
        The message (it has no buffers).
    """
    error = error_to_wire(exc, code, skip_frames)
    envelope = {"v": PROTOCOL_VERSION, "id": call_id, "kind": KIND_ERROR, "error": error}
    try:
        return encode_envelope(envelope)
    except (TypeError, ValueError):
        # A message or traceback with a lone surrogate, or one over the size limit: send what
        # can be sent rather than no answer at all.
        for key in ("message", "stack"):
            text = error[key].encode("utf-8", "replace").decode("utf-8")
            error[key] = text[:65536]
        return encode_envelope(envelope)


class Registry:
    """Python objects and functions callable from the page.

    Examples
    --------
    >>> class Example:
    ...     def multiply(self, a, b):
    ...         return a * b
    >>> reg = Registry()
    >>> reg.expose(Example())
    >>> reg.expose(Example(), name="ex")
    >>> reg.resolve("ex.multiply")(6, 7)
    42
    """

    streams: ResultStreams | None = None
    """Sends async iterables in results as byte streams (set by ``Page``)."""

    def __init__(self) -> None:
        self._roots: list[object] = []
        self._named: dict[str, object] = {}
        self._functions: dict[str, Callable[..., object]] = {}

    def expose(self, obj: object, name: str | None = None) -> None:
        """Make ``obj`` callable from the page.

        Parameters
        ----------
        obj : object
            An object, whose public methods become callable, or a function.
        name : str or None, default None
            For an object: its public methods are called as ``"<name>.<method>"``; without a
            name as ``"<method>"`` (the most recently exposed object wins on a clash). For a
            function: it is called as ``name``, by default its ``__name__``. Exposing again
            under the same name replaces the previous one.

        Raises
        ------
        ValueError
            When ``name`` (or a function's ``__name__``) is malformed, has a ``.``, is private
            or reserved.
        """
        is_function = inspect.isroutine(obj)
        if name is None and is_function:
            name = getattr(obj, "__name__", None)
        if name is None:
            if obj in self._roots:
                self._roots.remove(obj)
            self._roots.append(obj)
            return
        try:
            segments = check_name(name)
        except MethodLookupError as exc:
            raise ValueError(f"cannot expose under that name: {exc}") from None
        if len(segments) != 1:
            raise ValueError(f"cannot expose under that name: {name!r} has a '.' (use one segment, e.g. 'ex')")
        if is_function:
            self._named.pop(name, None)
            self._functions[name] = obj  # type: ignore[assignment]
        else:
            self._functions.pop(name, None)
            self._named[name] = obj

    def names(self) -> list[str]:
        """Every callable name, sorted (for error messages and discovery).

        Returns
        -------
        list of str
            E.g. ``["divide", "ex.divide", "ex.multiply", "multiply"]``.
        """
        found = set(self._functions)
        for root in self._roots:
            found.update(_public_methods(root))
        for prefix, obj in self._named.items():
            found.update(f"{prefix}.{method}" for method in _public_methods(obj))
        return sorted(found)

    def resolve(self, method: object) -> Callable[..., object]:
        """Find the callable a method name refers to.

        Parameters
        ----------
        method : object
            The name, e.g. ``"multiply"`` or ``"ex.multiply"``.

        Returns
        -------
        Callable
            The bound method or function.

        Raises
        ------
        MethodLookupError
            With ``code`` ``bad_request``, ``forbidden_name`` or ``unknown_method``; the
            message names the method and lists what is exposed.
        """
        segments = check_name(method)
        assert isinstance(method, str)  # checked by check_name
        function = self._functions.get(method)
        if function is not None:
            return function
        found: object = _MISSING
        if len(segments) == 1:
            for root in reversed(self._roots):
                found = getattr(root, method, _MISSING)
                if found is not _MISSING:
                    break
        elif len(segments) == 2 and segments[0] in self._named:
            found = getattr(self._named[segments[0]], segments[1], _MISSING)
        if found is not _MISSING and callable(found):
            return found
        exposed = ", ".join(self.names()) or "nothing yet: use page.expose(obj)"
        raise MethodLookupError(f"no exposed Python method {method!r} (exposed: {exposed})", "unknown_method")

    def invoke(self, call_id: int, method: object, args: object) -> Frame | Awaitable[Frame]:
        """Run a page -> Python call and encode its answer.

        Parameters
        ----------
        call_id : int
            The id of the call (echoed in the answer).
        method : object
            The method name from the message.
        args : object
            The decoded arguments (a list).

        Returns
        -------
        Frame or Awaitable of Frame
            The answer (``litebridge.result`` or ``litebridge.error``) when the method is
            synchronous; for a coroutine function (or a method returning an awaitable) a
            coroutine that awaits it and then returns the answer. Exceptions of the method
            become ``litebridge.error`` answers with the traceback; nothing is raised.
        """
        if type(args) is not list:
            return answer_error(
                call_id, TypeError(f"'args' must be an array, got {type(args).__name__}"), "bad_request"
            )
        try:
            function = self.resolve(method)
        except MethodLookupError as exc:
            return answer_error(call_id, exc)
        return invoke_callable(call_id, function, args, streams=self.streams)


def invoke_callable(
    call_id: int,
    function: Callable[..., object],
    args: list[object],
    exporter: Exporter | None = None,
    streams: ResultStreams | None = None,
) -> Frame | Awaitable[Frame]:
    """Call ``function(*args)`` and encode its answer (see :meth:`Registry.invoke`).

    Parameters
    ----------
    call_id : int
        The id of the call (echoed in the answer).
    function : callable
        What to call.
    args : list
        The decoded arguments.
    exporter : Exporter or None, default None
        Sends a result that is not a value by reference (``litebridge.apply``).
    streams : ResultStreams or None, default None
        Sends async iterables in the result as streams (``Registry.invoke``).

    Returns
    -------
    Frame or Awaitable of Frame
        The answer, or for an awaitable result a coroutine that awaits it and returns the
        answer. Nothing is raised: exceptions become ``litebridge.error`` answers.
    """
    try:
        result = function(*args)
    except BaseException as exc:  # noqa: BLE001 - every failure is answered, none escapes
        # SystemExit and KeyboardInterrupt too: the page must get an answer, and neither
        # may unwind the kernel's event loop from inside a page -> Python call.
        return answer_error(call_id, exc, skip_frames=1)
    if inspect.isawaitable(result):
        return _finish(call_id, result, streams, exporter)
    return answer_result(call_id, result, streams, exporter)


async def _finish(
    call_id: int,
    awaitable: Awaitable[object],
    streams: ResultStreams | None = None,
    exporter: Exporter | None = None,
) -> Frame:
    try:
        result = await awaitable
    except asyncio.CancelledError:
        raise  # cancelled by the page (litebridge.cancel) or the loop: the task is cancelled
    except BaseException as exc:  # noqa: BLE001 - every failure is answered, none escapes
        return answer_error(call_id, exc, skip_frames=1)
    return answer_result(call_id, result, streams, exporter)


def _public_methods(obj: object) -> list[str]:
    """Public callable attributes of ``obj``, found without running any property getter.

    ``inspect.getattr_static`` reads the class dictionaries as they are, so listing names for an
    error message never runs user code (a property with side effects, a slow getter).
    """
    names = []
    for attr in dir(obj):
        if attr[0] == "_" or attr in FORBIDDEN_SEGMENTS:
            continue
        try:
            value = inspect.getattr_static(obj, attr)
        except AttributeError:
            continue
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if callable(value):
            names.append(attr)
    return names
