"""``embed()`` across origins, two kernels on one page, and the demo page (issue 9).

Without COOP/COEP only (a cross-origin iframe under COEP would also need CORP headers the
test server does not send; ``test_embed.py`` covers both header modes on one origin), and the
site opts out of its service worker's isolation: else the service worker that the first embed
frame registers would isolate every later page of the site, the demo page among them. Three
origins, all 127.0.0.1 on different ports, serving the same directory
(``embed_helpers.make_embed_root``):

- ``site``: the site, whose ``jupyter-lite.json`` allows ``allowed``;
- ``allowed``: a host origin listed in ``embedOrigins``: two kernels are embedded from there;
- ``foreign``: a host origin not listed: the frame refuses it; it also forges messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embed_helpers import call, execute, install_host_helpers, make_embed_root, open_host, stdout_of
from playwright.sync_api import BrowserContext, Page

from litebridge.serve import SiteServer, start_server

#: how long the refused host waits before embed() rejects (ms): the frame's app loads meanwhile
REFUSED_TIMEOUT_MS = 30_000


def _origin(server: SiteServer) -> str:
    return server.url.rstrip("/")


@pytest.fixture(scope="module")
def servers(site_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SiteServer]]:
    """``site``, ``allowed`` and ``foreign``: one directory on three ports (no COOP/COEP)."""
    root = tmp_path_factory.mktemp("embed-origins")
    started = {name: start_server(root, 0, isolation=False) for name in ("site", "allowed", "foreign")}
    make_embed_root(site_dir, root, embed_origins=[_origin(started["allowed"][0])], sw_isolation=False)
    yield {name: server for name, (server, _) in started.items()}
    for server, thread in started.values():
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def two_kernels(lite_context: BrowserContext, servers: dict[str, SiteServer]) -> Iterator[Page]:
    """A host page on ``allowed`` with two kernels of ``site``: ``one`` hidden, ``two`` in a container."""
    page = lite_context.new_page()
    open_host(page, servers["allowed"].url + "host.html")
    install_host_helpers(page)
    site = servers["site"].url + "site/"
    outcomes = page.evaluate(
        """async (site) => Promise.all([
          window.__lbEmbedTest.start('one', { site, timeoutMs: 120000 }),
          window.__lbEmbedTest.start('two', { site, timeoutMs: 120000, container: true }),
        ])""",
        site,
    )
    assert all(o["ok"] for o in outcomes), outcomes
    yield page
    page.evaluate("() => Object.values(window.__lbEmbedTest.kernels).forEach((k) => k.dispose())")
    page.close()


def test_an_allowed_foreign_origin_is_served(two_kernels: Page) -> None:
    out = execute(two_kernels, "one", "print('from the allowed origin')\n6 * 7")
    assert out["ok"], out
    assert stdout_of(out["result"]) == "from the allowed origin\n"
    assert out["result"]["outputs"][-1]["data"]["text/plain"] == "42"
    assert two_kernels.evaluate("() => window.__lbEmbedTest.kernels.one.transport") == "jspi"


def test_container_shows_the_console_and_hidden_stays_hidden(two_kernels: Page) -> None:
    sizes = two_kernels.evaluate(
        """() => Object.fromEntries(Object.entries(window.__lbEmbedTest.kernels).map(([name, k]) => {
          const box = k.iframe.getBoundingClientRect();
          return [name, { width: box.width, height: box.height, inContainer: k.iframe.parentElement.id }];
        }))"""
    )
    assert sizes["two"]["inContainer"] == "container-two"
    assert sizes["two"]["height"] >= 300
    assert sizes["two"]["width"] >= 300
    assert sizes["one"]["width"] <= 1
    assert sizes["one"]["height"] <= 1


def test_two_kernels_never_see_each_others_executes_or_calls(two_kernels: Page) -> None:
    page = two_kernels
    page.evaluate("() => { window.__lbEmbedTest.calls.length = 0; }")
    for name in ("one", "two"):
        setup = (
            f"who = {name!r}\n"
            "from litebridge import page\n"
            "class Who:\n"
            "    def who(self):\n"
            "        return who\n"
            f"page.expose(Who(), name={name!r})\n"
        )
        assert execute(page, name, setup)["result"]["status"] == "ok"
    # concurrent executes: each gets only its own outputs
    outcome = page.evaluate(
        """async () => {
          const code = "import asyncio\\nfrom litebridge import page\\nfor i in range(3):\\n"
            + "    print(who, i)\\n    await asyncio.sleep(0.05)\\nawait page.call('record', who)";
          const [one, two] = await Promise.all(['one', 'two'].map(
            (name) => window.__lbEmbedTest.kernels[name].execute(code)));
          return { one, two };
        }"""
    )
    for name in ("one", "two"):
        result: dict[str, Any] = outcome[name]
        assert result["status"] == "ok", result
        assert stdout_of(result) == "".join(f"{name} {i}\n" for i in range(3))
        assert result["outputs"][-1]["data"]["text/plain"] == f"'recorded by {name}'"
    calls = page.evaluate("() => window.__lbEmbedTest.calls")
    assert sorted(c["kernel"] + ":" + c["args"][0] for c in calls) == ["one:one", "two:two"]
    # each kernel exposes only its own object
    assert call(page, "one", "one.who") == {"ok": True, "value": "one"}
    assert call(page, "two", "two.who") == {"ok": True, "value": "two"}
    assert call(page, "one", "two.who")["error"]["code"] == "unknown_method"


def test_the_host_drops_messages_not_from_its_iframe(
    two_kernels: Page, servers: dict[str, SiteServer], lite_context: BrowserContext
) -> None:
    page = two_kernels
    page.evaluate("() => { window.__lbEmbedTest.calls.length = 0; }")
    before = len(lite_context.console.lines)  # type: ignore[attr-defined]
    # a page of another origin, and one of the site's own origin that is not the kernel's iframe,
    # post forged answers, boot stages and host calls to this page
    forgers = [servers["foreign"].url + "forge.html", servers["site"].url + "forge.html"]
    page.evaluate(
        """async (urls) => Promise.all(urls.map((url) => new Promise((resolve) => {
          const frame = document.createElement('iframe');
          frame.src = url;
          frame.onload = resolve;
          document.body.appendChild(frame);
        })))""",
        forgers,
    )
    out = execute(page, "one", "print('genuine')")
    assert stdout_of(out["result"]) == "genuine\n"
    assert "FORGED" not in str(out)
    assert call(page, "two", "two.who") == {"ok": True, "value": "two"}
    assert page.evaluate("() => window.__lbEmbedTest.calls") == []
    logged = "\n".join(lite_context.console.lines[before:])  # type: ignore[attr-defined]
    assert f"litebridge embed: dropped a message from {_origin(servers['foreign'])}" in logged
    assert f"litebridge embed: dropped a message from {_origin(servers['site'])}" in logged


def test_the_frame_refuses_an_origin_the_site_does_not_list(
    lite_context: BrowserContext, servers: dict[str, SiteServer]
) -> None:
    page = lite_context.new_page()
    console = lite_context.console  # type: ignore[attr-defined]
    refusal = f"litebridge embed: dropped a message from {_origin(servers['foreign'])}: the origin is not allowed"
    try:
        open_host(page, servers["foreign"].url + "host.html")
        install_host_helpers(page)
        page.evaluate(
            "([site, ms]) => { window.__refused = window.__lbEmbedTest.start('refused', { site, timeoutMs: ms }); }",
            [servers["site"].url + "site/", REFUSED_TIMEOUT_MS],
        )
        # the frame logs the refusal, naming the origin and the setting, once its app is up
        for _ in range(REFUSED_TIMEOUT_MS // 250):
            if any(refusal in line for line in console.lines):
                break
            page.wait_for_timeout(250)
        assert any(refusal in line for line in console.lines), console.lines[-20:]
        outcome = page.evaluate("() => window.__refused")
        assert outcome["ok"] is False
        error = outcome["error"]
        assert error["name"] == "BridgeError"
        assert error["code"] == "timeout"
        assert "no answer from the litebridge embed page" in error["message"]
        assert "embedOrigins" in error["message"]
        assert _origin(servers["foreign"]) in error["message"]
        # embed() removed its iframe
        assert page.evaluate("() => document.querySelectorAll('iframe').length") == 0
    finally:
        page.close()


def test_the_demo_page_runs_its_blocks_and_calls_both_ways(
    lite_context: BrowserContext, servers: dict[str, SiteServer]
) -> None:
    page = lite_context.new_page()
    try:
        page.goto(servers["site"].url + "site/litebridge/demo.html")
        page.wait_for_function(
            "() => { const s = document.getElementById('kernel-state').dataset; return s.ready || s.failed; }",
            timeout=120_000,
        )
        # the site's service worker, registered by the frames of the tests before, did not
        # isolate this page: the site opts out (see the module docstring)
        assert page.evaluate("() => crossOriginIsolated") is False
        assert page.evaluate("() => document.getElementById('kernel-state').textContent") == "ready (transport jspi)"
        count = page.evaluate("() => document.querySelectorAll('.block').length")
        assert count == 5
        for index in range(count):
            page.evaluate("(i) => document.querySelectorAll('.block button')[i].click()", index)
            page.wait_for_function(
                "(i) => document.querySelectorAll('.block .output')[i].dataset.status", arg=index, timeout=60_000
            )
        outputs = page.evaluate(
            """() => [...document.querySelectorAll('.block .output')].map((out) => ({
              status: out.dataset.status, text: out.textContent, html: out.innerHTML }))"""
        )
        assert outputs[0]["status"] == "ok"
        assert outputs[0]["text"] == "Hello from Python\n45"
        assert outputs[1]["status"] == "ok"
        assert "<table" in outputs[1]["html"]
        assert "<td>3</td><td>9</td>" in outputs[1]["html"]
        assert outputs[2]["status"] == "error"
        assert "ZeroDivisionError" in outputs[2]["text"]
        assert "error" in outputs[2]["html"]
        assert outputs[3]["status"] == "ok"
        assert outputs[3]["text"] == "'shown'"
        assert page.evaluate("() => document.getElementById('status').textContent") == "set by Python"
        assert outputs[4]["status"] == "ok"
        page.evaluate("() => document.getElementById('ask').click()")
        page.wait_for_function("() => document.getElementById('answer').textContent !== ''", timeout=30_000)
        assert page.evaluate("() => document.getElementById('answer').textContent") == "= 42"
    finally:
        page.close()
