"""The Python stream machinery (``litebridge._streams``) in CPython: credit, bound, cancel, errors.

A :class:`StreamTable` only needs a ``post`` function and an event loop, so the page is played
here by recording the frames it would receive, or by a second table (a loopback: Python
producing into Python consuming through the real codec), which checks the memory bound.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from litebridge import BridgeClosed, ByteStream, JSError, Page
from litebridge._streams import StreamTable
from litebridge.codec import Buffer, decode_envelope, encode_envelope

T = TypeVar("T")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())


class Wire:
    """Frames one table posted: decoded envelopes, chunks as bytes."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def post(self, text: str, buffers: list[Buffer]) -> None:
        self.frames.append(decode_envelope(text, [bytes(b) for b in buffers]))

    def kinds(self) -> list[str]:
        return [frame["kind"].rsplit(".", 1)[1] for frame in self.frames]


def table(wire: Wire, window: int = 4, chunk_bytes: int = 10) -> StreamTable:
    return StreamTable(wire.post, asyncio.get_running_loop, window, chunk_bytes)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def msg(kind: str, stream_id: int, **fields: Any) -> dict[str, Any]:
    return {"v": 2, "id": stream_id, "kind": f"litebridge.stream.{kind}", **fields}


# --- producing -------------------------------------------------------------------------------------


def test_a_producer_sends_only_what_was_pulled_split_into_chunks() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)
        log: list[str] = []

        async def source() -> AsyncIterator[bytes]:
            try:
                for piece in (b"a" * 25, b"", bytearray(b"xyz"), memoryview(b"0123456789")):
                    log.append(f"yield {len(piece)}")
                    yield piece  # type: ignore[misc]
            finally:
                log.append("finally")

        stream_id = streams.exporter(1)(source(), lambda: "args[0]")
        assert stream_id == 1
        await settle()
        assert wire.frames == []
        assert log == []
        streams.on_message(msg("pull", 1, n=2))
        await settle()
        assert [f["value"] for f in wire.frames] == [b"a" * 10, b"a" * 10]
        assert log == ["yield 25"]  # the rest of the first source chunk is held, not re-read
        assert streams.counts["buffered_bytes"] == 5
        streams.on_message(msg("pull", 1, n=10))
        await settle()
        assert [f["value"] for f in wire.frames[2:-1]] == [b"aaaaa", b"xyz", b"0123456789"]
        assert wire.kinds()[-1] == "end"
        assert log[-1] == "finally"
        assert streams.counts == {"producing": 0, "consuming": 0, "buffered_bytes": 0, "peak_buffered_bytes": 25}

    run(main)


def test_cancel_from_the_page_closes_the_source() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)
        log: list[str] = []

        async def source() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"x"
            finally:
                log.append("closed")

        streams.exporter(1)(source(), lambda: "args[0]")
        streams.on_message(msg("pull", 1, n=1))
        await settle()
        streams.on_message(msg("cancel", 1, reason="enough"))
        await settle()
        assert log == ["closed"]
        assert wire.kinds() == ["chunk"]  # nothing after a cancel
        streams.on_message(msg("pull", 1, n=3))  # a late pull is ignored
        await settle()
        assert wire.kinds() == ["chunk"]
        assert streams.counts["producing"] == 0

    run(main)


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [(ValueError("broke"), ["ValueError", "broke"]), ("text", ["TypeError", "a stream chunk must be bytes"])],
)
def test_a_failing_source_sends_a_named_error(chunk: object, expected: list[str]) -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)

        async def source() -> AsyncIterator[object]:
            yield b"ok"
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

        streams.exporter(1)(source(), lambda: "args[0]")
        streams.on_message(msg("pull", 1, n=4))
        await settle()
        assert wire.kinds() == ["chunk", "error"]
        error = wire.frames[1]["error"]
        assert error["type"] == expected[0]
        assert expected[1] in error["message"]
        assert "Traceback" in error["stack"]
        assert streams.counts["producing"] == 0

    run(main)


