"""Byte streams across the bridge (protocol section 2, "Streams"): pull-based, both directions.

A Python async iterable of bytes in a call's arguments or result is sent as ``{"$stream": id}``
and *produced* here on demand; a ``{"$stream": id}`` from the page becomes a :class:`ByteStream`
(an async iterator of ``bytes``) *consumed* here. Flow control is by credit: a consumer sends
``litebridge.stream.pull`` with ``n`` (how many more chunks it takes), a producer sends at
most that many ``litebridge.stream.chunk`` messages of at most ``STREAM_CHUNK_BYTES`` each. A
consumer keeps at most ``STREAM_WINDOW_CHUNKS`` chunks in flight or queued, so a stream holds
at most ``STREAM_WINDOW_CHUNKS * STREAM_CHUNK_BYTES`` bytes (4 MiB) on each side, whatever its
length; a producer reads its source only when it has credit.

Pure logic over a ``post`` function and an event loop, so it is unit-tested in CPython.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from .codec import Buffer, dumps
from .errors import BridgeClosed, BridgeError, JSError, error_from_wire, error_to_wire
from .protocol import (
    BYTES_KEY,
    KIND_STREAM_CANCEL,
    KIND_STREAM_CHUNK,
    KIND_STREAM_END,
    KIND_STREAM_ERROR,
    KIND_STREAM_PULL,
    PROTOCOL_VERSION,
    STREAM_CHUNK_BYTES,
    STREAM_WINDOW_CHUNKS,
)

__all__ = ["ByteStream", "StreamTable", "is_stream_source"]

log = logging.getLogger("litebridge")

Post = Callable[[str, list[Buffer]], None]
"""Posts one frame (JSON text, buffers) to the page; must not raise."""


def is_stream_source(value: object) -> bool:
    """Tell whether ``value`` is sent as a stream.

    It is when it is an async iterable (``__aiter__``): an async generator, or a
    :class:`ByteStream` received from the page (it is then passed on as a new stream).
    """
    return hasattr(type(value), "__aiter__")


def _envelope(kind: str, stream_id: int, **fields: object) -> str:
    return dumps({"v": PROTOCOL_VERSION, "id": stream_id, "kind": kind, **fields})


def _chunk_view(chunk: object) -> memoryview:
    """Return a flat byte view of one chunk a source yielded; TypeError for anything else."""
    if isinstance(chunk, bytes | bytearray | memoryview):
        view = memoryview(chunk)
        if not view.c_contiguous:
            raise TypeError("a stream chunk must be contiguous: copy it with bytes(view) first")
        return view.cast("B") if view.ndim != 1 or view.format != "B" else view
    raise TypeError(f"a stream chunk must be bytes, bytearray or memoryview, not {type(chunk).__name__}")


@dataclass(eq=False)
class _Producer:
    """A Python source being sent to the page."""

    source: object
    call_id: int | None
    iterator: AsyncIterator[object] | None = None
    credit: int = 0
    pulled: bool = False
    pump: asyncio.Task[None] | None = None
    held: memoryview | None = None  # the unsent rest of a source chunk larger than a chunk


@dataclass(eq=False)
class _Consumer:
    """The receiving end of a page stream (the state behind a :class:`ByteStream`)."""

    stream_id: int
    queue: deque[bytes] = field(default_factory=deque)
    outstanding: int = 0  # chunks pulled and not yet received
    ended: bool = False
    error: BaseException | None = None
    waiter: asyncio.Future[None] | None = None

    @property
    def finished(self) -> bool:
        return self.ended or self.error is not None


class ByteStream:
    """A byte stream from the page: ``async for chunk in stream`` gives ``bytes`` chunks.

    Made by the bridge when the page sends a ``ReadableStream`` (or async iterator) of
    ``Uint8Array``/``ArrayBuffer`` chunks, as a handler's result or as an argument of a call
    of an exposed method. Chunks are requested from the page as they are read (at most 4 in
    flight, each at most 1 MiB), so an unread stream costs no memory.

    Iterating raises :class:`JSError` when the page's stream failed (``.name``,
    ``.message``), :class:`BridgeClosed` when the bridge closed. Stop early with
    ``await stream.aclose()`` (or ``async with stream:``): the page's stream is cancelled. A
    stream garbage collected before its end is cancelled too.
    """

    __slots__ = ("__weakref__", "_state", "_table")

    def __init__(self, table: StreamTable, state: _Consumer) -> None:
        self._table = table
        self._state = state

    @property
    def id(self) -> int:
        """The page's id of this stream (the ``$stream`` tag)."""
        return self._state.stream_id

    def __repr__(self) -> str:
        state = self._state
        status = "failed" if state.error is not None else "ended" if state.ended else "open"
        return f"<litebridge.ByteStream {state.stream_id} {status}, {len(state.queue)} chunks queued>"

    def __aiter__(self) -> ByteStream:
        return self

    async def __anext__(self) -> bytes:
        """Return the next chunk (``bytes``, never empty).

        Raises
        ------
        StopAsyncIteration
            At the end of the stream, or after :meth:`aclose`.
        JSError
            The page's stream failed (its error's name and message).
        BridgeClosed
            The bridge closed before the end.
        """
        state = self._state
        table = self._table
        while True:
            if state.queue:
                chunk = state.queue.popleft()
                table.release(len(chunk))
                table.top_up(state)
                return chunk
            if state.error is not None:
                raise state.error
            if state.ended:
                raise StopAsyncIteration
            table.top_up(state)
            waiter = table.loop().create_future()
            state.waiter = waiter
            try:
                await waiter
            finally:
                if state.waiter is waiter:
                    state.waiter = None

    async def aclose(self) -> None:
        """Stop reading: cancel the page's stream (its reader's ``cancel``); idempotent."""
        self._table.cancel_consumer(self._state, "the Python reader closed the stream")

    async def __aenter__(self) -> ByteStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def read_all(self) -> bytes:
        """Read the rest of the stream into one ``bytes`` object (it must fit in memory)."""
        return b"".join([chunk async for chunk in self])

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._table.cancel_consumer(self._state, "the Python reader was garbage collected")


