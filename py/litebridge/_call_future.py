"""The future of one Python -> page call, and resuming the task that awaits it.

asyncio resumes a task that awaits a future through ``loop.call_soon``: the future's
``set_result`` schedules the task's wake-up, and the task runs on the loop's next turn. In
Pyodide each turn is one more browser task: ``WebLoop.call_later`` wraps the handle in
``create_once_callable(..., _may_syncify=True)`` and hands it to ``scheduleCallback``, and the
browser enters Python again through a JSPI ``promising`` wrapper (pyodide ``webloop.py``). For
``await page.call(...)`` that turn comes right after the answer's own entry into Python, which
already runs where the task could run: from settling the future to the task running took
100-120 us of a 570-625 us round trip (Chromium 156, Pyodide 314.0.6, an isolated page). The
answer's entry now goes through ``callPromising`` (so that the resumed task can block), which
costs part of that back: ``python -m bench.ab`` read 484 -> 418 us for ``await page.call``.

:class:`CallFuture` keeps the wake-up of the one task that awaits it, instead of handing it to
asyncio's callback list, and :meth:`CallFuture.answer` runs it at once, in the frame's own turn,
when nothing forbids that (see :meth:`CallFuture.answer`). Every other way the future ends
(a timeout, a cancel, a refusal) and every other callback goes through ``call_soon`` as asyncio
does, in the order the callbacks were added.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from ._page import Page

__all__ = ["CallFuture"]


def _reraise(error: BaseException) -> None:
    raise error


class CallFuture(asyncio.Future[Any]):
    """The future of one Python -> page call; cancelling it cancels the call on the page.

    asyncio cancels what a task awaits by calling its ``cancel`` method (``task.cancel()``,
    ``asyncio.timeout``, ``wait_for``, ``gather``), so overriding it catches every way a
    caller can give up, with no per-call done-callback.

    The creator sets the four slots right after construction (``Page._send``).
    """

    __slots__ = ("_lb_id", "_lb_page", "_lb_shared", "_lb_wakeup")
    _lb_id: int
    _lb_page: Page | None
    _lb_wakeup: tuple[Callable[[Self], object], contextvars.Context | None] | None
    """The awaiting task's wake-up and its context, kept out of asyncio's callback list."""
    _lb_shared: bool
    """True once any other callback was added: every callback then goes to asyncio's list."""

    def add_done_callback(self, fn: Callable[[Self], object], *, context: contextvars.Context | None = None) -> None:
        """Add a done callback; the first task that awaits this future is kept apart.

        asyncio's task adds its wake-up through this method (a subclass of ``asyncio.Future``
        is awaited through its ``add_done_callback``, CPython ``_asynciomodule.c``
        ``task_step_handle_result_impl``); the wake-up is a function bound to the task.
        """
        if not self._lb_shared:
            if self._lb_wakeup is None and not self.done() and isinstance(getattr(fn, "__self__", None), asyncio.Task):
                self._lb_wakeup = (fn, context)
                return
            self._lb_shared = True
            kept = self._lb_wakeup
            if kept is not None:  # it was added first: it keeps its place in the list
                self._lb_wakeup = None
                super().add_done_callback(kept[0], context=kept[1])
        super().add_done_callback(fn, context=context)

    def remove_done_callback(self, fn: Callable[[Self], object]) -> int:
        """Remove every instance of ``fn`` from the callbacks; return how many were removed."""
        removed = 0
        kept = self._lb_wakeup
        if kept is not None and kept[0] == fn:
            self._lb_wakeup = None
            removed = 1
        return removed + super().remove_done_callback(fn)

    def set_result(self, result: Any) -> None:
        """Mark the future done with ``result``; the awaiting task wakes through ``call_soon``."""
        super().set_result(result)
        self._release(None)

    def set_exception(self, exception: type | BaseException) -> None:
        """Mark the future done with ``exception``; the awaiting task wakes through ``call_soon``."""
        super().set_exception(exception)
        self._release(None)

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel the future and tell the page to abort the handler (``litebridge.cancel``)."""
        if not super().cancel(msg):
            return False
        self._release(None)
        page = self._lb_page
        if page is not None:
            self._lb_page = None
            page._cancel_pending(self._lb_id, "the Python caller cancelled the call")
        return True

    def answer(self, result: Any, error: BaseException | None, *, may_resume: Callable[[], bool]) -> None:
        """Settle the future with the page's answer and, if allowed, resume the awaiting task now.

        Parameters
        ----------
        result : object
            The call's value (ignored when ``error`` is given).
        error : BaseException or None
            The call's error, or None for a result.
        may_resume : callable
            Called only when a task awaits this future: whether the caller runs where a
            loop handle could run, that is able to block with JSPI (``can_run_sync()``) where
            the browser has JSPI (the worker helper enters Python for an answer frame through
            ``callPromising``, as the WebLoop does for every handle). The task is then resumed
            before this returns, if the loop is installed here and no task is running; else
            through ``call_soon``.
        """
        if error is None:
            super().set_result(result)
        else:
            super().set_exception(error)
        self._release(may_resume)

    def _release(self: Self, may_resume: Callable[[], bool] | None) -> None:
        kept = self._lb_wakeup
        if kept is None:
            return
        self._lb_wakeup = None
        wakeup, context = kept
        loop = self.get_loop()
        if may_resume is not None and may_resume() and _enter_loop(loop) and asyncio.current_task(loop) is None:
            try:
                if context is None:
                    wakeup(self)
                else:
                    context.run(wakeup, self)
            except (KeyboardInterrupt, SystemExit) as exc:
                # a task's step re-raises these after failing the task; the loop's handle
                # runner decides what they do (pyodide webloop.py run_handle), so hand them over
                loop.call_soon(_reraise, exc)
            return
        loop.call_soon(wakeup, self, context=context)


def _enter_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Make ``loop`` the running loop here, as Pyodide's WebLoop does before every handle.

    With JSPI each entry into Python may run on a thread state of its own, which holds the
    running loop and the async generator hooks; ``WebLoop.call_later``'s ``run_handle``
    installs both before it runs a handle (``_install_running_loop``,
    ``_install_asyncgen_hooks``, pyodide ``webloop.py``). Another loop (CPython) must already
    be running here.

    Returns
    -------
    bool
        True when ``loop`` is the running loop here.
    """
    install = getattr(loop, "_install_running_loop", None)
    if install is not None:
        install()
        hooks = getattr(loop, "_install_asyncgen_hooks", None)
        if hooks is not None:
            hooks()
        return True
    return asyncio._get_running_loop() is loop
