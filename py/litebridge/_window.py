"""``litebridge.window``: page objects as Python objects (protocol section 13).

A :class:`JSHandle` stands for one page object. Reading an attribute, writing one and calling a
method are operations (``litebridge.op``) the page performs at once; plain values (JSON, bytes)
come back as Python values, everything else as another :class:`JSHandle`. Python callables
passed to the page become page functions that run in the kernel when called.

Sync forms (``el.textContent = "x"``, ``el.click()``) block like ``page.call_sync`` and need its
transport (``sab`` or ``jspi``); the awaitable form ``handle.aio`` works with every transport::

    title = await window.aio.document.title
    await window.aio.localStorage.setItem("k", "v")
    await aset(window.aio.document.title, "new title")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .protocol import GLOBAL_HANDLE

if TYPE_CHECKING:
    from types import TracebackType

    from ._handles import HandleTable
    from ._page import Page

__all__ = ["AsyncJS", "JSHandle", "Listener", "add_event_listener", "alen", "alist", "aset"]

_OWN = frozenset({"_lb_table", "_lb_handle_id", "_lb_type", "_lb_serial", "_lb_released"})


class JSHandle:
    """A page object held from Python (``repr``: ``<JSHandle HTMLButtonElement>``).

    Attribute reads, writes and calls go to the page object: ``el.textContent = "hi"``,
    ``el.click()``, ``window.document.title``. Item access does the same with any key
    (``handle["release"]`` reads a page property that a method of this class would hide;
    ``collection[0]``). ``dir(handle)`` lists the page object's properties. Every operation
    is one synchronous round trip (transports ``sab`` and ``jspi``); use :attr:`aio` for the
    awaitable form.

    A handle keeps its page object alive until it is released: by :meth:`release`, at the
    end of a ``with`` block, or when the handle is garbage collected. The same page object
    always comes back as the same live ``JSHandle``.

    Raises
    ------
    UnknownPropertyError
        Reading a property the page object does not have (an ``AttributeError``, so
        ``hasattr`` and ``getattr(h, name, default)`` work); the message names it.
    JSError
        The page threw (``.name``, ``.message``, ``.stack``).
    SyncUnavailable
        Sync forms where ``call_sync`` cannot block (transport ``async``): use :attr:`aio`.
    ReferenceError
        Using a handle after :meth:`release`.
    BridgeClosed
        The page no longer has the object (released there, or the kernel was restarted).
    """

    __slots__ = ("__weakref__", *sorted(_OWN))

    _lb_table: HandleTable[JSHandle]
    _lb_handle_id: int
    _lb_type: str
    _lb_serial: int
    _lb_released: bool

    def __init__(self, table: HandleTable[JSHandle], handle_id: int, type_name: str, serial: int) -> None:
        object.__setattr__(self, "_lb_table", table)
        object.__setattr__(self, "_lb_handle_id", handle_id)
        object.__setattr__(self, "_lb_type", type_name)
        object.__setattr__(self, "_lb_serial", serial)
        object.__setattr__(self, "_lb_released", False)

    # --- operations -----------------------------------------------------------------------
    def _lb_op(self, op: str, name: str | int | None = None, args: Sequence[object] = ()) -> Any:
        if self._lb_released:
            raise ReferenceError(f"{self!r} was released")
        page: Page = self._lb_table.owner
        return page._op(self._lb_handle_id, op, name, args, sync=True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # Python protocol probes (copy, pickle...) stay local
        return self._lb_op("get", name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in _OWN:
            raise AttributeError(f"{name} is read-only")
        self._lb_op("set", name, [value])

    def __getitem__(self, key: str | int) -> Any:
        return self._lb_op("get", _key(key))

    def __setitem__(self, key: str | int, value: object) -> None:
        self._lb_op("set", _key(key), [value])

    def __call__(self, *args: object) -> Any:
        """Call the page function (a method read from an object keeps that object as ``this``)."""
        return self._lb_op("call", None, args)

    def new(self, *args: object) -> Any:
        """Construct on the page: ``new F(...args)`` for a handle to a constructor (``window.Date.new(0)``)."""
        return self._lb_op("new", None, args)

    def __dir__(self) -> list[str]:
        names: list[str] = self._lb_op("dir")
        return names

    def __len__(self) -> int:
        """``len(handle)``: the page object's ``length``, else its ``size`` (one round trip).

        Raises
        ------
        TypeError
            When the page object has neither as a non-negative integer.
        """
        return _size(self._lb_type, self._lb_op("len"))

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the page object's items, fetched in one round trip (``Array.from`` on the page).

        Iterables (arrays, ``NodeList``, ``HTMLCollection``, ``Set``; a ``Map`` as ``[key,
        value]`` lists) and array-likes (an integer ``length``). Items cross as values or
        handles. ``in`` uses it too. ``list(handle)`` first asks for ``len()`` (Python's length
        hint), one more round trip.

        Raises
        ------
        TypeError
            When the page object is neither iterable nor array-like.
        """
        return iter(_items(self._lb_type, self._lb_op("items")))

    @property
    def aio(self) -> AsyncJS:
        """The awaitable form, for every transport: ``await el.aio.textContent``."""
        return AsyncJS(self, ())

    # --- lifetime --------------------------------------------------------------------------
    def release(self) -> None:
        """Let the page free the object now (idempotent; ``window`` is never released)."""
        if self._lb_released or self._lb_handle_id == GLOBAL_HANDLE:
            return
        object.__setattr__(self, "_lb_released", True)
        self._lb_table.release_handle(self._lb_handle_id, self._lb_serial)

    def __enter__(self) -> JSHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            if not self._lb_released:
                self._lb_table.release_handle(self._lb_handle_id, self._lb_serial)
        except Exception:  # noqa: BLE001, S110 - never raise from a finalizer (interpreter exit)
            pass

    def __repr__(self) -> str:
        state = " (released)" if self._lb_released else ""
        return f"<JSHandle {self._lb_type}{state}>"

    def __bool__(self) -> bool:
        return True


