"""Benchmark functions run inside the Pyodide kernel (the runner sends this file's text as a cell).

Every function returns plain JSON: lists of per-call times in seconds, one entry per sample,
each sample the mean of ``per_sample`` calls timed with :func:`time.perf_counter` in the kernel.
Nothing here is imported by the runner in CPython.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pyodide.code import run_js

import litebridge
from litebridge import _page as _page_module
from litebridge import page
from litebridge._call_future import CallFuture
from litebridge.codec import decode_envelope, dumps, encode_envelope

#: the small-JSON payload of every round trip (about 60 bytes of JSON)
SMALL: dict[str, Any] = {"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}

#: page handlers used by the benchmarks: echo the value, or only report a buffer's size
HANDLERS = "{ bench_echo(x) { return x; }, bench_len(b) { return b.byteLength; } }"

#: the least time (seconds) the warm-up of a small-call figure lasts, after its ``warmup``
#: operations: the runner sets it (``runner.WARMUP_MIN_MS``). After other work, the first
#: milliseconds of cross-thread round trips are slow while the threads wake up (bench/README.md,
#: eleventh round), and 50 calls can be over in 2 ms.
WARMUP_MIN_S = 0.0

#: operations per sample of the microsecond-scale profile parts, times ``per_sample``
FAST_FACTOR = 20

_resolved = run_js("(x) => Promise.resolve(x)")


class BenchTarget:
    """Exposed to the page as ``bench``: page JS calls ``k.call("bench.echo", value)``."""

    def echo(self, value: Any) -> Any:
        """Return ``value`` unchanged."""
        return value


async def setup() -> dict[str, Any]:
    """Register the page handlers, expose :class:`BenchTarget`, and report the transport."""
    result = page.register(HANDLERS)
    if isinstance(result, Awaitable):
        await result
    page.expose(BenchTarget(), name="bench")
    return {"transport": litebridge.transport}


#: the least duration of one sample of a microsecond-scale piece (seconds): the clock is
#: coarsened (``time.perf_counter`` reads ``performance.now()``: 5 us where cross-origin isolated
#: in the High Resolution Time spec's recommendation, 100 us without COOP/COEP, 20 us in an isolated
#: Firefox page; MDN, "DOMHighResTimeStamp" and "Performance: now()"), and 200 calls of a 0.1 us
#: piece can read 0
MIN_SAMPLE_S = 0.002


def _sync_samples(
    call: Callable[[], object], samples: int, per_sample: int, warmup: int, min_s: float = 0.0
) -> list[float]:
    """Seconds per call: each sample runs ``per_sample`` calls, again until it lasts ``min_s``.

    The warm-up is ``warmup`` calls, then more until it has lasted ``WARMUP_MIN_S`` (none when
    ``warmup`` is 0).
    """
    for _ in range(warmup):
        call()
    if warmup > 0:
        end = time.perf_counter() + WARMUP_MIN_S
        while time.perf_counter() < end:
            call()
    out = []
    clock = time.perf_counter
    for _ in range(samples):
        started = clock()
        done = 0
        while True:
            for _ in range(per_sample):
                call()
            done += per_sample
            elapsed = clock() - started
            if elapsed >= min_s:
                break
        out.append(elapsed / done)
    return out


async def _async_samples(
    call: Callable[[], Awaitable[object]], samples: int, per_sample: int, warmup: int
) -> list[float]:
    for _ in range(warmup):
        await call()
    if warmup > 0:  # then until it has lasted WARMUP_MIN_S, as _sync_samples
        end = time.perf_counter() + WARMUP_MIN_S
        while time.perf_counter() < end:
            await call()
    out = []
    clock = time.perf_counter
    for _ in range(samples):
        started = clock()
        for _ in range(per_sample):
            await call()
        out.append((clock() - started) / per_sample)
    return out


def call_sync_small(samples: int, per_sample: int, warmup: int) -> list[float]:
    """``page.call_sync("bench_echo", SMALL)`` round trips (the active transport)."""
    result = page.call_sync("bench_echo", SMALL)
    assert result == SMALL, result
    return _sync_samples(lambda: page.call_sync("bench_echo", SMALL), samples, per_sample, warmup)


async def await_call_small(samples: int, per_sample: int, warmup: int, timeout: float | None = 30.0) -> list[float]:
    """``await page.call("bench_echo", SMALL)`` round trips (``timeout=None``: no timeout timer)."""
    result = await page.call("bench_echo", SMALL, timeout=timeout)
    assert result == SMALL, result
    return await _async_samples(lambda: page.call("bench_echo", SMALL, timeout=timeout), samples, per_sample, warmup)


async def await_floor(samples: int, per_sample: int, warmup: int) -> list[float]:
    """Pyodide's floor: ``await`` of a JS promise that is already resolved."""
    return await _async_samples(lambda: _resolved(1), samples, per_sample, warmup)


