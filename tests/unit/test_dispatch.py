"""The registry of exposed Python objects and page -> Python dispatch, in CPython."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from litebridge.codec import decode_envelope
from litebridge.dispatch import Frame, Registry
from litebridge.errors import MethodLookupError


class Example:
    factor = 10  # data attribute: not callable

    def multiply(self, a: float, b: float) -> float:
        return a * b

    def divide(self, a: float, b: float) -> float:
        return a / b

    async def slow_echo(self, x: object) -> object:
        await asyncio.sleep(0)
        return x

    async def slow_fail(self) -> None:
        await asyncio.sleep(0)
        msg = "async failure"
        raise RuntimeError(msg)

    def give_set(self) -> object:
        return {1, 2}

    def give_bytes(self, n: int) -> bytes:
        return bytes(range(n))

    def _private(self) -> str:
        return "secret"

    def constructor(self) -> str:
        return "reserved"


def answer(frame: Frame | Any) -> dict[str, Any]:
    if not isinstance(frame, tuple):
        frame = asyncio.run(frame)
    text, buffers = frame
    return decode_envelope(text, buffers)


def test_expose_without_name_makes_methods_top_level() -> None:
    reg = Registry()
    reg.expose(Example())
    assert reg.resolve("multiply")(6, 7) == 42
    assert "multiply" in reg.names()
    assert "divide" in reg.names()


def test_expose_with_name_prefixes_methods() -> None:
    reg = Registry()
    reg.expose(Example(), name="ex")
    assert reg.resolve("ex.multiply")(6, 7) == 42
    with pytest.raises(MethodLookupError) as info:
        reg.resolve("multiply")
    assert info.value.code == "unknown_method"
    assert "ex.multiply" in str(info.value)  # the message lists what is exposed


def test_latest_unnamed_object_wins() -> None:
    class Other:
        def multiply(self, a: int, b: int) -> str:
            return "other"

    reg = Registry()
    reg.expose(Example())
    reg.expose(Other())
    assert reg.resolve("multiply")(1, 2) == "other"
    assert reg.resolve("divide")(1, 2) == 0.5  # still found on the first object


def test_expose_function_by_its_name_or_a_given_name() -> None:
    def shout(s: str) -> str:
        return s.upper()

    reg = Registry()
    reg.expose(shout)
    reg.expose(len, name="length")
    assert reg.resolve("shout")("a") == "A"
    assert reg.resolve("length")([1, 2]) == 2


def test_re_expose_under_same_name_replaces() -> None:
    class A:
        def f(self) -> str:
            return "a"

    class B:
        def f(self) -> str:
            return "b"

    reg = Registry()
    reg.expose(A(), name="x")
    reg.expose(B(), name="x")
    assert reg.resolve("x.f")() == "b"


@pytest.mark.parametrize(
    "name",
    ["_private", "ex._private", "__class__", "ex.__init__", "constructor", "ex.constructor", "prototype", "__proto__"],
)
def test_forbidden_names_never_resolve(name: str) -> None:
    reg = Registry()
    reg.expose(Example())
    reg.expose(Example(), name="ex")
    with pytest.raises(MethodLookupError) as info:
        reg.resolve(name)
    assert info.value.code == "forbidden_name"
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["", "a..b", ".a", "a.", 3, None])
def test_malformed_names_are_bad_requests(name: object) -> None:
    with pytest.raises(MethodLookupError) as info:
        Registry().resolve(name)
    assert info.value.code == "bad_request"


@pytest.mark.parametrize("name", ["nope", "ex.nope", "other.multiply", "factor", "ex.multiply.more"])
def test_unknown_names_say_which(name: str) -> None:
    reg = Registry()
    reg.expose(Example())
    reg.expose(Example(), name="ex")
    with pytest.raises(MethodLookupError) as info:
        reg.resolve(name)
    assert info.value.code == "unknown_method"
    assert f"no exposed Python method {name!r}" in str(info.value)


def test_unknown_name_with_nothing_exposed_says_how_to_expose() -> None:
    with pytest.raises(MethodLookupError, match=r"page\.expose"):
        Registry().resolve("x")


@pytest.mark.parametrize("name", ["_x", "a.b", "constructor", ""])
def test_expose_refuses_bad_names(name: str) -> None:
    with pytest.raises(ValueError, match="cannot expose under that name"):
        Registry().expose(Example(), name=name)


def test_names_lists_public_callables_only() -> None:
    reg = Registry()
    reg.expose(Example(), name="ex")
    names = reg.names()
    assert "ex.multiply" in names
    assert "ex.slow_echo" in names
    assert all("_" not in n.split(".")[-1][:1] for n in names)
    assert "ex.factor" not in names
    assert "ex.constructor" not in names


# --- invoke: envelopes ---------------------------------------------------------------------
def test_sync_method_result_envelope() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(5, "multiply", [6, 7]))
    assert out == {"v": 2, "id": 5, "kind": "litebridge.result", "value": 42}


def test_sync_method_exception_becomes_error_envelope_with_traceback() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(6, "divide", [1, 0]))
    assert out["kind"] == "litebridge.error"
    assert out["id"] == 6
    error = out["error"]
    assert error["type"] == "ZeroDivisionError"
    assert error["message"] == "division by zero"
    assert "in divide" in error["stack"]
    assert "return a / b" in error["stack"]
    assert "litebridge/dispatch.py" not in error["stack"]  # the bridge's own frame is left out
    assert "code" not in error


def test_async_method_is_awaited() -> None:
    reg = Registry()
    reg.expose(Example(), name="ex")
    pending = reg.invoke(7, "ex.slow_echo", [{"k": [1, "two"]}])
    assert not isinstance(pending, tuple)
    assert answer(pending)["value"] == {"k": [1, "two"]}


def test_async_method_exception_becomes_error_envelope() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(8, "slow_fail", []))
    assert out["error"]["type"] == "RuntimeError"
    assert out["error"]["message"] == "async failure"
    assert "in slow_fail" in out["error"]["stack"]


def test_bytes_result_is_carried_as_a_buffer() -> None:
    reg = Registry()
    reg.expose(Example())
    text, buffers = reg.invoke(9, "give_bytes", [5])  # type: ignore[misc]
    assert json.loads(text)["value"] == {"$bytes": 0}
    assert [bytes(b) for b in buffers] == [bytes(range(5))]


def test_unencodable_result_is_unserializable_error() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(10, "give_set", []))
    assert out["error"]["code"] == "unserializable"
    assert out["error"]["message"] == "cannot send set at result"


@pytest.mark.parametrize(
    ("method", "code"),
    [("nope", "unknown_method"), ("_private", "forbidden_name"), ("constructor", "forbidden_name")],
)
def test_lookup_failures_become_coded_errors(method: str, code: str) -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(11, method, []))
    assert out["kind"] == "litebridge.error"
    assert out["error"]["code"] == code
    assert repr(method) in out["error"]["message"]


def test_wrong_arity_is_a_python_type_error_answer() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(12, "multiply", [1]))
    assert out["error"]["type"] == "TypeError"
    assert "b" in out["error"]["message"]


def test_args_must_be_a_list() -> None:
    reg = Registry()
    reg.expose(Example())
    out = answer(reg.invoke(13, "multiply", {"a": 1}))
    assert out["error"]["code"] == "bad_request"


# --- issue 7: BaseException, listing without side effects ----------------------------------
class Exits:
    def leave(self) -> None:
        raise SystemExit(3)

    def interrupted(self) -> None:
        raise KeyboardInterrupt

    async def leave_later(self) -> None:
        await asyncio.sleep(0)
        raise SystemExit("bye")


@pytest.mark.parametrize(("method", "etype"), [("leave", "SystemExit"), ("interrupted", "KeyboardInterrupt")])
def test_base_exceptions_of_exposed_methods_are_answered(method: str, etype: str) -> None:
    reg = Registry()
    reg.expose(Exits())
    out = answer(reg.invoke(9, method, []))
    assert out["kind"] == "litebridge.error"
    assert out["error"]["type"] == etype


def test_base_exception_of_an_async_method_is_answered() -> None:
    reg = Registry()
    reg.expose(Exits())
    out = answer(reg.invoke(10, "leave_later", []))
    assert out["error"]["type"] == "SystemExit"
    assert out["error"]["message"] == "bye"


def test_listing_names_runs_no_property_getter() -> None:
    reads: list[str] = []

    class Lazy:
        @property
        def expensive(self) -> int:
            reads.append("expensive")
            return 1

        @staticmethod
        def helper() -> int:
            return 2

        def method(self) -> int:
            return 3

    reg = Registry()
    reg.expose(Lazy(), name="lazy")
    out = answer(reg.invoke(11, "lazy.mistyped", []))
    assert out["error"]["code"] == "unknown_method"
    assert "lazy.helper" in out["error"]["message"]
    assert "lazy.method" in out["error"]["message"]
    assert reads == []


def test_error_answer_with_a_lone_surrogate_is_still_sent() -> None:
    reg = Registry()
    reg.expose(lambda: (_ for _ in ()).throw(ValueError("bad \ud800 text")), name="broken")
    out = answer(reg.invoke(12, "broken", []))
    assert out["error"]["type"] == "ValueError"
    assert out["error"]["message"] == "bad ? text"
