"""The Page logic without a browser: an in-process link plays the worker helper and the page.

What is tested here is pure logic: ids, envelopes, matching answers to calls, timeouts,
dropping late answers, the sync/async transport choice, and serving page -> Python calls. The
real transports (SharedArrayBuffer, JSPI, MessagePort) are tested in the browser.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, TypeVar

import pytest

import litebridge
from litebridge import (
    BridgeUnavailable,
    CallTimeout,
    JSError,
    Page,
    SyncUnavailable,
    UnknownMethodError,
)
from litebridge import _page as page_module
from litebridge import codec as codec_module
from litebridge._call_future import CallFuture
from litebridge._page import READY_WAIT_S, FrameHandler
from litebridge.codec import Buffer, decode_envelope, encode_envelope
from litebridge.protocol import TransportName

T = TypeVar("T")
Frame = tuple[str, list[Buffer]]


class FakePage:
    """The page side of the protocol, in-process: handlers, register, answers, ready."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.attached = True
        self.hold = False  # keep requests unanswered (simulates a slow or stuck handler)
        self.held: list[dict[str, Any]] = []

    def handle(self, text: str, buffers: Sequence[Buffer]) -> Frame | None:
        message = decode_envelope(text, [bytes(b) for b in buffers])
        self.received.append(message)
        if message["kind"] not in {"litebridge.call", "litebridge.register"}:
            return None  # answers to page -> Python calls: recorded only
        if self.hold:
            self.held.append(message)
            return None
        return self.answer(message)

    def answer(self, message: dict[str, Any]) -> Frame:
        call_id = message["id"]
        if message["kind"] == "litebridge.register":
            source = message["source"]
            if not source.strip().startswith("{"):
                return self.error(call_id, "SyntaxError", "Unexpected token", "bad_request")
            names = [part.split("(")[0].strip() for part in source.strip("{} \n").split("},") if part.strip()]
            return self.result(call_id, names)
        method = message["method"]
        handler = self.handlers.get(method)
        if handler is None:
            return self.error(call_id, "Error", f"no page handler {method!r}", "unknown_method")
        try:
            value = handler(*message["args"])
        except Exception as exc:
            return self.error(call_id, type(exc).__name__, str(exc))
        return self.result(call_id, value)

    @staticmethod
    def result(call_id: int, value: object) -> Frame:
        env = {"v": 2, "id": call_id, "kind": "litebridge.result", "value": value}
        return encode_envelope(env, "value", "result")

    @staticmethod
    def error(call_id: int, name: str, message: str, code: str | None = None) -> Frame:
        error: dict[str, str] = {"type": name, "message": message, "stack": f"{name}: {message}\n    at fake"}
        if code:
            error["code"] = code
        return encode_envelope({"v": 2, "id": call_id, "kind": "litebridge.error", "error": error})


class FakeLink:
    """A Link whose port delivers frames with loop.call_soon, like a MessagePort would."""

    def __init__(
        self,
        on_frame: FrameHandler,
        page: FakePage,
        loop: asyncio.AbstractEventLoop,
        transport: TransportName,
    ) -> None:
        self.on_frame = on_frame
        self.page = page
        self._loop = loop
        self.transport_name: TransportName = transport
        self.posted: list[dict[str, Any]] = []
        self.blocked_ids: list[int] = []
        self.resume_here = True
        if page.attached:
            ready = encode_envelope({"v": 2, "id": 0, "kind": "litebridge.ready", "page": "0.1.0-fake"})
            loop.call_soon(on_frame, *ready)

    @property
    def transport(self) -> TransportName:
        return self.transport_name

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def isolated(self) -> bool:
        return self.transport_name == "sab"

    @property
    def jspi_supported(self) -> bool:
        return False

    def post(self, text: str, buffers: list[Buffer]) -> None:
        self.posted.append(json.loads(text))
        if not self.page.attached:
            return
        answer = self.page.handle(text, buffers)
        if answer is not None:
            self._loop.call_soon(self.on_frame, answer[0], [bytes(b) for b in answer[1]])

    def deliver(self, frame: Frame) -> None:
        self._loop.call_soon(self.on_frame, frame[0], [bytes(b) for b in frame[1]])

    def wait_page_ready(self, timeout_s: float | None) -> bool:
        return self.page.attached

    def call_sab(self, text: str, buffers: list[Buffer], timeout_s: float | None) -> tuple[str, Sequence[Buffer]]:
        answer = self.page.handle(text, buffers)
        if answer is None:
            raise CallTimeout("fake timeout")
        return answer[0], [bytes(b) for b in answer[1]]

    def block_call(self, call_id: int, future: asyncio.Future[T]) -> T:
        self.blocked_ids.append(call_id)
        return self._loop.run_until_complete(future)

    def may_resume_here(self) -> bool:
        return self.resume_here


