"""Value encoding (protocol section 4) and the binary frame (protocol section 6).

Values are strict JSON plus binary: ``bytes``, ``bytearray`` and contiguous ``memoryview``
objects anywhere in a value are replaced by the placeholder ``{"$bytes": n}`` and carried as
buffer ``n`` of the frame, in depth-first, left-to-right order. An application dict whose only
key is ``$bytes`` or ``$escape`` is wrapped as ``{"$escape": {...}}``. Anything else is refused
with a :class:`TypeError` that names the type and where it was found, before anything is sent.

This module is on the hot path of every call: the common case (a few strings and numbers) is
handled inline without recursion or path bookkeeping; the path of an offending value is only
spelled out when an error is raised.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

from .protocol import BYTES_KEY, ESCAPE_KEY, FRAME_PREFIX_BYTES, MAX_SAFE_INTEGER

__all__ = [
    "Buffer",
    "decode",
    "decode_envelope",
    "dumps",
    "encode",
    "encode_envelope",
    "pack_frame",
    "unpack_frame",
]

Buffer: TypeAlias = bytes | bytearray | memoryview
"""A binary value: what is sent as a frame buffer."""

# A location in a value being encoded: the root name, or (parent location, key or index).
# Built as cheap tuples while walking; turned into text only for an error message.
_Where: TypeAlias = "str | tuple[_Where, int | str]"

_MAX: Final = MAX_SAFE_INTEGER
_MIN: Final = -MAX_SAFE_INTEGER
_MARKER_KEYS: Final = frozenset({BYTES_KEY, ESCAPE_KEY})

dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False).encode
"""Serialise an already prepared (plain JSON) structure to compact JSON text."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"bad frame: {name} is not strict JSON")


_loads = json.JSONDecoder(parse_constant=_refuse_constant).decode


def _path(where: _Where) -> str:
    """Spell a location as Python source, e.g. ``args[1]['k']``."""
    parts: list[str] = []
    while isinstance(where, tuple):
        where, key = where
        parts.append(f"[{key!r}]")
    parts.append(where)
    return "".join(reversed(parts))


def _refuse(value: object, where: _Where, why: str = "") -> TypeError:
    kind = type(value).__name__
    if isinstance(value, float):
        kind = f"float {value!r}"
    elif isinstance(value, int) and not isinstance(value, bool):
        kind = f"int {value!r}"
    suffix = f" ({why})" if why else ""
    return TypeError(f"cannot send {kind} at {_path(where)}{suffix}")


class _Encoder:
    """One encoding pass: collects the buffers and the containers on the current path."""

    __slots__ = ("active", "buffers")

    def __init__(self) -> None:
        self.buffers: list[Buffer] = []
        self.active: set[int] = set()

    def value(self, v: object, where: _Where) -> object:  # noqa: PLR0911, PLR0912 - one flat type switch
        t = type(v)
        if t is str or t is bool or v is None:
            return v
        if t is int:
            if _MIN <= v <= _MAX:  # type: ignore[operator]
                return v
            raise _refuse(v, where, "outside the safe integer range +-(2**53 - 1)")
        if t is float:
            if math.isfinite(v):  # type: ignore[arg-type]
                return v
            raise _refuse(v, where, "strict JSON has no NaN or Infinity")
        if t is list or t is tuple:
            return self.sequence(v, where)  # type: ignore[arg-type]
        if t is dict:
            return self.mapping(v, where)  # type: ignore[arg-type]
        if t is bytes or t is bytearray or t is memoryview:
            return self.binary(v, where)  # type: ignore[arg-type]
        # Subclasses of the JSON types (IntEnum, OrderedDict, namedtuple, str enums...) are
        # sent as their base type; bool is final, so it cannot reach here.
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, int):
            return self.value(int(v), where)
        if isinstance(v, float):
            return self.value(float(v), where)
        if isinstance(v, list | tuple):
            return self.sequence(v, where)
        if isinstance(v, dict):
            return self.mapping(v, where)
        if isinstance(v, bytes | bytearray | memoryview):
            return self.binary(v, where)
        raise _refuse(v, where)

    def sequence(self, v: Sequence[object], where: _Where) -> list[object]:
        ident = id(v)
        if ident in self.active:
            raise _refuse(v, where, "cyclic: it contains itself")
        self.active.add(ident)
        out: list[object] = []
        append = out.append
        for i, item in enumerate(v):
            t = type(item)
            if (
                t is str
                or t is bool
                or item is None
                or (t is int and _MIN <= item <= _MAX)  # type: ignore[operator]
                or (t is float and math.isfinite(item))  # type: ignore[arg-type]
            ):
                append(item)
            else:
                append(self.value(item, (where, i)))
        self.active.discard(ident)
        return out

    def mapping(self, v: Mapping[object, object], where: _Where) -> dict[str, object]:
        ident = id(v)
        if ident in self.active:
            raise _refuse(v, where, "cyclic: it contains itself")
        self.active.add(ident)
        out: dict[str, object] = {}
        for raw_key, item in v.items():
            if type(raw_key) is str:
                key = raw_key
            elif isinstance(raw_key, str):
                key = str.__str__(raw_key)
            else:
                raise TypeError(
                    f"cannot send dict key {raw_key!r} of type {type(raw_key).__name__} at "
                    f"{_path(where)} (object keys must be str)"
                )
            t = type(item)
            if t is str or t is bool or item is None or (t is int and _MIN <= item <= _MAX):  # type: ignore[operator]
                out[key] = item
            else:
                out[key] = self.value(item, (where, key))
        self.active.discard(ident)
        if len(out) == 1 and next(iter(out)) in _MARKER_KEYS:
            return {ESCAPE_KEY: out}
        return out

    def binary(self, v: Buffer, where: _Where) -> dict[str, int]:
        if isinstance(v, memoryview):
            if not v.c_contiguous:
                raise _refuse(v, where, "not contiguous: copy it with bytes(view) first")
            if v.ndim != 1 or v.format != "B":
                v = v.cast("B")
        index = len(self.buffers)
        self.buffers.append(v)
        return {BYTES_KEY: index}


