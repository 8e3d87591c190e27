"""The network guard of every browser refuses and counts requests for hosts other than 127.0.0.1.

The site must work offline; the guard is what proves it in the other tests (any refused request
fails them). Here a page and a worker ask for foreign URLs on purpose: each request must fail in
the page and show up in the guard. In WebKit the host of an HTTPS request is not visible to the
refusing proxy (WebKit speaks TLS to it), so it is counted as :data:`deny_proxy.TLS_UNKNOWN_HOST`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from browsers import LiteBrowser
from deny_proxy import TLS_UNKNOWN_HOST

pytestmark = [
    pytest.mark.all_browsers,
    pytest.mark.parametrize("isolated", [False], indirect=True, scope="module"),
]

_FETCH_FROM_PAGE_AND_WORKER = r"""async ([pageUrl, workerUrl]) => {
  const attempt = (url) => fetch(url, { mode: 'no-cors', cache: 'no-store' }).then(
    (response) => `answered ${response.status} ${response.type}`, (error) => `refused: ${error}`);
  const worker = new Worker(URL.createObjectURL(new Blob([`
    fetch(${JSON.stringify(workerUrl)}, { mode: 'no-cors', cache: 'no-store' }).then(
      (r) => postMessage('answered ' + r.status + ' ' + r.type), (e) => postMessage('refused: ' + e));
  `], { type: 'text/javascript' })));
  const fromWorker = new Promise((resolve) => { worker.onmessage = (event) => resolve(event.data); });
  const results = [await attempt(pageUrl), await fromWorker];
  worker.terminate();
  return results;
}"""


def _refused(outcome: str) -> bool:
    # a refused fetch rejects; a no-cors fetch the proxy answered 403 is an opaque response (status 0)
    return outcome.startswith("refused") or outcome == "answered 0 opaque"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_foreign_requests_are_refused_and_counted(
    lite_browser: LiteBrowser, new_page: Callable[[str], Any], browser_name: str, scheme: str
) -> None:
    page = new_page("lab/index.html")
    token = uuid.uuid4().hex
    page_url = f"{scheme}://example.com/litebridge-guard-test/page-{token}"
    worker_url = f"{scheme}://example.org/litebridge-guard-test/worker-{token}"
    before = len(lite_browser.blocked)
    outcomes = page.evaluate(_FETCH_FROM_PAGE_AND_WORKER, [page_url, worker_url])
    new = lite_browser.blocked[before:]
    # the test's own requests must not fail it in the autouse guard check: take them out
    del lite_browser.blocked[before:]
    assert all(_refused(outcome) for outcome in outcomes), outcomes
    if browser_name == "webkit" and scheme == "https":
        assert new.count(TLS_UNKNOWN_HOST) >= 2, new
    else:
        counted = " ".join(new)
        assert f"page-{token}" in counted or (scheme == "https" and "example.com" in counted), new
        assert f"worker-{token}" in counted or (scheme == "https" and "example.org" in counted), new
