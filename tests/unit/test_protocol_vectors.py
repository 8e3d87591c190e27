"""The shared protocol vectors (``tests/protocol/vectors.json``) from the Python side.

``js/test/vectors.test.ts`` runs the same file from the JavaScript side, so the two mirrors of
``docs/protocol.md`` (``py/litebridge`` and ``js/src``) cannot drift apart.
"""

from __future__ import annotations

import asyncio
import json
import math
import typing
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import litebridge
from litebridge import ByteStream, protocol
from litebridge._streams import StreamTable
from litebridge.codec import decode, decode_envelope, encode
from litebridge.dispatch import check_name
from litebridge.errors import MethodLookupError, error_from_wire

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "protocol" / "vectors.json").read_text(encoding="utf-8")
)


def native(value: Any) -> Any:
    """Turn a tagged vector value into the Python value it stands for."""
    if isinstance(value, list):
        return [native(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"@bytes"}:
            return bytes.fromhex(value["@bytes"])
        if set(value) == {"@float"}:
            return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[value["@float"]]
        return {key: native(item) for key, item in value.items()}
    return value


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def test_constants_match_the_vectors() -> None:
    assert VECTORS["protocol_version"] == protocol.PROTOCOL_VERSION
    assert list(typing.get_args(protocol.Kind)) == VECTORS["kinds"]
    assert VECTORS["interrupt_kind"] == protocol.KIND_INTERRUPT
    assert list(typing.get_args(protocol.ErrorCode)) == VECTORS["codes"]
    assert set(VECTORS["codes"]) == protocol.CODES
    assert set(VECTORS["forbidden_segments"]) == protocol.FORBIDDEN_SEGMENTS
    assert VECTORS["max_payload_bytes"] == protocol.MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("case", VECTORS["encode"], ids=ids(VECTORS["encode"]))
def test_encode(case: dict[str, Any]) -> None:
    text, buffers = encode(native(case["value"]))
    assert json.loads(text) == case["wire"]
    assert [bytes(b).hex() for b in buffers] == case["buffers"]


@pytest.mark.parametrize("case", VECTORS["encode"], ids=ids(VECTORS["encode"]))
def test_decode(case: dict[str, Any]) -> None:
    buffers = [bytes.fromhex(b) for b in case["buffers"]]
    assert decode(json.dumps(case["wire"]), buffers) == native(case["value"])


@pytest.mark.parametrize("case", VECTORS["refuse"], ids=ids(VECTORS["refuse"]))
def test_refuse(case: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="cannot send") as info:
        encode(native(case["value"]))
    assert f"at {case['py_path']}" in str(info.value)
    assert case.get("message", "") in str(info.value)


@pytest.mark.parametrize("case", VECTORS["decode_errors"], ids=ids(VECTORS["decode_errors"]))
def test_decode_errors(case: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="bad frame"):
        decode(json.dumps(case["wire"]), [bytes.fromhex(b) for b in case["buffers"]])


@pytest.mark.parametrize("case", VECTORS["names"], ids=[repr(c["name"]) for c in VECTORS["names"]])
def test_names(case: dict[str, Any]) -> None:
    if case["outcome"] == "ok":
        assert check_name(case["name"]) == case["name"].split(".")
        return
    with pytest.raises(MethodLookupError) as info:
        check_name(case["name"])
    assert info.value.code == case["outcome"]


@pytest.mark.parametrize("case", VECTORS["errors"], ids=ids(VECTORS["errors"]))
def test_errors(case: dict[str, Any]) -> None:
    error = error_from_wire(case["wire"])
    assert type(error) is getattr(litebridge, case["python"])
    assert error.code == case["code"]


def test_stream_constants_match_the_vectors() -> None:
    assert list(typing.get_args(protocol.StreamKind)) == VECTORS["stream_kinds"]
    kinds = [protocol.KIND_STREAM_PULL, protocol.KIND_STREAM_CHUNK, protocol.KIND_STREAM_END]
    kinds += [protocol.KIND_STREAM_ERROR, protocol.KIND_STREAM_CANCEL]
    assert kinds == VECTORS["stream_kinds"]
    assert VECTORS["stream_key"] == protocol.STREAM_KEY
    assert VECTORS["stream_chunk_bytes"] == protocol.STREAM_CHUNK_BYTES
    assert VECTORS["stream_window_chunks"] == protocol.STREAM_WINDOW_CHUNKS


async def _source() -> AsyncIterator[bytes]:
    yield b""


def _streams_native(value: Any, make: Callable[[int], Any]) -> Any:
    """Like :func:`native`, with each ``{"@stream": n}`` replaced by ``make(n)``."""
    if isinstance(value, list):
        return [_streams_native(item, make) for item in value]
    if isinstance(value, dict):
        if set(value) == {"@stream"}:
            return make(value["@stream"])
        if set(value) == {"@bytes"}:
            return bytes.fromhex(value["@bytes"])
        return {key: _streams_native(item, make) for key, item in value.items()}
    return value


@pytest.mark.parametrize("case", VECTORS["streams"], ids=ids(VECTORS["streams"]))
def test_streams_encode_and_decode(case: dict[str, Any]) -> None:
    async def main() -> None:
        streams = StreamTable(lambda text, buffers: None, asyncio.get_running_loop)
        sources: list[Any] = []

        def make_source(n: int) -> Any:
            sources.append(_source())
            return sources[-1]

        text, buffers = encode(_streams_native(case["value"], make_source), "args", streams.exporter(1))
        assert json.loads(text) == case["wire"]
        assert [bytes(b).hex() for b in buffers] == case["buffers"]
        received = decode(text, buffers, streams.importer)
        as_ids = _streams_native(case["value"], lambda n: ("ByteStream", n))

        def shape(value: Any) -> Any:
            if isinstance(value, ByteStream):
                return ("ByteStream", value.id)
            if isinstance(value, list):
                return [shape(item) for item in value]
            if isinstance(value, dict):
                return {key: shape(item) for key, item in value.items()}
            return value

        assert shape(received) == as_ids
        for source in sources:
            await source.aclose()

    asyncio.run(main())


def _record_reference(key: str, value: Any) -> Any:
    return {"@ref": [key, value]}


@pytest.mark.parametrize("case", VECTORS["references"], ids=ids(VECTORS["references"]))
def test_references(case: dict[str, Any]) -> None:
    buffers = [bytes.fromhex(b) for b in case["buffers"]]
    text = json.dumps({"v": 2, "id": 1, "kind": "litebridge.result", "value": case["wire"]})
    decoded = decode_envelope(text, buffers, importer=_record_reference)["value"]
    assert decoded == native(case["decoded"])
    if case.get("plain"):
        assert decode_envelope(text, buffers)["value"] == native(case["decoded"])
    else:
        with pytest.raises(ValueError, match="reference is not accepted here"):
            decode_envelope(text, buffers)


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: v["name"][:40])
def test_frame_json_decodes_as_written(vector: dict[str, Any]) -> None:
    # The worker helper hands Python the frame's J bytes of JSON as they are, spaces that align
    # the buffers included (docs/protocol.md section 7): Python's decoder must read them alike.
    frame = bytes.fromhex(vector["hex"])
    json_bytes = int.from_bytes(frame[0:4], "little")
    count = int.from_bytes(frame[4:8], "little")
    start = 8 + 4 * count
    text = frame[start : start + json_bytes].decode("utf-8")
    assert text.rstrip(" ") == vector["json"]
    assert decode(text, [bytes.fromhex(b) for b in vector["buffers"]]) == decode(vector["json"])
    assert (
        decode_envelope('{"v":2,"id":1,"kind":"litebridge.result","value":1}' + text[len(vector["json"]) :])["value"]
        == 1
    )
