"""Value encoding (protocol section 4), in CPython."""

from __future__ import annotations

import array
import collections
import datetime
import enum
import json
import math

import pytest

from litebridge.codec import decode, decode_envelope, encode, encode_envelope
from litebridge.protocol import MAX_PAYLOAD_BYTES, MAX_SAFE_INTEGER


def round_trip(value: object) -> object:
    text, buffers = encode(value)
    # What crosses the wire: JSON text plus byte copies of the buffers.
    return decode(text, [bytes(b) for b in buffers])


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
        1.5,
        -0.0,
        1e308,
        "",
        "héllo wörld ✓ 🐍",
        "$bytes",
        'quote " and \\ backslash\n',
        [],
        {},
        [1, "a", None, [2, [3, {"k": [4.5]}]]],
        {"a": {"b": {"c": [True, False, None]}}},
        {"$bytes": 0, "other": 1},  # two keys: not a placeholder, sent as is
    ],
)
def test_json_values_round_trip(value: object) -> None:
    assert round_trip(value) == value


def test_tuple_becomes_list() -> None:
    assert round_trip((1, (2, 3))) == [1, [2, 3]]


def test_small_args_are_compact_json_with_no_buffers() -> None:
    text, buffers = encode(["hello", 4])
    assert text == '["hello",4]'
    assert buffers == []


@pytest.mark.parametrize("size", [0, 1, 1000, 1 << 20])
def test_bytes_round_trip_as_buffers(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    text, buffers = encode(["x", data])
    assert json.loads(text) == ["x", {"$bytes": 0}]
    assert len(buffers) == 1
    assert bytes(buffers[0]) == data
    out = decode(text, [bytes(b) for b in buffers])
    assert out == ["x", data]
    assert type(out[1]) is bytes


def test_bytearray_and_memoryview_are_sent_as_bytes() -> None:
    ints = array.array("i", [1, 2, 3])
    value = {"a": bytearray(b"ab"), "b": memoryview(b"cd"), "c": memoryview(ints)}
    text, buffers = encode(value)
    assert [bytes(b) for b in buffers] == [b"ab", b"cd", ints.tobytes()]
    assert decode(text, buffers) == {"a": b"ab", "b": b"cd", "c": ints.tobytes()}


def test_buffers_are_numbered_depth_first_left_to_right() -> None:
    value = [b"0", {"k": [b"1", b"2"]}, b"3"]
    text, buffers = encode(value)
    assert json.loads(text) == [{"$bytes": 0}, {"k": [{"$bytes": 1}, {"$bytes": 2}]}, {"$bytes": 3}]
    assert [bytes(b) for b in buffers] == [b"0", b"1", b"2", b"3"]


def test_the_same_bytes_twice_is_two_buffers() -> None:
    data = b"xyz"
    _, buffers = encode([data, data])
    assert len(buffers) == 2


@pytest.mark.parametrize(
    "value",
    [
        {"$bytes": 3},
        {"$escape": "x"},
        {"$escape": {"$bytes": 1}},
        [{"$bytes": {"$escape": {}}}],
    ],
)
def test_marker_lookalikes_are_escaped_and_restored(value: object) -> None:
    text, buffers = encode(value)
    assert buffers == []
    assert "$escape" in text
    assert decode(text, []) == value


def test_escape_wraps_only_the_lookalike() -> None:
    text, _ = encode({"$bytes": b"real"})
    assert json.loads(text) == {"$escape": {"$bytes": {"$bytes": 0}}}
    assert decode(text, [b"real"]) == {"$bytes": b"real"}


def test_subclasses_of_json_types_are_sent_as_base_types() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    class Name(enum.StrEnum):
        ADA = "ada"

    point = collections.namedtuple("point", "x y")
    value = [Colour.RED, Name.ADA, point(1, 2), collections.OrderedDict(a=1), collections.defaultdict(list)]
    text, _ = encode(value)
    assert text == '[1,"ada",[1,2],{"a":1},{}]'


def _fn() -> None: ...


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, {"k": {1, 2}}], "cannot send set at args[1]['k']"),
        ([_fn], "cannot send function at args[0]"),
        ([lambda: 0], "cannot send function at args[0]"),
        ([1, 2, [3, print]], "cannot send builtin_function_or_method at args[2][1]"),
        ([datetime.date(2024, 1, 1)], "cannot send date at args[0]"),
        ([object()], "cannot send object at args[0]"),
        ([frozenset()], "cannot send frozenset at args[0]"),
        ([1j], "cannot send complex at args[0]"),
        ([{"a": [{"b": type}]}], "cannot send type at args[0]['a'][0]['b']"),
        ([math.nan], "cannot send float nan at args[0] (strict JSON has no NaN or Infinity)"),
        ({"x": math.inf}, "cannot send float inf at args['x']"),
        ([[-math.inf]], "cannot send float -inf at args[0][0]"),
        ([2**53], "cannot send int 9007199254740992 at args[0] (outside the safe integer range"),
        ({"k": [-(2**53)]}, "cannot send int -9007199254740992 at args['k'][0]"),
        ([{1: "a"}], "cannot send dict key 1 of type int at args[0] (object keys must be str)"),
        ([{("t",): 1}], "cannot send dict key ('t',) of type tuple at args[0]"),
        ([{None: 1}], "cannot send dict key None of type NoneType at args[0]"),
    ],
)
def test_refused_values_name_type_and_path(value: object, message: str) -> None:
    with pytest.raises(TypeError) as info:
        encode(value)
    assert str(info.value).startswith(message), str(info.value)


