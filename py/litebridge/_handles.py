"""The kernel's two reference tables (protocol section 13), pure Python.

* **Page handles**: page objects this kernel holds :class:`~litebridge.JSHandle` objects for.
  One live ``JSHandle`` per page handle id; each time the page sends the id again, its receive
  count goes up. When the ``JSHandle`` is released (``release()``, ``with`` or garbage
  collection), ``[id, count]`` is queued for a ``litebridge.release`` to the page, which frees
  the object once its own send count drops to zero.
* **Python objects**: callables this kernel sent to the page (``{"$py": [id, type]}``). The
  same callable always gets the same id, with a send count; the page releases ``[id, count]``
  when its garbage collector frees the function, and the object is dropped here once every
  send is released.

No browser is needed, so this is unit-tested in CPython.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .errors import BridgeClosed
from .protocol import GLOBAL_HANDLE, HANDLE_KEY, PY_KEY

__all__ = ["HandleTable"]

H = TypeVar("H")


class HandleTable(Generic[H]):
    """Page handles and exported Python objects of one kernel.

    Parameters
    ----------
    make_handle : callable
        ``make_handle(table, id, type_name, serial) -> H``: builds the Python object for a page
        handle (a :class:`~litebridge.JSHandle` in the kernel). It must call
        ``table.release_handle(id, serial)`` when it is released or finalized; ``serial``
        tells a late finalizer of an earlier handle of the same id from the live one.
    on_release_queued : callable, optional
        Called (with no arguments) when the release queue goes from empty to non-empty, so
        the owner can schedule a flush.
    """

    def __init__(
        self,
        make_handle: Callable[[HandleTable[H], int, str, int], H],
        on_release_queued: Callable[[], None] | None = None,
    ) -> None:
        self._make_handle = make_handle
        self._on_release_queued = on_release_queued
        self._handles: dict[int, tuple[weakref.ref[H], int]] = {}
        self._received: dict[int, int] = {}
        self._next_serial = 1
        self._releases: list[list[int]] = []
        self._objects: dict[int, object] = {}
        self._sent: dict[int, int] = {}
        self._object_ids: dict[int, int] = {}  # id(obj) -> object id
        self._next_object_id = 1
        self.owner: Any = None
        """Whatever runs the handles' operations (the kernel's :class:`~litebridge.Page`)."""
        self.window: H = make_handle(self, GLOBAL_HANDLE, "Window", 0)
        """The handle of the page's ``globalThis`` (id 0, never released)."""

    # --- page handles ---------------------------------------------------------------------
    def import_handle(self, value: Any) -> H:
        """Return the handle object for a received ``$handle`` tag.

        Parameters
        ----------
        value : Any
            What the tag holds: ``[id, type_name]`` with an int id >= 0.

        Returns
        -------
        H
            The live handle object for that id (the same object while it lives).

        Raises
        ------
        ValueError
            For a malformed tag.
        """
        if (
            type(value) is not list
            or len(value) != 2
            or type(value[0]) is not int
            or value[0] < 0
            or type(value[1]) is not str
        ):
            raise ValueError(f"bad frame: malformed {HANDLE_KEY} reference {value!r}")
        handle_id, type_name = value
        if handle_id == GLOBAL_HANDLE:
            return self.window
        entry = self._handles.get(handle_id)
        handle = entry[0]() if entry is not None else None
        if handle is None:
            if entry is not None:  # collected in a cycle, its finalizer not run yet
                self.release_handle(handle_id, entry[1])
            serial = self._next_serial
            self._next_serial += 1
            handle = self._make_handle(self, handle_id, type_name, serial)
            self._handles[handle_id] = (weakref.ref(handle), serial)
            self._received[handle_id] = 0
        self._received[handle_id] += 1
        return handle

    def is_live(self, handle_id: int, serial: int) -> bool:
        """Whether the handle ``handle_id`` of that ``serial`` has not been released."""
        if handle_id == GLOBAL_HANDLE:
            return True
        entry = self._handles.get(handle_id)
        return entry is not None and entry[1] == serial

    def release_handle(self, handle_id: int, serial: int) -> None:
        """Forget a page handle and queue its release for the page (idempotent).

        Parameters
        ----------
        handle_id : int
            The handle's id; 0 (``window``) is never released.
        serial : int
            The serial the handle was made with; a stale one (an earlier handle of that id)
            is ignored.
        """
        entry = self._handles.get(handle_id)
        if handle_id == GLOBAL_HANDLE or entry is None or entry[1] != serial:
            return
        del self._handles[handle_id]
        count = self._received.pop(handle_id)
        self._releases.append([handle_id, count])
        if len(self._releases) == 1 and self._on_release_queued is not None:
            self._on_release_queued()

    def take_releases(self) -> list[list[int]]:
        """Take the queued ``[id, count]`` pairs (for one ``litebridge.release``).

        Returns
        -------
        list of [int, int]
            Possibly empty; the queue is empty afterwards.
        """
        releases, self._releases = self._releases, []
        return releases

    # --- Python objects -------------------------------------------------------------------
    def export(self, obj: object) -> dict[str, object] | None:
        """Return the ``$py`` tag of a Python object, or the ``$handle`` tag of a live handle.

        A callable is tagged ``[id, typeName]`` (the page makes a function of it); any other
        object ``[id, typeName, "object"]`` (the page makes an object whose properties call its
        public methods).

        Parameters
        ----------
        obj : object
            What the codec could not send as a value.

        Returns
        -------
        dict or None
            The tag (never None: the codec sends plain values itself).
        """
        handle_id = getattr(obj, "_lb_handle_id", None)
        if type(handle_id) is int and getattr(obj, "_lb_table", None) is self:
            if not self.is_live(handle_id, getattr(obj, "_lb_serial", -1)):
                raise ReferenceError(f"{obj!r} was released: it cannot be sent to the page")
            return {HANDLE_KEY: [handle_id, ""]}
        key = id(obj)
        object_id = self._object_ids.get(key)
        if object_id is None or self._objects.get(object_id) is not obj:
            object_id = self._next_object_id
            self._next_object_id += 1
            self._objects[object_id] = obj
            self._sent[object_id] = 0
            self._object_ids[key] = object_id
        self._sent[object_id] += 1
        if callable(obj):
            return {PY_KEY: [object_id, type(obj).__name__]}
        return {PY_KEY: [object_id, type(obj).__name__, "object"]}

    def lookup(self, value: Any) -> object:
        """Return the Python object of a received ``$py`` tag (or an ``apply`` target id).

        Parameters
        ----------
        value : Any
            ``[id, type_name]`` or a bare int id.

        Returns
        -------
        object
            The object.

        Raises
        ------
        BridgeClosed
            When the id is not (or no longer) exported.
        """
        object_id = value[0] if type(value) is list and value else value
        if type(object_id) is int and object_id in self._objects:
            return self._objects[object_id]
        raise BridgeClosed(f"Python object {object_id!r} was released (or never existed)")

    def release_objects(self, pairs: object) -> None:
        """Apply a ``litebridge.release`` from the page.

        Parameters
        ----------
        pairs : object
            ``[[id, count], ...]``; malformed pairs are ignored.
        """
        if type(pairs) is not list:
            return
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not int or type(pair[1]) is not int:
                continue
            object_id, count = pair
            if object_id not in self._sent:
                continue
            self._sent[object_id] -= count
            if self._sent[object_id] <= 0:
                del self._sent[object_id]
                obj = self._objects.pop(object_id)
                if self._object_ids.get(id(obj)) == object_id:
                    del self._object_ids[id(obj)]

    # --- counts -----------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        """Live entries: ``{"handles": n, "objects": m, "queued": q}``.

        Page handles (``window`` not counted), Python objects the page holds, and releases not
        yet sent.
        """
        return {"handles": len(self._handles), "objects": len(self._objects), "queued": len(self._releases)}
