"""The worker side of the interrupt (litebridge/_interrupt.py and the IPython startup file), in CPython.

Pyodide's ``js``, ``pyodide_js`` and ``pyodide.ffi`` are replaced by small fakes that record
what is done to them; the real thing runs in tests/browser/test_interrupt.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any

import pytest

from litebridge import _interrupt

STARTUP_FILE = Path(__file__).resolve().parents[2] / "py" / "ipython_startup" / "50-litebridge-interrupt.py"

# Fakes of the Pyodide modules as files, for the startup file run in a fresh interpreter.
_FAKES = {
    "js.py": """
        crossOriginIsolated = True
        posted = []
        def postMessage(message):
            posted.append(message)
        class SharedArrayBuffer:
            @staticmethod
            def new(size):
                return bytearray(size)
        class Int32Array:
            @staticmethod
            def new(buffer):
                return [0] * (len(buffer) // 4)
        class Object:
            @staticmethod
            def fromEntries(entries):
                return dict(entries)
    """,
    "pyodide_js.py": """
        registered = []
        class _module:
            Py_EmscriptenSignalBuffer = None
        def setInterruptBuffer(buffer):
            registered.append(buffer)
            _module.Py_EmscriptenSignalBuffer = buffer
        def checkInterrupt():
            pass
    """,
    "pyodide/__init__.py": "",
    "pyodide/ffi.py": """
        def to_js(value, dict_converter=None):
            return dict_converter(value.items())
    """,
}


def _run_startup(tmp_path: Path, extra: str = "", with_package: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the startup file in a fresh interpreter with the fakes, then print what happened."""
    for name, text in _FAKES.items():
        path = tmp_path / "fakes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    package_dir = str(STARTUP_FILE.parents[1]) if with_package else str(tmp_path / "empty")
    script = textwrap.dedent(f"""
        import sys, time, json
        sys.path[:0] = [{str(tmp_path / "fakes")!r}, {package_dir!r}]
        {extra}
        namespace = {{"__name__": "__main__"}}
        exec(compile(open({str(STARTUP_FILE)!r}).read(), "startup", "exec"), namespace)
        import js, pyodide_js
        print(json.dumps({{
            "litebridge_imported": "litebridge" in sys.modules,
            "interrupt_loaded": "litebridge._interrupt" in sys.modules,
            "names_left": sorted(k for k in namespace if not k.startswith("__")),
            "posted": [{{k: v for k, v in m.items() if k != "buffer"}} for m in js.posted],
            "registered": len(pyodide_js.registered),
            "sleep_replaced": time.sleep.__name__ == "interruptible_sleep",
        }}))
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)


def test_startup_file_enables_the_interrupt_without_importing_litebridge(tmp_path: Path) -> None:
    import json

    result = _run_startup(tmp_path)
    report = json.loads(result.stdout)
    assert report == {
        "litebridge_imported": False,  # importing litebridge would connect the kernel to the page
        "interrupt_loaded": True,
        "names_left": [],
        "posted": [{"v": 1, "id": 0, "kind": "litebridge.interrupt"}],
        "registered": 1,
        "sleep_replaced": True,
    }
    assert result.stderr == ""


def test_startup_file_without_litebridge_installed_does_nothing(tmp_path: Path) -> None:
    import json

    result = _run_startup(tmp_path, with_package=False)
    report = json.loads(result.stdout)
    assert report["posted"] == []
    assert report["interrupt_loaded"] is False
    assert result.stderr == ""


def test_startup_file_never_breaks_the_kernel(tmp_path: Path) -> None:
    import json

    result = _run_startup(tmp_path, extra="import js; js.postMessage = None")
    report = json.loads(result.stdout)
    assert report["interrupt_loaded"] is False
    assert "litebridge: keyboard interrupt not enabled: TypeError" in result.stderr


# --- in-process: enable() and interruptible_sleep() with fake modules -------------------------


class _FakeBuffer(list[int]):
    length = 1


@pytest.fixture
def fake_pyodide(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Fake js / pyodide_js / pyodide.ffi in sys.modules; restores time.sleep and the module state."""
    state = types.SimpleNamespace(posted=[], registered=[], waits=[], checks=0, existing=None, on_wait=None)

    def wait(buffer: Any, index: int, value: int, timeout_ms: float) -> str:
        state.waits.append(timeout_ms)
        if state.on_wait is not None:
            state.on_wait(buffer)
        return "timed-out"

    js = types.ModuleType("js")
    js.crossOriginIsolated = True  # type: ignore[attr-defined]
    js.SharedArrayBuffer = types.SimpleNamespace(new=bytearray)  # type: ignore[attr-defined]
    js.Int32Array = types.SimpleNamespace(new=lambda buf: _FakeBuffer([0]))  # type: ignore[attr-defined]
    js.Object = types.SimpleNamespace(fromEntries=dict)  # type: ignore[attr-defined]
    js.postMessage = state.posted.append  # type: ignore[attr-defined]
    js.Atomics = types.SimpleNamespace(wait=wait)  # type: ignore[attr-defined]

    def check() -> None:
        state.checks += 1
        buffer = _interrupt.interrupt_buffer()
        if buffer[0] == 2:
            buffer[0] = 0
            raise KeyboardInterrupt

    pyodide_js = types.ModuleType("pyodide_js")
    pyodide_js._module = types.SimpleNamespace(Py_EmscriptenSignalBuffer=None)  # type: ignore[attr-defined]
    pyodide_js.setInterruptBuffer = state.registered.append  # type: ignore[attr-defined]
    pyodide_js.checkInterrupt = check  # type: ignore[attr-defined]
    ffi = types.ModuleType("pyodide.ffi")
    ffi.to_js = lambda value, dict_converter: dict_converter(value.items())  # type: ignore[attr-defined]
    pyodide = types.ModuleType("pyodide")
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    for name, module in {"js": js, "pyodide_js": pyodide_js, "pyodide": pyodide, "pyodide.ffi": ffi}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(time, "sleep", time.sleep)
    monkeypatch.setattr(_interrupt._state, "buffer", None)
    state.js = js
    state.pyodide_js = pyodide_js
    return state


def test_enable_registers_one_buffer_and_announces_it_each_time(fake_pyodide: types.SimpleNamespace) -> None:
    first = _interrupt.enable()
    assert fake_pyodide.registered == [first]
    fake_pyodide.pyodide_js._module.Py_EmscriptenSignalBuffer = first  # what setInterruptBuffer does
    second = _interrupt.enable()
    assert second is first, "a second call keeps the registered buffer"
    assert fake_pyodide.registered == [first]
    assert [m["kind"] for m in fake_pyodide.posted] == ["litebridge.interrupt"] * 2
    assert fake_pyodide.posted[0]["buffer"] is first
    assert time.sleep is _interrupt.interruptible_sleep


def test_enable_keeps_a_buffer_someone_else_registered(fake_pyodide: types.SimpleNamespace) -> None:
    theirs = _FakeBuffer([0])
    fake_pyodide.pyodide_js._module.Py_EmscriptenSignalBuffer = theirs
    assert _interrupt.enable() is theirs
    assert fake_pyodide.registered == []
    assert fake_pyodide.posted[0]["buffer"] is theirs


def test_enable_without_isolation_does_nothing(fake_pyodide: types.SimpleNamespace) -> None:
    fake_pyodide.js.crossOriginIsolated = False
    assert _interrupt.enable() is None
    assert fake_pyodide.posted == []
    assert fake_pyodide.registered == []
    assert time.sleep is not _interrupt.interruptible_sleep


def test_interruptible_sleep_raises_keyboard_interrupt(fake_pyodide: types.SimpleNamespace) -> None:
    _interrupt.enable()

    def sigint(buffer: Any) -> None:
        if len(fake_pyodide.waits) == 1:
            buffer[0] = _interrupt.SIGINT

    fake_pyodide.on_wait = sigint
    with pytest.raises(KeyboardInterrupt):
        time.sleep(60)
    assert fake_pyodide.waits[0] == pytest.approx(60_000, rel=0.01)
    assert fake_pyodide.checks == 1


def test_interruptible_sleep_returns_after_the_duration(fake_pyodide: types.SimpleNamespace) -> None:
    _interrupt.enable()
    started = time.monotonic()
    fake_pyodide.on_wait = lambda buffer: _interrupt._native_sleep(0.02)
    time.sleep(0.05)
    assert time.monotonic() - started >= 0.05
    assert fake_pyodide.checks == 0


@pytest.mark.parametrize(("seconds", "error"), [(-1, ValueError), ("1", TypeError), (float("nan"), ValueError)])
def test_interruptible_sleep_refuses_what_time_sleep_refuses(
    fake_pyodide: types.SimpleNamespace, seconds: Any, error: type[Exception]
) -> None:
    _interrupt.enable()
    with pytest.raises(error):
        time.sleep(seconds)
    assert fake_pyodide.waits == []


def test_kind_matches_the_protocol_module() -> None:
    from litebridge import protocol

    assert protocol.KIND_INTERRUPT == _interrupt.KIND_INTERRUPT


def test_on_sigint_raises_only_in_the_running_cells_task(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = _FakeBuffer([0])
    cell, other = object(), object()
    monkeypatch.setattr(_interrupt._state, "buffer", buffer)
    monkeypatch.setattr(_interrupt._state, "tracking", True)
    monkeypatch.setattr(_interrupt._state, "cell_task", cell)
    current: list[object | None] = [cell]
    monkeypatch.setattr(_interrupt, "_current_task", lambda: current[0])
    with pytest.raises(KeyboardInterrupt):
        _interrupt.on_sigint(2, None)
    assert buffer[0] == 0
    for elsewhere in (None, other):  # the event loop's machinery, or another task: dropped
        current[0] = elsewhere
        _interrupt.on_sigint(2, None)
        assert buffer[0] == 0
    monkeypatch.setattr(_interrupt._state, "cell_task", _interrupt.NO_CELL)  # between cells: dropped
    _interrupt.on_sigint(2, None)
    assert buffer[0] == 0
    monkeypatch.setattr(_interrupt._state, "cell_task", None)  # a cell outside any task: raised
    with pytest.raises(KeyboardInterrupt):
        _interrupt.on_sigint(2, None)
    monkeypatch.setattr(_interrupt._state, "tracking", False)  # no IPython: Python's default
    with pytest.raises(KeyboardInterrupt):
        _interrupt.on_sigint(2, None)