def _all_scalars(items: Sequence[object]) -> bool:
    """Whether every item is a JSON scalar that needs no conversion (the hot path)."""
    for item in items:
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if _MIN <= item <= _MAX:  # type: ignore[operator]
                continue
            return False
        if t is not float or not math.isfinite(item):  # type: ignore[arg-type]
            return False
    return True


def encode(value: object, root: str = "args") -> tuple[str, list[Buffer]]:
    """Encode one value as JSON text plus binary buffers (protocol section 4).

    Parameters
    ----------
    value : object
        ``None``, ``bool``, ``int`` within +-(2**53 - 1), finite ``float``, ``str``,
        ``list``/``tuple``, ``dict`` with ``str`` keys, ``bytes``/``bytearray``/contiguous
        ``memoryview``, nested in any way (subclasses of these are sent as the base type).
    root : str, default ``"args"``
        Name of the value in error messages: ``"args"`` for call arguments, ``"result"``
        for a result.

    Returns
    -------
    tuple of (str, list of Buffer)
        The compact JSON text and the buffers its ``{"$bytes": n}`` placeholders index. The
        buffers are the caller's objects (memoryviews cast to bytes), not copies.

    Raises
    ------
    TypeError
        For a value that cannot be sent; the message names its type and path, e.g.
        ``cannot send set at args[1]['k']``. Cycles are reported where they close.
    """
    enc = _Encoder()
    prepared = enc.value(value, root)
    return dumps(prepared), enc.buffers


def encode_envelope(
    envelope: Mapping[str, object], key: str | None = None, root: str = "args"
) -> tuple[str, list[Buffer]]:
    """Encode an envelope whose field ``key`` holds an application value.

    Parameters
    ----------
    envelope : Mapping[str, object]
        The message fields (``v``, ``id``, ``kind``...); only ``envelope[key]`` is walked, the
        other fields must already be plain JSON.
    key : str or None, default None
        The field holding the value (``"args"`` or ``"value"``); None when there is none.
    root : str, default ``"args"``
        Name of that value in error messages (``"args"`` or ``"result"``).

    Returns
    -------
    tuple of (str, list of Buffer)
        The JSON text of the whole envelope and the buffers.

    Raises
    ------
    TypeError
        As :func:`encode`, for the value under ``key``.
    """
    if key is None:
        return dumps(envelope), []
    value = envelope[key]
    if (type(value) is tuple or type(value) is list) and _all_scalars(value):
        return dumps(envelope), []  # the common case: no copy, no walk, no buffers
    enc = _Encoder()
    fields = dict(envelope)
    fields[key] = enc.value(envelope[key], root)
    return dumps(fields), enc.buffers


def _needs_restore(text: str, buffers: Sequence[Buffer] | None) -> bool:
    # No placeholder and no escape can hide in a text without "$" (nor in one whose "$" is
    # spelled \u0024): then json.loads alone is the answer. Neither JSON.stringify nor
    # json.dumps escapes "$", but the check stays exact for any encoder.
    return bool(buffers) or "$" in text or "\\u" in text


def _bytes_of(buffer: Buffer) -> bytes:
    return buffer if type(buffer) is bytes else bytes(buffer)


def _restore(v: Any, buffers: Sequence[Buffer]) -> Any:
    t = type(v)
    if t is list:
        return [_restore(item, buffers) for item in v]
    if t is not dict:
        return v
    if len(v) == 1:
        if BYTES_KEY in v:
            index = v[BYTES_KEY]
            if type(index) is not int or not 0 <= index < len(buffers):
                raise ValueError(f"bad frame: {{'$bytes': {index!r}}} with {len(buffers)} buffers")
            return _bytes_of(buffers[index])
        if ESCAPE_KEY in v:
            inner = v[ESCAPE_KEY]
            if type(inner) is not dict:
                raise ValueError("bad frame: '$escape' must hold an object")
            return {key: _restore(item, buffers) for key, item in inner.items()}
    return {key: _restore(item, buffers) for key, item in v.items()}