async def profile_await_parts(samples: int, per_sample: int, warmup: int) -> dict[str, list[float]]:
    """The pieces of one ``await page.call`` that Python runs, each timed alone (seconds).

    ``send``: ``page.call(...)`` up to the returned future (id, pending table, timer, encode,
    ``postMessage``), without awaiting it (the futures are awaited after the timing); ``hop``:
    ``await asyncio.sleep(0)``, one trip through Pyodide's event loop (an answer resumes the
    awaiting task this way); ``full``: the whole ``await page.call`` in the same loop. The
    rest is the MessagePort round trip (``raw.postmessage``) and the page's dispatch.
    """
    import asyncio

    async def send_samples() -> list[float]:
        out = []
        clock = time.perf_counter
        for index in range(warmup + samples):
            started = clock()
            futures = [page.call("bench_echo", SMALL) for _ in range(per_sample)]
            elapsed = (clock() - started) / per_sample
            await asyncio.gather(*futures)
            if index >= warmup:
                out.append(elapsed)
        return out

    return {
        "send": await send_samples(),
        "hop": await _async_samples(lambda: asyncio.sleep(0), samples, per_sample, warmup),
        "full": await _async_samples(lambda: page.call("bench_echo", SMALL), samples, per_sample, warmup),
    }


def profile_jspi_parts(samples: int, per_sample: int, warmup: int, fast_ops: int) -> dict[str, list[float]]:
    """What JSPI adds to each ``call_sync`` (transport ``jspi``), in seconds per operation.

    ``can_run_sync``: ``pyodide.ffi.can_run_sync()`` (one FFI call, made per ``call_sync``);
    ``run_sync``: ``pyodide.ffi.run_sync`` of an already-resolved JS promise (one suspension of
    the Wasm stack and its resumption, no bridge).
    ``fast_ops`` is the number of ``can_run_sync()`` calls per sample (the runner's
    ``JSPI_FAST_OPS`` bound: Firefox reads the clock in 1 ms steps without COOP/COEP).
    """
    from pyodide.ffi import can_run_sync, run_sync

    return {
        "can_run_sync": _sync_samples(can_run_sync, samples, fast_ops, warmup, MIN_SAMPLE_S),
        "run_sync": _sync_samples(lambda: run_sync(_resolved(1)), samples, per_sample, warmup),
    }


def _fresh_call_future(loop: asyncio.AbstractEventLoop, call_id: int) -> CallFuture:
    future = CallFuture(loop=loop)
    future._lb_id = call_id
    future._lb_page = None
    future._lb_shared = False
    future._lb_wakeup = None
    return future


async def await_port_min(samples: int, per_sample: int, warmup: int, frame: str, answers: int) -> list[float]:
    """``await`` of one round trip through the page with no bridge code: the await target's floor.

    Python posts ``frame`` on the kernel's port (``PyodideLink.post``); the page's echo
    (installed by the runner, ``bench/page/port_echo.js``) posts it back marked ``answers``
    as the bridge marks an answer (protocol section 3);
    the worker helper enters Python for it as for any answer (through ``callPromising`` where
    the browser has JSPI, so that the resumed task could block), and a minimal receiver settles
    the awaited future and resumes the task in that entry (``CallFuture.answer``, the bridge's
    own mechanism). Left out: encoding, the pending table, the timeout timer, the page's
    dispatch and handler, decoding. Seconds per round trip.
    """
    link = page.connect()
    loop = asyncio.get_running_loop()
    waiting: list[CallFuture] = []
    saved = link._on_frame  # type: ignore[attr-defined]

    def receive(text: str, buffers: Any) -> None:
        if text != frame or not waiting:
            saved(text, buffers)
            return
        waiting.pop().answer(None, None, may_resume=link.may_resume_here)

    def one() -> CallFuture:
        future = _fresh_call_future(loop, answers)
        waiting.append(future)
        link.post(frame, [])
        return future

    link._on_frame = receive  # type: ignore[attr-defined]
    try:
        return await _async_samples(one, samples, per_sample, warmup)
    finally:
        link._on_frame = saved  # type: ignore[attr-defined]


