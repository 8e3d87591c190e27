"""A kernel reply the page reads while the worker is still writing it (coincident 1.x, COOP/COEP).

With COOP/COEP the page calls the kernel's worker (``execute`` and the rest of its API) through
coincident 1.x: the worker writes the reply as UTF-16 text into a SharedArrayBuffer whose first
int32 is also the slot the page waits on. A page that reaches ``Atomics.waitAsync`` after the
first characters landed reads at once and parses a half-written reply: ``SyntaxError: Bad
Unicode escape in JSON`` (a cut inside a traceback's ``\\u001b``) or ``Bad control character``
on the page, and the execute never completes. It happened about once in a full local run on a
loaded machine (``test_bridge.py::test_unsendable_python_argument``, service-worker serving).

This module makes that interleaving certain instead of rare: before the kernel starts, the page's
``Worker.prototype.postMessage`` is wrapped so that, when armed, it returns from posting a
reply request (coincident's ``[id, sb]``) only once the worker has begun writing into the buffer
it was handed; the reply is large, so the worker is still copying when the page reads. Without
the fix (``js/src/coincidentResultFix.ts``, ``redirectCall``) the execute hangs (checked: the
page logged ``Bad control character in string literal in JSON at position 47458`` and the
execute timed out); with it the page waits for the worker's ``Atomics.notify`` and gets the
whole reply. One kernel boot of its own (the hook must be in place before the kernel starts). Only ``page.evaluate`` is
used; the timeout is a bound against the hang, nothing is timed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import KernelError, LiteKernel
from page_protocol import BrowserPage

pytestmark = [
    pytest.mark.own_kernel,
    pytest.mark.parametrize("isolated", [True], indirect=True, scope="module"),
]

#: seconds to wait for the stalled execute (a healthy one takes about a second)
EXECUTE_TIMEOUT_S = 30.0
#: characters of the exception message: a reply of about twice as many UTF-16 code units
MESSAGE_CHARS = 4_000_000

# Wraps Worker.prototype.postMessage before the kernel exists (coincident captures the kernel
# worker's postMessage when the kernel starts). Armed by __lbStall.armed, it stalls once per
# arming after a reply request until slot 0 of the posted buffer turns non-zero, at most 10 s.
_STALL_HOOK = r"""
() => {
  const channel = '64e10b34-2bf7-4616-9668-f99de5aa046e';
  const post = Worker.prototype.postMessage;
  const stall = { armed: false, stalled: 0, sawWrite: 0 };
  window.__lbStall = stall;
  Worker.prototype.postMessage = function (message, ...rest) {
    post.call(this, message, ...rest);
    const details = message !== null && typeof message === 'object' ? message[channel] : undefined;
    if (!stall.armed || !Array.isArray(details) || details.length !== 2) return;
    const sb = details[1];
    if (!(sb instanceof Int32Array) || sb.byteLength < 1_000_000) return;
    stall.armed = false;
    stall.stalled += 1;
    const deadline = performance.now() + 10_000;
    while (Atomics.load(sb, 0) === 0 && performance.now() < deadline) {
      // the worker is receiving the request: wait for its first characters
    }
    if (Atomics.load(sb, 0) !== 0) stall.sawWrite += 1;
  };
}
"""


@pytest.fixture(scope="module")
def hooked_kernel(lab_page: BrowserPage) -> Iterator[LiteKernel]:
    """A kernel started after the page's ``Worker.prototype.postMessage`` was wrapped."""
    lab_page.evaluate(_STALL_HOOK)
    kernel = LiteKernel(lab_page)
    yield kernel
    kernel.shutdown()


def test_reply_read_while_written_arrives_whole(hooked_kernel: LiteKernel) -> None:
    assert hooked_kernel.run("print(40 + 2)") == "42\n"
    hooked_kernel.page.evaluate("() => { window.__lbStall.armed = true; }")
    with pytest.raises(KernelError) as raised:
        hooked_kernel.run(f"raise ValueError('\\x1b[1m' + 'x' * {MESSAGE_CHARS})", EXECUTE_TIMEOUT_S)
    assert "ValueError" in raised.value.ename
    assert raised.value.evalue.endswith("x" * 100)
    stall = hooked_kernel.page.evaluate("() => window.__lbStall")
    assert stall == {"armed": False, "stalled": 1, "sawWrite": 1}, "the reply was read while being written"
    assert hooked_kernel.run("print(6 * 7)") == "42\n"