def decode(text: str, buffers: Sequence[Buffer] | None = None) -> Any:
    """Decode a value encoded by :func:`encode` (or by the page's encoder).

    Parameters
    ----------
    text : str
        The JSON text.
    buffers : sequence of Buffer or None
        The frame's buffers; each ``{"$bytes": n}`` becomes ``bytes(buffers[n])`` (no copy when
        it already is ``bytes``).

    Returns
    -------
    Any
        ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` or ``bytes``.

    Raises
    ------
    ValueError
        For text that is not strict JSON (``NaN`` included) or a placeholder with no buffer
        (``json.JSONDecodeError`` is a ``ValueError``).
    """
    value = _loads(text)
    if _needs_restore(text, buffers):
        value = _restore(value, buffers or ())
    return value


def decode_envelope(text: str, buffers: Sequence[Buffer] | None = None) -> dict[str, Any]:
    """Decode a whole message and the application value in its ``args`` or ``value`` field.

    Parameters
    ----------
    text : str
        The JSON text of the envelope.
    buffers : sequence of Buffer or None
        The frame's buffers.

    Returns
    -------
    dict
        The envelope, with ``args``/``value`` decoded. ``v``, ``id`` and ``kind`` are checked
        for type only (an int, an int, a str); their values are the caller's to judge.

    Raises
    ------
    ValueError
        For malformed JSON, a non-object envelope, missing or mistyped ``v``/``id``/``kind``,
        or a bad placeholder.
    """
    envelope = _loads(text)
    if type(envelope) is not dict:
        raise ValueError("bad frame: the envelope is not a JSON object")
    if (
        type(envelope.get("v")) is not int
        or type(envelope.get("id")) is not int
        or type(envelope.get("kind")) is not str
    ):
        raise ValueError("bad frame: the envelope needs an int 'v', an int 'id' and a str 'kind'")
    if _needs_restore(text, buffers):
        for key in ("args", "value"):
            if key in envelope:
                envelope[key] = _restore(envelope[key], buffers or ())
    return envelope


# --- binary frame (section 6) -------------------------------------------------------------
_U32: Final = struct.Struct("<I")
_U32_MAX: Final = 2**32 - 1


def pack_frame(text: str, buffers: Sequence[Buffer] = ()) -> bytes:
    """Pack an envelope and its buffers into one binary frame (protocol section 6).

    Layout: uint32 LE ``J`` (bytes of the UTF-8 JSON), uint32 LE ``N`` (number of buffers),
    ``N`` x uint32 LE buffer lengths, the JSON, then the buffers concatenated.

    Parameters
    ----------
    text : str
        The JSON envelope.
    buffers : sequence of Buffer
        The frame's buffers, in placeholder order.

    Returns
    -------
    bytes
        The frame.

    Raises
    ------
    ValueError
        When a part is larger than 2**32 - 1 bytes.
    """
    body = text.encode("utf-8")
    views = [memoryview(b).cast("B") for b in buffers]
    sizes = [len(body), len(views), *(v.nbytes for v in views)]
    if max(sizes) > _U32_MAX:
        raise ValueError("frame part larger than 2**32 - 1 bytes")
    head = struct.pack(f"<{len(sizes)}I", *sizes)
    return b"".join([head, body, *views])


def unpack_frame(frame: Buffer) -> tuple[str, list[memoryview]]:
    """Split a binary frame made by :func:`pack_frame` (or the page) into JSON and buffers.

    Parameters
    ----------
    frame : Buffer
        The whole frame.

    Returns
    -------
    tuple of (str, list of memoryview)
        The JSON text and zero-copy views of the buffers into ``frame``.

    Raises
    ------
    ValueError
        When the frame is shorter or longer than its header says, or the JSON is not UTF-8.
    """
    view = memoryview(frame).cast("B")
    size = view.nbytes
    if size < FRAME_PREFIX_BYTES:
        raise ValueError(f"bad frame: {size} bytes, shorter than its 8-byte prefix")
    (json_bytes,) = _U32.unpack_from(view, 0)
    (count,) = _U32.unpack_from(view, 4)
    offset = FRAME_PREFIX_BYTES + 4 * count
    if offset > size:
        raise ValueError(f"bad frame: {count} buffer lengths do not fit in {size} bytes")
    lengths = struct.unpack_from(f"<{count}I", view, FRAME_PREFIX_BYTES)
    end = offset + json_bytes + sum(lengths)
    if end != size:
        raise ValueError(f"bad frame: header says {end} bytes, frame has {size}")
    text = str(view[offset : offset + json_bytes], "utf-8")
    offset += json_bytes
    parts: list[memoryview] = []
    for length in lengths:
        parts.append(view[offset : offset + length])
        offset += length
    return text, parts
