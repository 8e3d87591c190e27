"""Byte streams through the real bridge, both ways: sizes, memory bound, cancel, errors, restart.

One kernel per header mode (``sab`` and ``jspi``). The producing side generates its data
(seeded), so nothing large crosses ``page.evaluate``. Both sides hash what they produced or
received the same way, independently of chunk boundaries: SHA-256 of each 1 MiB block of the
stream, then SHA-256 of those digests (``hashlib`` in Python, ``crypto.subtle.digest`` on the
page). The memory bound (``STREAM_WINDOW_CHUNKS * STREAM_CHUNK_BYTES`` = 4 MiB per stream and
side) is checked with the bridge's own counters of the bytes it holds on each side
(``k.streamCounts()``, ``page.stream_counts``) and with ``tracemalloc``'s peak in the kernel.
The kernel restart runs last: it ends the module's kernel.
"""

from __future__ import annotations

from typing import Any

import pytest
from bridge_helpers import page_run, page_settle
from harness import LiteKernel

MIB = 1024 * 1024
#: the bound the docs state: 4 chunks of 1 MiB in flight or queued per stream and side
WINDOW_BYTES = 4 * MIB
#: tracemalloc peak allowed in the kernel while 256 MiB stream through it (the window, the
#: generator's own chunks of up to 3 MiB and their random-number temporaries, the hasher's block)
PY_PEAK_BYTES = 24 * MIB
SIZES = [pytest.param(0, id="0B"), pytest.param(MIB, id="1MiB"), pytest.param(256 * MIB, id="256MiB")]
#: seconds allowed for one 256 MiB transfer (a bound for the wait, not a timing assertion)
BIG_TIMEOUT_S = 300

#: page helpers, installed once per page: the block hasher and a seeded byte generator
PAGE_HELPERS_JS = r"""
() => {
  if (window.__lbStreams) return;
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (x) => x.toString(16).padStart(2, '0')).join('');
  window.__lbStreams = {
    made: {},
    cancelled: {},
    pulls: {},
    errors: [],
    hasher() {
      const block = new Uint8Array(1 << 20);
      const digests = [];
      let fill = 0;
      let total = 0;
      return {
        get total() { return total; },
        async update(value) {
          total += value.length;
          for (let off = 0; off < value.length;) {
            const n = Math.min(block.length - fill, value.length - off);
            block.set(value.subarray(off, off + n), fill);
            fill += n;
            off += n;
            if (fill === block.length) {
              digests.push(new Uint8Array(await crypto.subtle.digest('SHA-256', block)));
              fill = 0;
            }
          }
        },
        async hex() {
          if (fill > 0) digests.push(new Uint8Array(await crypto.subtle.digest('SHA-256', block.subarray(0, fill))));
          fill = 0;
          const all = new Uint8Array(digests.length * 32);
          digests.forEach((d, i) => all.set(d, i * 32));
          return hex(await crypto.subtle.digest('SHA-256', all));
        },
      };
    },
    // seeded xorshift32 bytes (not the Python generator: each side hashes its own output)
    generator(seed) {
      let x = (seed | 0) || 1;
      return (n) => {
        const words = new Uint32Array(Math.ceil(n / 4));
        for (let i = 0; i < words.length; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          words[i] = x >>> 0;
        }
        return new Uint8Array(words.buffer, 0, n);
      };
    },
  };
}
"""

