"""Helpers for the asyncio techniques every program rewrites: wait for the first of several
awaitables without leaving the others running, and run a coroutine function later without creating
the coroutine early.

``wait_any`` works on any asyncio loop.  ``call_later``/``call_at`` belong to a run: the run
cancels the calls still pending when it shuts down, and reports their tasks' lost exceptions like
any other task's.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Generic,
    Iterable,
    Optional,
    TypeVar,
    overload,
)

from ._checks import checked_seconds
from ._report import qualified_name
from ._runner import Runner, current_run, run_to_stop

if TYPE_CHECKING:
    from typing_extensions import TypeVarTuple, Unpack

    Ts = TypeVarTuple("Ts")

T = TypeVar("T")
_FT = TypeVar("_FT", bound="asyncio.Future[Any]")


# -- wait_any -------------------------------------------------------------------------------------


@overload
async def wait_any(
    aws: Iterable[_FT], *, timeout: Optional[float] = None
) -> tuple[set[_FT], set[_FT]]: ...


@overload
async def wait_any(
    aws: Iterable[Coroutine[Any, Any, T]], *, timeout: Optional[float] = None
) -> tuple[set[asyncio.Task[T]], set[asyncio.Task[T]]]: ...


@overload
async def wait_any(
    aws: Iterable[Awaitable[T]], *, timeout: Optional[float] = None
) -> tuple[set[asyncio.Future[T]], set[asyncio.Future[T]]]: ...


async def wait_any(
    aws: Iterable[Awaitable[Any]], *, timeout: Optional[float] = None
) -> tuple[set[Any], set[Any]]:
    """Wait until the first of ``aws`` completes (or ``timeout`` seconds pass), then cancel the
    rest and wait for them to finish.  Returns ``(done, pending)``.

    ``aws`` holds tasks, futures, coroutines or other awaitables.  Tasks and futures are returned
    as themselves (so ``work in done`` works); anything else is first wrapped in a task, which is
    what the sets then hold.

    * ``done``: every one that had completed when ``wait_any`` woke up -- with a result, an
      exception, or cancelled by someone else.  Several completing in the same loop iteration are
      all in ``done``.  After a timeout, ``done`` is empty.
    * ``pending``: every one that had not completed then.  ``wait_any`` cancelled each of them and
      waited until each finished, so nothing is left running when it returns.  They normally end
      cancelled; one that suppressed the cancellation keeps the result or exception it ended with.

    Exceptions of the children are never raised by ``wait_any``: read them from ``done`` with
    ``result()``/``exception()``.  A child's failure that nobody reads is reported by the run like
    any other task's; a child that ended cancelled has nothing to report.

    If ``wait_any`` itself is cancelled, it cancels every child, waits for them to finish, then
    raises ``CancelledError``.

    The wait for cancelled children is not bounded, as with ``asyncio.TaskGroup``: a child that
    ignores cancellation delays ``wait_any`` for as long as it runs.  Cancelling ``wait_any``
    again during that wait is passed on to the children; it still waits for them, then raises
    ``CancelledError``.  So nothing is ever left running when it returns or raises; a child that
    never stops holds it, and the run's bounded shutdown names both.

    Raises ``ValueError`` for an empty ``aws`` or a timeout that is negative or not finite,
    ``TypeError`` for an element that is not awaitable or a timeout that is not a number;
    coroutines in a rejected ``aws`` are closed, since they will never run.
    """
    items = _collect_awaitables(aws, timeout)
    futures: list[asyncio.Future[Any]] = [asyncio.ensure_future(aw) for aw in items]
    try:
        done, pending = await asyncio.wait(
            futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        await _cancel_and_wait(futures)
        raise
    await _cancel_and_wait(pending)
    return done, pending


def _collect_awaitables(aws: Iterable[Awaitable[Any]], timeout: object) -> list[Awaitable[Any]]:
    if asyncio.isfuture(aws) or inspect.isawaitable(aws):
        _close_coroutines([aws])
        raise TypeError("aioboot.wait_any() expects an iterable of awaitables, not a single one")
    items = list(aws)
    try:
        if timeout is not None:
            checked_seconds(timeout, "timeout", "wait_any()", minimum=0.0)
        if not items:
            raise ValueError("aioboot.wait_any() needs at least one awaitable")
        for item in items:
            if not inspect.isawaitable(item):
                raise TypeError(f"aioboot.wait_any(): {item!r} is not awaitable")
    except BaseException:
        _close_coroutines(items)  # they will never run: no "never awaited" warning on top
        raise
    return items


def _close_coroutines(items: Iterable[object]) -> None:
    for item in items:
        if asyncio.iscoroutine(item):
            item.close()


async def _cancel_and_wait(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel ``futures`` and wait until all are done, as ``TaskGroup`` does: a cancellation that
    arrives meanwhile is passed on to them and raised once they are all done, so nothing is ever
    left running when ``wait_any`` returns or raises."""
    futures = list(futures)
    interrupted = False
    while True:
        for future in futures:
            future.cancel()
        try:
            if futures:
                await asyncio.wait(futures)
            break
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


# -- call_later / call_at -------------------------------------------------------------------------

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
        run: Runner,
        coro_fn: Callable[..., Coroutine[Any, Any, T]],
        args: tuple[Any, ...],
    ) -> None:
        self._run = run
        self._loop = run._require_loop()
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
        self._run._cancel_on_shutdown(self)

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
        self._run._forget(self)
        self._task = self._loop.create_task(self._new_coroutine())
        self._args = ()  # the coroutine holds them now; the handle may outlive it
        if self._fired is not None and not self._fired.done():
            self._fired.set_result(None)

    def _new_coroutine(self) -> Coroutine[Any, Any, T]:
        """The call's coroutine; a callable that fails or returns something else despite the
        checks at scheduling time gets its error raised by the task, reported like any failure."""
        try:
            coro: object = self._fn(*self._args)
        except Exception as exc:
            return _raise(exc)
        if not asyncio.iscoroutine(coro):
            name = qualified_name(self._fn)
            return _raise(TypeError(f"{name} returned {coro!r}, not a coroutine"))
        return coro

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._run._forget(self)
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


def _target_run(caller: str) -> Runner:
    """The run of this thread's loop; with no loop running here, the one active run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_to_stop(caller)
    return current_run(caller)  # a loop runs here: it must be an aioboot run, never another one


def _check_coroutine_function(fn: object, args: tuple[Any, ...], caller: str) -> None:
    if asyncio.iscoroutine(fn):
        fn.close()  # it can never run: no "never awaited" warning on top of this error
        raise TypeError(
            f"aioboot.{caller}: got the coroutine {qualified_name(fn)}; pass the async function "
            "and its arguments instead (fn, arg), not fn(arg): the coroutine must not exist "
            "before the call is due"
        )
    if not _is_async_callable(fn):
        raise TypeError(
            f"aioboot.{caller}: {fn!r} is not an async function; schedule a plain function "
            "with loop.call_later, or wrap it in an async def"
        )
    try:
        inspect.signature(fn).bind(*args)  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(
            f"aioboot.{caller}: {qualified_name(fn)} cannot be called with these arguments: {exc}"
        ) from None
    except ValueError:  # no signature available: let the call itself decide
        pass


def _is_async_callable(fn: object) -> bool:
    # A callable object qualifies when its __call__ is an async method.
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )


def _loop_runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