async def await_lean(samples: int, per_sample: int, warmup: int) -> list[float]:
    """``await`` of the least bridge round trip of ``page.call("bench_echo", SMALL)``.

    What no bridge can leave out, with the bridge's own page side: Python writes the call's
    envelope from a string template (the id and the JSON of the arguments, written per call
    by the bridge's own encoder, ``codec.dumps``; no checks) and
    posts it (``PyodideLink.post``); the page's bridge serves it as any call (parse, dispatch,
    handler, answer encoding, the answer posted marked as one); the worker helper enters Python
    for the answer as for any (``callPromising`` where the browser has JSPI), and a minimal
    receiver parses it (``json.loads``) and settles the awaited future, resuming the task in
    that entry (``CallFuture.answer``). Left out: the argument checks, the pending table and its
    timeout, the answer's checks and routing. Seconds per round trip.
    """
    import json

    link = page.connect()
    loop = asyncio.get_running_loop()
    waiting: dict[int, CallFuture] = {}
    saved = link._on_frame  # type: ignore[attr-defined]
    values: list[Any] = []

    def receive(text: str, buffers: Any) -> None:
        if buffers is None:
            message = json.loads(text)
            future = waiting.pop(message["id"], None)
            if future is not None:
                if not values:
                    values.append(message.get("value"))
                future.answer(message.get("value"), None, may_resume=link.may_resume_here)
                return
        saved(text, buffers)

    def one() -> CallFuture:
        call_id = page._take_id()
        future = _fresh_call_future(loop, call_id)
        waiting[call_id] = future
        # the arguments' JSON is written per call, as every call must (until the twelfth round
        # it was written once, outside the loop, which left 3-4 us of a call out in Firefox)
        link.post(
            f'{{"v":2,"id":{call_id},"kind":"litebridge.call","method":"bench_echo","args":{dumps([SMALL])},"sync":false}}',
            [],
        )
        return future

    link._on_frame = receive  # type: ignore[attr-defined]
    try:
        out = await _async_samples(one, samples, per_sample, warmup)
    finally:
        link._on_frame = saved  # type: ignore[attr-defined]
    if values != [SMALL]:
        raise RuntimeError(f"the page answered the lean call with {values!r}")
    return out


def jspi_port_min(samples: int, per_sample: int, warmup: int, frame: str, answers: int) -> list[float]:
    """A blocking round trip through the page with JSPI and no bridge code: the jspi target's floor.

    Python posts ``frame`` on the kernel's port and blocks in ``pyodide.ffi.run_sync`` on the
    helper's promise of the answer to ``answers`` (``awaitAnswer``), as ``call_sync`` (jspi)
    does; the page's echo (``bench/page/port_echo.js``) posts the frame back marked
    ``answers`` and the helper resolves that promise in JavaScript. Left out: encoding, the pending table,
    ``can_run_sync()``, the page's dispatch and handler, decoding. Seconds per round trip.
    """
    from pyodide.ffi import run_sync

    link = page.connect()
    post = link.post
    await_answer = link._await_answer  # type: ignore[attr-defined]

    def one() -> None:
        post(frame, [])
        if run_sync(await_answer(answers)) != frame:
            raise RuntimeError("the page's echo answered with another frame")

    return _sync_samples(one, samples, per_sample, warmup)


def bulk_sync(nbytes: int, echo: bool, samples: int, per_sample: int) -> list[float]:
    """``call_sync`` with ``nbytes`` random bytes: echoed back (``echo``) or only their size."""
    data = os.urandom(nbytes)
    if echo:
        back = page.call_sync("bench_echo", data)
        assert back == data, "echo changed the bytes"
        return _sync_samples(lambda: page.call_sync("bench_echo", data), samples, per_sample, 0)
    assert page.call_sync("bench_len", data) == nbytes
    return _sync_samples(lambda: page.call_sync("bench_len", data), samples, per_sample, 0)


