"""The ordered, bounded shutdown that ``Runner.close()`` runs (docs/explanation/shutdown.md).

It owns what outlives a single ``run()`` call: the work it waits for, the shutdown hooks, the
scheduled calls to cancel, the child processes to stop and the default executor.  Whether the
exit has been forced is the run state's (``_stop``): a forced exit ends every wait at once.

``_report`` is imported where something is reported, not at the top: a run with nothing to report
never loads it, and start-up is paid by every process (benchmarks/bench_startup.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import logging
import warnings
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Iterator,
    Optional,
    Protocol,
    Sequence,
    TypeVar,
)

from . import _task_failures
from ._arguments import close_unawaited, qualified_name
from ._loops import shadow_methods, unshadow_methods

if TYPE_CHECKING:  # types only: a Protocol's class is costly to make, and every run imports this
    from concurrent.futures import Executor

    from ._executor import DaemonThreadPool
    from ._notify import Notifier

    class Cancellable(Protocol):
        def cancel(self) -> object: ...


T = TypeVar("T")

logger = logging.getLogger("aioboot")


def announce_step(notifier: Optional[Notifier], what: str, bound: Optional[float]) -> None:
    """Log a shutdown step at debug level and tell the service manager, with room for a step
    that waits at most ``bound`` seconds (None: unbounded, the manager's own timeout rules)."""
    logger.debug("shutdown: %s", what)
    if notifier is not None:
        notifier.shutdown_step(what, bound)


class HeldTasks:
    """Keeps the tasks pending when main's phase ends (or a stop request lands as it does) alive
    until the shutdown has cancelled them.  The loop knows its tasks only weakly: a task the
    program dropped (uvicorn's lifespan task after a forced stop) would otherwise be collected,
    still pending, by whichever garbage collection comes first, with "Task was destroyed but it is
    pending" and its cleanup unrun, instead of being cancelled."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._held: set[asyncio.Task[Any]] = set()

    def hold_pending(self) -> None:
        self._held = asyncio.all_tasks(self._loop)

    def release(self) -> None:
        self._held = set()


def report_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The exception handler of a run's loop until the program sets its own:
    :func:`aioboot._report.handle_exception`, imported with the first exception to report."""
    from ._report import handle_exception

    handle_exception(loop, context)


def report_exception_while_stopping(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """:func:`report_exception` once the shutdown has begun
    (:func:`aioboot._report.handle_exception_while_stopping`)."""
    from ._report import handle_exception_while_stopping

    handle_exception_while_stopping(loop, context)


class DefaultExecutor:
    """The run's default executor: aioboot's pool of daemon threads (_executor), made when the
    program first gives the loop's default executor a job, so a run that never does pays nothing
    for it.  Until then the loop's ``run_in_executor`` and ``set_default_executor`` are shadowed;
    a program that sets a default executor of its own first keeps it."""

    _METHODS = ("run_in_executor", "set_default_executor")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.pool: Optional[DaemonThreadPool] = None  # made by the first job
        self._run_in_executor = loop.run_in_executor

    def install(self) -> None:
        shadows = dict(zip(self._METHODS, (self._first_job, self._program_sets_its_own)))
        if not shadow_methods(self._loop, shadows):
            self._make_pool()

    def uninstall(self) -> None:
        unshadow_methods(self._loop, self._METHODS)

    def _first_job(
        self, executor: Optional[Executor], func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        if executor is None:
            self.uninstall()
            self._make_pool()
        return self._run_in_executor(executor, func, *args)

    def _program_sets_its_own(self, executor: Any) -> None:
        self.uninstall()
        self._loop.set_default_executor(executor)

    def _make_pool(self) -> None:
        from ._executor import DaemonThreadPool

        self.pool = DaemonThreadPool()
        self._loop.set_default_executor(self.pool)


class StartedChild:
    """A child process started through the run's loop: its transport, and the command and the
    keyword arguments it was started with."""

    __slots__ = ("command", "options", "transport")

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        command: tuple[Any, ...],
        options: dict[str, Any],
    ) -> None:
        self.transport = transport
        # The program and its arguments (str, bytes, paths), or a shell's command line.
        self.command = command
        self.options = options

    @property
    def running(self) -> bool:
        return self.transport.get_returncode() is None


class ChildProcesses:
    """The child processes started through one loop (``asyncio.create_subprocess_exec``/
    ``_shell``, ``loop.subprocess_exec``/``_shell``), noted as they start, so that the shutdown
    can stop the ones left running (_children, imported only then).  Neither loop says which
    children it has (asyncio keeps none, uvloop keeps them in a C attribute), so its two
    subprocess methods are shadowed; a program that starts no child pays nothing."""

    _METHODS = ("subprocess_exec", "subprocess_shell")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._started: list[StartedChild] = []

    def install(self) -> None:
        methods = {name: getattr(self._loop, name, None) for name in self._METHODS}
        shadows = {name: self._noting(m) for name, m in methods.items() if callable(m)}
        if not shadow_methods(self._loop, shadows):
            logger.debug("child processes of %r cannot be tracked", self._loop)

    def uninstall(self) -> None:
        unshadow_methods(self._loop, self._METHODS)

    def left_running(self) -> list[StartedChild]:
        return [child for child in self._started if child.running]

    def _noting(self, start: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(start)
        async def noting(protocol_factory: Callable[[], Any], *command: Any, **options: Any) -> Any:
            transport, protocol = await start(protocol_factory, *command, **options)
            # Those that have exited are let go here, so a program that starts many short-lived
            # children does not make the list grow.
            self._started = self.left_running()
            self._started.append(StartedChild(transport, command, options))
            return transport, protocol

        return noting


class Shutdown:
    """The shutdown of one loop: the work it waits for, hooks, then leftover tasks, async
    generators, child processes, the executor and the report of lost task exceptions, each wait
    bounded by ``timeout`` (None: unbounded)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: Optional[float],
        default_executor: DefaultExecutor,
        forced: asyncio.Future[None],
        held: HeldTasks,
        children: ChildProcesses,
        notifier: Optional[Notifier] = None,
    ) -> None:
        self._loop = loop
        self._timeout = timeout
        self._default_executor = default_executor
        self._children = children
        self._forced = forced  # done once the exit is forced
        self._held = held
        self._notifier = notifier
        self._started = False
        # A KeyboardInterrupt or SystemExit raised by a task or a hook while shutting down: the
        # shutdown finishes first, then run() returns it, for the runner to raise.
        self._escaped: Optional[BaseException] = None
        self._hooks: list[Callable[[], object]] = []
        self._hooks_done = False
        self._cancel_on_start: set[Cancellable] = set()
        self._awaited: set[asyncio.Future[Any]] = set()  # shutdown_waits_for()'s work

    # -- what the run registers while it runs ----------------------------------------------------

    def add_hook(self, hook: Callable[[], object]) -> None:
        if not callable(hook):
            raise TypeError(f"aioboot.on_shutdown() needs a callable, not {hook!r}")
        if self._hooks_done:
            raise RuntimeError("aioboot.on_shutdown(): the shutdown hooks have already run")
        self._hooks.append(hook)

    def cancel_on_start(self, pending: Cancellable) -> None:
        """Cancel ``pending`` when shutdown starts (at once if it has started), unless
        :meth:`forget` was called for it first: a timer firing during shutdown would start work
        that shutdown has to cancel again."""
        if self._started:
            pending.cancel()
        else:
            self._cancel_on_start.add(pending)

    def forget(self, pending: Cancellable) -> None:
        self._cancel_on_start.discard(pending)

    def waits_for(self, aw: Awaitable[T]) -> asyncio.Future[T]:
        """``aw`` as a task the shutdown waits for, and a future of its outcome that can be
        cancelled without cancelling it.  Unlike ``asyncio.shield``, a failure that comes once the
        future was cancelled is left unretrieved on the task, so the run reports it."""
        work = asyncio.ensure_future(aw, loop=self._loop)
        self._awaited.add(work)
        work.add_done_callback(self._awaited.discard)
        outcome: asyncio.Future[T] = self._loop.create_future()
        work.add_done_callback(lambda _: _pass_on(work, outcome))
        return outcome

    # -- the shutdown ----------------------------------------------------------------------------

    def run(self) -> Optional[BaseException]:
        """Run every step to the end, on the loop, which must not be running; the
        KeyboardInterrupt or SystemExit a task or a hook raised meanwhile, if any."""
        self._started = True
        if self._notifier is not None:
            self._notifier.stopping()  # main may have returned with no stop request
        if self._loop.get_exception_handler() is report_exception:
            self._loop.set_exception_handler(report_exception_while_stopping)
        for pending in list(self._cancel_on_start):
            pending.cancel()
        self._cancel_on_start.clear()
        coro = self._steps()
        steps: object = self._loop.create_task(coro)
        if not asyncio.isfuture(steps):
            close_unawaited(coro)  # a stand-in loop that runs nothing (CPython's tests pass a Mock)
            return None
        try:
            self._run_to_the_end(steps)
        finally:
            self._held.release()  # a forced exit skips the cancellation
        return self._escaped

    def _run_to_the_end(self, steps: asyncio.Future[Any]) -> None:
        while True:
            try:
                self._loop.run_until_complete(steps)
                return
            except (KeyboardInterrupt, SystemExit) as exc:
                if steps.done():
                    raise
                # A task raised it while being cancelled: finish the shutdown first, then raise.
                self._escape(exc)
            except RuntimeError:
                if steps.done():
                    raise
                # "stopped before Future completed": a stop() still queued from the main phase
                # (uvloop runs done-callbacks before letting an exception out) or a stray one.

    def let_go_of_leftovers(self) -> None:
        """Close the coroutines of the tasks still pending (already named as stuck), while their
        loop still exists: left to the garbage collector at interpreter exit, each would print
        "Task was destroyed but it is pending", a "never awaited" warning, or a "no running
        event loop" error from a ``finally`` block, after the report that matters."""
        leftovers = asyncio.all_tasks(self._loop)
        if not leftovers:
            return
        with warnings.catch_warnings():
            # Their frames drop coroutines they made and never awaited: no one can act on that.
            warnings.simplefilter("ignore", RuntimeWarning)
            for task in leftovers:
                _close_abandoned(task)
            gc.collect()  # what those frames held in reference cycles, while the filter holds

    def _announce(self, what: str) -> None:
        announce_step(self._notifier, what, self._timeout)

    def _escape(self, exc: BaseException) -> None:
        if self._escaped is None:
            self._escaped = exc

    async def _steps(self) -> None:
        """The documented order; each step is logged at debug level and, under a service
        manager, announced with the time it may take."""
        if self._awaited:
            self._announce("waiting for the work shutdown_waits_for() was given")
            await self._finish_awaited_work()
        self._announce("running shutdown hooks")
        await self._run_hooks()
        self._announce("cancelling remaining tasks")
        await self._cancel_leftover_tasks()
        self._announce("finalizing async generators")
        await self._bounded(self._loop.shutdown_asyncgens(), "finalizing async generators")
        await self._stop_children_left_running()
        self._announce("shutting the default executor down")
        await self._shut_executor_down()
        announce_step(self._notifier, "reporting unretrieved task exceptions", None)
        failures = _task_failures.unretrieved_failures(self._loop)
        if failures:
            from . import _report

            for task in failures:
                _report.report_unretrieved(self._loop, task)

    async def _finish_awaited_work(self) -> None:
        """Wait for it (and for work it hands on meanwhile) until the timeout; then cancel what is
        left and name it, as a task that refused to stop.  The cancellation of the remaining
        tasks, later, waits for it to end."""
        deadline = self._deadline()
        while True:
            work = [w for w in self._awaited if not w.done()]
            if not work:
                return
            if not await self._wait_all(work, deadline):
                from . import _report

                late = [w for w in self._awaited if not w.done()]
                _report.report_stuck_tasks(
                    [w for w in late if isinstance(w, asyncio.Task)],
                    self._waited(),
                    "(aioboot.shutdown_waits_for); cancelling it",
                )
                for pending in late:
                    pending.cancel()
                return

    async def _run_hooks(self) -> None:
        """Last registered, first run; a hook registered by a hook runs next."""
        while self._hooks:
            await self._run_hook(self._hooks.pop())
        self._hooks_done = True

    async def _run_hook(self, hook: Callable[[], object]) -> None:
        name = qualified_name(hook)
        try:
            result = hook()
            if inspect.isawaitable(result):
                await self._bounded(result, f"shutdown hook {name}")  # reports its own failure
        except (KeyboardInterrupt, SystemExit) as exc:
            self._escape(exc)
        except BaseException as exc:  # CancelledError included: one hook must not stop the rest
            from . import _report

            _report.report_hook_failure(self._loop, hook, exc)

    async def _cancel_leftover_tasks(self) -> None:
        """Cancel every other task, in rounds (cleanup code may start new tasks), until none is
        left or the timeout is spent; report the ones that refused."""
        me = asyncio.current_task()
        deadline = self._deadline()
        with _gc_paused():
            while await self._cancel_round(me, deadline):
                pass
            # Let go before the report, which would scan them all: a held task that failed
            # meanwhile is then reported by asyncio as it is freed, through the same handler.
            self._held.release()

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
        from . import _report

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

    async def _stop_children_left_running(self) -> None:
        left_running = self._children.left_running()
        if not left_running:
            return
        from ._children import ChildrenToStop

        children = ChildrenToStop(self._loop, left_running)
        if children:
            self._announce("stopping the child processes left running")
            await children.stop(self._timeout, self._forced)

    async def _shut_executor_down(self) -> None:
        ours = self._default_executor.pool
        # asyncio's loop says which default executor it has; uvloop's keeps it to itself.
        executor: Optional[Executor] = getattr(self._loop, "_default_executor", None) or ours
        if executor is None:
            return  # never given a job
        from ._executor import shutdown_in_background

        done = asyncio.wrap_future(shutdown_in_background(executor), loop=self._loop)
        if await self._bounded(done, "shutting the default executor down", report=False):
            return
        from . import _report

        if ours is not None and executor is ours:
            _report.report_stuck_jobs(ours.busy_workers(), self._waited())
        else:
            _report.report_step_timeout("shutting the default executor down", self._waited())

    async def _bounded(self, aw: Awaitable[Any], step: str, *, report: bool = True) -> bool:
        """Wait for one shutdown step within the timeout; True when it finished."""
        task = asyncio.ensure_future(aw)
        if await self._wait_all([task], self._deadline()):
            if not task.cancelled() and task.exception() is not None:
                from . import _report

                _report.report_failed_step(self._loop, step, task)
            return True
        task.cancel()
        if report:
            from . import _report

            _report.report_step_timeout(step, self._waited())
        return False

    async def _wait_all(
        self, futures: Sequence[asyncio.Future[Any]], deadline: Optional[float]
    ) -> bool:
        """Wait until every future is done, the deadline passes or the exit is forced; True when
        all are done.  Forced or not, pending work gets one pass of the loop first, and the tasks
        that pass started get one more (``shutdown_asyncgens()``'s ``aclose()`` calls), so cleanup
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
                    # Not left to the cancellation that follows: on PyPy 7.3, cancelling an
                    # aclose() that has not started raises in it without running the generator.
                    for _ in range(2):
                        await asyncio.sleep(0)
                return all(f.done() for f in futures)
        return True

    def _deadline(self) -> Optional[float]:
        return None if self._timeout is None else self._loop.time() + self._timeout

    def _waited(self) -> Optional[float]:
        return None if self._forced.done() else self._timeout


def _pass_on(work: asyncio.Future[T], outcome: asyncio.Future[T]) -> None:
    if outcome.done():
        return  # its awaiter was cancelled: a failure stays on ``work``, unretrieved, reported
    if work.cancelled():
        outcome.cancel()
        return
    failure = work.exception()
    if failure is not None:
        outcome.set_exception(failure)
    else:
        outcome.set_result(work.result())


def _close_abandoned(task: asyncio.Task[Any]) -> None:
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    close = getattr(task.get_coro(), "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:  # its cleanup needed the loop: nothing more can be done
        from ._report import task_label

        logger.debug("closing abandoned %s: %r", task_label(task), exc)


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
