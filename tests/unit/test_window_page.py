"""``window`` operations through the Page with an in-process fake page (protocol section 13)."""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from typing import Any

import pytest
from tests.unit.test_page import FakePage, Frame, Harness

from litebridge import JSHandle, SyncUnavailable, UnknownPropertyError
from litebridge.codec import Buffer, decode_envelope, encode_envelope
from litebridge.protocol import TransportName


class WindowFakePage(FakePage):
    """Answers ``litebridge.op`` over a tiny object model: ``objects[handle id][name]``."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[int, dict[str, Any]] = {
            0: {"title": "t", "div": {"$handle": [3, "HTMLDivElement"]}},
            3: {"children": {"$handle": [5, "HTMLCollection"]}},
            5: {"$items": [{"$handle": [4, "HTMLSpanElement"]}, "text"]},
        }

    def handle(self, text: str, buffers: Sequence[Buffer]) -> Frame | None:
        message = decode_envelope(text, [bytes(b) for b in buffers], importer=lambda key, value: {key: value})
        if message["kind"] != "litebridge.op":
            return super().handle(text, buffers)
        self.received.append(message)
        target = self.objects[message["target"]]
        for step in message.get("path", []):
            target = self.objects[target[step]["$handle"][0]]
        name = str(message.get("name"))
        if message["op"] == "get":
            if name not in target:
                return self.error(message["id"], "BridgeError", f'Object has no property "{name}"', "unknown_property")
            return self.raw_result(message["id"], target[name])
        if message["op"] == "set":
            target[name] = message["args"][0]
            return self.raw_result(message["id"], None)
        if message["op"] in ("len", "items"):
            return self.raw_result(message["id"], self.collection(message, target))
        return self.error(message["id"], "TypeError", "not supported by the fake")

    def collection(self, message: dict[str, Any], target: dict[str, Any]) -> object:
        """``len`` / ``items`` of a collection (an object with ``$items``); null for others."""
        if "name" in message:
            target = self.objects.get(target[str(message["name"])]["$handle"][0], {})
        items = target.get("$items")
        if message["op"] == "len":
            return None if items is None else len(items)
        return items

    @staticmethod
    def raw_result(call_id: int, value: object) -> Frame:
        """A result whose value is already wire data (tags included)."""
        return encode_envelope({"v": 2, "id": call_id, "kind": "litebridge.result", "value": value})


def _harness(transport: TransportName) -> Harness:
    harness = Harness(transport)
    harness.fake = WindowFakePage()
    return harness


@pytest.fixture
def sab() -> Generator[Harness, None, None]:
    harness = _harness("sab")
    yield harness
    harness.loop.close()


@pytest.fixture
def aio() -> Generator[Harness, None, None]:
    harness = _harness("async")
    yield harness
    harness.loop.close()


def test_reads_writes_and_handles(sab: Harness) -> None:
    window = sab.page.window
    sab.link  # noqa: B018 - connect
    sab.settle()
    assert window.title == "t"
    div = window.div
    assert isinstance(div, JSHandle)
    assert repr(div) == "<JSHandle HTMLDivElement>"
    assert window.div is div  # one live handle per page object
    assert sab.page.handles == {"handles": 1, "objects": 0, "queued": 0}

    def on_click(event: object) -> str:
        return "clicked"

    window.title = "new"
    div.onclick = on_click
    sent = sab.fake.received[-1]
    assert sent["args"] == [{"$py": [1, "function"]}]
    assert isinstance(sab.fake, WindowFakePage)
    assert sab.fake.objects[0]["title"] == "new"
    with pytest.raises(UnknownPropertyError, match='no property "colour"') as info:
        window.colour  # noqa: B018 - the read is the test
    assert isinstance(info.value, AttributeError)
    assert not hasattr(window, "colour")
    # released handles go to the page with the next operation, with their receive counts
    div.release()
    assert sab.page.handles["queued"] == 1
    window.title  # noqa: B018 - any operation flushes
    releases = [m for m in sab.link.posted if m["kind"] == "litebridge.release"]
    assert releases == [{"v": 2, "id": 0, "kind": "litebridge.release", "ids": [[3, 2]]}]
    with pytest.raises(ReferenceError, match="was released"):
        div.textContent  # noqa: B018


def test_the_page_calls_python_callables(sab: Harness) -> None:
    window = sab.page.window
    sab.link  # noqa: B018
    sab.settle()
    calls: list[Any] = []

    def on_event(event: JSHandle) -> str:
        calls.append(event)
        return "done"

    window.handler = on_event
    apply = {"v": 2, "id": 5, "kind": "litebridge.apply", "object": 1, "args": [{"$handle": [9, "MouseEvent"]}]}
    sab.link.deliver(encode_envelope(apply))
    sab.settle()
    assert [repr(e) for e in calls] == ["<JSHandle MouseEvent>"]
    answers = [m for m in sab.link.posted if m.get("id") == 5]
    assert answers[-1]["kind"] == "litebridge.result"
    assert answers[-1]["value"] == "done"
    # the page released every send of the callable: it is gone, and a late call is closed
    sab.link.deliver(encode_envelope({"v": 2, "id": 0, "kind": "litebridge.release", "ids": [[1, 1]]}))
    sab.link.deliver(encode_envelope({**apply, "id": 6}))
    sab.settle()
    late = [m for m in sab.link.posted if m.get("id") == 6][-1]
    assert late["kind"] == "litebridge.error"
    assert late["error"]["code"] == "closed"
    assert sab.page.handles["objects"] == 0


def test_the_page_calls_methods_of_python_objects(sab: Harness) -> None:
    window = sab.page.window
    sab.link  # noqa: B018
    sab.settle()

    class Counter:
        size = 3

        def __init__(self) -> None:
            self.n = 0

        def add(self, k: int) -> int:
            self.n += k
            return self.n

        def _secret(self) -> str:
            return "private"

    counter = Counter()
    window.counter = counter
    assert sab.fake.received[-1]["args"] == [{"$py": [1, "Counter", "object"]}]

    def apply(call_id: int, name: object, args: list[object]) -> dict[str, Any]:
        message = {"v": 2, "id": call_id, "kind": "litebridge.apply", "object": 1, "name": name, "args": args}
        sab.link.deliver(encode_envelope(message))
        sab.settle()
        answer: dict[str, Any] = [m for m in sab.link.posted if m.get("id") == call_id][-1]
        return answer

    assert apply(10, "add", [2])["value"] == 2
    assert apply(11, "add", [3])["value"] == 5
    assert counter.n == 5
    refused = {n: apply(20 + i, n, [])["error"] for i, n in enumerate(["_secret", "missing", "size", "a.b", 7])}
    assert {n: e["code"] for n, e in refused.items()} == {
        "_secret": "forbidden_name",
        "missing": "unknown_method",
        "size": "unknown_method",
        "a.b": "bad_request",
        7: "bad_request",
    }
    assert refused["missing"]["message"] == "the Python Counter object has no method 'missing'"
    assert "not callable" in refused["size"]["message"]


def test_the_awaitable_form_where_sync_is_unavailable(aio: Harness) -> None:
    window = aio.page.window
    aio.link  # noqa: B018
    aio.settle()
    with pytest.raises(SyncUnavailable, match=r"await handle\.aio"):
        window.title  # noqa: B018

    async def forms() -> list[Any]:
        from litebridge import aset

        await aset(window.aio.title, "via aset")
        div = await window.aio.div
        return [await window.aio.title, repr(div), (await window.aio) is window]

    assert aio.run(forms()) == ["via aset", "<JSHandle HTMLDivElement>", True]
    assert aio.run(asyncio.wait_for(_missing(window), 5)) == 'Object has no property "nothing"'


async def _missing(window: JSHandle) -> str:
    try:
        await window.aio.div.nothing
    except AttributeError as exc:
        return str(exc).split(": ", 1)[1]
    return "no error"


def test_len_iteration_and_in(sab: Harness) -> None:
    window = sab.page.window
    sab.link  # noqa: B018
    sab.settle()
    div = window.div
    assert len(div.children) == 2
    span, text = div.children  # one round trip for the items: values and handles
    assert (repr(span), text) == ("<JSHandle HTMLSpanElement>", "text")
    assert "text" in div.children
    assert [m["op"] for m in sab.fake.received[-2:]] == ["get", "items"]
    with pytest.raises(
        TypeError, match=r"JSHandle HTMLDivElement has no len\(\): the page object has no integer length or size"
    ):
        len(div)
    with pytest.raises(TypeError, match=r"JSHandle HTMLDivElement is not iterable"):
        iter(div)
    assert list(window.div.children) == [span, "text"]  # len() fails over to the items


def test_alen_and_alist(aio: Harness) -> None:
    from litebridge import alen, alist

    window = aio.page.window
    aio.link  # noqa: B018
    aio.settle()

    async def forms() -> list[Any]:
        items = await alist(window.aio.div.children)
        failed = ""
        try:
            await alen(window.aio.div)
        except TypeError as exc:
            failed = str(exc)
        return [await alen(window.aio.div.children), [repr(i) for i in items], failed]

    size, items, failed = aio.run(forms())
    assert (size, items) == (2, ["<JSHandle HTMLSpanElement>", "'text'"])
    assert failed.startswith("JSHandle Window.div has no len()")
    with pytest.raises(TypeError, match=r"alist\(\) needs an awaitable form"):
        alist(window)  # type: ignore[arg-type]
