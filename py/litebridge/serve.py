"""Serve a built litebridge/JupyterLite site on 127.0.0.1, for local use and for tests.

By default every response carries the headers that make the page cross-origin isolated
(``crossOriginIsolated`` is true, so ``SharedArrayBuffer`` and ``Atomics.wait`` work)::

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp
    Cross-Origin-Resource-Policy: same-origin

``--no-isolation`` leaves them out (as on GitHub Pages). ``--base-path /litebridge/`` serves the
site under a prefix, as a GitHub Pages project site would; ``/`` then redirects to it. Without
headers, the site's service worker still makes pages cross-origin isolated after one reload
(litebridge's addition to JupyterLite's service worker); ``--no-sw-isolation`` serves the root
``jupyter-lite.json`` with ``litebridge.crossOriginIsolation: false`` added, the site's own
opt-out, so that pages stay non-isolated.

Usage::

    python -m litebridge.serve [--port 8000] [--no-isolation] [--no-sw-isolation] [--base-path /x/] [_output]

This module uses only the standard library; it is not used inside the kernel.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import mimetypes
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ISOLATION_HEADERS", "SiteHandler", "SiteServer", "main", "make_server", "start_server"]

#: headers sent when isolation is on (the default)
ISOLATION_HEADERS: dict[str, str] = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

#: MIME types the site needs, whatever the host's /etc/mime.types says
EXTRA_MIME_TYPES: dict[str, str] = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".json": "application/json",
    ".ipynb": "application/json",
    ".zip": "application/zip",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


def _normalise_base_path(base_path: str) -> str:
    """Return ``base_path`` as ``/`` or ``/segment/.../`` (leading and trailing slash)."""
    stripped = base_path.strip("/")
    return "/" if not stripped else f"/{stripped}/"


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Request handler: static files, isolation headers, a base path, no caching.

    Configure it with :func:`functools.partial` (see :func:`make_server`); the keyword
    arguments below are set on the instance.

    Parameters
    ----------
    *args : Any
        Passed to :class:`http.server.SimpleHTTPRequestHandler`.
    directory : str
        The site root on disk.
    isolation : bool
        Send :data:`ISOLATION_HEADERS` on every response.
    base_path : str
        URL prefix the site is served under (``/`` for none).
    sw_isolation : bool
        False: serve the root ``jupyter-lite.json`` with the opt-out of the service worker's
        cross-origin isolation (``jupyter-config-data.litebridge.crossOriginIsolation: false``).
    **kwargs : Any
        Passed to :class:`http.server.SimpleHTTPRequestHandler`.
    """

    def __init__(
        self, *args: Any, isolation: bool = True, base_path: str = "/", sw_isolation: bool = True, **kwargs: Any
    ) -> None:
        self.isolation = isolation
        self.sw_isolation = sw_isolation
        self.base_path = _normalise_base_path(base_path)
        self.extensions_map = {**self.extensions_map, **EXTRA_MIME_TYPES}
        super().__init__(*args, **kwargs)

    def end_headers(self) -> None:
        """Add the isolation and no-cache headers, then end the header block."""
        if self.isolation:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _strip_base(self) -> bool:
        """Remove the base path from ``self.path``; answer and return False if outside it."""
        if self.base_path == "/":
            return True
        if self.path.startswith(self.base_path):
            self.path = "/" + self.path[len(self.base_path) :]
            return True
        if self.path in ("/", self.base_path.rstrip("/")):
            self.send_response(http.HTTPStatus.FOUND)
            self.send_header("Location", self.base_path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        self.send_error(http.HTTPStatus.NOT_FOUND, f"outside the base path {self.base_path}")
        return False

    def do_GET(self) -> None:
        """Serve a GET request below the base path."""
        if not self._strip_base():
            return
        if not self.sw_isolation and self.path.split("?")[0].split("#")[0] == "/jupyter-lite.json":
            self._send_opted_out_config()
            return
        super().do_GET()

    def _send_opted_out_config(self) -> None:
        """Send the root ``jupyter-lite.json`` with the service-worker isolation switched off."""
        path = Path(self.directory) / "jupyter-lite.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        data = config.setdefault("jupyter-config-data", {})
        data.setdefault("litebridge", {})["crossOriginIsolation"] = False
        body = json.dumps(config, indent=2).encode()
        self.send_response(http.HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        """Serve a HEAD request below the base path."""
        if self._strip_base():
            super().do_HEAD()

    def log_message(self, format: str, *args: Any) -> None:
        """Log only errors (status >= 400) to stderr, to keep test output readable."""
        if len(args) >= 2 and str(args[1]).isdigit() and int(str(args[1])) < 400:
            return
        super().log_message(format, *args)


class SiteServer(http.server.ThreadingHTTPServer):
    """A :class:`http.server.ThreadingHTTPServer` that knows its URL.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port><base_path>``, the address of the site's root.
    isolation : bool
        Whether the COOP/COEP/CORP headers are sent.
    """

    daemon_threads = True
    url: str
    isolation: bool


def make_server(
    directory: str | Path, port: int = 8000, *, isolation: bool = True, base_path: str = "/", sw_isolation: bool = True
) -> SiteServer:
    """Create (but do not start) a server for ``directory`` on 127.0.0.1.

    Parameters
    ----------
    directory : str or Path
        The built site (e.g. ``_output``).
    port : int
        TCP port; 0 picks a free ephemeral port.
    isolation : bool
        Send COOP/COEP/CORP headers.
    base_path : str
        URL prefix to serve the site under, e.g. ``/litebridge/``.
    sw_isolation : bool
        False: serve ``jupyter-lite.json`` with the service worker's isolation switched off.

    Returns
    -------
    SiteServer
        Bound and listening; call ``serve_forever()`` or use :func:`start_server`.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a directory.
    OSError
        If the port is in use.
    """
    root = Path(directory).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no site at {root}: build it first (make site)")
    for suffix, mime in EXTRA_MIME_TYPES.items():
        mimetypes.add_type(mime, suffix)
    handler = functools.partial(
        SiteHandler, directory=str(root), isolation=isolation, base_path=base_path, sw_isolation=sw_isolation
    )
    server = SiteServer(("127.0.0.1", port), handler)
    server.isolation = isolation
    server.url = f"http://127.0.0.1:{server.server_address[1]}{_normalise_base_path(base_path)}"
    return server


def start_server(
    directory: str | Path, port: int = 0, *, isolation: bool = True, base_path: str = "/", sw_isolation: bool = True
) -> tuple[SiteServer, threading.Thread]:
    """Create a server and run it in a daemon thread (for tests).

    Parameters
    ----------
    directory : str or Path
        The built site.
    port : int
        TCP port; 0 (the default) picks a free one: read it from ``server.url``.
    isolation : bool
        Send COOP/COEP/CORP headers.
    base_path : str
        URL prefix to serve the site under.
    sw_isolation : bool
        False: serve ``jupyter-lite.json`` with the service worker's isolation switched off.

    Returns
    -------
    tuple of (SiteServer, threading.Thread)
        Stop with ``server.shutdown(); server.server_close()``.

    Raises
    ------
    FileNotFoundError
        If ``directory`` is not a directory.
    """
    server = make_server(directory, port, isolation=isolation, base_path=base_path, sw_isolation=sw_isolation)
    thread = threading.Thread(target=server.serve_forever, name=f"litebridge.serve {server.url}", daemon=True)
    thread.start()
    return server, thread


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server in the foreground until interrupted.

    Parameters
    ----------
    argv : sequence of str, optional
        Command line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 after Ctrl-C, 1 if the site is missing.
    """
    parser = argparse.ArgumentParser(prog="python -m litebridge.serve", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="_output", help="built site (default: _output)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (default: 8000; 0: any free)")
    parser.add_argument("--no-isolation", action="store_true", help="do not send COOP/COEP/CORP headers")
    parser.add_argument(
        "--no-sw-isolation",
        action="store_true",
        help="serve jupyter-lite.json with litebridge.crossOriginIsolation false (no isolation by the service worker)",
    )
    parser.add_argument("--base-path", default="/", help="serve the site under this URL prefix (default: /)")
    args = parser.parse_args(argv)
    try:
        server = make_server(
            args.directory,
            args.port,
            isolation=not args.no_isolation,
            base_path=args.base_path,
            sw_isolation=not args.no_sw_isolation,
        )
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    mode = "cross-origin isolated (COOP/COEP)" if server.isolation else "without COOP/COEP"
    print(f"Serving {Path(args.directory).resolve()} at {server.url} ({mode}); Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
