"""The litebridge wire protocol, version 1, as Python constants and types.

This module mirrors ``docs/protocol.md`` (the normative text) and ``js/src/protocol.ts``.
Every kind string, error code and buffer-layout constant is written here once and imported
everywhere else on the Python side. It holds data only: no behaviour.
"""

from __future__ import annotations

from typing import Final, Literal, NotRequired, TypedDict

__all__ = [
    "BYTES_KEY",
    "CHUNK_BYTES",
    "CHUNK_INDEX",
    "CHUNK_WAIT_MS",
    "CODES",
    "ESCAPE_KEY",
    "FORBIDDEN_SEGMENTS",
    "FRAME_PREFIX_BYTES",
    "HEADER_BYTES",
    "KINDS",
    "KIND_CALL",
    "KIND_ERROR",
    "KIND_HELLO",
    "KIND_INTERRUPT",
    "KIND_READY",
    "KIND_REGISTER",
    "KIND_RESULT",
    "MAX_SAFE_INTEGER",
    "PAGE_READY",
    "PHASE_CLAIMED",
    "PHASE_IDLE",
    "PHASE_REQUEST",
    "PHASE_REQUEST_ACK",
    "PHASE_RESPONSE",
    "PHASE_RESPONSE_ACK",
    "PROTOCOL_VERSION",
    "SAB_BYTES",
    "SEQ_WRAP",
    "STATE",
    "TOTAL_BYTES",
    "CallMessage",
    "ErrorCode",
    "ErrorMessage",
    "ErrorObject",
    "Kind",
    "ReadyMessage",
    "RegisterMessage",
    "ResultMessage",
    "TransportName",
]

PROTOCOL_VERSION: Final = 1
"""Value of the ``v`` field of every envelope (section 2)."""

# --- message kinds (section 2) ------------------------------------------------------------
Kind = Literal[
    "litebridge.hello",
    "litebridge.ready",
    "litebridge.call",
    "litebridge.register",
    "litebridge.result",
    "litebridge.error",
]
KIND_HELLO: Final = "litebridge.hello"
KIND_READY: Final = "litebridge.ready"
KIND_CALL: Final = "litebridge.call"
KIND_REGISTER: Final = "litebridge.register"
KIND_RESULT: Final = "litebridge.result"
KIND_ERROR: Final = "litebridge.error"
KIND_INTERRUPT: Final = "litebridge.interrupt"
"""Worker -> page on the Worker, not an envelope: the interrupt buffer (section 10)."""
KINDS: Final[frozenset[str]] = frozenset({KIND_HELLO, KIND_READY, KIND_CALL, KIND_REGISTER, KIND_RESULT, KIND_ERROR})

# --- error codes (section 5) --------------------------------------------------------------
ErrorCode = Literal[
    "unknown_method",
    "forbidden_name",
    "unserializable",
    "bad_request",
    "busy",
    "closed",
    "timeout",
]
CODES: Final[frozenset[str]] = frozenset(
    {"unknown_method", "forbidden_name", "unserializable", "bad_request", "busy", "closed", "timeout"}
)

# --- method names (section 2) -------------------------------------------------------------
FORBIDDEN_SEGMENTS: Final[frozenset[str]] = frozenset({"constructor", "__proto__", "prototype"})
"""Name segments that never resolve (besides every segment that starts with ``_``)."""

# --- values (section 4) -------------------------------------------------------------------
MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest int sent as a JSON number; ints outside +-MAX_SAFE_INTEGER are refused."""
BYTES_KEY: Final = "$bytes"
ESCAPE_KEY: Final = "$escape"

# --- transports (DESIGN.md, sections 6 and 7) ---------------------------------------------
TransportName = Literal["sab", "jspi", "async"]

# --- SharedArrayBuffer layout (section 6) -------------------------------------------------
HEADER_BYTES: Final = 32
"""Bytes of the Int32 header at the start of the SAB; the payload starts here."""
SAB_BYTES: Final = 8 * 1024 * 1024 + HEADER_BYTES
"""Size of the SAB the worker helper allocates, in bytes."""
STATE: Final = 0
CHUNK_BYTES: Final = 1
CHUNK_INDEX: Final = 2
TOTAL_BYTES: Final = 3
PAGE_READY: Final = 4

PHASE_IDLE: Final = 0
PHASE_REQUEST: Final = 1
PHASE_REQUEST_ACK: Final = 2
PHASE_CLAIMED: Final = 3
PHASE_RESPONSE: Final = 4
PHASE_RESPONSE_ACK: Final = 5
SEQ_WRAP: Final = 2**27
"""``seq`` counts sync calls from 1 and wraps at this value back to 1; STATE = seq*8+phase."""
CHUNK_WAIT_MS: Final = 10_000
"""Bound of a wait for a chunk acknowledgement, in milliseconds."""

FRAME_PREFIX_BYTES: Final = 8
"""Bytes of the fixed part of a binary frame: uint32 J (JSON bytes) and uint32 N (buffers)."""


# --- messages (section 2) -----------------------------------------------------------------
class ErrorObject(TypedDict):
    """An error as data (section 5)."""

    type: str
    message: str
    stack: str
    code: NotRequired[ErrorCode]


class CallMessage(TypedDict):
    """``litebridge.call``: call ``method`` with ``args`` on the other side."""

    v: int
    id: int
    kind: Literal["litebridge.call"]
    method: str
    args: list[object]
    sync: NotRequired[bool]


class RegisterMessage(TypedDict):
    """``litebridge.register``: evaluate ``source`` on the page and register its methods."""

    v: int
    id: int
    kind: Literal["litebridge.register"]
    source: str


class ResultMessage(TypedDict):
    """``litebridge.result``: the answer to the call or register with the same ``id``."""

    v: int
    id: int
    kind: Literal["litebridge.result"]
    value: object


class ErrorMessage(TypedDict):
    """``litebridge.error``: the failure of the call or register with the same ``id``."""

    v: int
    id: int
    kind: Literal["litebridge.error"]
    error: ErrorObject


class ReadyMessage(TypedDict):
    """``litebridge.ready``: the page attached to this kernel's port."""

    v: int
    id: int
    kind: Literal["litebridge.ready"]
    page: str
