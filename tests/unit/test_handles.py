"""The kernel's reference tables (protocol section 13) and JSHandle lifetime, without a browser."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from litebridge import BridgeClosed, JSHandle
from litebridge._handles import HandleTable
from litebridge.codec import decode_envelope, encode_envelope


def make_table() -> tuple[HandleTable[JSHandle], list[int]]:
    queued: list[int] = []
    table: HandleTable[JSHandle] = HandleTable(JSHandle, lambda: queued.append(1))
    return table, queued


def test_one_live_handle_per_id_with_receive_counts() -> None:
    table, queued = make_table()
    first = table.import_handle([3, "HTMLButtonElement"])
    again = table.import_handle([3, "HTMLButtonElement"])
    assert first is again
    assert repr(first) == "<JSHandle HTMLButtonElement>"
    assert table.counts == {"handles": 1, "objects": 0, "queued": 0}
    first.release()
    first.release()  # idempotent
    assert table.take_releases() == [[3, 2]]  # both receipts released at once
    assert queued == [1]
    assert table.counts == {"handles": 0, "objects": 0, "queued": 0}
    assert repr(first) == "<JSHandle HTMLButtonElement (released)>"


def test_window_is_id_zero_and_never_released() -> None:
    table, _ = make_table()
    assert table.import_handle([0, "Window"]) is table.window
    table.window.release()
    assert table.take_releases() == []


def test_garbage_collected_handles_are_released() -> None:
    table, _ = make_table()
    for handle_id in range(1, 1001):
        table.import_handle([handle_id, "HTMLDivElement"])  # dropped at once
    gc.collect()
    assert table.counts["handles"] == 0
    releases = table.take_releases()
    assert sorted(pair[0] for pair in releases) == list(range(1, 1001))
    assert all(pair[1] == 1 for pair in releases)


def test_a_stale_finalizer_does_not_release_a_newer_handle_of_the_same_id() -> None:
    table, _ = make_table()
    old = table.import_handle([5, "Event"])
    serial = old._lb_serial
    old.release()
    new = table.import_handle([5, "Event"])
    table.release_handle(5, serial)  # a late finalizer of the old one
    assert table.counts["handles"] == 1
    assert table.export(new) == {"$handle": [5, ""]}
    with pytest.raises(ReferenceError, match="was released"):
        table.export(old)


def test_callables_are_exported_once_with_send_counts() -> None:
    table, _ = make_table()

    def on_click(event: object) -> None:
        pass

    tag = table.export(on_click)
    assert tag == {"$py": [1, "function"]}
    assert table.export(on_click) == tag  # same id: removeEventListener finds the listener
    assert table.export({1, 2}) == {"$py": [2, "set", "object"]}  # not callable: an object of methods
    assert table.lookup([1, "function"]) is on_click
    table.release_objects([[1, 1]])
    assert table.lookup(1) is on_click  # one send is still held by the page
    table.release_objects([[1, 1], "junk", [99, 1], [2, 1]])
    with pytest.raises(BridgeClosed, match="Python object 1 was released"):
        table.lookup(1)
    assert table.counts["objects"] == 0
    assert table.export(on_click) == {"$py": [3, "function"]}  # a fresh id afterwards


def test_malformed_handle_tags_are_bad_frames() -> None:
    table, _ = make_table()
    for bad in ([1], ["1", "X"], [-1, "X"], 1, [1, 2]):
        with pytest.raises(ValueError, match="malformed \\$handle"):
            table.import_handle(bad)


def test_codec_round_trip_with_references() -> None:
    table, _ = make_table()
    handle = table.import_handle([7, "HTMLElement"])

    def callback() -> int:
        return 1

    envelope = {"v": 2, "id": 1, "kind": "litebridge.op", "args": [handle, callback, {"$py": 1}, b"\x01"]}
    text, buffers = encode_envelope(envelope, "args", "args", exporter=table.export)
    wire: dict[str, Any] = decode_envelope(text, buffers, importer=lambda key, value: {"@" + key: value})
    assert wire["args"] == [
        {"@$handle": [7, ""]},
        {"@$py": [1, "function"]},
        {"$py": 1},  # application data shaped like a tag is escaped, and comes back as data
        b"\x01",
    ]
    with pytest.raises(TypeError, match="cannot send JSHandle at args\\[0\\]"):
        encode_envelope(envelope, "args", "args")  # without an exporter: values only


def test_handle_operations_without_a_page_raise_bridge_unavailable() -> None:
    import litebridge

    with pytest.raises(litebridge.BridgeUnavailable):
        litebridge.window.document  # noqa: B018 - the read is the test
