"""Errors as data (protocol section 5): both directions."""

from __future__ import annotations

import traceback

import pytest

import litebridge
from litebridge.errors import (
    BridgeClosed,
    BridgeError,
    CallTimeout,
    JSError,
    MethodLookupError,
    UnknownMethodError,
    error_from_wire,
    error_to_wire,
)

JS_STACK = "TypeError: x is not a function\n    at indentLeft (eval:1:10)\n    at handle (page.js:5:3)"


def test_js_exception_becomes_jserror_with_name_message_stack() -> None:
    exc = error_from_wire({"type": "TypeError", "message": "x is not a function", "stack": JS_STACK})
    assert type(exc) is JSError
    assert (exc.name, exc.message, exc.stack, exc.code) == ("TypeError", "x is not a function", JS_STACK, None)
    assert str(exc) == "TypeError: x is not a function"
    # The JS stack shows up in the Python traceback a notebook prints.
    shown = "".join(traceback.format_exception(exc))
    assert "at indentLeft (eval:1:10)" in shown


@pytest.mark.parametrize("code", ["unknown_method", "forbidden_name"])
def test_unknown_and_forbidden_names_are_lookup_errors(code: str) -> None:
    exc = error_from_wire({"type": "Error", "message": "no handler 'nope'", "stack": "", "code": code})
    assert isinstance(exc, UnknownMethodError)
    assert isinstance(exc, JSError)
    assert isinstance(exc, LookupError)
    assert exc.code == code
    assert "nope" in str(exc)


def test_timeout_code_becomes_call_timeout() -> None:
    exc = error_from_wire({"type": "Error", "message": "chunk wait expired", "stack": "", "code": "timeout"})
    assert isinstance(exc, CallTimeout)
    assert isinstance(exc, TimeoutError)
    assert "chunk wait expired" in str(exc)


def test_closed_code_becomes_bridge_closed() -> None:
    exc = error_from_wire({"type": "Error", "message": "kernel restarted", "stack": "", "code": "closed"})
    assert isinstance(exc, BridgeClosed)
    assert exc.code == "closed"


def test_busy_code_stays_a_jserror_with_its_code() -> None:
    exc = error_from_wire({"type": "Error", "message": "kernel is blocked", "stack": "s", "code": "busy"})
    assert type(exc) is JSError
    assert exc.code == "busy"


@pytest.mark.parametrize("junk", [None, "text", 3, {"type": 1, "message": None}])
def test_malformed_error_objects_still_give_a_bridge_error(junk: object) -> None:
    exc = error_from_wire(junk)
    assert isinstance(exc, BridgeError)
    assert isinstance(exc, JSError)
    assert exc.name == "Error"


def _inner() -> None:
    msg = "bad value 42"
    raise ValueError(msg)


def test_python_exception_to_wire_keeps_type_message_and_traceback() -> None:
    try:
        _inner()
    except ValueError as exc:
        error = error_to_wire(exc)
    assert error["type"] == "ValueError"
    assert error["message"] == "bad value 42"
    assert "Traceback (most recent call last)" in error["stack"]
    assert "in _inner" in error["stack"]
    assert error["stack"].rstrip().endswith("ValueError: bad value 42")
    assert "code" not in error


def test_skip_frames_drops_leading_frames() -> None:
    try:
        _inner()
    except ValueError as exc:
        full = error_to_wire(exc)["stack"]
        trimmed = error_to_wire(exc, skip_frames=1)["stack"]
    assert "test_skip_frames_drops_leading_frames" in full
    assert "test_skip_frames_drops_leading_frames" not in trimmed
    assert "in _inner" in trimmed


def test_bridge_error_code_is_carried() -> None:
    error = error_to_wire(MethodLookupError("no exposed Python method 'x'", "unknown_method"))
    assert error["code"] == "unknown_method"
    assert error["type"] == "MethodLookupError"
    assert error_to_wire(ValueError("v"), "unserializable")["code"] == "unserializable"


def test_exceptions_are_reexported_with_the_documented_bases() -> None:
    assert issubclass(litebridge.CallTimeout, TimeoutError)
    assert issubclass(litebridge.SyncUnavailable, RuntimeError)
    assert issubclass(litebridge.UnknownMethodError, LookupError)
    for cls in (
        litebridge.JSError,
        litebridge.CallTimeout,
        litebridge.SyncUnavailable,
        litebridge.BridgeUnavailable,
        litebridge.BridgeClosed,
    ):
        assert issubclass(cls, litebridge.BridgeError)
