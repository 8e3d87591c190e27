"""Value encoding (protocol section 4).

Values are strict JSON plus binary: ``bytes``, ``bytearray`` and contiguous ``memoryview``
objects anywhere in a value are replaced by the placeholder ``{"$bytes": n}`` and carried as
buffer ``n`` of the frame, in depth-first, left-to-right order. An application dict whose only
key is ``$bytes`` or ``$escape`` is wrapped as ``{"$escape": {...}}``. Anything else is refused
with a :class:`TypeError` that names the type and where it was found, before anything is sent;
so is a ``str`` holding a lone surrogate (it has no UTF-8 form). A frame larger than
:data:`~litebridge.protocol.MAX_PAYLOAD_BYTES` is refused with a :class:`ValueError`.

This module is on the hot path of every call: the common case (a few strings and numbers) is
handled inline without recursion or path bookkeeping; the path of an offending value is only
spelled out when an error is raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias, cast

from .protocol import (
    BYTES_KEY,
    ESCAPE_KEY,
    HANDLE_KEY,
    MARKER_KEYS,
    MAX_PAYLOAD_BYTES,
    MAX_SAFE_INTEGER,
    PY_KEY,
    STREAM_KEY,
)

__all__ = [
    "Buffer",
    "Exporter",
    "Importer",
    "StreamExport",
    "StreamImport",
    "decode",
    "decode_envelope",
    "dumps",
    "encode",
    "encode_envelope",
]

Buffer: TypeAlias = bytes | bytearray | memoryview
"""A binary value: what is sent as a frame buffer."""

StreamExport: TypeAlias = Callable[[object, Callable[[], str]], "int | None"]
"""Encoding hook for streams (``litebridge._streams``): given a value the codec cannot send and
a function spelling its path, return its stream id (sent as ``{"$stream": id}``), None when it
is no stream, or raise ``TypeError``."""

StreamImport: TypeAlias = Callable[[int], object]
"""Decoding hook for streams: the value that stands for ``{"$stream": id}``."""
Exporter: TypeAlias = Callable[[object], "dict[str, object] | None"]
"""Sends an object that is not a value by reference (protocol section 13): returns its tag
(``{"$handle": [...]}`` or ``{"$py": [...]}``), or None to refuse it as usual."""

Importer: TypeAlias = Callable[[str, Any], Any]
"""Turns a received reference tag back into an object: called with the key (``"$handle"``
or ``"$py"``) and what the tag holds (unchecked)."""

# A location in a value being encoded: the root name, or (parent location, key or index).
# Built as cheap tuples while walking; turned into text only for an error message.
_Where: TypeAlias = "str | tuple[_Where, int | str]"

_MAX: Final = MAX_SAFE_INTEGER
_MIN: Final = -MAX_SAFE_INTEGER
_MARKER_KEYS: Final = MARKER_KEYS
_REFERENCE_KEYS: Final = frozenset({HANDLE_KEY, PY_KEY})

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

    __slots__ = ("active", "buffers", "exporter", "streams")

    def __init__(self, streams: StreamExport | None = None, exporter: Exporter | None = None) -> None:
        self.buffers: list[Buffer] = []
        self.active: set[int] = set()
        self.streams = streams
        self.exporter = exporter

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
        if self.streams is not None:
            stream_id = self.streams(v, lambda: _path(where))
            if stream_id is not None:
                return {STREAM_KEY: stream_id}
        if self.exporter is not None:
            tag = self.exporter(v)
            if tag is not None:
                return tag
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


_PLAIN_MAX_DEPTH: Final = 32
"""Deeper than this, :func:`_plain` gives up and the full walk (which finds cycles) runs."""


def _plain(v: object, depth: int = 0) -> bool:  # noqa: PLR0911 - one flat type switch
    """Whether ``v`` is already its own wire form: ``dumps(v)`` is its encoding (the hot path).

    Only the exact JSON types (no subclasses), ints in the safe range, finite floats, dicts
    with ``str`` keys that do not look like a placeholder (a single ``$bytes``/``$escape``
    key), at most ``_PLAIN_MAX_DEPTH`` deep (so a cycle ends the check). Anything else returns
    False and the full walk converts or refuses it, naming the path. Lone surrogates are left
    to :func:`_finish`, as on the walk's path.
    """
    t = type(v)
    if t is str or t is bool or v is None:
        return True
    if t is int:
        return _MIN <= v <= _MAX  # type: ignore[operator]
    if t is float:
        return math.isfinite(v)  # type: ignore[arg-type]
    if depth >= _PLAIN_MAX_DEPTH:
        return False
    if t is list or t is tuple:
        for item in cast("Sequence[object]", v):
            ti = type(item)
            if not (ti is str or ti is bool or item is None or _plain(item, depth + 1)):
                return False
        return True
    if t is dict:
        mapping = cast("dict[object, object]", v)
        if len(mapping) == 1 and next(iter(mapping)) in _MARKER_KEYS:
            return False
        for key, item in mapping.items():
            if type(key) is not str:
                return False
            ti = type(item)
            if not (ti is str or ti is bool or item is None or _plain(item, depth + 1)):
                return False
        return True
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_path(v: object, where: _Where) -> _Where | None:
    """Where the first ``str`` (value or key) with a lone surrogate is in ``v``, or None."""
    if isinstance(v, str):
        return where if _has_surrogate(v) else None
    if isinstance(v, list | tuple):
        for i, item in enumerate(v):
            found = _surrogate_path(item, (where, i))
            if found is not None:
                return found
    elif isinstance(v, dict):
        for key, item in v.items():
            if isinstance(key, str) and _has_surrogate(key):
                return (where, key)
            found = _surrogate_path(item, (where, key))
            if found is not None:
                return found
    return None


def _finish(text: str, buffers: list[Buffer], value: object, root: str) -> tuple[str, list[Buffer]]:
    """Check the encoded frame: no lone surrogate, no more than MAX_PAYLOAD_BYTES in all."""
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            where = _surrogate_path(value, root)
            place = _path(where) if where is not None else root
            raise TypeError(
                f"cannot send str with a lone surrogate at {place} (it has no UTF-8 form: "
                "fix the text, e.g. with .encode('utf-8', 'replace').decode())"
            ) from None
    if buffers:
        size += sum(memoryview(b).nbytes for b in buffers)
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"cannot send {root}: the frame would be {size} bytes, over the limit of "
            f"{MAX_PAYLOAD_BYTES} bytes (256 MiB) per call; send large data in several calls"
        )
    return text, buffers


def encode(value: object, root: str = "args", streams: StreamExport | None = None) -> tuple[str, list[Buffer]]:
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
    streams : StreamExport or None, default None
        Sends values it accepts (async iterables of bytes) as ``{"$stream": id}``; without it
        they are refused like any other type.

    Returns
    -------
    tuple of (str, list of Buffer)
        The compact JSON text and the buffers its ``{"$bytes": n}`` placeholders index. The
        buffers are the caller's objects (memoryviews cast to bytes), not copies.

    Raises
    ------
    TypeError
        For a value that cannot be sent; the message names its type and path, e.g.
        ``cannot send set at args[1]['k']``. Cycles are reported where they close; a ``str``
        with a lone surrogate (such as ``chr(0xD800)``) is refused too.
    ValueError
        When JSON and buffers together exceed ``MAX_PAYLOAD_BYTES`` (256 MiB).
    """
    enc = _Encoder(streams)
    prepared = enc.value(value, root)
    return _finish(dumps(prepared), enc.buffers, value, root)


