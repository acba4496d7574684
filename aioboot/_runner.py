"""The run: start main, turn a stop request into a cancellation or a resolved stop future, shut
down in a fixed order, and hand back main's outcome.

Data flows one way: a signal (or ``request_stop()``) becomes one stop request -> main is cancelled
or its stop future resolves -> the shutdown steps run in order -> the report -> the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import signal
import threading
from concurrent.futures import Executor
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Generic,
    Iterator,
    NamedTuple,
    Optional,
    Protocol,
    Sequence,
    TypeVar,
    Union,
)

from . import _report, _tasks
from ._checks import checked_seconds
from ._diagnose import DumpOnSignal, StallWatch, checked_stall_warning
from ._executor import DaemonThreadPool, shutdown_in_background
from ._loops import ChosenLoop, LoopFactory, LoopSpec, choose_loop, make_loop
from ._notify import Notifier
from ._signals import SignalCapture, signal_name

T = TypeVar("T")

logger = logging.getLogger("aioboot")

Main = Union[Coroutine[Any, Any, T], Awaitable[T], Callable[[], Coroutine[Any, Any, T]]]

# Under Docker's 10 s stop grace period, so the report of what is stuck gets out before a SIGKILL.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0

_runs: dict[asyncio.AbstractEventLoop, _Run[Any]] = {}
_runs_lock = threading.Lock()


class _Cancellable(Protocol):
    def cancel(self) -> object: ...


class _NotACoroutineError(TypeError, ValueError):
    """What ``asyncio.run`` raises for a non-coroutine: ValueError on 3.9-3.13, TypeError on 3.14;
    this is both, so either ``except`` clause keeps working."""


class Options(NamedTuple):
    debug: Optional[bool]
    shutdown_timeout: Optional[float]
    stop_on_error: bool
    handle_signals: bool
    stall_warning: Optional[float]

    @classmethod
    def checked(
        cls,
        debug: object,
        shutdown_timeout: object,
        stop_on_error: object,
        handle_signals: object,
        stall_warning: object,
    ) -> Options:
        if debug is not None and not isinstance(debug, bool):
            raise TypeError(f"debug must be True, False or None, not {debug!r}")
        for name, value in (("stop_on_error", stop_on_error), ("handle_signals", handle_signals)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, not {value!r}")
        return cls(
            debug,
            checked_shutdown_timeout(shutdown_timeout),
            stop_on_error,  # type: ignore[arg-type]
            handle_signals,  # type: ignore[arg-type]
            checked_stall_warning(stall_warning),
        )


def checked_shutdown_timeout(value: object) -> Optional[float]:
    """``value`` as seconds (None: wait forever); TypeError/ValueError saying what is wrong."""
    if value is None:
        return None
    return checked_seconds(value, "shutdown_timeout", "run()", minimum=0.0)


def run(
    main: Main[T],
    *,
    loop: LoopSpec | None = None,
    debug: bool | None = None,
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
    stop_on_error: bool = False,
    handle_signals: bool = True,
    loop_factory: LoopFactory | None = None,
    stall_warning: float | None = None,
) -> T:
    coro = as_coroutine(main)
    try:
        _refuse_running_loop()
        options = Options.checked(
            debug, shutdown_timeout, stop_on_error, handle_signals, stall_warning
        )
        if loop is not None and loop_factory is not None:
            raise TypeError("pass loop= or loop_factory=, not both")
        chosen = choose_loop(loop_factory if loop_factory is not None else loop)
    except BaseException:
        coro.close()  # it will never run: no "never awaited" warning on top of the real error
        raise
    return _Run[T](chosen, options).run(coro)


def as_coroutine(main: object) -> Coroutine[Any, Any, Any]:
    """Accept what ``asyncio.run`` accepts (a coroutine; on 3.14 any awaitable) and an async
    function taking no arguments.  A plain function is never called to find out what it returns."""
    if asyncio.iscoroutine(main):
        return main
    if inspect.iscoroutinefunction(main):
        _check_callable_without_arguments(main)
        return main()
    if inspect.isawaitable(main) and not isinstance(main, asyncio.Future):
        return _await(main)
    hint = (
        "; it is a plain function: pass an async function or a coroutine object"
        if callable(main)
        else ""
    )
    raise _NotACoroutineError(f"aioboot.run(): a coroutine was expected, got {main!r}{hint}")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _check_callable_without_arguments(fn: Callable[..., Any]) -> None:
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise _NotACoroutineError(
            f"aioboot.run(): a coroutine was expected, got the async function {fn!r}, which needs "
            "arguments; pass the coroutine instead, e.g. main(arg)"
        ) from None
    except ValueError:  # no signature available (some builtins): let the call itself decide
        pass


def _refuse_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "aioboot.run() cannot be called from a running event loop; "
        "await the coroutine instead (or run it in another thread)"
    )


def current_run(caller: str) -> _Run[Any]:
    """The run whose loop is running in this thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    found = _runs.get(loop) if loop is not None else None
    if found is None:
        raise RuntimeError(f"aioboot.{caller} must be called inside aioboot.run()")
    return found