class Harness:
    def __init__(self, transport: TransportName = "jspi", attached: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.fake = FakePage()
        self.fake.attached = attached
        self.fake.handlers.update(
            indentLeft=lambda line, n: " " * n + line,
            echo=lambda *args: list(args),
            fail=self._fail,
            size=len,
            make=bytes,
        )
        self.links: list[FakeLink] = []
        self.page = Page(self._connect)
        self.transport: TransportName = transport

    @staticmethod
    def _fail() -> None:
        msg = "handler exploded"
        raise TypeError(msg)

    def _connect(self, on_frame: FrameHandler) -> FakeLink:
        link = FakeLink(on_frame, self.fake, self.loop, self.transport)
        self.links.append(link)
        return link

    @property
    def link(self) -> FakeLink:
        self.page.connect()
        return self.links[0]

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def settle(self) -> None:
        """Let every scheduled callback run."""
        self.run(asyncio.sleep(0.01))


@pytest.fixture
def h() -> Generator[Harness, None, None]:
    harness = Harness()
    yield harness
    harness.loop.close()


@pytest.fixture
def sab() -> Generator[Harness, None, None]:
    harness = Harness("sab")
    yield harness
    harness.loop.close()


# --- await page.call ----------------------------------------------------------------------
def test_call_returns_the_handler_result(h: Harness) -> None:
    assert h.run(h.page.call("indentLeft", "hello", 4)) == "    hello"


def test_call_envelope_fields(h: Harness) -> None:
    h.run(h.page.call("echo", 1, timeout=5))
    sent = h.link.posted[-1]
    assert sent == {"v": 2, "id": sent["id"], "kind": "litebridge.call", "method": "echo", "args": [1], "sync": False}
    assert sent["id"] >= 1


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("echo", ()),
        ("echo", (1, -2.5, "s", True, None)),
        ("echo", ({"op": "echo", "n": 42, "x": 1.5, "s": "hello", "ok": True}, [1, [2, {"k": None}]])),
        ("echo", ("caf\u00e9 \u2603",)),  # not ASCII: the full encode
        ("echo", ({"$bytes": 0},)),  # looks like a placeholder: escaped by the full encode
        ("echo", (b"\x00\x01", {"b": bytearray(b"xy")})),  # buffers
        ("ex.say", ({"a": 'quote " and backslash \\ and tab \t'},)),
        ('we"ird', (1,)),  # a name JSON must escape
        ("caf\u00e9", (1,)),  # a name that is not ASCII
    ],
)
@pytest.mark.parametrize("sync", [False, True])
def test_call_text_is_what_the_full_envelope_encode_writes(method: str, args: tuple[object, ...], sync: bool) -> None:
    """The written-at-once envelope of plain arguments is byte for byte ``encode_envelope``'s."""
    h = Harness()
    try:
        call_id, text, buffers = h.page._encode_call(method, args, sync=sync)
        envelope = {"v": 2, "id": call_id, "kind": "litebridge.call", "method": method, "args": args, "sync": sync}
        want_text, want_buffers = encode_envelope(envelope, "args", "args")
        assert text == want_text
        assert [bytes(b) for b in buffers] == [bytes(b) for b in want_buffers]
        assert decode_envelope(text, buffers)["method"] == method
    finally:
        h.loop.close()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((2**53,), TypeError, r"args\[0\]"),  # beyond JavaScript's safe integers
        ((float("nan"),), (TypeError, ValueError), r"args\[0\]"),
        (({1: "a"},), TypeError, r"args\[0\]"),  # a key that is not a str
        (({"s": {1, 2}},), TypeError, r"cannot send set at args\[0\]\['s'\]"),
        (("\ud800",), TypeError, "lone surrogate"),
    ],
)
def test_call_refuses_what_cannot_be_sent_before_sending(
    h: Harness, args: tuple[object, ...], error: type[Exception] | tuple[type[Exception], ...], match: str
) -> None:
    with pytest.raises(error, match=match):
        h.page.call("echo", *args)
    assert all(m["kind"] != "litebridge.call" for m in h.link.posted)