def test_exports_are_rolled_back_and_unpulled_streams_of_a_failed_call_are_stopped() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)

        async def source() -> AsyncIterator[bytes]:
            yield b"1"

        mark = streams.mark()
        with pytest.raises(TypeError, match=r"cannot send set at args\[1\]"):
            encode_envelope({"args": [source(), {1}]}, "args", "args", streams.exporter(7))
        streams.rollback(mark)
        assert streams.counts["producing"] == 0
        hook = streams.exporter(8)
        same = source()
        with pytest.raises(TypeError, match=r"the same stream twice: async_generator at args\[1\]"):
            encode_envelope({"args": [same, same]}, "args", "args", hook)
        streams.rollback(mark)
        pulled, unpulled = streams.exporter(9)(source(), lambda: "a"), streams.exporter(9)(source(), lambda: "b")
        assert pulled is not None
        assert unpulled is not None
        streams.on_message(msg("pull", pulled, n=1))
        streams.stop_call(9, "the call failed")
        await settle()
        assert [(f["kind"], f["id"]) for f in wire.frames if f["kind"].endswith("error")] == [
            ("litebridge.stream.error", unpulled)
        ]
        assert [f["error"]["code"] for f in wire.frames if f["kind"].endswith("error")] == ["closed"]

    run(main)


def test_bad_pull_is_a_protocol_error() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)

        async def source() -> AsyncIterator[bytes]:
            yield b"1"

        streams.exporter(1)(source(), lambda: "a")
        streams.on_message(msg("pull", 1, n=0))
        await settle()
        assert wire.kinds() == ["error"]
        assert wire.frames[0]["error"]["code"] == "bad_request"

    run(main)


# --- consuming -------------------------------------------------------------------------------------


def test_a_consumer_pulls_a_window_and_tops_up_at_half() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire, window=4)
        stream = streams.importer(3)
        assert isinstance(stream, ByteStream)
        assert stream.id == 3
        assert wire.frames == []  # nothing is pulled before the first read
        reading = asyncio.ensure_future(anext(stream))
        await settle()
        assert wire.frames == [msg("pull", 3, n=4)]
        for i in range(4):
            streams.on_message(msg("chunk", 3, value=bytes([i]) * 3))
        assert await reading == b"\x00" * 3
        assert streams.counts["buffered_bytes"] == 9
        assert len(wire.frames) == 1  # 3 queued: more than half the window
        assert await anext(stream) == b"\x01" * 3
        assert wire.frames[-1] == msg("pull", 3, n=2)  # 2 queued: half the window, top up to 4
        assert await anext(stream) == b"\x02" * 3
        assert len(wire.frames) == 2  # 1 queued + 2 in flight
        streams.on_message(msg("end", 3))
        assert [chunk async for chunk in stream] == [b"\x03" * 3]
        assert streams.counts["consuming"] == 0
        assert streams.counts["peak_buffered_bytes"] == 12

    run(main)


def test_a_consumer_gets_the_pages_error_after_the_chunks_before_it() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)
        stream = streams.importer(1)
        reading = asyncio.ensure_future(anext(stream))
        await settle()
        streams.on_message(msg("chunk", 1, value=b"ok"))
        error = {"type": "RangeError", "message": "broke", "stack": "at page"}
        streams.on_message(msg("error", 1, error=error))
        assert await reading == b"ok"
        with pytest.raises(JSError) as info:
            await anext(stream)
        assert (info.value.name, info.value.message) == ("RangeError", "broke")

    run(main)


def test_aclose_and_garbage_collection_cancel_the_page_stream() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)
        stream = streams.importer(1)
        async with stream:
            reading = asyncio.ensure_future(anext(stream))
            await settle()
            streams.on_message(msg("chunk", 1, value=b"1"))
            assert await reading == b"1"
        assert wire.frames[-1] == msg("cancel", 1, reason="the Python reader closed the stream")
        assert [chunk async for chunk in stream] == []
        streams.on_message(msg("chunk", 1, value=b"late"))  # in flight when cancelled: dropped
        assert streams.counts["buffered_bytes"] == 0
        streams.importer(2)  # dropped at once
        gc.collect()
        assert wire.frames[-1] == msg("cancel", 2, reason="the Python reader was garbage collected")
        await stream.aclose()  # idempotent: no second cancel
        assert [f["id"] for f in wire.frames if f["kind"].endswith("cancel")] == [1, 2]

    run(main)


def test_more_chunks_than_pulled_fail_the_stream() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire, window=2)
        stream = streams.importer(1)
        streams.on_message(msg("chunk", 1, value=b"unasked"))
        with pytest.raises(JSError, match="more chunks than it was asked for") as info:
            await anext(stream)
        assert info.value.code == "bad_request"
        assert wire.kinds() == ["cancel"]

    run(main)


def test_a_stream_id_received_twice_is_a_bad_frame() -> None:
    async def main() -> None:
        streams = table(Wire())
        text = json.dumps({"v": 2, "id": 1, "kind": "litebridge.result", "value": [{"$stream": 5}, {"$stream": 5}]})
        with pytest.raises(ValueError, match="stream 5 received twice"):
            decode_envelope(text, [], streams.importer)

    run(main)