#: page handlers of this module (registered from Python with page.register)
HANDLERS_JS = r"""{
    async digestStream(stream) {
        this.kernel.streams.resetPeak();
        const hasher = window.__lbStreams.hasher();
        const reader = stream.getReader();
        let chunks = 0;
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (!(value instanceof Uint8Array)) throw new TypeError('a chunk is not a Uint8Array');
            chunks++;
            await hasher.update(value);
        }
        return { total: hasher.total, chunks, hex: await hasher.hex(),
                 peak: this.kernel.streamCounts().peakBufferedBytes };
    },
    makeStream(size, seed) {
        // chunk sizes that are not block-aligned, one over the 1 MiB chunk limit, one empty
        const sizes = [700 * 1024, 2 * 1024 * 1024 + 5, 0, 64 * 1024, 1024 * 1024];
        const next = window.__lbStreams.generator(seed);
        const hasher = window.__lbStreams.hasher();
        const kernel = this.kernel;
        kernel.streams.resetPeak();
        let sent = 0;
        let i = 0;
        let peak = 0;
        return new ReadableStream({
            async pull(controller) {
                peak = Math.max(peak, kernel.streamCounts().peakBufferedBytes);
                if (sent >= size) {
                    window.__lbStreams.made[seed] = hasher.hex().then((hex) => ({ total: hasher.total, hex, peak }));
                    controller.close();
                    return;
                }
                const n = Math.min(sizes[i++ % sizes.length], size - sent);
                const chunk = next(n);
                await hasher.update(chunk);
                sent += n;
                controller.enqueue(chunk);
            },
        });
    },
    ignore(stream) { return stream instanceof ReadableStream; },
    async readSlowly(stream, ms) {
        // read one chunk, then let the producer run: it may send only what the window allows
        const reader = stream.getReader();
        const first = (await reader.read()).value.length;
        await new Promise((resolve) => setTimeout(resolve, ms));
        const counts = this.kernel.streamCounts();
        await reader.cancel('done');
        return { first, held: counts.bufferedBytes };
    },
    countedStream(tag) {
        window.__lbStreams.pulls[tag] = 0;
        return new ReadableStream({
            pull(controller) {
                window.__lbStreams.pulls[tag]++;
                controller.enqueue(new Uint8Array(1024 * 1024));
            },
        });
    },
    async readSome(stream, count, reason) {
        const reader = stream.getReader();
        let bytes = 0;
        for (let i = 0; i < count; i++) bytes += (await reader.read()).value.length;
        await reader.cancel(reason);
        return bytes;
    },
    endlessStream(tag) {
        const next = window.__lbStreams.generator(7);
        return new ReadableStream({
            pull(controller) { controller.enqueue(next(256 * 1024)); },
            cancel(reason) {
                const why = reason?.code ? `code ${reason.code}: ${reason.message}` : String(reason);
                window.__lbStreams.cancelled[tag] = why;
            },
        });
    },
    failingStream(after, kind) {
        let sent = 0;
        return new ReadableStream({
            pull(controller) {
                if (sent++ < after) controller.enqueue(new Uint8Array(1000).fill(sent));
                else if (kind === 'not bytes') controller.enqueue('text');
                else controller.error(new RangeError('the page stream broke'));
            },
        });
    },
    async readError(stream) {
        const reader = stream.getReader();
        let bytes = 0;
        try {
            for (;;) {
                const { done, value } = await reader.read();
                if (done) return { ok: true, bytes };
                bytes += value.length;
            }
        } catch (e) {
            return { ok: false, bytes, name: e.name, type: e.type ?? null, code: e.code ?? null,
                     message: e.message, python: e instanceof window.litebridge.PythonError };
        }
    },
    async readUntilClosed(stream) {
        const reader = stream.getReader();
        try {
            for (;;) if ((await reader.read()).done) break;
        } catch (e) {
            window.__lbStreams.errors.push({ name: e.name, code: e.code ?? null, message: e.message,
                                             counts: this.kernel.streamCounts() });
        }
    },
    async roundTrip(size) {
        // page -> Python -> page: a page stream into an exposed method that returns a stream
        const next = window.__lbStreams.generator(11);
        const data = next(size);
        const source = new ReadableStream({
            start(c) { c.enqueue(data.slice(0, size >> 1)); c.enqueue(data.slice(size >> 1)); c.close(); },
        });
        const back = await this.kernel.call('streams.reverse_chunks', source);
        const got = await new Response(back).arrayBuffer();
        const expect = new Uint8Array(data).reverse();
        const same = got.byteLength === size && new Uint8Array(got).every((b, i) => b === expect[i]);
        const whole = new ReadableStream({ start(c) { c.enqueue(data); c.close(); } });
        const digest = await this.kernel.call('streams.digest', whole);
        return { same, digest };
    },
}"""

