"""The litebridge wire protocol, version 1, as Python constants and types.

This module mirrors ``docs/protocol.md`` (the normative text) and ``js/src/protocol.ts``.
Every kind string, error code and value-encoding constant is written here once and imported
everywhere else on the Python side. It holds data only: no behaviour. The SharedArrayBuffer
layout (section 7) is used only by JavaScript (the worker helper and the page), so it is
written in ``js/src/protocol.ts`` alone. ``tests/protocol/vectors.json`` checks both mirrors.
"""

from __future__ import annotations

from typing import Final, Literal, NotRequired, TypedDict

__all__ = [
    "BYTES_KEY",
    "CODES",
    "ESCAPE_KEY",
    "FORBIDDEN_SEGMENTS",
    "GLOBAL_HANDLE",
    "HANDLE_KEY",
    "KIND_APPLY",
    "KIND_CALL",
    "KIND_CANCEL",
    "KIND_ERROR",
    "KIND_HELLO",
    "KIND_INTERRUPT",
    "KIND_OP",
    "KIND_READY",
    "KIND_REGISTER",
    "KIND_RELEASE",
    "KIND_RESULT",
    "KIND_STREAM_CANCEL",
    "KIND_STREAM_CHUNK",
    "KIND_STREAM_END",
    "KIND_STREAM_ERROR",
    "KIND_STREAM_PULL",
    "MARKER_KEYS",
    "MAX_PAYLOAD_BYTES",
    "MAX_SAFE_INTEGER",
    "OPS",
    "PROTOCOL_VERSION",
    "PY_KEY",
    "STREAM_CHUNK_BYTES",
    "STREAM_KEY",
    "STREAM_WINDOW_CHUNKS",
    "ErrorCode",
    "ErrorObject",
    "Kind",
    "StreamKind",
    "TransportName",
]

PROTOCOL_VERSION: Final = 2
"""Value of the ``v`` field of every envelope (section 2)."""

# --- message kinds (section 2) ------------------------------------------------------------
Kind = Literal[
    "litebridge.hello",
    "litebridge.ready",
    "litebridge.call",
    "litebridge.register",
    "litebridge.result",
    "litebridge.error",
    "litebridge.cancel",
    "litebridge.op",
    "litebridge.apply",
    "litebridge.release",
]
KIND_HELLO: Final = "litebridge.hello"
KIND_READY: Final = "litebridge.ready"
KIND_CALL: Final = "litebridge.call"
KIND_REGISTER: Final = "litebridge.register"
KIND_RESULT: Final = "litebridge.result"
KIND_ERROR: Final = "litebridge.error"
KIND_CANCEL: Final = "litebridge.cancel"
"""Cancel the call with the same ``id`` (section 6); never answered."""
KIND_OP: Final = "litebridge.op"
"""Worker -> page: an operation on a page object (``window``, section 13)."""
KIND_APPLY: Final = "litebridge.apply"
"""Page -> worker: call a Python callable the page holds (section 13)."""
KIND_RELEASE: Final = "litebridge.release"
"""Both ways: references the sender dropped, as ``[id, count]`` pairs (section 13); never answered."""
KIND_INTERRUPT: Final = "litebridge.interrupt"
"""Worker -> page on the Worker, not an envelope: the interrupt buffer (section 11)."""

# --- stream messages (section 2, "Streams") ------------------------------------------------
StreamKind = Literal[
    "litebridge.stream.pull",
    "litebridge.stream.chunk",
    "litebridge.stream.end",
    "litebridge.stream.error",
    "litebridge.stream.cancel",
]
KIND_STREAM_PULL: Final = "litebridge.stream.pull"
"""Consumer -> producer: ``n`` more chunks may be sent (credit)."""
KIND_STREAM_CHUNK: Final = "litebridge.stream.chunk"
"""Producer -> consumer: one chunk, ``value`` is ``{"$bytes": 0}``."""
KIND_STREAM_END: Final = "litebridge.stream.end"
"""Producer -> consumer: the stream ended; nothing follows."""
KIND_STREAM_ERROR: Final = "litebridge.stream.error"
"""Producer -> consumer: the stream failed with ``error``; nothing follows."""
KIND_STREAM_CANCEL: Final = "litebridge.stream.cancel"
"""Consumer -> producer: stop producing (optional ``reason``); never answered."""

# --- error codes (section 5) --------------------------------------------------------------
ErrorCode = Literal[
    "unknown_method",
    "forbidden_name",
    "unserializable",
    "bad_request",
    "busy",
    "closed",
    "timeout",
    "unknown_property",
]
CODES: Final[frozenset[str]] = frozenset(
    {
        "unknown_method",
        "forbidden_name",
        "unserializable",
        "bad_request",
        "busy",
        "closed",
        "timeout",
        "unknown_property",
    }
)

# --- method names (section 2) -------------------------------------------------------------
FORBIDDEN_SEGMENTS: Final[frozenset[str]] = frozenset({"constructor", "__proto__", "prototype"})
"""Name segments that never resolve (besides every segment that starts with ``_``)."""

# --- values (section 4) -------------------------------------------------------------------
MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest int sent as a JSON number; ints outside +-MAX_SAFE_INTEGER are refused."""
MAX_PAYLOAD_BYTES: Final = 256 * 1024 * 1024
"""Largest frame a sender may send: UTF-8 JSON plus every buffer, in bytes (256 MiB)."""
BYTES_KEY: Final = "$bytes"
ESCAPE_KEY: Final = "$escape"
STREAM_KEY: Final = "$stream"
"""Tag of a byte stream in a value: ``{"$stream": id}``, id >= 1 chosen by the producer."""
STREAM_CHUNK_BYTES: Final = 1024 * 1024
"""Largest chunk a producer sends (bytes); larger source chunks are split."""
STREAM_WINDOW_CHUNKS: Final = 4
"""Chunks a consumer lets be in flight or queued per stream: the memory bound is
``STREAM_WINDOW_CHUNKS * STREAM_CHUNK_BYTES`` (4 MiB) per stream and side."""
HANDLE_KEY: Final = "$handle"
"""Tag of a page object sent by reference: ``{"$handle": [id, type_name]}`` (section 13)."""
PY_KEY: Final = "$py"
"""Tag of a Python callable sent by reference: ``{"$py": [id, type_name]}`` (section 13)."""
MARKER_KEYS: Final[frozenset[str]] = frozenset({BYTES_KEY, ESCAPE_KEY, STREAM_KEY, HANDLE_KEY, PY_KEY})
"""Keys that, alone in an application dict, make the encoder escape it."""
GLOBAL_HANDLE: Final = 0
"""Handle id of the page's ``globalThis`` (``litebridge.window``); never released."""
OPS: Final[tuple[str, ...]] = ("get", "set", "call", "new", "dir", "listen", "len", "items")
"""The operations of a ``litebridge.op`` message (section 13)."""

# --- transports (sections 7 and 8) -------------------------------------------------------
TransportName = Literal["sab", "jspi", "async"]

# --- messages (section 5) -----------------------------------------------------------------


class ErrorObject(TypedDict):
    """An error as data (section 5)."""

    type: str
    message: str
    stack: str
    code: NotRequired[ErrorCode]