async def bulk_await(nbytes: int, echo: bool, samples: int, per_sample: int) -> list[float]:
    """``await page.call`` with ``nbytes`` random bytes: echoed back or only their size."""
    data = os.urandom(nbytes)
    method = "bench_echo" if echo else "bench_len"
    first = await page.call(method, data)
    assert first == (data if echo else nbytes), "wrong answer"
    return await _async_samples(lambda: page.call(method, data), samples, per_sample, 0)


def profile_call_sync(samples: int, per_sample: int, warmup: int) -> dict[str, list[float]]:
    """Split a ``call_sync`` (transport ``sab``) into its parts, each timed alone.

    ``encode``: building and encoding the envelope; ``sab``: the worker helper's round trip with
    the page's handling (``link.call_sab`` on a pre-encoded frame); ``decode``: decoding the
    answer; ``ffi``: a bare call of a JS function taking the same JSON string (the FFI cost).
    """
    link = page.connect()
    envelope = {"v": 2, "id": 1, "kind": "litebridge.call", "method": "bench_echo", "args": (SMALL,), "sync": True}

    def encode() -> object:
        return encode_envelope(envelope, "args", "args")

    text, buffers = encode_envelope(envelope, "args", "args")

    def sab() -> tuple[str, Any]:
        # the page answers with the request's id; reusing it is fine outside Page's checks
        return link.call_sab(text, buffers, 30.0)

    answer_text, answer_buffers = sab()

    def decode() -> object:
        return decode_envelope(answer_text, answer_buffers)

    noop = run_js("(text) => text.length")
    fast = per_sample * FAST_FACTOR  # the parts in Python take microseconds: more per sample
    return {
        "encode": _sync_samples(encode, samples, fast, warmup, MIN_SAMPLE_S),
        "sab": _sync_samples(sab, samples, per_sample, warmup),
        "decode": _sync_samples(decode, samples, fast, warmup, MIN_SAMPLE_S),
        "ffi": _sync_samples(lambda: noop(text), samples, fast, warmup, MIN_SAMPLE_S),
    }


#: JS in the worker: ``n`` back-to-back ``helper.callSync`` round trips on one frame, no Python in
#: the loop; returns milliseconds per round trip
_HELPER_LOOP_JS = """(helper, text, n) => {
  const started = performance.now();
  for (let i = 0; i < n; i++) helper.callSync(text, null, 30000);
  return (performance.now() - started) / n;
}"""