def run_to_stop(caller: str) -> _Run[Any]:
    """The run to stop from this thread: the one running here, else the only active one."""
    with contextlib.suppress(RuntimeError):
        return current_run(caller)
    with _runs_lock:
        active = list(_runs.values())
    if len(active) == 1:
        return active[0]
    if not active:
        raise RuntimeError(f"aioboot.{caller}: no aioboot.run() is active")
    raise RuntimeError(
        f"aioboot.{caller}: {len(active)} aioboot.run() calls are active in this process; "
        "call it from inside the one to stop"
    )


def exit_for_signal(signum: int) -> BaseException:
    """SIGINT ends a run like Ctrl-C ends Python; any other signal N like ``exit(128 + N)``."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return SystemExit(128 + signum)


class _Run(Generic[T]):
    """One call of ``aioboot.run``: its loop, its main task and its stop state."""

    def __init__(self, chosen: ChosenLoop, options: Options) -> None:
        self._chosen = chosen
        self._options = options
        self._loop: asyncio.AbstractEventLoop
        self._thread_id = threading.get_ident()
        self._main: Optional[asyncio.Task[T]] = None
        self._signals: Optional[SignalCapture] = None
        self._failure_watch: Optional[_tasks.FailureWatch] = None
        self._dump_on_signal: Optional[DumpOnSignal] = None
        self._stall_watch: Optional[StallWatch] = None
        self._notifier: Optional[Notifier] = None
        self._executor = DaemonThreadPool()
        # Stop state: the first request decides the outcome; later signals only force.
        self._stop_requested = False
        self._stop_signal: Optional[int] = None
        self._stop_future: Optional[asyncio.Future[Optional[int]]] = None
        self._main_handles_stop = False
        self._main_cancelled_by_stop = False
        self._main_deadline: Optional[asyncio.TimerHandle] = None
        self._failure: Optional[BaseException] = None
        self._forced_by: Optional[int] = None
        self._signal_exit: Optional[int] = None  # main ended cancelled by this signal's stop
        self._forced: asyncio.Future[None]
        self._shutting_down = False
        self._escaped: Optional[BaseException] = None
        self._loop_stopped_early = False
        self._cancel_on_shutdown: set[_Cancellable] = set()
        self._hooks: list[Callable[[], object]] = []
        self._hooks_done = False

    # -- public surface, reached through aioboot.stop_future() / request_stop() ------------------

    def stop_future(self) -> asyncio.Future[Optional[int]]:
        self._main_handles_stop = True
        if self._stop_future is None:
            self._stop_future = self._loop.create_future()
            if self._stop_requested:
                self._stop_future.set_result(self._stop_signal)
        # Shielded: cancelling one awaiter must not cancel the run's stop request for the others.
        return asyncio.shield(self._stop_future)

    def request_stop_threadsafe(self) -> None:
        if threading.get_ident() == self._thread_id:
            self._on_stop_request(None)
            return
        with contextlib.suppress(RuntimeError):  # loop already closed: the run is over anyway
            self._loop.call_soon_threadsafe(self._on_stop_request, None)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def cancel_on_shutdown(self, pending: _Cancellable) -> None:
        """Cancel ``pending`` when shutdown starts (at once if it has started), unless
        ``forget()`` was called for it first: a timer firing during shutdown would start work
        that shutdown has to cancel again."""
        if self._shutting_down:
            pending.cancel()
        else:
            self._cancel_on_shutdown.add(pending)

    def forget(self, pending: _Cancellable) -> None:
        self._cancel_on_shutdown.discard(pending)

    def add_shutdown_hook(self, hook: Callable[[], object]) -> None:
        if not callable(hook):
            raise TypeError(f"aioboot.on_shutdown() needs a callable, not {hook!r}")
        if self._hooks_done:
            raise RuntimeError("aioboot.on_shutdown(): the shutdown hooks have already run")
        self._hooks.append(hook)

    # -- the run ---------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            self._loop = make_loop(self._chosen)
        except BaseException:
            coro.close()
            raise
        logger.debug("running on %s (%s)", self._chosen.name, type(self._loop).__name__)
        try:
            try:
                self._set_up()
                self._main = self._loop.create_task(coro)
            except BaseException:
                coro.close()
                raise
            if self._stop_requested:  # a signal came during start-up
                self._cancel_main()
            self._run_main()
            self._shut_down()
        finally:
            self._tear_down()
        try:
            return self._outcome()
        finally:
            self._main = None

    def _set_up(self) -> None:
        loop = self._loop
        with _runs_lock:
            _runs[loop] = self
        asyncio.set_event_loop(loop)  # as asyncio.run does: get_event_loop() works during the run
        if self._options.debug is not None:
            loop.set_debug(self._options.debug)
        loop.set_exception_handler(_report.handle_exception)
        loop.set_default_executor(self._executor)
        self._forced = loop.create_future()
        if self._options.stop_on_error:
            self._failure_watch = _tasks.FailureWatch(loop, self._on_task_failure)
            self._failure_watch.install()
        if self._options.handle_signals and threading.current_thread() is threading.main_thread():
            self._signals = SignalCapture(loop, self._on_signal)
            self._signals.install()
            self._dump_on_signal = DumpOnSignal(loop)
            self._dump_on_signal.install()
        self._notifier = Notifier.from_environment()
        if self._notifier is not None:
            self._notifier.start_watchdog(loop)
        if self._options.stall_warning is not None:
            self._stall_watch = StallWatch(loop, self._options.stall_warning)
            self._stall_watch.start()

    def _run_main(self) -> None:
        assert self._main is not None
        main_phase = True

        def stop_loop(_: object) -> None:
            # Once only, and never after the phase: uvloop's stop() queues the stop itself, so a
            # second call would stop the loop again in the middle of the shutdown that follows.
            nonlocal main_phase
            if main_phase:
                main_phase = False
                self._loop.stop()

        self._main.add_done_callback(stop_loop)
        self._forced.add_done_callback(stop_loop)
        try:
            self._loop.run_forever()
        except (KeyboardInterrupt, SystemExit) as exc:
            # Raised inside a task (or by a default SIGINT handler): the run ends with it, as
            # asyncio.run's does, but only after the shutdown below.
            self._escaped = exc
        finally:
            main_phase = False
            self._main.remove_done_callback(stop_loop)
            self._forced.remove_done_callback(stop_loop)
        self._loop_stopped_early = not (self._main.done() or self._forced.done() or self._escaped)

    # -- stop requests ---------------------------------------------------------------------------

    def _on_signal(self, signum: int) -> None:
        if self._stop_requested or self._shutting_down:
            self._force_exit(signum)
            return
        logger.info("received %s, stopping", signal_name(signum))
        self._on_stop_request(signum)

    def _on_stop_request(self, signum: Optional[int]) -> None:
        if self._stop_requested or self._shutting_down:
            return  # request_stop() twice, or after main finished: nothing more to do
        self._stop_requested = True
        self._stop_signal = signum
        if self._notifier is not None:
            self._notifier.stopping()
        if self._stop_future is not None and not self._stop_future.done():
            self._stop_future.set_result(signum)
        if self._main is None:
            return  # start-up: main is cancelled as soon as it exists
        if not self._main_handles_stop:
            self._cancel_main()
        elif self._options.shutdown_timeout is not None:
            self._main_deadline = self._loop.call_later(
                self._options.shutdown_timeout, self._main_overran
            )
            self._notify_step("waiting for main to return")

    def _main_overran(self) -> None:
        logger.warning(
            "main did not return within %g s of the stop request; cancelling it",
            self._options.shutdown_timeout,
        )
        self._cancel_main()

    def _cancel_main(self) -> None:
        if self._main is not None and not self._main.done():
            self._main_cancelled_by_stop = True
            self._main.cancel()

    def _force_exit(self, signum: int) -> None:
        if self._forced_by is not None:
            return
        logger.warning("%s while stopping: forcing the exit", signal_name(signum))
        self._forced_by = signum
        self._forced.set_result(None)
        self._cancel_main()

    def _on_task_failure(self, task: asyncio.Task[Any]) -> None:
        if task is self._main or self._failure is not None or self._shutting_down:
            return
        self._failure = task.exception()  # retrieved: raised from run(), not reported again
        logger.error("%s failed; stopping (stop_on_error=True)", _report.task_label(task))
        self._on_stop_request(None)

    # -- shutdown --------------------------------------------------------------------------------

    def _shut_down(self) -> None:
        self._shutting_down = True
        if self._notifier is not None:
            self._notifier.stopping()  # main may have returned with no stop request
        self._let_go_of_a_main_stopped_by_signal()
        if self._main_deadline is not None:
            self._main_deadline.cancel()
        for pending in list(self._cancel_on_shutdown):
            pending.cancel()
        self._cancel_on_shutdown.clear()
        steps = self._loop.create_task(self._shutdown_steps())
        while True:
            try:
                self._loop.run_until_complete(steps)
                return
            except (KeyboardInterrupt, SystemExit) as exc:
                if steps.done():
                    raise
                # A task raised it while being cancelled: finish the shutdown first, then raise.
                if self._escaped is None:
                    self._escaped = exc
            except RuntimeError:
                if steps.done():
                    raise
                # "stopped before Future completed": a stop() still queued from the main phase
                # (uvloop runs done-callbacks before letting an exception out) or a stray one.

    def _let_go_of_a_main_stopped_by_signal(self) -> None:
        """Such a main's outcome is decided (the signal's exit) and nothing of it is raised.
        Dropping it now frees what its frame held (often every task it started) as shutdown
        cancels those tasks, instead of keeping it all for the heap scan and until the
        interpreter exits, which costs about as much again as the cancellation itself."""
        main = self._main
        if main is None or not main.cancelled() or not self._main_cancelled_by_stop:
            return
        if self._stop_signal is not None:
            self._signal_exit = self._stop_signal
            self._main = None

    async def _shutdown_steps(self) -> None:
        """The documented order (README, "Shutdown"); each step is logged at debug level."""
        self._notify_step("running shutdown hooks")
        await self._run_shutdown_hooks()
        self._notify_step("cancelling remaining tasks")
        await self._cancel_leftover_tasks()
        self._notify_step("finalizing async generators")
        await self._bounded(self._loop.shutdown_asyncgens(), "finalizing async generators")
        self._notify_step("shutting the default executor down")
        await self._shut_executor_down()
        self._notify_step("reporting unretrieved task exceptions", bounded=False)
        for task in _tasks.unretrieved_failures(self._loop):
            if task is not self._main:  # main's outcome is run()'s to raise, not to report
                _report.report_unretrieved(self._loop, task)

    def _notify_step(self, what: str, *, bounded: bool = True) -> None:
        """Log the step at debug level; tell the service manager, with room for its bound."""
        logger.debug("shutdown: %s", what)
        if self._notifier is not None:
            self._notifier.shutdown_step(what, self._options.shutdown_timeout if bounded else None)

    async def _run_shutdown_hooks(self) -> None:
        """Last registered, first run; a hook registered by a hook runs next."""
        while self._hooks:
            await self._run_shutdown_hook(self._hooks.pop())
        self._hooks_done = True

    async def _run_shutdown_hook(self, hook: Callable[[], object]) -> None:
        name = _report.qualified_name(hook)
        try:
            result = hook()
            if inspect.isawaitable(result):
                await self._bounded(result, f"shutdown hook {name}")  # reports its own failure
        except (KeyboardInterrupt, SystemExit) as exc:
            if self._escaped is None:
                self._escaped = exc
        except BaseException as exc:  # CancelledError included: one hook must not stop the rest
            _report.report_hook_failure(self._loop, hook, exc)

    async def _cancel_leftover_tasks(self) -> None:
        """Cancel every other task, in rounds (cleanup code may start new tasks), until none is
        left or the timeout is spent; report the ones that refused."""
        me = asyncio.current_task()
        deadline = self._deadline()
        with _gc_paused():
            while await self._cancel_round(me, deadline):
                pass

    async def _cancel_round(
        self, me: Optional[asyncio.Task[Any]], deadline: Optional[float]
    ) -> bool:
        """One round of cancellation; True when all finished and another round must look for
        tasks started meanwhile."""
        leftovers = [t for t in asyncio.all_tasks(self._loop) if t is not me]
        if not leftovers:
            return False
        for task in leftovers:
            task.cancel()
        finished = await self._wait_all(leftovers, deadline)
        for task in leftovers:
            # cancelled() first: it is True for nearly all of them, and settles it in one call.
            if not task.cancelled() and task.done() and task.exception() is not None:
                _report.report_failed_while_cancelled(self._loop, task)
        if not finished:
            stuck = [t for t in leftovers if not t.done()]
            for task in stuck:
                task._log_destroy_pending = False  # type: ignore[attr-defined]
            _report.report_stuck_tasks(stuck, self._waited())
        return finished

    async def _shut_executor_down(self) -> None:
        executor: Executor = getattr(self._loop, "_default_executor", None) or self._executor
        if executor is self._executor and not self._executor.ever_used:
            self._executor.shutdown(wait=False)  # no thread to wait for
            return
        if executor is not self._executor:
            self._executor.shutdown(wait=False)  # never used: the program installed its own
        done = asyncio.wrap_future(shutdown_in_background(executor), loop=self._loop)
        if await self._bounded(done, "shutting the default executor down", report=False):
            return
        if executor is self._executor:
            _report.report_stuck_jobs(self._executor.busy_workers(), self._waited())
        else:
            _report.report_step_timeout("shutting the default executor down", self._waited())

    async def _bounded(self, aw: Awaitable[Any], step: str, *, report: bool = True) -> bool:
        """Wait for one shutdown step within the timeout; True when it finished."""
        task = asyncio.ensure_future(aw)
        if await self._wait_all([task], self._deadline()):
            if not task.cancelled() and task.exception() is not None:
                _report.report_failed_step(self._loop, step, task)
            return True
        task.cancel()
        if report:
            _report.report_step_timeout(step, self._waited())
        return False

    async def _wait_all(
        self, futures: Sequence[asyncio.Future[Any]], deadline: Optional[float]
    ) -> bool:
        """Wait until every future is done, the deadline passes or the exit is forced; True when
        all are done.  Forced or not, pending work gets one pass of the loop first, so cleanup
        that needs no await still runs.

        Waits on one pending future at a time, in order: one pass of the loop completes thousands
        of cancelled tasks at once, so this costs a callback per pass instead of one per task.
        """
        for future in futures:
            if future.done():
                continue
            if not self._forced.done():
                timeout = None if deadline is None else max(0.0, deadline - self._loop.time())
                await asyncio.wait(
                    [future, self._forced], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            if not future.done():
                if self._forced.done():
                    await asyncio.sleep(0)
                return all(f.done() for f in futures)
        return True

    def _deadline(self) -> Optional[float]:
        timeout = self._options.shutdown_timeout
        return None if timeout is None else self._loop.time() + timeout

    def _waited(self) -> Optional[float]:
        return None if self._forced.done() else self._options.shutdown_timeout

    def _tear_down(self) -> None:
        loop = self._loop
        try:
            if self._signals is not None:
                self._signals.restore()
            if self._failure_watch is not None:
                self._failure_watch.uninstall()
            if self._dump_on_signal is not None:
                self._dump_on_signal.restore()
            if self._stall_watch is not None:
                self._stall_watch.stop()
            if self._notifier is not None:
                self._notifier.close()
        finally:
            with _runs_lock:
                _runs.pop(loop, None)
            asyncio.set_event_loop(None)
            loop.close()

    # -- outcome ---------------------------------------------------------------------------------

    def _outcome(self) -> T:
        # No local variable holds main: the frames of a raised exception's traceback keep their
        # locals, and main (with all its frame held) must not outlive run().
        if self._forced_by is not None:
            raise exit_for_signal(self._forced_by)
        if self._escaped is not None and not self._is_mains(self._escaped):
            raise self._escaped
        if self._failure is not None:
            self._report_other_main_error()
            raise self._failure
        if self._loop_stopped_early:
            raise RuntimeError("aioboot.run(): the event loop was stopped before main completed")
        if self._signal_exit is not None:
            raise exit_for_signal(self._signal_exit)
        assert self._main is not None
        return self._main.result()

    def _is_mains(self, exc: BaseException) -> bool:
        main = self._main
        return main is not None and main.done() and not main.cancelled() and main.exception() is exc

    def _report_other_main_error(self) -> None:
        main = self._main
        if main is not None and main.done() and not main.cancelled() and main.exception():
            logger.error(
                "main also raised while stopping on a task failure",
                exc_info=main.exception(),
            )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC would rescan every live task at each collection while thousands are torn
    down at once, making cancellation cost grow faster than linearly."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