def test_close_fails_readers_and_closes_sources() -> None:
    async def main() -> None:
        wire = Wire()
        streams = table(wire)
        log: list[str] = []

        async def source() -> AsyncIterator[bytes]:
            try:
                yield b"1"
            finally:
                log.append("closed")

        streams.exporter(1)(source(), lambda: "a")
        streams.on_message(msg("pull", 1, n=1))
        await settle()  # suspended at its yield
        stream = streams.importer(1)
        reading = asyncio.ensure_future(anext(stream))
        await settle()
        streams.close(BridgeClosed("the page went away"))
        with pytest.raises(BridgeClosed, match="went away"):
            await reading
        await settle()
        assert log == ["closed"]
        assert streams.counts["producing"] == streams.counts["consuming"] == 0

    run(main)


def test_loopback_of_many_chunks_stays_within_the_window() -> None:
    """Producer and consumer tables wired together: 2,000 chunks cross, at most 4 held."""

    async def main() -> None:
        consumer_side: list[StreamTable] = []

        def to_consumer(text: str, buffers: list[Buffer]) -> None:
            consumer_side[0].on_message(decode_envelope(text, [bytes(b) for b in buffers]))

        def to_producer(text: str, buffers: list[Buffer]) -> None:
            producer.on_message(decode_envelope(text, [bytes(b) for b in buffers]))

        producer = StreamTable(to_consumer, asyncio.get_running_loop, 4, 1000)
        consumer_side.append(StreamTable(to_producer, asyncio.get_running_loop, 4, 1000))

        async def source() -> AsyncIterator[bytes]:
            for i in range(1000):
                yield bytes([i % 256]) * 1999  # split in 2 chunks of 1000 and 999 bytes

        text, buffers = encode_envelope(
            {"v": 2, "id": 1, "kind": "litebridge.call", "args": [source()]}, "args", "args", producer.exporter(1)
        )
        received = decode_envelope(text, buffers, consumer_side[0].importer)["args"][0]
        total = 0
        async for chunk in received:
            total += len(chunk)
            await asyncio.sleep(0)  # a slow reader: the producer must wait for it
        assert total == 1999 * 1000
        assert consumer_side[0].counts["peak_buffered_bytes"] <= 4 * 1000
        assert producer.counts["peak_buffered_bytes"] <= 1999

    run(main)


# --- the page object ---------------------------------------------------------------------------------


def test_call_sync_refuses_a_stream_argument_before_sending() -> None:
    sent: list[str] = []

    class Link:
        transport = "sab"
        isolated = True
        jspi_supported = True
        loop = asyncio.new_event_loop()

        def post(self, text: str, buffers: list[Buffer]) -> None:
            sent.append(text)

    async def source() -> AsyncGenerator[bytes]:
        yield b""

    page = Page(lambda on_frame: Link())  # type: ignore[arg-type, return-value]
    gen = source()
    with pytest.raises(TypeError, match=r"cannot send async_generator at args\[1\] with call_sync"):
        page.call_sync("f", 1, gen)
    assert sent == []
    assert page.stream_counts["producing"] == 0
    Link.loop.run_until_complete(gen.aclose())
    Link.loop.close()


def test_a_stalled_reader_lets_the_producer_read_only_the_window() -> None:
    """Loopback with a reader that stops after one chunk: the source is read 4 times, no more."""

    async def main() -> None:
        sides: list[StreamTable] = []

        def deliver(to: int) -> Callable[[str, list[Buffer]], None]:
            return lambda text, buffers: sides[to].on_message(decode_envelope(text, [bytes(b) for b in buffers]))

        sides.extend([StreamTable(deliver(1), asyncio.get_running_loop, 4, 1000)])
        sides.append(StreamTable(deliver(0), asyncio.get_running_loop, 4, 1000))
        produced: list[int] = []

        async def endless() -> AsyncIterator[bytes]:
            while True:
                produced.append(1)
                yield bytes(1000)

        text, buffers = encode_envelope(
            {"v": 2, "id": 1, "kind": "x", "value": endless()}, "value", "result", sides[0].exporter(None)
        )
        stream = decode_envelope(text, buffers, sides[1].importer)["value"]
        assert len(await anext(stream)) == 1000
        await settle()  # the producer could run on, but has no credit
        assert len(produced) == 4
        assert sides[1].counts["buffered_bytes"] == 3000
        await stream.aclose()
        await settle()
        assert sides[0].counts["producing"] == sides[1].counts["consuming"] == 0

    run(main)