def profile_call_sync_parts(samples: int, per_sample: int, warmup: int) -> dict[str, Any]:
    """Account for one ``page.call_sync("bench_echo", SMALL)`` (transport ``sab``) piece by piece.

    Every piece is the code ``call_sync`` runs, called alone in a loop (seconds per call):

    - ``full``: ``page.call_sync`` itself (the sum below should come to this);
    - ``full_nogc``: the same with Python's garbage collector disabled during the loop;
    - ``checks``: the link lookup, ``link.transport``, the timeout check and the label;
    - ``encode``: ``Page._encode_call`` (id, method-name check, envelope, ``encode_envelope``);
    - ``link``: ``PyodideLink.call_sab`` on the encoded frame: the FFI call into the worker
      helper with its argument and result conversions, and the whole SAB round trip;
    - ``helper``: the same round trip from a JavaScript loop in the worker (no Python, no FFI):
      frame write, STATE store + notify, the page's wake-up and handling, the answer read;
    - ``decode``: ``decode_envelope`` of the answer and the id/kind checks;
    - ``clock``: one ``time.perf_counter()`` (``call_sync`` on ``sab`` reads no clock once
      the page is attached; listed to show what a clock read would cost).

    ``link - helper`` is the FFI share; ``helper`` minus the page's own handling (measured on
    the page, ``page_serve.js``) is the cross-thread signalling and wake-ups. Returns the lists
    of samples per piece, and ``counts`` (operations per sample of each).
    """
    link = page.connect()
    if link.transport != "sab":
        raise RuntimeError(f"profile_call_sync_parts needs transport sab, not {link.transport}")
    method, args = "bench_echo", (SMALL,)
    label = f"call_sync({method!r})"
    check_timeout = _page_module._check_timeout

    def checks() -> object:
        lk = page._link or page.connect()
        return lk.transport, check_timeout(30.0), f"call_sync({method!r})"

    def encode() -> object:
        return page._encode_call(method, args, sync=True)

    call_id, text, buffers = page._encode_call(method, args, sync=True)

    def via_link() -> tuple[str, Any]:
        return link.call_sab(text, buffers, 30.0)

    answer_text, answer_buffers = via_link()

    def decode() -> object:
        answer = decode_envelope(answer_text, answer_buffers)
        kind = answer["kind"]
        if answer["id"] != call_id or kind not in ("litebridge.result", "litebridge.error"):
            raise AssertionError(label)
        return answer.get("value")

    helper_loop = run_js(_HELPER_LOOP_JS)
    helper = link._helper  # type: ignore[attr-defined]  # PyodideLink's helper object

    def helper_samples() -> list[float]:
        for _ in range(warmup):
            helper_loop(helper, text, 1)
        return [float(helper_loop(helper, text, per_sample)) / 1000.0 for _ in range(samples)]

    fast = per_sample * FAST_FACTOR

    def full() -> object:
        return page.call_sync(method, *args)

    def full_samples_without_gc() -> list[float]:
        # the same loop with Python's garbage collector off: what the allocations of each call
        # cost in collections (the kernel's heap is large, so each collection is not free)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return _sync_samples(full, samples, per_sample, warmup)
        finally:
            if was_enabled:
                gc.enable()

    return {
        "full": _sync_samples(full, samples, per_sample, warmup),
        "full_nogc": full_samples_without_gc(),
        "checks": _sync_samples(checks, samples, fast, warmup, MIN_SAMPLE_S),
        "encode": _sync_samples(encode, samples, fast, warmup, MIN_SAMPLE_S),
        "link": _sync_samples(via_link, samples, per_sample, warmup),
        "helper": helper_samples(),
        "decode": _sync_samples(decode, samples, fast, warmup, MIN_SAMPLE_S),
        "clock": _sync_samples(time.perf_counter, samples, fast, warmup, MIN_SAMPLE_S),
        "counts": {"fast": fast, "slow": per_sample},
        "frame": text,
    }


#: JS in the worker: ``n`` calls of the helper's frame receiver (what its port's ``onmessage``
#: calls for every frame) on one request frame; returns milliseconds per call
_DELIVER_LOOP_JS = """(receiver, text, n) => {
  const started = performance.now();
  for (let i = 0; i < n; i++) receiver(text, null);
  return (performance.now() - started) / n;
}"""


def profile_kcall_parts(samples: int, per_sample: int, warmup: int, frame: str) -> dict[str, Any]:
    """Account for the kernel's side of one page -> Python ``k.call("bench.echo", SMALL)``.

    ``frame`` is the request's JSON as the page's bridge encodes it (``kcall_parts.js``). Every
    piece is what the worker runs for that frame, called alone in a loop (seconds per call):

    - ``deliver``: the helper's frame receiver called from a JavaScript loop in the worker, as
      its port's ``onmessage`` calls it: the JS -> Python FFI call (argument conversion) and
      everything below;
    - ``serve``: ``Page._on_frame(frame, None)`` from Python: decode, routing, the output mark,
      the exposed method, the answer's encoding and its post;
    - ``serve_nopost``: the same with ``PyodideLink.post`` replaced by a no-op (nothing
      reaches the page);
    - ``decode``: ``decode_envelope`` of the request;
    - ``invoke``: ``Registry.invoke``: the name check and lookup, ``bench.echo`` itself and
      the answer's encoding (``answer_result``);
    - ``post``: ``PyodideLink.post`` of the answer: the Python -> JS FFI call and the Worker channel's
      ``postMessage``.

    Each answer posted here reaches the page, which drops it (no call waits for its id).
    Returns the lists of samples per piece and ``counts`` (operations per sample of each).
    """
    link = page.connect()
    receiver = link._receiver  # type: ignore[attr-defined]  # PyodideLink's frame receiver proxy
    registry = page._registry
    message = decode_envelope(frame)
    call_id, method, args = message["id"], message["method"], message["args"]
    answer = registry.invoke(call_id, method, args)
    if not isinstance(answer, tuple) or '"litebridge.result"' not in answer[0]:
        raise RuntimeError(f"bench.echo did not answer with a result: {answer!r}")
    answer_text = answer[0]
    deliver_loop = run_js(_DELIVER_LOOP_JS)

    def deliver_samples() -> list[float]:
        deliver_loop(receiver, frame, max(1, warmup))
        return [float(deliver_loop(receiver, frame, per_sample)) / 1000.0 for _ in range(samples)]

    def serve_nopost_samples() -> list[float]:
        real_post = link._post  # type: ignore[attr-defined]  # the helper's bound post
        link._post = lambda _text, _buffers: None  # type: ignore[attr-defined]
        try:
            return _sync_samples(lambda: page._on_frame(frame, None), samples, per_sample, warmup)
        finally:
            link._post = real_post  # type: ignore[attr-defined]

    fast = per_sample * FAST_FACTOR
    return {
        "deliver": deliver_samples(),
        "serve": _sync_samples(lambda: page._on_frame(frame, None), samples, per_sample, warmup),
        "serve_nopost": serve_nopost_samples(),
        "decode": _sync_samples(lambda: decode_envelope(frame), samples, fast, warmup, MIN_SAMPLE_S),
        "invoke": _sync_samples(
            lambda: registry.invoke(call_id, method, list(args)), samples, fast, warmup, MIN_SAMPLE_S
        ),
        "post": _sync_samples(lambda: link.post(answer_text, []), samples, per_sample, warmup),
        "counts": {"fast": fast, "slow": per_sample},
    }


