"""``call_later``/``call_at``: run a coroutine function later without creating the coroutine
early.  The calls belong to a run: the run cancels the calls still pending when it shuts down, and
reports their tasks' lost exceptions like any other task's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generator, Generic, Optional, TypeVar

from ._arguments import (
    arguments_refusal,
    as_coroutine,
    checked_seconds,
    close_unawaited,
    gives_awaitable,
    qualified_name,
    why_not_async,
)
from ._loops import running_loop
from ._runner import RunControl, current_run, run_for_this_thread

if TYPE_CHECKING:
    from typing_extensions import TypeVarTuple, Unpack

    Ts = TypeVarTuple("Ts")

T = TypeVar("T")

_PENDING = "pending"
_STARTED = "started"
_CANCELLED = "cancelled"


class ScheduledCall(Generic[T]):
    """A coroutine function call scheduled by :func:`call_later` or :func:`call_at`.

    The coroutine is created only when the call is due, in the run's loop thread, and runs as a
    task (``task``).  Awaiting the handle (in the run's loop) waits for the call to be due and
    for its task, and returns the task's result: it behaves like awaiting that task, so cancelling
    the awaiter cancels the call, before it is due or while it runs.

    ``cancel()`` is safe from any thread; the other methods only read state.
    """

    def __init__(
        self,
        run: RunControl,
        coro_fn: Callable[..., Coroutine[Any, Any, T]],
        args: tuple[Any, ...],
    ) -> None:
        self._run = run
        self._loop = run.loop
        self._fn = coro_fn
        self._args = args
        # Guards the one transition that two threads may race for: pending -> started/cancelled.
        self._lock = threading.Lock()
        self._state = _PENDING
        self._when: Optional[float] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._task: Optional[asyncio.Task[T]] = None
        self._fired: Optional[asyncio.Future[None]] = None  # made by the first awaiter only

    # -- public surface ---------------------------------------------------------------------------

    def when(self) -> float:
        """The loop time (``loop.time()`` clock) the call is due at; it never starts earlier.

        For a :func:`call_later` made from another thread, the loop thread fixes it on receiving
        the request (the delay still counts from the call); until then this raises RuntimeError.
        """
        if self._when is None:
            raise RuntimeError(
                "ScheduledCall.when(): not known yet: the call was scheduled from another thread "
                "and the loop has not received it yet"
            )
        return self._when

    @property
    def task(self) -> Optional[asyncio.Task[T]]:
        """The task running the call once it has started; None before, or if it never will."""
        return self._task

    def cancelled(self) -> bool:
        """True when the call was cancelled before it started, or its task ended cancelled."""
        task = self._task
        return self._state is _CANCELLED or (task is not None and task.cancelled())

    def cancel(self) -> bool:
        """Cancel the call, whatever its stage; safe from any thread.

        Before it is due: it will never start and its coroutine is never created (``cancelled()``
        is True as soon as this returns).  Once started: cancels its task, as ``task.cancel()``
        would.  Returns False when there was nothing to cancel: already cancelled, or finished.
        """
        with self._lock:
            state = self._state
            if state is _PENDING:
                self._state = _CANCELLED
        if state is _PENDING:
            self._in_loop_thread(self._disarm)
            return True
        task = self._task
        if state is _STARTED and not (task is not None and task.done()):
            self._in_loop_thread(self._cancel_task)
            return True
        return False

    def __await__(self) -> Generator[Any, None, T]:
        return self._result().__await__()

    def __repr__(self) -> str:
        task = self._task
        if self._state is _CANCELLED:
            state = "cancelled"
        elif task is None:
            state = "pending" if self._when is None else f"pending when={self._when:.3f}"
        else:
            state = f"started {task!r}"
        return f"<ScheduledCall {qualified_name(self._fn)}() {state}>"

    # -- the call's life, in the run's loop thread ------------------------------------------------

    def _schedule(self, when: Optional[float], delay: float) -> None:
        if _loop_runs_here(self._loop):
            self._arm(self._loop.time() + delay if when is None else when)
            return
        if when is not None:
            self._when = when
        asked_at = time.monotonic()  # the delay counts from now, whenever the loop takes it

        def arm_in_loop() -> None:
            late_by = time.monotonic() - asked_at
            self._arm(self._loop.time() + max(0.0, delay - late_by) if when is None else when)

        try:
            self._loop.call_soon_threadsafe(arm_in_loop)
        except RuntimeError:  # closed loop
            raise RuntimeError("aioboot: the run this call was meant for has ended") from None

    def _arm(self, when: float) -> None:
        self._when = when
        if self._state is not _PENDING:
            return  # cancelled from another thread before the loop received the request
        self._timer = self._loop.call_at(when, self._fire)
        self._run.cancel_on_shutdown(self)

    def _fire(self) -> None:
        assert self._when is not None
        if self._loop.time() < self._when:
            # uvloop's timers have millisecond resolution and can fire up to 1 ms early; the call
            # promises never to start before when().
            self._timer = self._loop.call_at(self._when, self._fire)
            return
        with self._lock:
            if self._state is not _PENDING:
                return
            self._state = _STARTED
        self._timer = None
        self._run.forget(self)
        self._task = self._loop.create_task(self._new_coroutine())
        self._args = ()  # the coroutine holds them now; the handle may outlive it
        if self._fired is not None and not self._fired.done():
            self._fired.set_result(None)

    def _new_coroutine(self) -> Coroutine[Any, Any, T]:
        """The call's coroutine; a callable that fails or gives something else despite the checks
        at scheduling time gets its error raised by the task, reported like any failure."""
        try:
            return as_coroutine(self._fn(*self._args), self._fn)
        except Exception as exc:
            return _raise(exc)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._run.forget(self)
        self._args = ()
        if self._fired is not None:
            self._fired.cancel()

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _result(self) -> T:
        if self._task is None:
            if self._state is _CANCELLED:
                raise asyncio.CancelledError()
            await self._fired_future()
        assert self._task is not None
        return await self._task

    def _fired_future(self) -> asyncio.Future[None]:
        if self._fired is None:
            self._fired = self._loop.create_future()
            self._fired.add_done_callback(self._on_fired_done)
        return self._fired

    def _on_fired_done(self, fired: asyncio.Future[None]) -> None:
        # An awaiter cancelled before the call started cancels it, as with an awaited task.
        if fired.cancelled():
            self.cancel()

    def _in_loop_thread(self, callback: Callable[[], object]) -> None:
        if _loop_runs_here(self._loop):
            callback()
            return
        with contextlib.suppress(RuntimeError):  # closed loop: the run is over, nothing to undo
            self._loop.call_soon_threadsafe(callback)


async def _raise(exc: Exception) -> Any:
    raise exc


def call_later(
    delay: float,
    coro_fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, T]],
    *args: Unpack[Ts],
) -> ScheduledCall[T]:
    """Run ``coro_fn(*args)`` as a task of the current run once ``delay`` seconds have passed.

    The coroutine is created when the call is due, not before: cancelling the returned
    :class:`ScheduledCall` first means it never exists (no "never awaited" warning, nothing
    lost).  A call still pending when the run shuts down is cancelled.  The task is an ordinary
    task of the run: an exception nobody retrieves is reported.  Like ``loop.call_later``, it
    runs in a copy of the caller's context variables; use ``functools.partial`` for keywords.

    Safe from any thread: in the run's loop thread it schedules directly; from another thread it
    targets the one active run (as :func:`aioboot.request_stop` does), and the delay counts from
    this call.  Raises ``RuntimeError`` when no run is active (or, in another thread, several
    are), ``TypeError`` when ``coro_fn`` is not an async function or does not accept ``args``,
    and ``TypeError``/``ValueError`` for a delay that is not a finite number >= 0.
    """
    _check_coroutine_function(coro_fn, args, "call_later()")
    seconds = checked_seconds(delay, "delay", "call_later()", minimum=0.0)
    return _schedule("call_later()", coro_fn, args, when=None, delay=seconds)


def call_at(
    when: float,
    coro_fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, T]],
    *args: Unpack[Ts],
) -> ScheduledCall[T]:
    """Run ``coro_fn(*args)`` as a task of the current run at loop time ``when`` (the
    ``loop.time()`` clock, as ``loop.call_at``); a time already past runs it as soon as possible.

    Everything else is as :func:`call_later`, threads included.
    """
    _check_coroutine_function(coro_fn, args, "call_at()")
    at = checked_seconds(when, "when", "call_at()")
    return _schedule("call_at()", coro_fn, args, when=at, delay=0.0)


def _schedule(
    caller: str,
    coro_fn: Callable[..., Coroutine[Any, Any, T]],
    args: tuple[Any, ...],
    *,
    when: Optional[float],
    delay: float,
) -> ScheduledCall[T]:
    call = ScheduledCall(_target_run(caller), coro_fn, args)
    call._schedule(when, delay)
    return call


def _target_run(caller: str) -> RunControl:
    """The run of this thread's loop; with no loop running here, the one active run."""
    if running_loop() is None:
        return run_for_this_thread(caller)
    return current_run(caller)  # a loop runs here: it must be an aioboot run, never another one


def _check_coroutine_function(fn: object, args: tuple[Any, ...], caller: str) -> None:
    if asyncio.iscoroutine(fn):
        close_unawaited(fn)
        raise TypeError(
            f"aioboot.{caller}: got the coroutine {qualified_name(fn)}; pass the async function "
            "and its arguments instead (fn, arg), not fn(arg): the coroutine must not exist "
            "before the call is due"
        )
    if not gives_awaitable(fn):
        raise TypeError(f"aioboot.{caller}: {why_not_async(fn)}")
    refusal = arguments_refusal(fn, args)
    if refusal is not None:
        raise TypeError(
            f"aioboot.{caller}: {qualified_name(fn)} cannot be called with these arguments: "
            f"{refusal}"
        )


def _loop_runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    return running_loop() is loop