def test_root_name_is_used_in_paths() -> None:
    with pytest.raises(TypeError, match=r"^cannot send set at result\['k'\]$"):
        encode({"k": set()}, root="result")


def test_bool_is_not_mistaken_for_int_range_or_class_instance() -> None:
    assert encode([True, False])[0] == "[true,false]"


def test_non_contiguous_memoryview_is_refused() -> None:
    view = memoryview(bytes(range(10)))[::2]
    with pytest.raises(TypeError, match=r"^cannot send memoryview at args\[0\] \(not contiguous"):
        encode([view])


def test_cycle_in_list_is_refused_where_it_closes() -> None:
    outer: list[object] = [1]
    inner: list[object] = [outer]
    outer.append({"k": inner})
    with pytest.raises(TypeError, match=r"^cannot send list at args\[0\]\[1\]\['k'\]\[0\] \(cyclic"):
        encode([outer])


def test_cycle_in_dict_is_refused() -> None:
    d: dict[str, object] = {}
    d["self"] = d
    with pytest.raises(TypeError, match=r"^cannot send dict at args\['self'\] \(cyclic"):
        encode(d)


def test_shared_subtree_without_cycle_is_allowed() -> None:
    shared = [1, 2]
    assert round_trip([shared, {"again": shared}]) == [[1, 2], {"again": [1, 2]}]


def test_envelope_encoding_walks_only_the_value_field() -> None:
    env = {"v": 2, "id": 7, "kind": "litebridge.call", "method": "m", "args": ("a", b"b"), "sync": False}
    text, buffers = encode_envelope(env, "args", "args")
    assert json.loads(text) == {
        "v": 2,
        "id": 7,
        "kind": "litebridge.call",
        "method": "m",
        "args": ["a", {"$bytes": 0}],
        "sync": False,
    }
    assert buffers == [b"b"]
    decoded = decode_envelope(text, buffers)
    assert decoded["args"] == ["a", b"b"]


def test_envelope_value_error_path_starts_at_root() -> None:
    env = {"v": 2, "id": 1, "kind": "litebridge.result", "value": [1, {"x": {1}}]}
    with pytest.raises(TypeError, match=r"^cannot send set at result\[1\]\['x'\]$"):
        encode_envelope(env, "value", "result")


def test_decode_restores_escapes_inside_envelope_value() -> None:
    text = '{"v":2,"id":2,"kind":"litebridge.result","value":{"$escape":{"$bytes":{"$bytes":0}}}}'
    assert decode_envelope(text, [b"zz"])["value"] == {"$bytes": b"zz"}


