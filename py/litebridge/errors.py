"""The exceptions of litebridge, and their conversion from and to the protocol's error object.

An error crosses the bridge as data (protocol section 5): ``{type, message, stack, code?}``.
:func:`error_from_wire` turns one from the page into the matching exception class;
:func:`error_to_wire` turns a Python exception into one, with its formatted traceback.
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import Final

from .protocol import CODES, ErrorCode, ErrorObject

__all__ = [
    "BridgeClosed",
    "BridgeError",
    "BridgeUnavailable",
    "CallTimeout",
    "JSError",
    "MethodLookupError",
    "SyncUnavailable",
    "UnknownMethodError",
    "UnknownPropertyError",
    "error_from_wire",
    "error_to_wire",
]


class BridgeError(Exception):
    """Base class of every litebridge error.

    Attributes
    ----------
    code : str or None
        The protocol error code (``"timeout"``, ``"closed"``...) when the bridge itself
        produced the error, else None.
    """

    code: str | None = None


class JSError(BridgeError):
    """A JavaScript exception thrown by a page handler (or by the page side of the bridge).

    Parameters
    ----------
    name : str
        The JavaScript ``error.name`` (``"TypeError"``, ``"Error"``...).
    message : str
        The JavaScript ``error.message``.
    stack : str, default ""
        The JavaScript ``error.stack``; also attached as a note, so tracebacks show it.
    code : str or None, default None
        The protocol error code when the bridge produced the error.

    Attributes
    ----------
    name, message, stack, code
        As given.
    """

    def __init__(self, name: str, message: str, stack: str = "", code: str | None = None) -> None:
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.message = message
        self.stack = stack
        self.code = code
        if stack:
            self.add_note(f"JavaScript stack:\n{stack}")


class UnknownMethodError(JSError, LookupError):
    """The page has no handler with that name, or the name is forbidden.

    ``code`` is ``"unknown_method"`` or ``"forbidden_name"``; the message names the method.
    """


class UnknownPropertyError(JSError, AttributeError):  # type: ignore[misc]  # both have .name
    """A page object has no property of that name (``code == "unknown_property"``).

    Raised by attribute reads on a :class:`litebridge.JSHandle`; the message names the
    object's type and the property, e.g. ``HTMLButtonElement has no property "colour"``.
    """


class CallTimeout(BridgeError, TimeoutError):
    """No answer arrived within the call's timeout (``code == "timeout"``).

    The kernel stays usable; a late answer to the call is dropped.
    """

    code = "timeout"


class SyncUnavailable(BridgeError, RuntimeError):
    """``call_sync`` cannot block here; the message says why and what to do instead."""


class BridgeUnavailable(BridgeError, RuntimeError):
    """There is no page to talk to.

    Raised outside the JupyterLite Pyodide kernel, when the worker helper could not start, or
    when the page never attached (is the litebridge labextension installed and enabled?).
    """


class BridgeClosed(BridgeError):
    """The other side went away (kernel restart or shut down) while the call was pending."""

    code = "closed"


class MethodLookupError(BridgeError, LookupError):
    """A page -> Python call named no exposed method, or a forbidden one.

    Raised by :meth:`litebridge.dispatch.Registry.resolve`; the page receives it as an error
    with ``code`` ``"unknown_method"`` or ``"forbidden_name"`` (or ``"bad_request"`` for a
    malformed name).
    """

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


_SYNTHETIC_FALLBACK: Final = "Error"


def error_from_wire(error: object) -> BridgeError:
    """Build the exception for an error object received from the page.

    Parameters
    ----------
    error : object
        The ``error`` field of a ``litebridge.error`` message: ``{type, message, stack,
        code?}``. Missing or mistyped fields are tolerated (they become empty strings).

    Returns
    -------
    BridgeError
        :class:`UnknownMethodError` for codes ``unknown_method``/``forbidden_name``,
        :class:`CallTimeout` for ``timeout``, :class:`BridgeClosed` for ``closed``, else a
        :class:`JSError` (with ``code`` set for the other bridge codes, e.g. ``busy``; a code
        the protocol does not define is dropped). The mapping is normative (protocol
        section 5) and checked by ``tests/protocol/vectors.json``.
    """
    fields = error if isinstance(error, dict) else {}
    name = fields.get("type")
    message = fields.get("message")
    stack = fields.get("stack")
    code = fields.get("code")
    name = name if isinstance(name, str) else _SYNTHETIC_FALLBACK
    message = message if isinstance(message, str) else str(error)
    stack = stack if isinstance(stack, str) else ""
    code = code if isinstance(code, str) and code in CODES else None
    if code in ("unknown_method", "forbidden_name"):
        return UnknownMethodError(name, message, stack, code)
    if code == "unknown_property":
        return UnknownPropertyError(name, message, stack, code)
    if code == "timeout":
        return CallTimeout(f"{message} (on the page)")
    if code == "closed":
        return BridgeClosed(message)
    return JSError(name, message, stack, code)


def _format_traceback(exc: BaseException, skip_frames: int) -> str:
    tb: TracebackType | None = exc.__traceback__
    for _ in range(skip_frames):
        if tb is None or tb.tb_next is None:
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def error_to_wire(exc: BaseException, code: ErrorCode | None = None, skip_frames: int = 0) -> ErrorObject:
    """Describe a Python exception as a protocol error object.

    Parameters
    ----------
    exc : BaseException
        The exception; its ``__traceback__`` is formatted into ``stack``.
    code : str or None, default None
        The protocol code; when None, ``exc.code`` is used if ``exc`` is a
        :class:`BridgeError` with a code.
    skip_frames : int, default 0
        Leading traceback frames to leave out (the bridge's own dispatch frame).

    Returns
    -------
    ErrorObject
        ``{"type": class name, "message": str(exc), "stack": formatted traceback}`` plus
        ``"code"`` when there is one.
    """
    error: ErrorObject = {
        "type": type(exc).__name__,
        "message": str(exc),
        "stack": _format_traceback(exc, skip_frames),
    }
    if code is None and isinstance(exc, BridgeError) and exc.code is not None:
        code = exc.code  # type: ignore[assignment]
    if code is not None:
        error["code"] = code
    return error
