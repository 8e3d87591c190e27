"""Pieces for tests (and the benchmark) of ``embed()``: host pages next to a view of the site.

:func:`make_embed_root` builds a directory to serve::

    <root>/host.html         a host page: imports site/litebridge/embed.js as window.lbEmbed
    <root>/forge.html        a page that posts forged embed messages to its parent
    <root>/site/...          the built site, every entry symlinked, except
    <root>/site/jupyter-lite.json   rewritten with jupyter-config-data.litebridge.embedOrigins
                                    (and crossOriginIsolation: false, if asked)

Served by :func:`litebridge.serve.start_server`, ``host.html`` is a page on the site's own
origin; the same directory served on another port is a second origin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

#: the host page: loads embed.js from the site below it and keeps the module on window.lbEmbed
HOST_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embed host</title></head>
<body>
<div id="console"></div>
<script type="module">
  const site = new URL('site/', location.href);
  window.lbEmbed = await import(new URL('litebridge/embed.js', site).href);
  window.lbSite = site.href;
</script>
</body></html>
"""

#: a page that, in an iframe, posts forged frame messages to its parent: a fake execute result, a
#: fake boot stage and a fake call of a host handler (all must be dropped by the host)
FORGE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>forger</title></head>
<body>
<script>
  const tag = { litebridgeEmbed: 1 };
  const forged = { status: 'ok', executionCount: 999, error: null,
    outputs: [{ output_type: 'stream', name: 'stdout', text: 'FORGED' }] };
  for (let id = 1; id < 50; id++) {
    parent.postMessage({ ...tag, kind: 'executed', id, result: forged }, '*');
    parent.postMessage({ ...tag, kind: 'reply', id, ok: true, value: 'FORGED' }, '*');
    parent.postMessage({ ...tag, kind: 'hostCall', id: 1000 + id, method: 'record', args: ['FORGED'] }, '*');
  }
  parent.postMessage({ ...tag, kind: 'stage', stage: 'ready', transport: 'sab' }, '*');
  document.title = 'forged';
</script>
</body></html>
"""


def make_embed_root(site: Path, root: Path, embed_origins: list[str], *, sw_isolation: bool = True) -> Path:
    """Write host pages and a view of ``site`` allowing ``embed_origins`` into ``root``.

    Parameters
    ----------
    site : Path
        The built site (``_output``).
    root : Path
        An empty or missing directory; it is created.
    embed_origins : list of str
        Written to ``jupyter-config-data.litebridge.embedOrigins`` of the view.
    sw_isolation : bool
        False: the view also opts out of the site's service-worker isolation
        (``litebridge.crossOriginIsolation: false``). Otherwise, once a page of the view has
        registered the site's service worker (scope ``<root>/site/``), every later page loaded
        under that scope (``site/litebridge/demo.html``) gets COOP/COEP from it and is
        cross-origin isolated, whatever headers the server sends.

    Returns
    -------
    Path
        ``root``.

    Raises
    ------
    FileNotFoundError
        If ``site`` has no ``jupyter-lite.json``.
    """
    config = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    config["jupyter-config-data"]["litebridge"] = {"embedOrigins": embed_origins}
    if not sw_isolation:
        config["jupyter-config-data"]["litebridge"]["crossOriginIsolation"] = False
    view = root / "site"
    view.mkdir(parents=True, exist_ok=True)
    for entry in site.iterdir():
        if entry.name != "jupyter-lite.json":
            (view / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    (view / "jupyter-lite.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (root / "host.html").write_text(HOST_HTML, encoding="utf-8")
    (root / "forge.html").write_text(FORGE_HTML, encoding="utf-8")
    return root


def open_host(page: Page, url: str) -> None:
    """Go to a host page and wait until ``window.lbEmbed`` (the embed.js module) is loaded."""
    page.goto(url)
    page.wait_for_function("() => window.lbEmbed !== undefined", timeout=30_000)


# Page-side helpers for the host page, installed as window.__lbEmbedTest: kernels by name, and
# execute/call outcomes as plain data (never a rejected promise across page.evaluate).
_HOST_HELPERS = r"""
() => {
  if (window.__lbEmbedTest) return;
  const describe = (error) => ({
    name: error?.name ?? null, message: String(error?.message ?? error), code: error?.code ?? null,
    type: error?.type ?? null, traceback: error?.traceback ?? null,
  });
  window.__lbEmbedTest = {
    kernels: {},
    calls: [],
    async start(name, options) {
      const opts = { ...options };
      if (opts.container) {
        const div = document.createElement('div');
        div.id = `container-${name}`;
        div.style.height = '400px';
        document.body.appendChild(div);
        opts.container = div;
      }
      try {
        const kernel = await window.lbEmbed.embed(opts);
        this.kernels[name] = kernel;
        const calls = this.calls;
        kernel.register({
          record(...args) { calls.push({ kernel: name, args }); return `recorded by ${name}`; },
          async slowEcho(value, ms) { await new Promise((r) => setTimeout(r, ms)); return value; },
          fail(message) { throw new RangeError(message); },
        });
        return { ok: true, transport: kernel.transport };
      } catch (error) {
        return { ok: false, error: describe(error) };
      }
    },
    async execute(name, code, timeoutMs) {
      const streamed = [];
      try {
        const result = await this.kernels[name].execute(code, {
          onOutput: (output) => streamed.push(output), timeoutMs,
        });
        return { ok: true, result, streamed };
      } catch (error) {
        return { ok: false, error: describe(error), streamed };
      }
    },
    async call(name, method, args) {
      try {
        return { ok: true, value: await this.kernels[name].call(method, ...args) };
      } catch (error) {
        return { ok: false, error: describe(error) };
      }
    },
    describe,
  };
}
"""


def install_host_helpers(page: Page) -> None:
    """Install ``window.__lbEmbedTest`` in a host page (idempotent)."""
    page.evaluate(_HOST_HELPERS)


def start_kernel(page: Page, name: str, timeout_ms: int = 120_000, **options: Any) -> dict[str, Any]:
    """``embed()`` a kernel known as ``name`` on the host page; return ``{ok, transport | error}``.

    ``options`` go to ``embed()`` (``container=True`` makes a container element).
    """
    install_host_helpers(page)
    outcome: dict[str, Any] = page.evaluate(
        "([name, options]) => window.__lbEmbedTest.start(name, options)", [name, {"timeoutMs": timeout_ms, **options}]
    )
    return outcome


def execute(page: Page, name: str, code: str, timeout_ms: int = 60_000) -> dict[str, Any]:
    """Execute ``code`` in kernel ``name``; return ``{ok, result, streamed}`` or ``{ok: False, error}``."""
    outcome: dict[str, Any] = page.evaluate(
        "([name, code, ms]) => window.__lbEmbedTest.execute(name, code, ms)", [name, code, timeout_ms]
    )
    return outcome


def call(page: Page, name: str, method: str, *args: Any) -> dict[str, Any]:
    """``kernel.call(method, ...args)`` on kernel ``name``; return ``{ok, value}`` or ``{ok: False, error}``."""
    outcome: dict[str, Any] = page.evaluate(
        "([name, method, args]) => window.__lbEmbedTest.call(name, method, args)", [name, method, list(args)]
    )
    return outcome


def stdout_of(result: dict[str, Any]) -> str:
    """The concatenated stdout stream text of an execute result."""
    return "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in result["outputs"]
        if o["output_type"] == "stream" and o["name"] == "stdout"
    )