def _size(type_name: str, size: object) -> int:
    if type(size) is not int:
        raise TypeError(f"JSHandle {type_name} has no len(): the page object has no integer length or size")
    return size


def _items(type_name: str, items: object) -> list[Any]:
    if not isinstance(items, list):
        raise TypeError(
            f"JSHandle {type_name} is not iterable: the page object has no Symbol.iterator and no integer length"
        )
    return items


def _key(key: object) -> str | int:
    if type(key) is str or type(key) is int:
        return key
    raise TypeError(f"a page property key must be a str or an int, got {type(key).__name__}")


class AsyncJS:
    """The awaitable form of a :class:`JSHandle`: builds a property path, one round trip per await.

    ``await window.aio.document.title`` reads ``document.title`` in one operation;
    ``await window.aio.localStorage.setItem("k", "v")`` calls it; ``await
    aset(window.aio.document.title, "x")`` writes it; ``await window.aio`` is the handle itself.
    Works with every transport (it never blocks the kernel).
    """

    __slots__ = ("_handle", "_path")

    def __init__(self, handle: JSHandle, path: tuple[str | int, ...]) -> None:
        self._handle = handle
        self._path = path

    def __getattr__(self, name: str) -> AsyncJS:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return AsyncJS(self._handle, (*self._path, name))

    def __getitem__(self, key: str | int) -> AsyncJS:
        return AsyncJS(self._handle, (*self._path, _key(key)))

    def _send(self, op: str, args: Sequence[object]) -> asyncio.Future[Any]:
        handle = self._handle
        if handle._lb_released:
            raise ReferenceError(f"{handle!r} was released")
        page: Page = handle._lb_table.owner
        *path, name = self._path or (None,)
        future: asyncio.Future[Any] = page._op(handle._lb_handle_id, op, name, args, sync=False, path=path)
        return future

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._path:
            return _done(self._handle).__await__()
        return self._send("get", ()).__await__()

    def __call__(self, *args: object) -> asyncio.Future[Any]:
        """Call the function at this path (a method keeps its object as ``this``)."""
        return self._send("call", args)

    def _label(self) -> str:
        """Return the handle's type and the path, e.g. ``HTMLDivElement.children`` (for messages)."""
        path = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in self._path)
        return f"{self._handle._lb_type}{path}"

    def __repr__(self) -> str:
        return f"<AsyncJS {self._label()}>"


async def _done(value: Any) -> Any:
    return value


def aset(ref: AsyncJS, value: object) -> asyncio.Future[Any]:
    """Write a page property without blocking: ``await aset(window.aio.document.title, "x")``.

    Parameters
    ----------
    ref : AsyncJS
        The property, e.g. ``el.aio.textContent``.
    value : object
        A value, a :class:`JSHandle` or a Python callable.

    Returns
    -------
    asyncio.Future
        Done (with None) when the page has written it.

    Raises
    ------
    TypeError
        When ``ref`` is not a property path.
    """
    if not isinstance(ref, AsyncJS) or not ref._path:
        raise TypeError("aset() needs a property path such as window.aio.document.title")
    return ref._send("set", [value])