def test_decode_unicode_escaped_dollar_is_still_a_placeholder() -> None:
    assert decode('{"\\u0024bytes":0}', [b"q"]) == b"q"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[NaN]", "NaN is not strict JSON"),
        ("[Infinity]", "Infinity is not strict JSON"),
        ("[-Infinity]", "-Infinity is not strict JSON"),
        ('{"$bytes": 1}', r"bad frame: \{'\$bytes': 1\} with 1 buffers"),
        ('{"$bytes": "0"}', "bad frame"),
        ('{"$escape": 3}', "'\\$escape' must hold an object"),
        ("[1,", "Expecting value"),
    ],
)
def test_decode_refuses_bad_input(text: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        decode(text, [b"only one"])


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[]", "not a JSON object"),
        ('{"id":1,"kind":"x"}', "needs an int 'v'"),
        ('{"v":2,"id":"1","kind":"x"}', "needs an int 'v'"),
        ('{"v":2,"id":1,"kind":3}', "needs an int 'v'"),
        ("nope", "Expecting value"),
    ],
)
def test_decode_envelope_refuses_malformed_envelopes(text: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        decode_envelope(text)


# --- issue 7: lone surrogates, the size limit ------------------------------------------------
@pytest.mark.parametrize(
    ("value", "path"),
    [
        (["ok", "\ud800"], "args[1]"),
        ([{"k": ["x\udc00"]}], "args[0]['k'][0]"),
        ([{"\ud83d": 1}], "args[0]['\\ud83d']"),
    ],
)
def test_lone_surrogates_are_refused_with_their_path(value: object, path: str) -> None:
    with pytest.raises(TypeError, match="lone surrogate") as info:
        encode(value)
    assert f"at {path} " in str(info.value)
    with pytest.raises(TypeError, match="lone surrogate"):
        encode_envelope({"v": 2, "id": 1, "kind": "litebridge.call", "method": "m", "args": value}, "args")


def test_surrogate_pairs_from_json_are_fine() -> None:
    text, _ = encode(["😀", "é"])
    assert decode(text) == ["😀", "é"]


def test_frames_over_the_limit_are_refused_before_sending() -> None:
    half = bytes(MAX_PAYLOAD_BYTES // 2 + 1)
    with pytest.raises(ValueError, match=f"over the limit of {MAX_PAYLOAD_BYTES} bytes"):
        encode_envelope({"v": 2, "id": 1, "kind": "litebridge.call", "method": "m", "args": [half, half]}, "args")
    _, buffers = encode([half])  # one half is fine
    assert len(buffers) == 1


def test_plain_json_arguments_skip_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    from litebridge import codec

    class NoWalk:
        def __init__(self) -> None:
            raise AssertionError("plain JSON arguments must not be walked")

    small = {"op": "echo", "n": 42, "x": 1.5, "s": "héllo", "ok": True, "none": None, "list": [1, [2, {"a": -0.0}]]}
    env = {"v": 2, "id": 3, "kind": "litebridge.call", "method": "m", "args": (small, [small]), "sync": True}
    with monkeypatch.context() as patch:
        patch.setattr(codec, "_Encoder", NoWalk)
        text, buffers = encode_envelope(env, "args", "args")
    assert buffers == []
    assert json.loads(text)["args"] == json.loads(json.dumps([small, [small]]))


@pytest.mark.parametrize("value", [{"op": "echo", "n": 42, "x": 1.5, "s": "héllo", "ok": True}, "text", 7, None, []])
def test_plain_json_results_skip_the_walk(monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    # a result is a dict or a scalar more often than a list (k.call answers, window reads)
    from litebridge import codec

    class NoWalk:
        def __init__(self) -> None:
            raise AssertionError("a plain JSON result must not be walked")

    env = {"v": 2, "id": 3, "kind": "litebridge.result", "value": value}
    with monkeypatch.context() as patch:
        patch.setattr(codec, "_Encoder", NoWalk)
        text, buffers = encode_envelope(env, "value", "result")
    assert buffers == []
    assert json.loads(text) == env


@pytest.mark.parametrize(
    ("value", "expected", "error"),
    [
        ({"$bytes": 1}, {"$escape": {"$bytes": 1}}, None),
        ({"k": b"x"}, {"k": {"$bytes": 0}}, None),
        (collections.OrderedDict(a=1), {"a": 1}, None),
        (2**53, None, r"cannot send int 9007199254740992 at result"),
        ({"k": "\ud800"}, None, r"lone surrogate at result\['k'\]"),
    ],
)
def test_results_off_the_fast_path_are_still_converted_or_refused(
    value: object, expected: object, error: str | None
) -> None:
    env = {"v": 2, "id": 3, "kind": "litebridge.result", "value": value}
    if error is not None:
        with pytest.raises((TypeError, ValueError), match=error):
            encode_envelope(env, "value", "result")
        return
    text, _ = encode_envelope(env, "value", "result")
    assert json.loads(text)["value"] == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (({"$bytes": 1},), [{"$escape": {"$bytes": 1}}]),
        (({"k": b"x"},), [{"k": {"$bytes": 0}}]),
        (({"k": collections.OrderedDict(a=1)},), [{"k": {"a": 1}}]),
        (([True, 2**53 - 1, "s"],), [[True, 2**53 - 1, "s"]]),
    ],
)
def test_arguments_off_the_fast_path_are_still_converted(args: tuple[object, ...], expected: object) -> None:
    env = {"v": 2, "id": 3, "kind": "litebridge.call", "method": "m", "args": args, "sync": True}
    text, _ = encode_envelope(env, "args", "args")
    assert json.loads(text)["args"] == expected


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ({"k": [float("nan")]}, r"cannot send float nan at args\[0\]\['k'\]\[0\]"),
        ({"k": 2**53}, r"cannot send int 9007199254740992 at args\[0\]\['k'\]"),
        ({"k": {1: 2}}, r"cannot send dict key 1 of type int at args\[0\]\['k'\]"),
        ({"k": "\ud800"}, r"lone surrogate at args\[0\]\['k'\]"),
    ],
)
def test_arguments_off_the_fast_path_are_still_refused(value: object, pattern: str) -> None:
    env = {"v": 2, "id": 3, "kind": "litebridge.call", "method": "m", "args": (value,), "sync": True}
    with pytest.raises(TypeError, match=pattern):
        encode_envelope(env, "args", "args")


def test_deep_or_cyclic_arguments_fall_back_to_the_walk() -> None:
    deep: object = 1
    for _ in range(100):
        deep = {"d": deep}
    env = {"v": 2, "id": 3, "kind": "litebridge.call", "method": "m", "args": (deep,), "sync": True}
    text, _ = encode_envelope(env, "args", "args")
    assert json.loads(text)["args"] == [json.loads(json.dumps(deep))]
    cyclic: list[object] = []
    cyclic.append(cyclic)
    env["args"] = (cyclic,)
    with pytest.raises(TypeError, match=r"cyclic: it contains itself"):
        encode_envelope(env, "args", "args")
