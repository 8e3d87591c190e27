"""Output printed while serving a page call goes to the sink, never into the running cell."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from litebridge import _call_output
from litebridge._call_output import CallOutputStream, mark_page_call, unmark_page_call


@contextmanager
def page_call(method: str) -> Iterator[None]:
    """Serve-like marking: what ``Page._serve`` does around an exposed method."""
    token = mark_page_call(method)
    try:
        yield
    finally:
        unmark_page_call(token)


Captured = tuple[io.StringIO, list[tuple[str, str, str]], CallOutputStream]


@pytest.fixture
def captured() -> Captured:
    """A stdout wrapper over a StringIO, with a sink that records its lines."""
    inner = io.StringIO()
    lines: list[tuple[str, str, str]] = []
    stream = CallOutputStream(inner, "stdout", lambda name, method, line: lines.append((name, method, line)))
    return inner, lines, stream


def test_outside_a_page_call_text_goes_to_the_wrapped_stream(captured: Captured) -> None:
    inner, lines, stream = captured
    print("cell output", file=stream)
    assert inner.getvalue() == "cell output\n"
    assert lines == []


def test_inside_a_page_call_complete_lines_go_to_the_sink(captured: Captured) -> None:
    inner, lines, stream = captured
    with page_call("noisy"):
        print("first", file=stream)
        stream.write("par")
        stream.write("tial\nlast")
    assert inner.getvalue() == ""
    assert lines == [("stdout", "noisy", "first"), ("stdout", "noisy", "partial")]
    with page_call("noisy"):
        stream.write("\n")
    assert lines[-1] == ("stdout", "noisy", "last")


def test_an_async_page_call_does_not_capture_a_concurrent_cell(captured: Captured) -> None:
    inner, lines, stream = captured

    async def exposed() -> None:
        await asyncio.sleep(0)
        print("from the call", file=stream)
        await asyncio.sleep(0)

    async def cell() -> None:
        with page_call("exposed"):
            task = asyncio.ensure_future(exposed())  # created inside: the task inherits the mark
        print("cell before", file=stream)
        await asyncio.sleep(0)
        print("cell after", file=stream)
        await task

    asyncio.run(cell())
    assert inner.getvalue() == "cell before\ncell after\n"
    assert lines == [("stdout", "exposed", "from the call")]


def test_install_wraps_stdout_and_stderr_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    lines: list[tuple[str, str, str]] = []
    _call_output.install(lambda name, method, line: lines.append((name, method, line)))
    _call_output.install(lambda name, method, line: None)
    assert isinstance(sys.stdout, CallOutputStream)
    assert sys.stdout.inner is out
    assert isinstance(sys.stderr, CallOutputStream)
    assert sys.stderr.inner is err
    with page_call("m"):
        print("to the console", file=sys.stderr)
    print("to the cell")
    assert lines == [("stderr", "m", "to the console")]
    assert out.getvalue() == "to the cell\n"
    assert sys.stdout.getvalue() == "to the cell\n"  # other attributes reach the wrapped stream