def test_each_encoded_call_takes_one_id_whichever_encoder_writes_it(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # plain arguments (the template), text that is not ASCII, buffers (both: encode_envelope)
    shapes = [(1,), ("caf\u00e9",), (b"xy",), ({"k": [1, 2]},), ("snow \u2603", b"z")]
    ids = [h.page._encode_call("echo", args, sync=False)[0] for args in shapes]
    assert ids == list(range(ids[0], ids[0] + len(shapes)))
    # plain arguments over the frame limit: the template hands over to encode_envelope, which
    # refuses them; the failed call used one id, not one per encoder
    monkeypatch.setattr(page_module, "MAX_PAYLOAD_BYTES", 200)
    monkeypatch.setattr(codec_module, "MAX_PAYLOAD_BYTES", 200)
    with pytest.raises(ValueError, match="over the limit"):
        h.page._encode_call("echo", ("x" * 300,), sync=False)
    assert h.page._encode_call("echo", (1,), sync=False)[0] == ids[-1] + 2


def test_ids_are_unique_and_increasing(h: Harness) -> None:
    for _ in range(3):
        h.run(h.page.call("echo"))
    ids = [m["id"] for m in h.link.posted]
    assert ids == sorted(set(ids))


def test_bytes_cross_both_ways(h: Harness) -> None:
    data = bytes(range(256)) * 4
    assert h.run(h.page.call("size", data)) == 1024
    out = h.run(h.page.call("make", 3))
    assert out == b"\x00\x00\x00"
    assert type(out) is bytes


def test_handler_exception_becomes_jserror(h: Harness) -> None:
    with pytest.raises(JSError) as info:
        h.run(h.page.call("fail"))
    assert info.value.name == "TypeError"
    assert info.value.message == "handler exploded"
    assert "at fake" in info.value.stack


def test_unknown_handler_raises_unknown_method_error(h: Harness) -> None:
    with pytest.raises(UnknownMethodError, match="nope"):
        h.run(h.page.call("nope"))


def test_unsendable_argument_raises_before_sending(h: Harness) -> None:
    h.link  # connect  # noqa: B018
    with pytest.raises(TypeError, match=r"^cannot send set at args\[1\]\['k'\]$"):
        h.page.call("echo", 1, {"k": {2}})
    assert h.link.posted == []


def test_method_must_be_a_string(h: Harness) -> None:
    with pytest.raises(TypeError, match="method must be a non-empty str"):
        h.page.call(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "3"])
def test_timeout_must_be_positive_seconds(h: Harness, bad: object) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        h.page.call("echo", timeout=bad)  # type: ignore[arg-type]


def test_async_timeout_then_late_answer_is_dropped(h: Harness) -> None:
    h.fake.hold = True
    with pytest.raises(CallTimeout, match=r"no answer from the page to call\('echo'\) within 0.05 s"):
        h.run(h.page.call("echo", "first", timeout=0.05))
    late = h.fake.held.pop()
    h.link.deliver(h.fake.answer(late))  # the page answers after all
    h.fake.hold = False
    # The next call gets its own answer, not the late one.
    assert h.run(h.page.call("echo", "second")) == ["second"]
    h.settle()
    assert h.page._pending == {}


def test_many_concurrent_calls_answered_out_of_order(h: Harness) -> None:
    h.fake.hold = True
    futures = [h.page.call("echo", i) for i in range(200)]
    assert len(h.fake.held) == 200
    for message in reversed(h.fake.held):
        h.link.deliver(h.fake.answer(message))

    async def gather() -> list[Any]:
        return await asyncio.gather(*futures)

    assert h.run(gather()) == [[i] for i in range(200)]
    assert h.page._pending == {}