#: Python side: the block hasher, the seeded producer and an exposed object using streams
PYTHON_HELPERS = r"""
import asyncio, gc, hashlib, random, tracemalloc
import litebridge
from litebridge import page

BLOCK = 1 << 20

class BlockHasher:
    def __init__(self):
        self.block = bytearray()
        self.digests = []
        self.total = 0

    def update(self, chunk):
        self.total += len(chunk)
        view = memoryview(chunk)
        while view:
            take = BLOCK - len(self.block)
            self.block += view[:take]
            view = view[take:]
            if len(self.block) == BLOCK:
                self.digests.append(hashlib.sha256(self.block).digest())
                self.block.clear()

    def hexdigest(self):
        if self.block:
            self.digests.append(hashlib.sha256(self.block).digest())
            self.block.clear()
        return hashlib.sha256(b"".join(self.digests)).hexdigest()

CHUNK_SIZES = (1536 * 1024, 300 * 1024, 0, 3 * 1024 * 1024 + 7, 1)

async def produce(size, seed, hasher, log):
    rng = random.Random(seed)
    sent = 0
    i = 0
    try:
        while sent < size:
            n = min(CHUNK_SIZES[i % len(CHUNK_SIZES)], size - sent)
            i += 1
            chunk = rng.randbytes(n)
            hasher.update(chunk)
            sent += n
            yield chunk
    finally:
        log.append("closed")

async def endless(log, fail_after=None, bad_after=None, delay=0):
    i = 0
    try:
        while True:
            if fail_after is not None and i == fail_after:
                raise ValueError(f"the Python stream broke after {i} chunks")
            if bad_after is not None and i == bad_after:
                yield "not bytes"
            i += 1
            yield bytes(1000)
            await asyncio.sleep(delay)
    finally:
        log.append("closed")

async def settle(condition, seconds=10.0):
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()

class Streams:
    async def digest(self, stream):
        hasher = BlockHasher()
        async for chunk in stream:
            hasher.update(chunk)
        return [type(stream).__name__, hasher.total, hasher.hexdigest()]

    async def reverse_chunks(self, stream):
        data = bytes(reversed(await stream.read_all()))
        async def back():
            yield data[: len(data) // 3]
            yield data[len(data) // 3 :]
        return back()

page.expose(Streams(), name="streams")
"""