@dataclass
class StreamCounts:
    """Debug counters of a :class:`StreamTable` (see :attr:`StreamTable.counts`)."""

    producing: int = 0
    consuming: int = 0
    buffered_bytes: int = 0
    peak_buffered_bytes: int = 0


class StreamTable:
    """The streams of one connection: what this side produces and what it consumes.

    Parameters
    ----------
    post : callable
        ``post(json_text, buffers)``: sends one frame to the page; must not raise.
    loop : callable
        Returns the event loop producer tasks and consumer waits run on.
    window : int, default STREAM_WINDOW_CHUNKS
        Chunks a consumer lets be in flight or queued per stream.
    chunk_bytes : int, default STREAM_CHUNK_BYTES
        Largest chunk a producer sends, in bytes.
    """

    def __init__(
        self,
        post: Post,
        loop: Callable[[], asyncio.AbstractEventLoop],
        window: int = STREAM_WINDOW_CHUNKS,
        chunk_bytes: int = STREAM_CHUNK_BYTES,
    ) -> None:
        self._post = post
        self.loop = loop
        self.window = window
        self.chunk_bytes = chunk_bytes
        self._next_id = 1
        self._producers: dict[int, _Producer] = {}
        self._sources: set[int] = set()  # id() of the sources being produced
        self._consumers: dict[int, _Consumer] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._counts = StreamCounts()

    # --- counters -------------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        """Live streams and bytes held, for checking bounds and leaks.

        Returns
        -------
        dict
            ``producing`` / ``consuming``: streams this side sends / receives and that have
            not ended; ``buffered_bytes``: bytes this side holds for them now (chunks received
            and not yet read, the unsent rest of a source chunk); ``peak_buffered_bytes``: the
            most it ever held at once (reset with :meth:`reset_peak`).
        """
        counts = self._counts
        return {
            "producing": len(self._producers),
            "consuming": len(self._consumers),
            "buffered_bytes": counts.buffered_bytes,
            "peak_buffered_bytes": counts.peak_buffered_bytes,
        }

    def reset_peak(self) -> None:
        """Set ``peak_buffered_bytes`` to the bytes held now."""
        self._counts.peak_buffered_bytes = self._counts.buffered_bytes

    def hold(self, nbytes: int) -> None:
        """Count ``nbytes`` more bytes held by the stream machinery."""
        counts = self._counts
        counts.buffered_bytes += nbytes
        counts.peak_buffered_bytes = max(counts.peak_buffered_bytes, counts.buffered_bytes)

    def release(self, nbytes: int) -> None:
        """Count ``nbytes`` bytes no longer held."""
        self._counts.buffered_bytes -= nbytes

    # --- producing (Python -> page) -------------------------------------------------------------
    def exporter(self, call_id: int | None) -> Callable[[object, Callable[[], str]], int | None]:
        """Make the codec hook that sends the async iterables of a message as streams.

        Parameters
        ----------
        call_id : int or None
            The call whose arguments are encoded (its unread streams are stopped if the call
            fails, see :meth:`stop_call`); None for a result.

        Returns
        -------
        callable
            ``hook(value, path) -> int | None`` (see ``litebridge.codec.StreamExport``).
        """

        def export(value: object, path: Callable[[], str]) -> int | None:
            if not is_stream_source(value):
                return None
            if id(value) in self._sources:
                raise TypeError(f"cannot send the same stream twice: {type(value).__name__} at {path()}")
            stream_id = self._next_id
            self._next_id += 1
            self._producers[stream_id] = _Producer(value, call_id)
            self._sources.add(id(value))
            return stream_id

        return export

    def mark(self) -> int:
        """Return the next stream id, for :meth:`rollback` when encoding a message fails."""
        return self._next_id

    def rollback(self, mark: int) -> None:
        """Forget the streams exported since ``mark`` (their message was never sent)."""
        for stream_id in [i for i in self._producers if i >= mark]:
            self._drop_producer(stream_id)

    def stop_call(self, call_id: int, reason: str) -> None:
        """Stop the streams of call ``call_id`` the page never pulled (the call failed or ended).

        Each gets ``litebridge.stream.error`` (code ``closed``) so that a reader on the page,
        if any, ends instead of waiting.
        """
        for stream_id, producer in list(self._producers.items()):
            if producer.call_id == call_id and not producer.pulled:
                self._drop_producer(stream_id)
                self._post_error(stream_id, BridgeClosed(reason))
                self._close_source(producer)

    def _drop_producer(self, stream_id: int) -> _Producer | None:
        producer = self._producers.pop(stream_id, None)
        if producer is not None:
            self._sources.discard(id(producer.source))
            if producer.held is not None:
                self.release(producer.held.nbytes)
                producer.held = None
        return producer

    def _on_pull(self, stream_id: int, message: dict[str, Any]) -> None:
        producer = self._producers.get(stream_id)
        if producer is None:
            return  # ended, cancelled or unknown: a late pull
        n = message.get("n")
        if type(n) is not int or n < 1:
            self._drop_producer(stream_id)
            self._post_error(stream_id, BridgeError(f"bad pull for stream {stream_id}: n={n!r}"), "bad_request")
            self._close_source(producer)
            return
        producer.credit += n
        producer.pulled = True
        if producer.pump is None:
            producer.pump = self.loop().create_task(self._pump(stream_id, producer))

    async def _pump(self, stream_id: int, producer: _Producer) -> None:
        """Send chunks while there is credit; end or fail the stream when the source does."""
        try:
            while producer.credit > 0 and self._producers.get(stream_id) is producer:
                if producer.held is None:
                    if producer.iterator is None:
                        producer.iterator = aiter(producer.source)  # type: ignore[arg-type]
                    try:
                        chunk = await anext(producer.iterator)
                    except StopAsyncIteration:
                        if self._drop_producer(stream_id) is producer:
                            self._post(_envelope(KIND_STREAM_END, stream_id), [])
                        return
                    if self._producers.get(stream_id) is not producer:
                        return  # cancelled while the source produced
                    view = _chunk_view(chunk)
                    if not view.nbytes:
                        continue
                    producer.held = view
                    self.hold(view.nbytes)
                view = producer.held
                piece = view[: self.chunk_bytes]
                producer.held = view[self.chunk_bytes :] if view.nbytes > self.chunk_bytes else None
                self.release(piece.nbytes)
                producer.credit -= 1
                self._post(_envelope(KIND_STREAM_CHUNK, stream_id, value={BYTES_KEY: 0}), [piece])
        except asyncio.CancelledError:
            raise  # cancelled by the page's cancel or the bridge's close: nothing more to send
        except Exception as exc:  # noqa: BLE001 - the source failed: the page's reader gets the error
            if self._drop_producer(stream_id) is producer:
                self._post_error(stream_id, exc)
                producer.pump = None
                self._close_source(producer)
        finally:
            producer.pump = None

    def _post_error(self, stream_id: int, exc: BaseException, code: str | None = None) -> None:
        error = error_to_wire(exc, code)  # type: ignore[arg-type]
        self._post(_envelope(KIND_STREAM_ERROR, stream_id, error=error), [])

    def _on_cancel(self, stream_id: int, message: dict[str, Any]) -> None:
        producer = self._drop_producer(stream_id)
        if producer is not None:
            self._close_source(producer)

    def _close_source(self, producer: _Producer) -> None:
        """Stop the pump and ``aclose()`` the source (async generators run their ``finally``)."""
        pump = producer.pump
        producer.pump = None
        task = self.loop().create_task(self._aclose(producer, pump))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _aclose(producer: _Producer, pump: asyncio.Task[None] | None) -> None:
        if pump is not None and not pump.done():
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        target = producer.iterator if producer.iterator is not None else producer.source
        aclose = getattr(target, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                log.exception("litebridge: closing a stream source failed")

    # --- consuming (page -> Python) ---------------------------------------------------------------
    def importer(self, stream_id: int) -> ByteStream:
        """Make the :class:`ByteStream` for a received ``{"$stream": id}`` (the codec hook).

        Raises
        ------
        ValueError
            When the id is already being received (a bad frame).
        """
        if stream_id in self._consumers:
            raise ValueError(f"bad frame: stream {stream_id} received twice")
        state = _Consumer(stream_id)
        self._consumers[stream_id] = state
        return ByteStream(self, state)

    def top_up(self, state: _Consumer) -> None:
        """Pull more chunks when at most half the window is in flight or queued."""
        if state.finished or self._consumers.get(state.stream_id) is not state:
            return
        held = state.outstanding + len(state.queue)
        if held <= self.window // 2:
            want = self.window - held
            state.outstanding += want
            self._post(_envelope(KIND_STREAM_PULL, state.stream_id, n=want), [])

    def cancel_consumer(self, state: _Consumer, reason: str) -> None:
        """Stop receiving: tell the page to cancel its stream; later reads end (idempotent)."""
        if self._consumers.get(state.stream_id) is state:
            del self._consumers[state.stream_id]
            self._post(_envelope(KIND_STREAM_CANCEL, state.stream_id, reason=reason), [])
        if not state.finished:
            state.ended = True
        self._drop_queue(state)
        self._wake(state)

    def _drop_queue(self, state: _Consumer) -> None:
        self.release(sum(len(chunk) for chunk in state.queue))
        state.queue.clear()

    @staticmethod
    def _wake(state: _Consumer) -> None:
        if state.waiter is not None and not state.waiter.done():
            state.waiter.set_result(None)

    def _fail_consumer(self, state: _Consumer, error: BaseException, *, cancel: str | None = None) -> None:
        if self._consumers.get(state.stream_id) is state:
            del self._consumers[state.stream_id]
            if cancel is not None:
                self._post(_envelope(KIND_STREAM_CANCEL, state.stream_id, reason=cancel), [])
        state.error = error
        self._drop_queue(state)
        self._wake(state)

    def _on_chunk(self, stream_id: int, message: dict[str, Any]) -> None:
        state = self._consumers.get(stream_id)
        if state is None:
            return  # cancelled here: chunks already in flight are dropped
        chunk = message.get("value")
        if type(chunk) is not bytes or state.outstanding < 1:
            why = "a chunk that is not binary" if type(chunk) is not bytes else "more chunks than it was asked for"
            error = JSError("BridgeError", f"the page broke stream {stream_id}: it sent {why}", "", "bad_request")
            self._fail_consumer(state, error, cancel=f"protocol error: {why}")
            return
        state.outstanding -= 1
        if chunk:
            state.queue.append(chunk)
            self.hold(len(chunk))
        self._wake(state)

    def _on_end(self, stream_id: int, message: dict[str, Any]) -> None:
        state = self._consumers.pop(stream_id, None)
        if state is None:
            return
        if message["kind"] == KIND_STREAM_ERROR:
            state.error = error_from_wire(message.get("error"))
        else:
            state.ended = True
        self._wake(state)

    # --- both ---------------------------------------------------------------------------------
    def on_message(self, message: dict[str, Any]) -> None:
        """Handle one stream message from the page (``message["kind"]`` is a stream kind)."""
        kind = message["kind"]
        stream_id = message["id"]
        if kind == KIND_STREAM_PULL:
            self._on_pull(stream_id, message)
        elif kind == KIND_STREAM_CANCEL:
            self._on_cancel(stream_id, message)
        elif kind == KIND_STREAM_CHUNK:
            self._on_chunk(stream_id, message)
        elif kind in (KIND_STREAM_END, KIND_STREAM_ERROR):
            self._on_end(stream_id, message)
        else:
            log.warning("litebridge: dropped a stream message of unknown kind %r", kind)

    def close(self, error: BaseException) -> None:
        """End every stream: the connection is gone.

        Every stream received fails with ``error``; every source is closed.
        """
        for state in list(self._consumers.values()):
            self._fail_consumer(state, error)
        for stream_id in list(self._producers):
            producer = self._drop_producer(stream_id)
            if producer is not None:
                self._close_source(producer)
