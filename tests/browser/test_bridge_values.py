"""Values and volume through the real bridge: binary up to 64 MiB, nested bytes, many calls.

Both header modes (``sab`` and ``jspi``). Binary payloads are random (seeded) so that a
misordered or repeated chunk changes the hash; equality is checked with SHA-256 on the side
that holds both copies, never by printing the data.
"""

from __future__ import annotations

import pytest
from bridge_helpers import js_call, page_run, setup_bridge
from harness import LiteKernel

MIB = 1024 * 1024
SIZES = [pytest.param(0, id="0B"), pytest.param(MIB, id="1MiB"), pytest.param(64 * MIB, id="64MiB")]
#: seconds allowed for one 64 MiB round trip (a bound for the wait, not a timing assertion)
BIG_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def bridged(kernel: LiteKernel) -> LiteKernel:
    """The module's kernel with litebridge set up, plus a few helpers for this module."""
    setup_bridge(kernel)
    kernel.run(
        "import asyncio, hashlib, random\n"
        "page.register('{ add(a, b) { return a + b; } }')\n"
        "def payload(size, seed):\n"
        "    return random.Random(seed).randbytes(size)\n"
        "def sha(data):\n"
        "    return hashlib.sha256(data).hexdigest()\n"
        "class Binary:\n"
        "    def kinds(self, *args):\n"
        "        return [[type(a).__name__, list(a) if isinstance(a, bytes) else a] for a in args]\n"
        "    def digest(self, data):\n"
        "        return [type(data).__name__, len(data), sha(data)]\n"
        "    def make(self):\n"
        "        return {'b': b'\\x00\\xff', 'ba': bytearray(b'ab'), 'mv': memoryview(b'xyz'), 'l': [b'', b'1']}\n"
        "page.expose(Binary(), name='bin')\n"
    )
    return kernel


# --- binary, Python -> page -> Python -------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("how", ["call_sync", "await call"])
def test_bytes_round_trip(bridged: LiteKernel, size: int, how: str) -> None:
    call = "page.call_sync" if how == "call_sync" else "await page.call"
    code = (
        f"data = payload({size}, {size + 1})\n"
        f"seen = {call}('describe', data, timeout={BIG_TIMEOUT_S})\n"
        f"back = {call}('echo', data, timeout={BIG_TIMEOUT_S})\n"
        "checked = [type(back).__name__, len(back), sha(back) == sha(data), seen]\n"
        "del data, back\n"
    )
    bridged.run(code, timeout_s=2 * BIG_TIMEOUT_S)
    assert bridged.value("checked") == ["bytes", size, True, f"Uint8Array({size})"]


def test_bytes_answers_stay_intact_after_later_calls(bridged: LiteKernel) -> None:
    # The worker reads the binary values of call_sync answers into one reused scratch buffer
    # (js/src/worker/scratch.ts): every answer's bytes must be Python's own copy.
    code = (
        "firsts = [payload(3 * 1024 + i, i) for i in range(3)]\n"
        "backs = [page.call_sync('echo', [data, [data[:7]]]) for data in firsts]\n"
        "later = page.call_sync('echo', payload(5 * 1024, 99))\n"
        "kept = [[sha(b[0]) == sha(d), b[1] == [d[:7]], type(b[0]).__name__] for b, d in zip(backs, firsts)]\n"
    )
    bridged.run(code)
    assert bridged.value("kept") == [[True, True, "bytes"]] * 3


def test_bytes_nested_in_lists_and_dicts(bridged: LiteKernel) -> None:
    value = "{'a': [b'x', {'b': bytearray(b'yz')}], 'm': memoryview(b'q'), 'e': b'', 'n': 1}"
    expected_shape = {
        "a": ["Uint8Array(1)", {"b": "Uint8Array(2)"}],
        "m": "Uint8Array(1)",
        "e": "Uint8Array(0)",
        "n": "number",
    }
    assert bridged.value(f"page.call_sync('describe', {value})") == expected_shape
    for call in ("page.call_sync", "await page.call"):
        bridged.run(f"back = {call}('echo', {value})")
        assert bridged.value("back == {'a': [b'x', {'b': b'yz'}], 'm': b'q', 'e': b'', 'n': 1}") is True, call
        assert bridged.value("[type(back['a'][0]).__name__, type(back['a'][1]['b']).__name__]") == ["bytes", "bytes"]


