"""The WebSocket baseline server (jupyter-jchannel's transport): aiohttp on 127.0.0.1.

Runs in a daemon thread of the benchmark process with its own event loop, on an ephemeral port.
Routes: ``/echo`` sends every frame (text or binary) back; ``/ack`` echoes text frames and
answers a binary frame with its size in bytes as text (a one-way transfer with a tiny ack).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

#: largest frame accepted (bytes); the benchmark sends 16 MiB
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


async def _serve_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    echo_binary = request.path == "/echo"
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            if echo_binary:
                await ws.send_bytes(msg.data)
            else:
                await ws.send_str(str(len(msg.data)))
    return ws


@dataclass
class WebSocketServer:
    """An aiohttp WebSocket echo server in a background thread.

    Attributes
    ----------
    url : str
        ``ws://127.0.0.1:<port>`` (append ``/echo`` or ``/ack``); set by :meth:`start`.
    """

    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None
    _started: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    def start(self, timeout_s: float = 30.0) -> WebSocketServer:
        """Start serving on an ephemeral port of 127.0.0.1; return self once it listens.

        Raises
        ------
        RuntimeError
            If the server did not start within ``timeout_s`` seconds (or failed to).
        """
        self._thread = threading.Thread(target=self._run, name="bench websocket server", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout_s) or self._error is not None:
            raise RuntimeError(f"the WebSocket server did not start: {self._error!r}")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except Exception as exc:  # noqa: BLE001 - reported by start() in the calling thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
        loop.close()

    async def _listen(self) -> None:
        app = web.Application()
        app.router.add_get("/echo", _serve_socket)
        app.router.add_get("/ack", _serve_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