_saved_on_frame: list[Any] = []


def kcall_minimal_receiver(enable: bool) -> None:
    """Swap the link's frame handler for one that only posts a fixed answer (``enable``), or back.

    While swapped, a frame on the kernel's port costs the worker the helper's ``onmessage``,
    the JS -> Python FFI call and one ``PyodideLink.post``: the port round trip measured then
    (``profile.kcall.port_min``) is the kernel worker's without the bridge's Python serving.
    """
    link = page.connect()
    if enable:
        if _saved_on_frame:
            raise RuntimeError("the minimal receiver is already in place")
        answer, _ = encode_envelope({"v": 2, "id": 1, "kind": "litebridge.result", "value": SMALL}, "value", "result")
        _saved_on_frame.append(link._on_frame)  # type: ignore[attr-defined]
        link._on_frame = lambda _text, _buffers: link.post(answer, [])  # type: ignore[attr-defined]
    elif _saved_on_frame:
        link._on_frame = _saved_on_frame.pop()  # type: ignore[attr-defined]


def setup_comm(target: str) -> None:
    """Register a comm target that echoes every message's data back on the same comm."""
    from comm import get_comm_manager

    def opened(comm: Any, _msg: Any) -> None:
        def on_msg(msg: Any) -> None:
            comm.send(msg["content"]["data"])

        comm.on_msg(on_msg)

    get_comm_manager().register_target(target, opened)


# --- window (issue 10) ------------------------------------------------------------------------


def window_setup() -> str:
    """Make the page objects the window figures use; return ``window.document.title``."""
    global _doc, _el  # noqa: PLW0603 - kept for the figures below
    from litebridge import window

    window.lbBenchEcho = BenchTarget().echo  # a page function that calls Python
    _doc = window.document
    _el = _doc.createElement("div")
    _el.id = "lb-bench"
    title: str = window.document.title
    return title


def window_title_path(samples: int, per_sample: int, warmup: int) -> list[float]:
    """``window.document.title``: two round trips (the document handle, then its title)."""
    from litebridge import window

    return _sync_samples(lambda: window.document.title, samples, per_sample, warmup)


def window_title_read(samples: int, per_sample: int, warmup: int) -> list[float]:
    """``doc.title`` on a held document handle: one attribute read, one round trip."""
    return _sync_samples(lambda: _doc.title, samples, per_sample, warmup)


def window_method_call(samples: int, per_sample: int, warmup: int) -> list[float]:
    """``el.getAttribute("id")`` on a held handle: a read of the method, then its call."""
    assert _el.getAttribute("id") == "lb-bench"
    return _sync_samples(lambda: _el.getAttribute("id"), samples, per_sample, warmup)


_doc: Any = None
_el: Any = None
