"""litebridge: calls between the Python kernel of JupyterLite (Pyodide) and its page.

>>> from litebridge import page
>>> page.register("{ indentLeft(line, n) { return line.padStart(line.length + n); } }")
>>> await page.call("indentLeft", "hello", 4)      # '    hello'
>>> page.call_sync("indentLeft", "hello", 4)       # the same, blocking, no await
>>> page.expose(obj, name="ex")                    # page JS: await k.call("ex.multiply", 6, 7)
>>> import litebridge; litebridge.transport         # 'sab' | 'jspi' | 'async'
>>> from litebridge import window
>>> window.document.title = "hi"; el = window.document.createElement("button")

In the Pyodide kernel, importing litebridge connects to the page (it sends the hello of the
wire protocol, docs/protocol.md) so that page JavaScript can call exposed Python at once.
In CPython it imports fine; ``page`` methods then raise :class:`BridgeUnavailable`.
"""

__version__ = "0.1.0"

import sys

from ._page import Page
from ._streams import ByteStream
from ._window import AsyncJS, JSHandle, Listener, add_event_listener, alen, alist, aset
from .errors import (
    BridgeClosed,
    BridgeError,
    BridgeUnavailable,
    CallTimeout,
    JSError,
    SyncUnavailable,
    UnknownMethodError,
    UnknownPropertyError,
)
from .protocol import TransportName

__all__ = [
    "AsyncJS",
    "BridgeClosed",
    "BridgeError",
    "BridgeUnavailable",
    "ByteStream",
    "CallTimeout",
    "JSError",
    "JSHandle",
    "Listener",
    "Page",
    "SyncUnavailable",
    "UnknownMethodError",
    "UnknownPropertyError",
    "__version__",
    "add_event_listener",
    "alen",
    "alist",
    "aset",
    "page",
    "transport",
    "window",
]

page = Page()
"""The page this kernel runs in (see :class:`litebridge.Page`)."""

window = page.window
"""The page's ``globalThis`` as a :class:`litebridge.JSHandle`: ``window.document.title``."""

if sys.platform == "emscripten":
    try:
        page.connect()
    except BridgeUnavailable as _exc:  # remembered by page: every later use raises it
        import logging

        logging.getLogger("litebridge").warning("litebridge: %s", _exc)


def __getattr__(name: str) -> TransportName | None:
    """``litebridge.transport``: what ``page.call_sync`` uses here (see Page.transport)."""
    if name == "transport":
        return page.transport
    raise AttributeError(f"module 'litebridge' has no attribute {name!r}")