def encode_envelope(
    envelope: Mapping[str, object],
    key: str | None = None,
    root: str = "args",
    streams: StreamExport | None = None,
    exporter: Exporter | None = None,
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
    streams : StreamExport or None, default None
        As for :func:`encode`.
    exporter : Exporter or None, default None
        Sends what is not a value by reference instead of refusing it (``window``
        operations only; ``page.call`` stays values-only).

    Returns
    -------
    tuple of (str, list of Buffer)
        The JSON text of the whole envelope and the buffers.

    Raises
    ------
    TypeError, ValueError
        As :func:`encode`, for the value under ``key`` (or, without ``key``, for the envelope).
    """
    if key is None:
        return _finish(dumps(envelope), [], envelope, "message")
    value = envelope[key]
    if _is_plain(value):
        # the common case, for arguments and results alike: no copy, no walk, no buffers
        text = dumps(envelope)
        if text.isascii() and len(text) <= MAX_PAYLOAD_BYTES:
            return text, []
        return _finish(text, [], value, root)
    enc = _Encoder(streams, exporter)
    fields = dict(envelope)
    fields[key] = enc.value(envelope[key], root)
    return _finish(dumps(fields), enc.buffers, value, root)


def plain_json(value: object) -> str | None:
    """Return the JSON text of a value that is already its own wire form.

    The hot path of a call's arguments: no walk, no buffers, no escapes; the same test as
    :func:`encode_envelope`'s own fast path (``_is_plain``). The caller still checks the
    frame's size and, when the text is not ASCII, leaves it to :func:`encode_envelope` (its
    UTF-8 size and any lone surrogate).

    Parameters
    ----------
    value : object
        The value (a call's ``args`` tuple).

    Returns
    -------
    str or None
        ``dumps(value)``, or None when the value needs the full walk of :func:`encode` (bytes,
        streams, non-JSON types, placeholder-like keys, unsafe ints...).
    """
    return dumps(value) if _is_plain(value) else None


def _is_plain(value: object) -> bool:
    """Whether ``dumps(value)`` is already the encoding of ``value`` (see ``_plain``)."""
    return ((type(value) is tuple or type(value) is list) and _all_scalars(value)) or _plain(value)


def _needs_restore(text: str, buffers: Sequence[Buffer] | None) -> bool:
    # No placeholder and no escape can hide in a text without "$" (nor in one whose "$" is
    # spelled \u0024): then json.loads alone is the answer. Neither JSON.stringify nor
    # json.dumps escapes "$", but the check stays exact for any encoder.
    return bool(buffers) or "$" in text or "\\u" in text


def _bytes_of(buffer: Buffer) -> bytes:
    return buffer if type(buffer) is bytes else bytes(buffer)


def _restore(  # noqa: PLR0911 - one flat tag switch
    v: Any, buffers: Sequence[Buffer], streams: StreamImport | None = None, importer: Importer | None = None
) -> Any:
    t = type(v)
    if t is list:
        return [_restore(item, buffers, streams, importer) for item in v]
    if t is not dict:
        return v
    if len(v) == 1:
        key = next(iter(v))
        if key in _REFERENCE_KEYS:
            if importer is None:
                raise ValueError(f"bad frame: a {key} reference is not accepted here")
            return importer(key, v[key])
        if BYTES_KEY in v:
            index = v[BYTES_KEY]
            if type(index) is not int or not 0 <= index < len(buffers):
                raise ValueError(f"bad frame: {{'$bytes': {index!r}}} with {len(buffers)} buffers")
            return _bytes_of(buffers[index])
        if ESCAPE_KEY in v:
            inner = v[ESCAPE_KEY]
            if type(inner) is not dict:
                raise ValueError("bad frame: '$escape' must hold an object")
            return {key: _restore(item, buffers, streams, importer) for key, item in inner.items()}
        if STREAM_KEY in v:
            return _stream(v[STREAM_KEY], streams)
    return {key: _restore(item, buffers, streams, importer) for key, item in v.items()}


def _stream(stream_id: object, streams: StreamImport | None) -> object:
    if type(stream_id) is not int or stream_id < 1:
        raise ValueError(f"bad frame: {{'$stream': {stream_id!r}}} (a stream id is an int >= 1)")
    if streams is None:
        raise ValueError(f"bad frame: stream {stream_id} where no stream can be received")
    return streams(stream_id)


def decode(text: str, buffers: Sequence[Buffer] | None = None, streams: StreamImport | None = None) -> Any:
    """Decode a value encoded by :func:`encode` (or by the page's encoder).

    Parameters
    ----------
    text : str
        The JSON text.
    buffers : sequence of Buffer or None
        The frame's buffers; each ``{"$bytes": n}`` becomes ``bytes(buffers[n])`` (no copy when
        it already is ``bytes``).
    streams : StreamImport or None, default None
        Makes the value of each ``{"$stream": id}``; without it such a tag is a bad frame.

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
        value = _restore(value, buffers or (), streams)
    return value


def decode_envelope(
    text: str,
    buffers: Sequence[Buffer] | None = None,
    streams: StreamImport | None = None,
    importer: Importer | None = None,
) -> dict[str, Any]:
    """Decode a whole message and the application value in its ``args`` or ``value`` field.

    Parameters
    ----------
    text : str
        The JSON text of the envelope.
    buffers : sequence of Buffer or None
        The frame's buffers.
    streams : StreamImport or None, default None
        As for :func:`decode`.
    importer : Importer or None, default None
        Turns ``$handle``/``$py`` tags into objects; without it such a tag is a bad frame.

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
                envelope[key] = _restore(envelope[key], buffers or (), streams, importer)
    return envelope
