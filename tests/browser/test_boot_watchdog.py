"""A kernel that does not start is never silent: the labextension's boot watchdog shows a notice.

The watchdog (``js/src/bootWatchdog.ts``) puts a visible notice on the page when a kernel is not
ready after its delay (60 s by default), and takes it away once the kernel is ready. Here the
page sets the delay to 0 ms before starting a kernel, so every boot is "late": the notice must
appear while the kernel boots and be gone once it answers. Runs with COOP/COEP, where WebKitGTK
used to hang without a word.
"""

from __future__ import annotations

import pytest
from harness import LiteKernel
from page_protocol import BrowserPage

pytestmark = [
    pytest.mark.all_browsers,
    pytest.mark.parametrize("isolated", [True], indirect=True, scope="module"),
]

_WATCH_NOTICES = r"""() => {
  globalThis[Symbol.for('litebridge.bootWatchdogMs')] = 0;
  window.__lbNotices = [];
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.classList?.contains('litebridge-boot-notice')) {
          window.__lbNotices.push({ text: node.textContent, role: node.getAttribute('role') });
        }
      }
    }
  }).observe(document.body, { childList: true });
}"""


def test_a_late_kernel_shows_a_notice_until_it_is_ready(lab_page: BrowserPage) -> None:
    lab_page.evaluate(_WATCH_NOTICES)
    kernel = LiteKernel(lab_page)
    try:
        # MutationObserver callbacks run as microtasks: they have run by the next evaluate
        notices = lab_page.evaluate("() => window.__lbNotices")
        assert len(notices) == 1, notices
        assert notices[0]["role"] == "alert"
        assert f"the Python kernel {kernel.id} has not started after 0 s" in notices[0]["text"]
        assert "browser console" in notices[0]["text"]
        lab_page.wait_for_function("() => !document.querySelector('.litebridge-boot-notice')", timeout=10_000)
        assert kernel.value("6 * 7") == 42
    finally:
        kernel.shutdown()
        lab_page.evaluate("() => { delete globalThis[Symbol.for('litebridge.bootWatchdogMs')]; }")