def test_page_binary_values_arrive_as_bytes(bridged: LiteKernel) -> None:
    # a handler result made of Uint8Array, ArrayBuffer and another typed array
    bridged.run("made = await page.call('makeBinary')")
    assert bridged.value("{k: type(v).__name__ for k, v in made.items()}") == {
        "u8": "bytes",
        "ab": "bytes",
        "i16": "bytes",
        "nested": "list",
        "empty": "bytes",
    }
    assert bridged.value("[list(made['u8']), list(made['ab']), len(made['empty']), list(made['nested'][0])]") == [
        [1, 2, 3],
        [4, 5],
        0,
        [9],
    ]
    assert bridged.value("made['i16'] == bytes([1, 0, 255, 255])") is True  # little-endian int16 1, -1


def test_page_binary_arguments_arrive_as_bytes(bridged: LiteKernel) -> None:
    result = page_run(
        bridged.page,
        bridged.id,
        "return await k.call('bin.kinds', new Uint8Array([1, 2]), new Uint8Array([3]).buffer,"
        " new Uint8Array([0, 1, 2, 3]).subarray(1, 3), { nested: [new Uint8Array([9])] });",
    )
    assert result == {
        "ok": True,
        "value": [["bytes", [1, 2]], ["bytes", [3]], ["bytes", [1, 2]], ["dict", {"nested": [{"u8": [9]}]}]],
    }


def test_python_binary_results_arrive_as_uint8array(bridged: LiteKernel) -> None:
    result = page_run(
        bridged.page,
        bridged.id,
        "const v = await k.call('bin.make');"
        " return [v.b instanceof Uint8Array, v.ba instanceof Uint8Array, v.mv instanceof Uint8Array, v];",
    )
    assert result == {
        "ok": True,
        "value": [
            True,
            True,
            True,
            {
                "b": {"u8": [0, 255]},
                "ba": {"u8": [97, 98]},
                "mv": {"u8": [120, 121, 122]},
                "l": [{"u8": []}, {"u8": [49]}],
            },
        ],
    }


@pytest.mark.parametrize("size", [pytest.param(MIB, id="1MiB"), pytest.param(64 * MIB, id="64MiB")])
def test_large_page_bytes_reach_python(bridged: LiteKernel, size: int) -> None:
    result = page_run(
        bridged.page,
        bridged.id,
        "const data = new Uint8Array(arg);"
        " for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));"
        " const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');"
        " const expected = hex(await crypto.subtle.digest('SHA-256', data));"
        f" const got = await k.invoke('bin.digest', [data], {{ timeoutMs: {BIG_TIMEOUT_S * 1000} }});"
        " return [got[0], got[1], got[2] === expected];",
        size,
    )
    assert result == {"ok": True, "value": ["bytes", size, True]}


# --- volume ------------------------------------------------------------------------------------------


def test_1000_sequential_call_sync(bridged: LiteKernel) -> None:
    code = (
        "import statistics, time\n"
        "results, durations = [], []\n"
        "for i in range(1000):\n"
        "    started = time.perf_counter()\n"
        "    results.append(page.call_sync('add', i, 1))\n"
        "    durations.append(time.perf_counter() - started)\n"
        "print(f'{litebridge.transport}: 1000 call_sync in {sum(durations):.3f} s, '\n"
        "      f'p50 {statistics.median(durations) * 1e6:.0f} us')\n"
    )
    print(bridged.run(code, timeout_s=300).strip())  # informational (run with -s to see it)
    assert bridged.value("results == list(range(1, 1001))") is True


def test_200_concurrent_await_call(bridged: LiteKernel) -> None:
    # varied delays: the answers come back out of order and must still match their calls
    code = "results = await asyncio.gather(*(page.call('later', {'i': i}, (i * 37) % 23) for i in range(200)))\n"
    bridged.run(code, timeout_s=120)
    assert bridged.value("results == [{'i': i} for i in range(200)]") is True


def test_200_concurrent_page_calls(bridged: LiteKernel) -> None:
    result = page_run(
        bridged.page,
        bridged.id,
        "const calls = Array.from({ length: 200 }, (_, i) => i % 2"
        "  ? k.call('multiply', i, 3)"
        "  : k.call('slow_echo', { i }, ((i * 37) % 23) / 1000));"
        " const results = await Promise.all(calls);"
        " return results.every((r, i) => i % 2 ? r === i * 3 : r.i === i) ? results.length : results;",
    )
    assert result == {"ok": True, "value": 200}


def test_still_serving_after_volume(bridged: LiteKernel) -> None:
    assert js_call(bridged.page, bridged.id, "multiply", 6, 7) == {"ok": True, "value": 42}
    assert bridged.value("page.call_sync('indentLeft', 'ok', 1)") == " ok"