async def _checked(future: asyncio.Future[Any], check: Callable[[str, Any], Any], type_name: str) -> Any:
    return check(type_name, await future)


def _checked_op(ref: AsyncJS, what: str, op: str, check: Callable[[str, Any], Any]) -> asyncio.Future[Any]:
    if not isinstance(ref, AsyncJS):
        raise TypeError(f"{what}() needs an awaitable form such as window.aio.document.body.children")
    future = ref._send(op, ())
    return asyncio.ensure_future(_checked(future, check, ref._label()), loop=future.get_loop())


def alen(ref: AsyncJS) -> asyncio.Future[int]:
    """``len()`` without blocking: ``await alen(window.aio.document.body.children)``.

    Parameters
    ----------
    ref : AsyncJS
        The page object, e.g. ``el.aio.children`` or ``handle.aio``.

    Returns
    -------
    asyncio.Future
        Its ``length``, else its ``size`` (int).

    Raises
    ------
    TypeError
        When ``ref`` is not an awaitable form; when awaited, when the object has neither.
    """
    return _checked_op(ref, "alen", "len", _size)


def alist(ref: AsyncJS) -> asyncio.Future[list[Any]]:
    """``list()`` without blocking: ``await alist(window.aio.document.body.children)``.

    Parameters
    ----------
    ref : AsyncJS
        The page object, e.g. ``el.aio.children``: an iterable or an array-like.

    Returns
    -------
    asyncio.Future
        Its items (values or :class:`JSHandle`), fetched in one round trip.

    Raises
    ------
    TypeError
        When ``ref`` is not an awaitable form; when awaited, when the object is not iterable.
    """
    return _checked_op(ref, "alist", "items", _items)


class Listener:
    """An event listener added by :func:`add_event_listener`; :meth:`remove` takes it off."""

    def __init__(self, target: JSHandle, event_type: str, wrapper: JSHandle, capture: bool) -> None:
        self.target = target
        self.type = event_type
        self._wrapper = wrapper
        self._capture = capture

    def remove(self) -> None:
        """``target.removeEventListener(type, ...)`` (synchronous; needs ``sab`` or ``jspi``)."""
        self.target.removeEventListener(self.type, self._wrapper, {"capture": self._capture})
        self._wrapper.release()

    def __repr__(self) -> str:
        return f"<Listener {self.type!r} on {self.target!r}>"


def add_event_listener(
    target: JSHandle,
    event_type: str,
    handler: Callable[..., object],
    *,
    prevent_default: bool = False,
    stop_propagation: bool = False,
    once: bool = False,
    capture: bool = False,
) -> Listener | asyncio.Future[Listener]:
    """Run ``handler(event)`` in the kernel on each ``event_type`` event of ``target``.

    The handler runs after the page has dispatched the event, so ``event.preventDefault()``
    called from Python comes too late: declare it here, and the page calls it (and
    ``stopPropagation()``) synchronously, while the event is dispatched.

    Parameters
    ----------
    target : JSHandle
        An ``EventTarget`` (an element, ``window``, ``document``...).
    event_type : str
        E.g. ``"click"``, ``"submit"``.
    handler : callable
        Called with the event as a :class:`JSHandle`; may be ``async def``.
    prevent_default, stop_propagation : bool, default False
        Call ``event.preventDefault()`` / ``event.stopPropagation()`` on the page.
    once, capture : bool, default False
        As the options of ``addEventListener``.

    Returns
    -------
    Listener or asyncio.Future of Listener
        With transports ``sab`` and ``jspi`` the listener (added when this returns); with
        ``async`` a future of it (as ``page.register`` does).

    Raises
    ------
    JSError
        ``target`` is not an ``EventTarget``.
    """
    page: Page = target._lb_table.owner
    options = {"preventDefault": prevent_default, "stopPropagation": stop_propagation, "once": once, "capture": capture}
    args = [event_type, handler, options]
    if page.transport in ("sab", "jspi"):
        wrapper = page._op(target._lb_handle_id, "listen", None, args, sync=True)
        return Listener(target, event_type, wrapper, capture)

    async def later() -> Listener:
        wrapper = await page._op(target._lb_handle_id, "listen", None, args, sync=False)
        return Listener(target, event_type, wrapper, capture)

    return asyncio.ensure_future(later())