@pytest.fixture(scope="module")
def streamed(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel with litebridge imported and this module's handlers and helpers."""
    kernel.run(PYTHON_HELPERS)
    kernel.run(f"_handlers = page.register({HANDLERS_JS!r})")
    kernel.page.evaluate(PAGE_HELPERS_JS)
    assert page_run(kernel.page, kernel.id, "return k.id;") == {"ok": True, "value": kernel.id}
    return kernel


def both_counts(kernel: LiteKernel) -> dict[str, Any]:
    """Live streams on both sides (``producing``/``consuming``), once the last messages crossed."""
    kernel.run("await settle(lambda: page.stream_counts['producing'] == page.stream_counts['consuming'] == 0, 5)")
    page_counts = page_run(kernel.page, kernel.id, "const c = k.streamCounts(); return [c.producing, c.consuming];")
    python = kernel.value("[page.stream_counts['producing'], page.stream_counts['consuming']]")
    return {"page": page_counts["value"], "python": python}


NO_STREAMS = {"page": [0, 0], "python": [0, 0]}


@pytest.mark.parametrize("size", SIZES)
def test_python_stream_to_page(streamed: LiteKernel, size: int) -> None:
    """An async generator argument arrives as a ReadableStream; same bytes, bounded memory."""
    streamed.run(
        "hasher, log = BlockHasher(), []\n"
        "page._streams.reset_peak()\n"
        "tracemalloc.start()\n"
        f"got = await page.call('digestStream', produce({size}, {size + 1}, hasher, log), timeout={BIG_TIMEOUT_S})\n"
        "py_peak = tracemalloc.get_traced_memory()[1]\n"
        "tracemalloc.stop()\n"
        "checked = {'total': got['total'], 'same': got['hex'] == hasher.hexdigest(), 'sent': hasher.total,\n"
        "           'page_peak': got['peak'], 'py_peak': py_peak, 'log': log,\n"
        "           'py_held_peak': page.stream_counts['peak_buffered_bytes']}\n",
        timeout_s=2 * BIG_TIMEOUT_S,
    )
    checked = streamed.value("checked")
    print(f"python -> page {size} B: {checked}")  # the measured peaks (run with -s to see them)
    assert checked["total"] == checked["sent"] == size
    assert checked["same"] is True
    assert checked["log"] == ["closed"]
    assert checked["page_peak"] <= WINDOW_BYTES
    # the producer holds at most the rest of one source chunk (the generator's, up to 3 MiB)
    assert checked["py_held_peak"] <= 3 * MIB + 7
    assert checked["py_peak"] < PY_PEAK_BYTES
    assert both_counts(streamed) == NO_STREAMS


@pytest.mark.parametrize("size", SIZES)
def test_page_stream_to_python(streamed: LiteKernel, size: int) -> None:
    """A ReadableStream result arrives as a ByteStream; same bytes, bounded memory."""
    streamed.run(
        "hasher = BlockHasher()\n"
        "page._streams.reset_peak()\n"
        "tracemalloc.start()\n"
        f"stream = await page.call('makeStream', {size}, {size + 3})\n"
        "kind = type(stream).__name__\n"
        "async for chunk in stream:\n"
        "    assert type(chunk) is bytes and chunk, chunk\n"
        "    hasher.update(chunk)\n"
        "py_peak = tracemalloc.get_traced_memory()[1]\n"
        "tracemalloc.stop()\n"
        "checked = {'kind': kind, 'total': hasher.total, 'hex': hasher.hexdigest(), 'py_peak': py_peak,\n"
        "           'py_held_peak': page.stream_counts['peak_buffered_bytes']}\n"
        "del stream\n",
        timeout_s=2 * BIG_TIMEOUT_S,
    )
    checked = streamed.value("checked")
    made = page_settle(streamed.page, "return await window.__lbStreams.made[arg];", size + 3)["value"]
    print(f"page -> python {size} B: {checked}, page: {made}")
    assert checked["kind"] == "ByteStream"
    assert checked["total"] == made["total"] == size
    assert checked["hex"] == made["hex"]
    assert checked["py_held_peak"] <= WINDOW_BYTES
    assert checked["py_peak"] < PY_PEAK_BYTES
    # the page producer holds at most the rest of one source chunk (up to 2 MiB + 5 here)
    assert made["peak"] <= 2 * MIB + 5
    assert both_counts(streamed) == NO_STREAMS


def test_backpressure_each_way(streamed: LiteKernel) -> None:
    """A reader that stops reading stops the producer: at most the window is produced and held."""
    # Python -> page: the page reads 1 chunk of 1 MiB and waits; Python may produce only 4
    streamed.run(
        "produced = []\n"
        "async def counted():\n"
        "    while True:\n"
        "        produced.append(1)\n"
        "        yield bytes(1024 * 1024)\n"
        "slow = await page.call('readSlowly', counted(), 500)\n"
    )
    assert streamed.value("[slow['first'], len(produced)]") == [MIB, 4]
    assert streamed.value("slow['held']") <= WINDOW_BYTES
    # page -> Python: Python reads 1 chunk and waits; the page source is pulled only for the
    # window (4) plus its own ReadableStream's one-chunk queue (highWaterMark 1)
    streamed.run(
        "stream = await page.call('countedStream', 'slow')\n"
        "first = len(await anext(stream))\n"
        "await asyncio.sleep(0.5)\n"
        "held = page.stream_counts['buffered_bytes']\n"
        "await stream.aclose()\n"
    )
    assert streamed.value("first") == MIB
    assert streamed.value("held") <= WINDOW_BYTES
    pulls = page_settle(streamed.page, "return window.__lbStreams.pulls.slow;")["value"]
    assert 4 <= pulls <= 6
    assert both_counts(streamed) == NO_STREAMS


def test_cancel_from_each_end(streamed: LiteKernel) -> None:
    """Page reader cancel -> Python aclose(); Python aclose()/garbage collection -> page cancel."""
    # the page reads 3 chunks and cancels: the Python generator's finally runs
    streamed.run(
        "log = []\n"
        "read = await page.call('readSome', endless(log), 3, 'enough')\n"
        "closed_in_time = await settle(lambda: log == ['closed'])\n"
    )
    assert streamed.value("[read, closed_in_time, log]") == [3000, True, ["closed"]]
    # Python reads 3 chunks and closes the stream: the page's source is cancelled
    streamed.run(
        "stream = await page.call('endlessStream', 'aclose')\n"
        "n = 0\n"
        "async for chunk in stream:\n"
        "    n += 1\n"
        "    if n == 3:\n"
        "        break\n"
        "await stream.aclose()\n"
        "after = [chunk async for chunk in stream]\n"
    )
    assert streamed.value("[n, after]") == [3, []]
    streamed.page.wait_for_function("() => window.__lbStreams.cancelled.aclose !== undefined", timeout=10_000)
    reason = page_settle(streamed.page, "return window.__lbStreams.cancelled.aclose;")["value"]
    assert "the Python reader closed the stream" in reason
    # Python drops an unfinished stream: garbage collection cancels it on the page
    streamed.run("async for chunk in await page.call('endlessStream', 'dropped'):\n    break\ngc.collect()\n")
    streamed.page.wait_for_function("() => window.__lbStreams.cancelled.dropped !== undefined", timeout=10_000)
    # a handler that returns without reading its stream argument cancels it: the generator, never
    # started, is closed (its frame is gone) and the bridge forgets it
    streamed.run(
        "unread = endless([])\n"
        "ignored = await page.call('ignore', unread)\n"
        "closed_in_time = await settle(lambda: unread.ag_frame is None)\n"
    )
    assert streamed.value("[ignored, closed_in_time]") == [True, True]
    assert both_counts(streamed) == NO_STREAMS


def test_errors_mid_stream_each_way(streamed: LiteKernel) -> None:
    """A source that fails mid-stream fails the reader on the other side with a named error."""
    # Python generator raises after 2 chunks: the page's read rejects with a PythonError
    streamed.run("log = []\ngot = await page.call('readError', endless(log, fail_after=2))\n")
    got = streamed.value("got")
    assert got["ok"] is False
    assert got["bytes"] == 2000
    assert got["python"] is True
    assert got["type"] == "ValueError"
    assert "the Python stream broke after 2 chunks" in got["message"]
    assert streamed.value("log") == ["closed"]
    # a chunk that is not bytes: TypeError, named
    streamed.run("log = []\ngot = await page.call('readError', endless(log, bad_after=1))\n")
    got = streamed.value("got")
    assert [got["ok"], got["bytes"], got["type"]] == [False, 1000, "TypeError"]
    assert "a stream chunk must be bytes" in got["message"]
    # page stream errors after 2 chunks: Python's async for raises JSError
    streamed.run(
        "chunks, error = [], None\n"
        "try:\n"
        "    async for chunk in await page.call('failingStream', 2, 'error'):\n"
        "        chunks.append(len(chunk))\n"
        "except litebridge.JSError as exc:\n"
        "    error = [type(exc).__name__, exc.name, exc.message]\n"
    )
    assert streamed.value("[chunks, error]") == [[1000, 1000], ["JSError", "RangeError", "the page stream broke"]]
    streamed.run(
        "error = None\n"
        "try:\n"
        "    async for chunk in await page.call('failingStream', 0, 'not bytes'):\n"
        "        pass\n"
        "except litebridge.JSError as exc:\n"
        "    error = [exc.name, exc.message]\n"
    )
    error = streamed.value("error")
    assert error[0] == "TypeError"
    assert "a stream chunk must be a Uint8Array" in error[1]
    # call_sync cannot take a stream argument (nothing would produce it): refused before sending
    streamed.run(
        "try:\n"
        "    page.call_sync('readSome', endless([]), 1, 'x')\n"
        "except (TypeError, litebridge.SyncUnavailable) as exc:\n"
        "    refused = [type(exc).__name__, str(exc)]\n"
    )
    refused = streamed.value("refused")
    if streamed.value("litebridge.transport") != "async":
        assert refused[0] == "TypeError"
        assert "with call_sync" in refused[1]
        assert "args[0]" in refused[1]
    assert both_counts(streamed) == NO_STREAMS


def test_streams_in_every_call_direction(streamed: LiteKernel) -> None:
    """call_sync results, and page -> Python calls: stream arguments and stream results."""
    # a page stream returned to call_sync is read afterwards with async for
    streamed.run(
        "stream = page.call_sync('makeStream', 3000, 5)\n"
        "sync_got = [type(stream).__name__, len(await stream.read_all())]\n"
    )
    if streamed.value("litebridge.transport") != "async":
        assert streamed.value("sync_got") == ["ByteStream", 3000]
    # page -> Python (inside a handler Python awaits): a ReadableStream argument (a ByteStream in
    # Python), and an async generator result (a ReadableStream on the page)
    streamed.run("trip = await page.call('roundTrip', 5 * 1024 * 1024 + 1, timeout=120)\n", timeout_s=180)
    trip = streamed.value("trip")
    assert trip["same"] is True
    assert trip["digest"][:2] == ["ByteStream", 5 * 1024 * 1024 + 1]
    assert both_counts(streamed) == NO_STREAMS


def test_kernel_restart_mid_stream_ends_the_page_side(streamed: LiteKernel) -> None:
    """Runs last (restarts the module's kernel): open streams end with code closed, no hang."""
    streamed.run(
        "reading = asyncio.ensure_future(page.call('readUntilClosed', endless([], delay=0.01), timeout=None))\n"
        "async def consume():\n"
        "    async for chunk in await page.call('endlessStream', 'restart'):\n"
        "        await asyncio.sleep(0.01)\n"
        "consuming = asyncio.ensure_future(consume())\n"
        "await asyncio.sleep(0.5)\n"
        "open_streams = page.stream_counts\n"
    )
    open_streams = streamed.value("open_streams")
    assert [open_streams["producing"], open_streams["consuming"]] == [1, 1]
    streamed.page.evaluate("(id) => window.__lbTest.kernels[id].restart()", streamed.id)
    streamed.page.wait_for_function(
        "() => window.__lbStreams.errors.length > 0 && window.__lbStreams.cancelled.restart !== undefined",
        timeout=30_000,
    )
    errors = page_settle(streamed.page, "return window.__lbStreams.errors;")["value"]
    assert [e["code"] for e in errors] == ["closed"], errors
    assert errors[0]["counts"]["producing"] == errors[0]["counts"]["consuming"] == 0
    assert page_settle(streamed.page, "return window.__lbStreams.cancelled.restart;")["value"].startswith("code closed")
