"""``Runner``: one event loop's lifetime, as ``asyncio.Runner`` draws it — created lazily, any
number of ``run()`` calls, and ``close()`` for the shutdown — and ``run()`` on top of it, as
CPython builds ``asyncio.run``.

Data flows one way: a signal (or ``request_stop()``) becomes the current call's stop request
(``_stop``) -> main is cancelled or its stop future resolves -> ``close()`` runs the shutdown
steps in order (``_shutdown``) -> the report -> the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import os
import sys
import threading
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Optional,
    TypeVar,
)

from ._arguments import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    RunOptions,
    arguments_refusal,
    as_coroutine,
    close_unawaited,
    gives_awaitable,
    why_not_async,
)
from ._loops import ChosenLoop, choose_loop, make_loop, running_loop
from ._shutdown import ChildProcesses, DefaultExecutor, HeldTasks, Shutdown, report_exception
from ._signals import SignalCapture, hangup_signals, stop_signals, task_dump_signals
from ._stop import RunState

if TYPE_CHECKING:  # imported when used: diagnosis, notify, heartbeat, reloads, task factory
    from ._diagnose import StallWatch
    from ._heartbeat import Heartbeat
    from ._notify import Notifier
    from ._reload_callbacks import ReloadCallbacks
    from ._shutdown import Cancellable
    from ._task_factory import TaskFactorySlot
    from ._types import LoopFactory, LoopSpec, Main

T = TypeVar("T")

logger = logging.getLogger("aioboot")

_runners: dict[asyncio.AbstractEventLoop, Runner] = {}
_runners_lock = threading.Lock()


class _NotACoroutineError(TypeError, ValueError):
    """What ``asyncio.run`` raises for a non-coroutine: ValueError on 3.9-3.13, TypeError on 3.14;
    this is both, so either ``except`` clause keeps working."""


# asyncio.run's own words for what it refuses, which code and tests match on.  3.14 also accepts
# futures, as awaitables; earlier versions refuse them with the coroutines' error.
if sys.version_info >= (3, 14):
    _REFUSAL = "An asyncio.Future, a coroutine or an awaitable is required"
    _AWAITABLE_FUTURES = True
else:
    _REFUSAL = "a coroutine was expected"
    _AWAITABLE_FUTURES = False


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
    heartbeat_file: str | os.PathLike[str] | None = None,
    drain_delay: float | None = None,
    eager_tasks: bool | None = None,
) -> T:
    """Run ``main`` on a new event loop until it completes, then shut down and close the loop;
    return main's result.  A drop-in for :func:`asyncio.run`.

    ``main`` is a coroutine (on 3.14+, any awaitable, as :func:`asyncio.run` takes) or an async
    callable that takes no arguments: an ``async def`` function, a :func:`functools.partial` or
    :func:`functools.wraps` wrapper of one, an object with an ``async def __call__``, or a
    function marked with :func:`inspect.markcoroutinefunction`.  A plain function is refused
    without being called.

    What it adds to :func:`asyncio.run`:

    * **The loop**: ``loop`` is ``"auto"`` (uvloop on POSIX CPython, winloop on Windows, asyncio
      otherwise; ``None`` reads ``$AIOBOOT_LOOP``, else auto), ``"asyncio"``, ``"uvloop"``,
      ``"winloop"``, ``"rloop"`` (never chosen by auto: see the docs' "The loop"), an import
      path ``"module:factory"`` or a callable returning a new loop;
      ``loop_factory`` is :func:`asyncio.run`'s own argument (not both).
    * **Stop signals** (``handle_signals=True``, in the main thread): SIGINT, SIGTERM (and SIGBREAK
      on Windows) at their default disposition ask the run to stop.  Main is cancelled, or, if it
      called :func:`aioboot.stop_future`, that future resolves and main has ``shutdown_timeout``
      seconds to return.  A second Ctrl-C forces the exit; a repeated SIGTERM is only logged.  A
      handler the program installs itself is left to it.  SIGHUP runs the
      :func:`aioboot.on_reload` callbacks, or, with none registered, stops like SIGTERM.
    * **A drain** (``drain_delay=SECONDS``; ``None`` reads ``$AIOBOOT_DRAIN_DELAY``; 0 is none):
      on SIGTERM (or SIGHUP as a stop), :func:`aioboot.is_stopping` turns true at once, and main
      is cancelled, or its stop future resolved, only that many seconds later, so that a health
      check reports not-ready while requests are still served.  Ctrl-C never drains, and ends a
      drain under way at once.
    * **A bounded shutdown**, in a fixed order: work given to :func:`aioboot.shutdown_waits_for`
      waited for, :func:`aioboot.on_shutdown` hooks, then every remaining task cancelled, async
      generators finalised, child processes the program started through the loop and left
      running stopped (SIGTERM, then SIGKILL) and reaped, the default executor shut down, and
      the report of task exceptions nobody retrieved.  Each wait is bounded by
      ``shutdown_timeout`` seconds (``None``: unbounded); whatever refuses to stop is named.
    * ``stop_on_error=True`` stops the run at the first task that fails unobserved, and raises
      that exception; ``stall_warning=SECONDS`` logs where the loop is blocked when a callback
      runs longer than that (``None`` reads ``$AIOBOOT_STALL_WARNING``; 0 is off).
    * ``heartbeat_file=PATH``, for a liveness probe (``python -m aioboot.probe PATH``): the loop
      itself sets PATH's modification time to now every 0.5 s while it turns, so the file goes
      stale while the loop is blocked; created when the loop is, removed when it is closed
      (a forced exit included).  ``None`` reads ``$AIOBOOT_HEARTBEAT_FILE`` (unset or empty:
      none).  A path that cannot be written raises an ``OSError`` naming it before main starts.
    * ``eager_tasks=True`` (Python 3.12.5+; ``None`` reads ``$AIOBOOT_EAGER_TASKS``, ``1`` for on)
      makes the loop's task factory :func:`asyncio.eager_task_factory`, on whichever loop runs: a
      task runs synchronously from its creation to its first suspension, and one that finishes
      without suspending never goes through the loop.  A task factory the program sets (on the
      running loop, or in its loop factory) still builds the tasks, called with
      ``eager_start=True`` if it takes that argument or ``**kwargs``; see the docs' "Eager tasks".

    Outcome: main's result, or the exception it raised.  When a stop signal ended the run:
    ``KeyboardInterrupt`` for SIGINT, ``SystemExit(128 + N)`` for another signal N; a main that
    awaited :func:`aioboot.stop_future` and returned keeps its own outcome, as under
    :func:`asyncio.run` (the ``python -m aioboot`` launcher, which owns its process, ends it by
    the signal either way, unless main returned an ``int``).  A ``KeyboardInterrupt`` or
    ``SystemExit`` raised by a task is raised after the shutdown.

    Raises ``RuntimeError`` when called from a running event loop (``main`` is closed unrun),
    ``TypeError``/``ValueError`` for a ``main`` that is not a coroutine or an async callable
    (asyncio's own wording) and for a bad option (the message names it; eager tasks before
    Python 3.12.5 are a ``ValueError`` naming the version).
    """
    runner, coro = _WholeCallRunner.for_main(
        main,
        loop=loop,
        debug=debug,
        shutdown_timeout=shutdown_timeout,
        stop_on_error=stop_on_error,
        handle_signals=handle_signals,
        loop_factory=loop_factory,
        stall_warning=stall_warning,
        heartbeat_file=heartbeat_file,
        drain_delay=drain_delay,
        eager_tasks=eager_tasks,
    )
    with runner:
        return runner.run(coro)


def run_program(main: Main[Any], **options: Any) -> object:
    """:func:`run` for the launcher, which ends its process as the run ended: once a stop signal
    came, main's return value gives way to that signal's exit unless it is an ``int``
    (:meth:`RunState.program_exit <aioboot._stop.RunState.program_exit>`)."""
    runner, coro = _WholeCallRunner.for_main(main, **options)
    with runner:
        value = runner.run(coro)
    return runner.program_outcome(value)


def main_coroutine(main: Main[T], caller: str) -> Coroutine[Any, Any, T]:
    """Accept what ``asyncio.run`` accepts (a coroutine; on 3.14 any awaitable) and an async
    callable taking no arguments (``_arguments.gives_awaitable``).  A plain function is never
    called to find out what it returns."""
    if asyncio.iscoroutine(main):
        return main
    if callable(main) and gives_awaitable(main):
        refusal = arguments_refusal(main)
        if refusal is not None:
            raise _NotACoroutineError(
                f"{caller}: {_REFUSAL}, got {main!r}, which needs arguments ({refusal}); "
                "pass the coroutine instead, e.g. main(arg)"
            )
        return as_coroutine(main(), main)
    if inspect.isawaitable(main) and (_AWAITABLE_FUTURES or not isinstance(main, asyncio.Future)):
        return as_coroutine(main, main)
    hint = f"; {why_not_async(main)}" if callable(main) else ""
    raise _NotACoroutineError(f"{caller}: {_REFUSAL}, got {main!r}{hint}")


def _refuse_running_loop(caller: str) -> None:
    if running_loop() is None:
        return
    raise RuntimeError(
        f"{caller} cannot be called from a running event loop; "
        "await the coroutine instead (or run it in another thread)"
    )


def current_run(caller: str) -> RunControl:
    """The run whose loop is running in this thread."""
    loop = running_loop()
    found = _runners.get(loop) if loop is not None else None
    if found is None:
        raise RuntimeError(f"aioboot.{caller} must be called inside aioboot.run() or a Runner")
    return found._control


def run_for_this_thread(caller: str) -> RunControl:
    """The run a call from this thread is for: the one running here, else the only open one."""
    with contextlib.suppress(RuntimeError):
        return current_run(caller)
    with _runners_lock:
        active = list(_runners.values())
    if len(active) == 1:
        return active[0]._control
    if not active:
        raise RuntimeError(f"aioboot.{caller}: no aioboot.run() is active")
    raise RuntimeError(
        f"aioboot.{caller}: {len(active)} aioboot.run() calls are active in this process; "
        "call it from inside the one to stop"
    )


def any_run_stopping() -> bool:
    """Whether the run this thread's loop belongs to is stopping; in a thread that runs no
    aioboot loop, whether any open run is; False when there is none."""
    loop = running_loop()
    here = _runners.get(loop) if loop is not None else None
    if here is not None:
        return here._control.is_stopping()
    with _runners_lock:
        active = list(_runners.values())
    return any(runner._control.is_stopping() for runner in active)


class Runner:
    """A context manager that owns one event loop, as ``asyncio.Runner`` does, with everything
    ``aioboot.run()`` adds: the loop choice, stop signals handled during each :meth:`run` call,
    the ordered and bounded shutdown in :meth:`close`, and the report of lost task exceptions.

    ``aioboot.run(main(), **options)`` is ``with Runner(**options) as r: return r.run(main())``.

    A stop request (a signal, ``request_stop()``, a failure under ``stop_on_error``) ends the
    current :meth:`run` call only, with the same outcome ``aioboot.run()`` would give; the next
    call starts afresh, as ``asyncio.Runner`` does after a Ctrl-C.  A *forced* exit is final: the
    runner then refuses to run anything else, and :meth:`close` does not wait.

    A ``heartbeat_file`` is created when the loop is (``with``, or the first :meth:`run`), and
    refreshed only while the loop runs: between two :meth:`run` calls it ages, as it would if the
    loop were blocked.
    """

    # aioboot.run(): one watch from the start of the call to the end of the shutdown, so no moment
    # in between has a signal meet the handler the program had before.
    _watches_until_closed = False

    def __init__(
        self,
        *,
        loop: LoopSpec | None = None,
        debug: bool | None = None,
        shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
        stop_on_error: bool = False,
        handle_signals: bool = True,
        loop_factory: LoopFactory | None = None,
        stall_warning: float | None = None,
        heartbeat_file: str | os.PathLike[str] | None = None,
        drain_delay: float | None = None,
        eager_tasks: bool | None = None,
    ) -> None:
        self._options = RunOptions(
            debug=debug,
            shutdown_timeout=shutdown_timeout,
            stop_on_error=stop_on_error,
            handle_signals=handle_signals,
            stall_warning=stall_warning,
            heartbeat_file=heartbeat_file,
            drain_delay=drain_delay,
            eager_tasks=eager_tasks,
        )
        if loop is not None and loop_factory is not None:
            raise TypeError("pass loop= or loop_factory=, not both")
        self._chosen: ChosenLoop = choose_loop(loop_factory if loop_factory is not None else loop)
        # As asyncio.Runner: a loop made by an explicit loop_factory is not made the current one.
        self._sets_event_loop = loop_factory is None
        # Made by the first use (with, get_loop(), run()): None before, and again once closed.
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._closed = False
        self._context: Optional[contextvars.Context] = None
        self._shutdown: Optional[Shutdown] = None
        self._held: Optional[HeldTasks] = None
        self._state: Optional[RunState] = None  # how the runs end
        self._task_factory: Optional[TaskFactorySlot] = None
        self._children: Optional[ChildProcesses] = None
        self._default_executor: Optional[DefaultExecutor] = None
        self._notifier: Optional[Notifier] = None
        self._heartbeat: Optional[Heartbeat] = None
        self._watcher: Optional[_Watcher] = None
        self._reloads: Optional[ReloadCallbacks] = None  # made by the first on_reload()
        self._control = RunControl(self)

    def __enter__(self) -> Runner:
        self._lazy_init()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The runner's loop, created now if it does not exist yet."""
        return self._require_loop()

    def run(self, coro: Main[T], *, context: Optional[contextvars.Context] = None) -> T:
        """Run ``coro`` in the runner's loop until it completes, with stop signals handled for
        the length of the call; return its result or raise its exception.  A stop request ends
        the call as it ends ``aioboot.run()``: ``KeyboardInterrupt`` for SIGINT,
        ``SystemExit(128 + N)`` for signal N, main's own outcome for a program that awaited
        ``stop_future()``.  ``context``: as ``asyncio.Runner.run`` (3.11+ runs the task in it;
        3.9/3.10 in a copy of it, as their tasks always copy)."""
        coro = main_coroutine(coro, "aioboot.Runner.run()")
        _refuse_running_loop("Runner.run()")  # as asyncio.Runner: the coroutine is not closed
        loop = self._require_loop()
        state = self._require_state()
        if state.forced_by is not None:
            close_unawaited(coro)
            raise RuntimeError("aioboot.Runner: the exit was forced; the runner can only close")
        state.begin_call()
        # Signals first: their move to the loop's own handlers is then the loop's first callback,
        # before main's first step.
        self._require_watcher().start()
        state.main_started(_create_task(loop, coro, self._context if context is None else context))
        escaped = None
        try:
            escaped = _run_main(loop, state, self._require_held())
        finally:
            state.end_call(escaped)
            if not self._watches_until_closed:
                self._require_watcher().stop()
        failure = state.outcome()
        if failure is not None:
            state.let_go()
            raise failure
        result: T = state.result()
        return result

    def close(self) -> None:
        """Shut down, in the documented order (the docs' "The shutdown order"), and close the loop.
        A second call does nothing.  Stop signals are handled for the length of the shutdown.
        Once it is complete, raises a ``KeyboardInterrupt``/``SystemExit`` that a task or a hook
        raised during it, else the exit a signal asked for during it: the forcing one's, or a
        first signal's if the last call's main did not await :func:`aioboot.stop_future`."""
        if self._loop is None:
            return
        loop, shutdown, state = self._loop, self._shutdown, self._state
        assert loop is not None
        assert shutdown is not None
        assert state is not None
        state.begin_shutdown()
        try:
            self._require_watcher().start()  # the shutdown is still the program's to stop or force
            state.end_shutdown(shutdown.run())
        finally:
            self._tear_down(loop)
        failure = state.outcome()
        if failure is not None:
            raise failure

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        self._lazy_init()
        assert self._loop is not None
        return self._loop

    def _require_shutdown(self) -> Shutdown:
        self._lazy_init()
        assert self._shutdown is not None
        return self._shutdown

    def _require_state(self) -> RunState:
        self._lazy_init()
        assert self._state is not None
        return self._state

    def _require_held(self) -> HeldTasks:
        self._lazy_init()
        assert self._held is not None
        return self._held

    # -- the loop's lifetime ---------------------------------------------------------------------

    def _lazy_init(self) -> None:
        if self._closed:
            raise RuntimeError("Runner is closed")
        if self._loop is not None:
            return
        self._heartbeat = _new_heartbeat(self._options.heartbeat_file)  # first: no loop to undo
        try:
            loop = make_loop(self._chosen)
        except BaseException:
            self._stop_heartbeat()
            raise
        logger.debug("running on %s (%s)", self._chosen.name, type(loop).__name__)
        if self._sets_event_loop:
            asyncio.set_event_loop(loop)  # as asyncio.run: get_event_loop() works in the run
        if self._options.debug is not None:
            _set_debug(loop, self._options.debug)
        loop.set_exception_handler(report_exception)
        self._default_executor = DefaultExecutor(loop)
        self._default_executor.install()
        self._start_liveness_reports(loop)
        timeout = self._options.shutdown_timeout
        self._held = HeldTasks(loop)
        self._state = RunState(loop, timeout, self._held, self._notifier, self._options.drain_delay)
        self._children = ChildProcesses(loop)
        self._children.install()
        self._shutdown = Shutdown(
            loop,
            timeout,
            self._default_executor,
            self._state.forced,
            self._held,
            self._children,
            self._notifier,
        )
        self._task_factory = self._own_task_factory(loop)
        self._watcher = _Watcher(loop, self._options, self._on_signal, self._on_hangup)
        self._context = contextvars.copy_context()
        self._loop = loop
        with _runners_lock:
            _runners[loop] = self

    def _own_task_factory(self, loop: asyncio.AbstractEventLoop) -> Optional[TaskFactorySlot]:
        """The task factory eager_tasks and stop_on_error need, installed; None when neither is
        on, and the program's tasks are made as the loop makes them, at no cost per task."""
        options = self._options
        if not (options.eager_tasks or options.stop_on_error):
            return None
        from ._task_factory import FailureWatch, TaskFactorySlot

        on_done = None
        if options.stop_on_error:
            on_done = FailureWatch(loop, self._on_task_failure).on_done
        slot = TaskFactorySlot(loop, eager=options.eager_tasks, on_done=on_done)
        slot.install()
        return slot

    def _tear_down(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            if self._shutdown is not None:
                self._shutdown.let_go_of_leftovers()
            self._require_watcher().stop()
            if self._children is not None:
                self._children.uninstall()
            if self._default_executor is not None:
                self._default_executor.uninstall()
            if self._task_factory is not None:
                self._task_factory.uninstall()
            if self._notifier is not None:
                self._notifier.close()
        finally:
            self._stop_heartbeat()
            with _runners_lock:
                _runners.pop(loop, None)
            if self._sets_event_loop:
                asyncio.set_event_loop(None)
            loop.close()
            self._loop = None
            self._closed = True

    def _start_liveness_reports(self, loop: asyncio.AbstractEventLoop) -> None:
        """systemd's watchdog pings and the heartbeat file, both from a timer on the loop: a loop
        that stops turning stops them."""
        self._notifier = _service_manager()
        if self._notifier is not None:
            self._notifier.start_watchdog(loop)
        if self._heartbeat is not None:
            self._heartbeat.start(loop)

    def _stop_heartbeat(self) -> None:
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.close()

    # -- signals and failures, routed to the call or to the shutdown -----------------------------

    def _require_watcher(self) -> _Watcher:
        self._lazy_init()
        assert self._watcher is not None
        return self._watcher

    def _on_signal(self, signum: int) -> None:
        # After main's phase (in close()), the last call's request still decides: a first signal
        # sets the exit, a second Ctrl-C forces.
        self._require_state().on_signal(signum)

    def _on_hangup(self, signum: int) -> None:
        """SIGHUP: a reload for a program that registered reload callbacks (nothing to reload once
        it is stopping), else a stop signal like SIGTERM."""
        state = self._require_state()
        if self._reloads is None:
            state.on_signal(signum)
        elif state.is_stopping():
            logger.info("received SIGHUP while stopping: not reloading")
        else:
            self._reloads.reload()

    def _reload_callbacks(self) -> ReloadCallbacks:
        if self._reloads is None:
            from ._reload_callbacks import ReloadCallbacks

            self._reloads = ReloadCallbacks(
                self._require_loop(), self._options.shutdown_timeout, self._notifier
            )
        return self._reloads

    def _on_task_failure(self, task: asyncio.Task[Any]) -> None:
        self._require_state().on_task_failure(task)


class _Watcher:
    """What watches the program while the loop runs for a runner (each run() call, and close()):
    the stop signals, SIGHUP, SIGUSR1's task dump, the stall watch."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: RunOptions,
        on_signal: Callable[[int], None],
        on_hangup: Callable[[int], None],
    ) -> None:
        self._loop = loop
        self._options = options
        self._on_signal = on_signal
        self._on_hangup = on_hangup
        self._watching = False
        self._signals: Optional[SignalCapture] = None
        self._stall_watch: Optional[StallWatch] = None

    def start(self) -> None:
        if self._watching:
            return
        self._watching = True
        self._signals = self._captured_signals()
        if self._options.stall_warning is not None:
            from ._diagnose import StallWatch

            self._stall_watch = StallWatch(self._loop, self._options.stall_warning)
            self._stall_watch.start()

    def stop(self) -> None:
        self._watching = False
        stall_watch, self._stall_watch = self._stall_watch, None
        if stall_watch is not None:
            stall_watch.stop()
        signals, self._signals = self._signals, None
        if signals is not None:
            signals.restore()

    def _captured_signals(self) -> Optional[SignalCapture]:
        if not self._options.handle_signals:
            return None
        if threading.current_thread() is not threading.main_thread():
            return None  # signals are the main thread's; everything else works without them
        # The stop signals, SIGHUP, and SIGUSR1 for the task dump: one capture, one set of rules.
        handlers: dict[int, Callable[[int], None]] = dict.fromkeys(stop_signals(), self._on_signal)
        handlers.update(dict.fromkeys(hangup_signals(), self._on_hangup))
        handlers.update(dict.fromkeys(task_dump_signals(), _dump_tasks_on_signal))
        capture = SignalCapture(self._loop, handlers)
        try:
            capture.install()
        except ValueError as exc:
            # signal.signal refused (a sub-interpreter, an embedding that disabled signals).
            logger.debug("stop signals are not handled: %s", exc)
            return None
        return capture


class _WholeCallRunner(Runner):
    """The runner of one ``aioboot.run()`` call."""

    _watches_until_closed = True

    @classmethod
    def for_main(
        cls, main: Main[T], **options: Any
    ) -> tuple[_WholeCallRunner, Coroutine[Any, Any, T]]:
        """A runner with its loop made, and main's coroutine; on any error, main is closed."""
        try:
            _refuse_running_loop("aioboot.run()")  # first, as asyncio.run checks it before main
        except RuntimeError:
            close_unawaited(main)
            raise
        coro = main_coroutine(main, "aioboot.run()")
        try:
            runner = cls(**options)
            runner.get_loop()  # now, so that a failure to make it closes the coroutine
        except BaseException:
            close_unawaited(coro)
            raise
        return runner, coro

    def program_outcome(self, value: object) -> object:
        """Once closed: ``value``, or raised, the exit that a stop signal gives the process."""
        assert self._state is not None
        failure = self._state.program_exit(value)
        if failure is not None:
            raise failure
        return value


class RunControl:
    """What aioboot's module-level functions (``stop_future()``, ``request_stop()``,
    ``is_stopping()``, ``on_shutdown()``, ``shutdown_waits_for()``, ``on_reload()``,
    ``call_later()``) may do to the run they find with :func:`current_run`,
    :func:`run_for_this_thread` or :func:`any_run_stopping`: the one interface between them and a
    :class:`Runner`."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._runner._require_loop()

    def stop_future(self) -> asyncio.Future[Optional[int]]:
        return self._runner._require_state().stop_future()

    def request_stop(self) -> None:
        """From any thread; asks the call running now (a request never carries over to the next
        one)."""
        stop, loop = self._runner._require_state(), self.loop
        if running_loop() is loop:
            stop.request(None)
            return
        with contextlib.suppress(RuntimeError):  # loop already closed: the run is over anyway
            loop.call_soon_threadsafe(stop.request_for_this_call())

    def is_stopping(self) -> bool:
        """From any thread: reads the state without making anything (the runner may be closing
        in its own thread)."""
        state = self._runner._state
        return state is not None and state.is_stopping()

    def add_shutdown_hook(self, hook: Callable[[], object]) -> None:
        self._runner._require_shutdown().add_hook(hook)

    def add_reload_callback(self, callback: Callable[[], object]) -> None:
        self._runner._reload_callbacks().add(callback)

    def shutdown_waits_for(self, aw: Awaitable[T]) -> asyncio.Future[T]:
        return self._runner._require_shutdown().waits_for(aw)

    def cancel_on_shutdown(self, pending: Cancellable) -> None:
        self._runner._require_shutdown().cancel_on_start(pending)

    def forget(self, pending: Cancellable) -> None:
        self._runner._require_shutdown().forget(pending)


def _set_debug(loop: asyncio.AbstractEventLoop, debug: bool) -> None:
    loop.set_debug(debug)
    if loop.get_debug() is not debug:  # rloop has no debug mode: say so rather than pretend
        logger.warning(
            "debug=%s is not applied: %s ignores set_debug()", debug, type(loop).__qualname__
        )


def _service_manager() -> Optional[Notifier]:
    """The service manager to notify, if the program runs under one."""
    if not os.environ.get("NOTIFY_SOCKET"):  # _notify.SOCKET_ENV, read without importing it
        return None
    from ._notify import Notifier

    return Notifier.from_environment()


def _new_heartbeat(path: Optional[str]) -> Optional[Heartbeat]:
    """The heartbeat for ``path``, its file touched now: one that cannot be written refuses the
    start (an OSError naming it) rather than going stale while the program runs."""
    if path is None:
        return None
    from ._heartbeat import Heartbeat, check_writable

    check_writable(path, "aioboot.run(): heartbeat_file")
    return Heartbeat(path)


def _dump_tasks_on_signal(signum: int) -> None:
    from ._diagnose import dump_on_signal

    dump_on_signal(signum)


def _run_main(
    loop: asyncio.AbstractEventLoop, state: RunState, held: HeldTasks
) -> Optional[BaseException]:
    """Run the loop until main is done or the exit is forced; the KeyboardInterrupt or
    SystemExit a task raised meanwhile, if any (raised after the shutdown, as asyncio.run
    does)."""
    main = state.main
    assert main is not None
    main_phase = True

    def stop_loop(_: object) -> None:
        # Once only, and never after the phase: uvloop's stop() queues the stop itself, so a
        # second call would stop the loop again in the middle of the shutdown that follows.
        nonlocal main_phase
        if main_phase:
            main_phase = False
            held.hold_pending()
            loop.stop()

    main.add_done_callback(stop_loop)
    state.forced.add_done_callback(stop_loop)
    try:
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit) as exc:
        held.hold_pending()
        return exc
    finally:
        main_phase = False
        main.remove_done_callback(stop_loop)
        state.forced.remove_done_callback(stop_loop)
        # On 3.12+ this frame can outlive the call (a traceback keeps the loop's frames): it must
        # not keep main, and all main's frame held, alive with it.
        del main
    return None


def _create_task(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, T],
    context: Optional[contextvars.Context],
) -> asyncio.Task[T]:
    if context is None:
        return loop.create_task(coro)
    if sys.version_info >= (3, 11):
        return loop.create_task(coro, context=context)
    return context.run(loop.create_task, coro)  # the task runs in a copy of it, as tasks do here
