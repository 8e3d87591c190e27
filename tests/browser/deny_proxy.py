"""A local proxy that refuses every request and records it: the network guard of Firefox and WebKit.

Playwright routes Chromium's requests itself (:class:`harness.NetworkGuard`). Firefox (through
puppeteer-core) and WebKitGTK (through WebDriver) are instead told to send everything that is not
for 127.0.0.1 to this proxy, which answers ``403`` and records what was asked. A proxy sees the
requests of pages, workers and service workers alike, and those of the browser itself.

What it can record depends on how the browser talks to it:

- ``GET http://host/path`` (plain HTTP through a proxy): the full URL;
- ``CONNECT host:443`` (HTTPS through an HTTP proxy, Firefox): ``https://host:443``;
- a TLS handshake (WebKitGTK speaks TLS *to* the proxy it is given for HTTPS, so the target is
  encrypted and the handshake is refused): :data:`TLS_UNKNOWN_HOST`.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass, field

#: recorded for an HTTPS request whose host the proxy cannot see (TLS to the proxy, WebKitGTK)
TLS_UNKNOWN_HOST = "https://<host hidden: TLS to the proxy>"
_REFUSAL = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TLS_RECORD = 0x16


@dataclass
class DenyProxy:
    """Refuse and record every request sent to it (a thread serving 127.0.0.1 on a free port).

    Attributes
    ----------
    blocked : list of str
        What was refused, in order: URLs (``http://...``, ``https://host:port``) or
        :data:`TLS_UNKNOWN_HOST`.
    port : int
        The TCP port it listens on (0 until :meth:`start`).
    """

    blocked: list[str] = field(default_factory=list)
    port: int = 0
    _server: socketserver.ThreadingTCPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        """``"127.0.0.1:<port>"``, the form the WebDriver ``proxy`` capability takes."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> DenyProxy:
        """Listen on 127.0.0.1 (ephemeral port) in a daemon thread; returns ``self``."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, name="deny-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _record(self, what: str) -> None:
        with self._lock:
            self.blocked.append(what)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
            if not first:
                return
            if first[0] == _TLS_RECORD:
                self._record(TLS_UNKNOWN_HOST)
                return  # closing the connection fails the handshake
            line = sock.makefile("rb").readline(8192).decode("latin-1").strip()
            method, _, rest = line.partition(" ")
            target = rest.rsplit(" ", 1)[0] if " " in rest else rest
            self._record(f"https://{target}" if method.upper() == "CONNECT" else target)
            sock.sendall(_REFUSAL)
        except OSError:
            pass