def test_one_shared_timer_for_many_calls(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[float] = []
    call_at = h.loop.call_at

    def counting_call_at(when: float, callback: Callable[..., object], *args: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return call_at(when, callback, *args)

    monkeypatch.setattr(h.loop, "call_at", counting_call_at)
    monkeypatch.setattr(h.loop, "call_later", lambda *a: pytest.fail("a per-call timer was armed"))
    for i in range(50):
        assert h.run(h.page.call("echo", i)) == [i]
    # Same timeout for every call: deadlines only grow, the first timer covers them all.
    assert len(armed) == 1
    assert h.page._pending == {}


def test_shorter_deadline_expires_first_and_longer_one_still_runs(h: Harness) -> None:
    h.fake.hold = True
    slow = h.page.call("echo", "slow", timeout=0.5)
    with pytest.raises(CallTimeout, match=r"call\('echo'\) within 0.05 s"):
        h.run(h.page.call("echo", "fast", timeout=0.05))
    assert not slow.done()
    h.link.deliver(h.fake.answer(h.fake.held[0]))
    assert h.run(slow) == ["slow"]
    assert h.page._pending == {}


def test_timer_rearms_after_an_early_answer(h: Harness) -> None:
    # The timer is armed for the first call's deadline; that call is answered at once, so
    # when the timer fires nothing is due and it must re-arm for the held call's deadline.
    assert h.run(h.page.call("echo", "quick", timeout=0.05)) == ["quick"]
    h.fake.hold = True
    with pytest.raises(CallTimeout, match=r"within 0.2 s"):
        # wait_for only guards against a hang if the timer were never re-armed.
        h.run(asyncio.wait_for(h.page.call("echo", "held", timeout=0.2), 10))
    assert h.page._pending == {}


def test_calls_without_timeout_never_expire_and_arm_no_timer(h: Harness) -> None:
    h.page.connect()
    h.settle()  # the page's ready arrived: no ready window bounds the calls
    h.fake.hold = True
    forever = h.page.call("echo", "forever", timeout=None)
    assert h.page._timer is None
    with pytest.raises(CallTimeout):
        h.run(h.page.call("echo", "bounded", timeout=0.05))
    h.settle()
    assert not forever.done()
    assert h.page._timer is None  # nothing left with a deadline
    h.link.deliver(h.fake.answer(h.fake.held[0]))
    assert h.run(forever) == ["forever"]


def test_cancelled_call_is_forgotten_at_its_deadline(h: Harness) -> None:
    h.fake.hold = True
    future = h.page.call("echo", timeout=0.05)
    future.cancel()
    h.run(asyncio.sleep(0.1))
    assert h.page._pending == {}
    h.link.deliver(h.fake.answer(h.fake.held[0]))  # the late answer is dropped quietly
    h.settle()


def test_page_that_never_attached_gives_bridge_unavailable() -> None:
    harness = Harness(attached=False)
    try:
        with pytest.raises(BridgeUnavailable, match="labextension"):
            harness.run(harness.page.call("echo", timeout=0.05))
    finally:
        harness.loop.close()


def test_ready_records_the_page_version(h: Harness) -> None:
    h.link  # noqa: B018
    h.settle()
    assert h.page.page_version == "0.1.0-fake"


# --- call_sync ----------------------------------------------------------------------------
def test_call_sync_jspi_blocks_for_the_answer(h: Harness) -> None:
    assert h.page.call_sync("indentLeft", "x", 1) == " x"
    assert h.link.posted[-1]["sync"] is True
    # the link blocks on the call's own id: the helper wakes it when the page's answer marked
    # with that id arrives (protocol section 3)
    assert h.link.blocked_ids == [h.link.posted[-1]["id"]]


def test_call_sync_jspi_timeout_and_late_answer_dropped(h: Harness) -> None:
    h.fake.hold = True
    with pytest.raises(CallTimeout) as info:
        h.page.call_sync("echo", "a", timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    assert "call_sync('echo')" in str(info.value)
    h.link.deliver(h.fake.answer(h.fake.held.pop()))
    h.fake.hold = False
    assert h.page.call_sync("echo", "b") == ["b"]


def test_call_sync_jspi_error(h: Harness) -> None:
    with pytest.raises(JSError, match="handler exploded"):
        h.page.call_sync("fail")


def test_call_sync_sab(sab: Harness) -> None:
    assert sab.page.call_sync("indentLeft", "world", 2) == "  world"
    assert sab.page.call_sync("make", 2) == b"\x00\x00"
    with pytest.raises(UnknownMethodError):
        sab.page.call_sync("nope")
    assert sab.fake.received[0]["sync"] is True


def test_call_sync_sab_timeout_names_the_call(sab: Harness) -> None:
    sab.fake.hold = True
    with pytest.raises(CallTimeout, match=r"call_sync\('echo'\) within 2.0 s"):
        sab.page.call_sync("echo", timeout=2.0)


def test_call_sync_sab_page_never_attached() -> None:
    harness = Harness("sab", attached=False)
    try:
        # within the ready window: the call's own (short) timeout, naming the reason
        with pytest.raises(CallTimeout, match="did not attach"):
            harness.page.call_sync("echo", timeout=0.01)
        # past it: every call fails at once, naming the likely cause
        harness.page._connected_at -= READY_WAIT_S + 1
        with pytest.raises(BridgeUnavailable, match=r"never attached.*labextension"):
            harness.page.call_sync("echo", timeout=None)
        with pytest.raises(BridgeUnavailable, match="never attached"):
            harness.page.call("echo", timeout=None)
    finally:
        harness.loop.close()


def test_call_sync_sab_refuses_a_mismatched_answer(sab: Harness) -> None:
    sab.link.call_sab = lambda text, buffers, timeout_s: FakePage.result(999, "x")  # type: ignore[method-assign]
    with pytest.raises(litebridge.BridgeError, match="unexpected answer"):
        sab.page.call_sync("echo")


def test_call_sync_without_sab_or_jspi_says_why_and_what_to_do() -> None:
    harness = Harness("async")
    try:
        with pytest.raises(SyncUnavailable) as info:
            harness.page.call_sync("echo", 1)
        message = str(info.value)
        assert "not cross-origin isolated" in message
        assert "Cross-Origin-Opener-Policy" in message
        assert "JSPI" in message
        assert "await page.call" in message
        assert harness.link.posted == []
        # await page.call still works in the same state.
        assert harness.run(harness.page.call("echo", 1)) == [1]
    finally:
        harness.loop.close()


# --- register -----------------------------------------------------------------------------
SOURCE = "{ indentLeft(line, n) { return line }, indentRight(line, n) { return line } }"


def test_register_is_synchronous_with_sab(sab: Harness) -> None:
    assert sab.page.register(SOURCE) == ["indentLeft", "indentRight"]
    assert sab.fake.received[-1]["kind"] == "litebridge.register"
    assert sab.fake.received[-1]["source"] == SOURCE


def test_register_is_synchronous_with_jspi(h: Harness) -> None:
    assert h.page.register(SOURCE) == ["indentLeft", "indentRight"]


def test_register_syntax_error_raises_at_once(sab: Harness) -> None:
    with pytest.raises(JSError) as info:
        sab.page.register("not an object")
    assert info.value.name == "SyntaxError"
    assert info.value.code == "bad_request"


def test_register_returns_an_awaitable_in_async_mode() -> None:
    harness = Harness("async")
    try:
        pending = harness.page.register(SOURCE)
        assert isinstance(pending, asyncio.Future)
        assert harness.run(pending) == ["indentLeft", "indentRight"]
    finally:
        harness.loop.close()


def test_register_source_must_be_a_string(h: Harness) -> None:
    with pytest.raises(TypeError, match="source must be a str"):
        h.page.register({"a": 1})  # type: ignore[arg-type]


# --- page -> Python -----------------------------------------------------------------------
class Example:
    def multiply(self, a: float, b: float) -> float:
        return a * b

    def divide(self, a: float, b: float) -> float:
        return a / b

    async def slow_echo(self, x: object) -> object:
        await asyncio.sleep(0.01)
        return x


def page_call(h: Harness, call_id: int, method: str, *args: object, v: int = 2) -> None:
    frame = encode_envelope({"v": v, "id": call_id, "kind": "litebridge.call", "method": method, "args": args}, "args")
    h.link.deliver(frame)
    h.settle()


def answers(h: Harness) -> dict[int, dict[str, Any]]:
    return {m["id"]: m for m in h.fake.received if m["kind"] in {"litebridge.result", "litebridge.error"}}


def test_page_calls_exposed_methods(h: Harness) -> None:
    h.page.expose(Example())
    h.page.expose(Example(), name="ex")
    page_call(h, 1, "multiply", 6, 7)
    page_call(h, 2, "ex.multiply", 2, 3)
    got = answers(h)
    assert got[1]["value"] == 42
    assert got[2]["value"] == 6
    assert h.page.exposed == ["divide", "ex.divide", "ex.multiply", "ex.slow_echo", "multiply", "slow_echo"]


def test_page_call_exception_answered_and_kernel_keeps_serving(h: Harness) -> None:
    h.page.expose(Example())
    page_call(h, 1, "divide", 1, 0)
    page_call(h, 2, "divide", 1, 4)
    got = answers(h)
    assert got[1]["kind"] == "litebridge.error"
    assert got[1]["error"]["type"] == "ZeroDivisionError"
    assert "Traceback" in got[1]["error"]["stack"]
    assert got[2]["value"] == 0.25


def test_page_calls_async_method_as_a_task(h: Harness) -> None:
    h.page.expose(Example())
    page_call(h, 1, "slow_echo", {"a": [1, b"\x01"]})
    h.settle()
    assert answers(h)[1]["value"] == {"a": [1, b"\x01"]}
    assert h.page.counts == {"calls": 0, "serving": 0}


def test_page_call_to_forbidden_or_unknown_name(h: Harness) -> None:
    h.page.expose(Example())
    page_call(h, 1, "_secret")
    page_call(h, 2, "nope")
    got = answers(h)
    assert got[1]["error"]["code"] == "forbidden_name"
    assert got[2]["error"]["code"] == "unknown_method"
    assert "'nope'" in got[2]["error"]["message"]


def test_page_call_with_another_protocol_version_is_refused(h: Harness) -> None:
    h.page.expose(Example())
    page_call(h, 1, "multiply", 1, 2, v=3)
    error = answers(h)[1]["error"]
    assert error["code"] == "bad_request"
    assert "protocol version 3" in error["message"]


@pytest.mark.parametrize("junk", ["not json", "[]", '{"v":2}', '{"v":2,"id":1,"kind":"litebridge.bogus"}'])
def test_malformed_frames_are_dropped_without_raising(h: Harness, junk: str) -> None:
    h.link.on_frame(junk, None)  # must not raise into JavaScript
    assert h.run(h.page.call("echo", 1)) == [1]


# --- outside Pyodide ----------------------------------------------------------------------
def test_cpython_import_works_and_calls_say_why_not() -> None:
    page = Page()
    assert page.transport is None
    with pytest.raises(BridgeUnavailable, match="Pyodide kernel of JupyterLite"):
        page.call_sync("x")
    with pytest.raises(BridgeUnavailable, match="Pyodide kernel of JupyterLite"):
        page.call("x")
    page.expose(Example())  # harmless
    assert litebridge.transport is None
    assert litebridge.__version__ == "0.1.0"
    with pytest.raises(AttributeError):
        _ = litebridge.nonexistent


# --- issue 7: cancellation, refusal, one Page per kernel ------------------------------------
def cancels(h: Harness) -> list[int]:
    return [m["id"] for m in h.fake.received if m["kind"] == "litebridge.cancel"]


def test_cancelling_a_call_tells_the_page_and_leaves_nothing_pending(h: Harness) -> None:
    h.page.connect()
    h.settle()
    h.fake.hold = True
    future = h.page.call("echo", "x", timeout=None)
    h.settle()
    assert h.page.counts == {"calls": 1, "serving": 0}
    assert future.cancel()
    h.settle()
    assert cancels(h) == [h.fake.held[0]["id"]]
    assert h.page.counts == {"calls": 0, "serving": 0}


def test_a_task_cancelled_while_awaiting_a_call_cancels_it_on_the_page(h: Harness) -> None:
    h.page.connect()
    h.settle()
    h.fake.hold = True

    async def caller() -> object:
        return await h.page.call("echo", "x", timeout=None)

    async def scenario() -> None:
        task = asyncio.ensure_future(caller())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    h.run(scenario())
    assert cancels(h) == [h.fake.held[0]["id"]]
    assert h.page.counts["calls"] == 0


def test_a_timeout_cancels_the_call_on_the_page(h: Harness) -> None:
    h.page.connect()
    h.settle()
    h.fake.hold = True
    with pytest.raises(CallTimeout):
        h.run(h.page.call("echo", timeout=0.02))
    assert cancels(h) == [h.fake.held[0]["id"]]
    with pytest.raises(CallTimeout):
        h.page.call_sync("echo", timeout=0.02)  # jspi: the same future and timer
    assert cancels(h) == [m["id"] for m in h.fake.held]
    assert h.page.counts == {"calls": 0, "serving": 0}


def test_a_sab_timeout_cancels_the_call_on_the_page(sab: Harness) -> None:
    sab.fake.hold = True
    with pytest.raises(CallTimeout):
        sab.page.call_sync("echo", timeout=0.02)
    sab.settle()
    assert cancels(sab) == [sab.fake.held[0]["id"]]


def test_the_page_cancels_an_async_exposed_method(h: Harness) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    class Slow:
        async def wait(self) -> str:
            started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                finished.append("cancelled")
                raise
            return "done"

    h.page.expose(Slow())
    page_call(h, 5, "wait")
    assert h.page.counts["serving"] == 1
    h.link.deliver(encode_envelope({"v": 2, "id": 5, "kind": "litebridge.cancel", "reason": "page timeout"}))
    h.settle()
    assert finished == ["cancelled"]
    assert h.page.counts == {"calls": 0, "serving": 0}


def test_a_refused_hello_fails_pending_and_later_calls_at_once(h: Harness) -> None:
    h.fake.attached = False  # no ready: the page refuses instead
    h.page.connect()
    pending = h.page.call("echo", timeout=None)
    refusal = encode_envelope(
        {
            "v": 2,  # a refusal is understood whatever the page's version
            "id": 0,
            "kind": "litebridge.error",
            "error": {
                "type": "BridgeError",
                "message": "protocol version 1 is not 2",
                "stack": "",
                "code": "bad_request",
            },
        }
    )
    h.link.deliver(refusal)
    with pytest.raises(BridgeUnavailable, match=r"refused .* protocol version 1 is not 2"):
        h.run(pending)
    with pytest.raises(BridgeUnavailable, match="refused"):
        h.page.call("echo")
    with pytest.raises(BridgeUnavailable, match="refused"):
        h.page.call_sync("echo")


def test_page_without_connector_is_one_object_per_process() -> None:
    assert Page() is Page() is litebridge.page
    assert Page(lambda on_frame: None) is not Page(lambda on_frame: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("method", "code"), [("_x", "forbidden_name"), ("a.__proto__", "forbidden_name"), ("a..b", "bad_request")]
)
def test_bad_method_names_are_refused_before_sending(h: Harness, method: str, code: str) -> None:
    with pytest.raises(UnknownMethodError) as info:
        h.page.call(method)
    assert info.value.code == code
    with pytest.raises(UnknownMethodError):
        h.page.call_sync(method)
    assert not [m for m in h.fake.received if m["kind"] == "litebridge.call"]


# --- the task awaiting page.call resumes inside the answer's entry (_call_future.py) -----------
# The link delivers each answer in a loop handle of its own, as the worker helper delivers a
# port message. Each test records what the awaiting task did by the time that handle's
# on_frame returned: resumed at once, or left for a later turn of the loop.


def watch_deliveries(link: FakeLink, events: list[str]) -> None:
    """Record ``delivered`` when each frame's on_frame returns (after what it ran at once)."""
    deliver = link.on_frame

    def on_frame(text: str, buffers: Sequence[Buffer] | None) -> None:
        deliver(text, buffers)
        events.append("delivered")

    link.on_frame = on_frame


def awaiting(h: Harness, events: list[str], *args: object) -> asyncio.Task[object]:
    async def caller() -> object:
        value = await h.page.call("echo", *args)
        events.append("resumed")
        return value

    task: asyncio.Task[object] = h.loop.create_task(caller())
    return task


def test_the_task_resumes_inside_the_answer_s_entry(h: Harness) -> None:
    events: list[str] = []
    watch_deliveries(h.link, events)
    task = awaiting(h, events, 1)
    assert h.run(task) == [1]
    assert events == ["resumed", "delivered"]


def test_an_error_answer_resumes_the_task_at_once_too(h: Harness) -> None:
    events: list[str] = []
    watch_deliveries(h.link, events)

    async def caller() -> None:
        try:
            await h.page.call("fail")
        finally:
            events.append("resumed")

    with pytest.raises(Exception, match="handler exploded"):
        h.run(caller())
    assert events == ["resumed", "delivered"]


def test_where_a_task_may_not_resume_it_waits_for_the_loop(h: Harness) -> None:
    """JSPI runtime, frame entered without ``promising``: the link says no (``may_resume_here``)."""
    events: list[str] = []
    watch_deliveries(h.link, events)
    h.link.resume_here = False
    task = awaiting(h, events, 2)
    assert h.run(task) == [2]
    assert events == ["delivered", "resumed"]


def test_an_answer_handled_inside_a_running_task_leaves_the_wake_up_to_the_loop(h: Harness) -> None:
    """asyncio allows one running task per thread: the awaiting task is resumed later."""
    events: list[str] = []
    link = h.link
    h.fake.hold = True
    task = awaiting(h, events, 3)
    h.settle()
    (request,) = h.fake.held

    async def other_task() -> None:
        link.on_frame(*h.fake.answer(request))  # e.g. a callback served while blocked
        events.append("other task went on")

    h.run(other_task())
    assert h.run(task) == [3]
    assert events == ["other task went on", "resumed"]


def held_call(h: Harness, events: list[str], value: object, callback_first: bool = False) -> asyncio.Task[object]:
    """A task awaiting ``page.call("echo", value)``, whose request the page holds unanswered.

    A done callback that records ``callback`` is added before the task awaits the call
    (``callback_first``) or after; :func:`answer_held` then answers the request.
    """
    h.fake.hold = True
    future = h.page.call("echo", value)

    def callback(_future: asyncio.Future[object]) -> None:
        events.append("callback")

    if callback_first:
        future.add_done_callback(callback)

    async def caller() -> object:
        result = await future
        events.append("resumed")
        return result

    task: asyncio.Task[object] = h.loop.create_task(caller())
    h.settle()  # the task now awaits the call
    if not callback_first:
        future.add_done_callback(callback)
    return task


def answer_held(h: Harness) -> None:
    """Deliver the page's answer to the one held request, in a loop handle of its own."""
    (request,) = h.fake.held
    h.link.deliver(h.fake.answer(request))


def test_callbacks_added_before_the_task_keep_their_order(h: Harness) -> None:
    events: list[str] = []
    watch_deliveries(h.link, events)
    task = held_call(h, events, 4, callback_first=True)
    answer_held(h)
    assert h.run(task) == [4]
    assert events == ["delivered", "callback", "resumed"]


def test_a_callback_added_after_the_task_runs_after_it(h: Harness) -> None:
    """Both go through the loop, the task's wake-up first, as asyncio orders them."""
    events: list[str] = []
    watch_deliveries(h.link, events)
    task = held_call(h, events, 5)
    answer_held(h)
    assert h.run(task) == [5]
    assert events == ["delivered", "resumed", "callback"]


def test_cancelling_the_task_cancels_the_call_and_wakes_it_through_the_loop(h: Harness) -> None:
    events: list[str] = []
    task = held_call(h, events, 6)
    (future,) = (p.future for p in h.page._pending.values())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        h.run(task)
    assert future.cancelled()
    assert [m["kind"] for m in h.fake.received[-1:]] == ["litebridge.cancel"]
    assert events == ["callback"]


def test_a_timeout_wakes_the_task_through_the_loop(h: Harness) -> None:
    h.fake.hold = True

    async def caller() -> object:
        return await h.page.call("echo", 7, timeout=0.01)

    task = h.loop.create_task(caller())
    h.run(asyncio.wait({task}, timeout=5))
    # a wake-up the timeout failed to hand to the loop would leave the task waiting here
    assert task.done()
    with pytest.raises(CallTimeout, match="no answer from the page"):
        task.result()


def test_remove_done_callback_removes_the_kept_wake_up() -> None:
    loop = asyncio.new_event_loop()
    try:
        future = CallFuture(loop=loop)
        future._lb_wakeup = None
        future._lb_shared = False

        async def waiter() -> None:
            await future

        task = loop.create_task(waiter())
        loop.run_until_complete(asyncio.sleep(0))
        kept = future._lb_wakeup
        assert kept is not None
        assert getattr(kept[0], "__self__", None) is task
        assert future.remove_done_callback(kept[0]) == 1
        assert future._lb_wakeup is None
        future.set_result(None)
        loop.run_until_complete(asyncio.sleep(0))
        assert not task.done()  # its wake-up was removed: nothing resumes it
        loop.call_soon(kept[0], future)
        loop.run_until_complete(task)
    finally:
        loop.close()


def test_a_keyboard_interrupt_in_the_resumed_step_reaches_the_loop(h: Harness) -> None:
    events: list[str] = []
    watch_deliveries(h.link, events)

    async def caller() -> None:
        await h.page.call("echo", 8)
        events.append("resumed")
        raise KeyboardInterrupt

    task = h.loop.create_task(caller())
    with pytest.raises(KeyboardInterrupt):
        h.run(task)
    assert events == ["resumed", "delivered"]  # on_frame itself returned normally
