"""How a runner's runs end: the phase it is in, each call's stop request, the forced-exit latch, and
the one function (:meth:`RunState.outcome`) that turns them into what ``run()`` or ``close()``
raises.

A stop request (a signal, ``request_stop()``, a failure under ``stop_on_error``) in a call cancels
main or, when main asked for ``stop_future()``, resolves that future and gives main
``shutdown_timeout`` seconds to return.  With a drain delay, a SIGTERM's (or SIGHUP's) request first
waits that long with main untouched, while :meth:`RunState.is_stopping` already says so; a Ctrl-C
ends that wait at once.  A stop request outside a call (during ``close()``) is a *late* one: it
decides the exit ``close()`` raises.  A second Ctrl-C once stopping forces the exit: every wait
ends at once, and the runner can only close.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

from ._shutdown import HeldTasks, announce_step
from ._signals import forcing_signals, signal_name

if TYPE_CHECKING:
    from ._notify import Notifier

logger = logging.getLogger("aioboot")

_TASKS_COUNT_CANCELS = sys.version_info >= (3, 11)  # Task.cancelling()/uncancel()

# How long a stop runs before "Ctrl-C again to force the exit" is worth saying: a stop that is over
# sooner needs no hint, and one that was over before its signal came (a server that held the signal
# and re-raised it once done) must not get one.
FORCE_HINT_DELAY = 0.5


class SignalExit(SystemExit):
    """``exit(128 + N)`` because signal N stopped the run; the launcher, which owns its process,
    ends it by that signal instead (how shells and service managers tell a stop from a failure).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def exit_for_signal(signum: int) -> BaseException:
    """SIGINT ends a run like Ctrl-C ends Python; any other signal N like ``exit(128 + N)``."""
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return SignalExit(signum)


class Phase:
    """Where a runner is: one of the five phases below, compared with ``is``.  (Five instances
    of a plain class rather than an ``enum.Enum``, whose class takes a tenth of a millisecond to
    make in a fresh interpreter, and every run imports this module: benchmarks/bench_startup.py.)
    """

    __slots__ = ("name",)

    IDLE: ClassVar[Phase]  # no run() call: before the first, between two, after the last
    RUNNING: ClassVar[Phase]  # a call's main runs; nothing asked it to stop
    DRAINING: ClassVar[Phase]  # a call's main runs, not told yet of the stop requested: the drain
    STOPPING: ClassVar[Phase]  # a call's main runs; a stop was requested, and main told of it
    SHUTTING_DOWN: ClassVar[Phase]  # close() runs the shutdown

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Phase.{self.name}"


Phase.IDLE = Phase("IDLE")
Phase.RUNNING = Phase("RUNNING")
Phase.DRAINING = Phase("DRAINING")
Phase.STOPPING = Phase("STOPPING")
Phase.SHUTTING_DOWN = Phase("SHUTTING_DOWN")


_IN_A_CALL = (Phase.RUNNING, Phase.DRAINING, Phase.STOPPING)


class RunState:
    """The phase of one runner, the stop request of its current (or last) ``run()`` call, and the
    forced-exit latch.  Everything here runs on the loop's thread, except :meth:`is_stopping`,
    which only reads."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        shutdown_timeout: Optional[float],
        held: HeldTasks,
        notifier: Optional[Notifier] = None,
        drain_delay: Optional[float] = None,
    ) -> None:
        self._loop = loop
        self._timeout = shutdown_timeout
        self._drain_delay = drain_delay
        self._held = held
        self._notifier = notifier
        self.phase = Phase.IDLE
        # The latch: set once, by the signal that forced the exit; ``forced`` is done from then on,
        # so that every wait can end on it.
        self.forced_by: Optional[int] = None
        self.forced: asyncio.Future[None] = loop.create_future()
        self._forced_in = Phase.IDLE
        # A KeyboardInterrupt or SystemExit a task raised in the phase that is ending.
        self._escaped: Optional[BaseException] = None
        self._calls = 0  # how many run() calls have begun
        self._force_hint: Optional[asyncio.TimerHandle] = None
        self._new_request()

    def _new_request(self) -> None:
        """The stop request of a call: it starts afresh with each call, and the last call's still
        decides during close() (a second Ctrl-C there forces, a repeated SIGTERM is only noted)."""
        self.main: Optional[asyncio.Task[Any]] = None
        self.signum: Optional[int] = None
        self.failure: Optional[BaseException] = None  # stop_on_error: the task's exception
        self._requested = False
        self._late = False  # requested outside a call
        self._future: Optional[asyncio.Future[Optional[int]]] = None
        self._main_handles_stop = False
        self._cancels = 0  # how many times this request cancelled main
        self._main_deadline: Optional[asyncio.TimerHandle] = None
        self._drain_end: Optional[asyncio.TimerHandle] = None
        self._drop_force_hint()

    # -- the phases ------------------------------------------------------------------------------

    def begin_call(self) -> None:
        self._calls += 1
        self._new_request()
        self._escaped = None
        self.phase = Phase.RUNNING

    def main_started(self, main: asyncio.Task[Any]) -> None:
        self.main = main
        if self.phase is Phase.STOPPING:  # a signal came during start-up
            self._cancel_main()

    def end_call(self, escaped: Optional[BaseException]) -> None:
        """Main's phase is over: later requests are late ones, for close() to decide on."""
        self._escaped = escaped
        self.phase = Phase.IDLE
        for timer in (self._main_deadline, self._drain_end):
            if timer is not None:
                timer.cancel()

    def begin_shutdown(self) -> None:
        self._escaped = None
        self.phase = Phase.SHUTTING_DOWN

    def end_shutdown(self, escaped: Optional[BaseException]) -> None:
        self._escaped = escaped
        self._drop_force_hint()

    def is_stopping(self) -> bool:
        """True from the stop request on (this call's, or a late one) until the next call begins,
        and during the shutdown.  One read of each of two attributes: safe from any thread."""
        return self._requested or self.phase is Phase.SHUTTING_DOWN

    # -- what asks to stop -----------------------------------------------------------------------

    def stop_future(self) -> asyncio.Future[Optional[int]]:
        self._main_handles_stop = True
        if self._future is None:
            self._future = self._loop.create_future()
            if self._requested and self.phase is not Phase.DRAINING:
                self._future.set_result(self.signum)
        # Shielded: cancelling one awaiter must not cancel the run's stop request for the others.
        return asyncio.shield(self._future)

    def on_signal(self, signum: int) -> None:
        """The first signal asks to stop, whenever it comes (a signal a library re-raises once
        its own graceful shutdown is done may come only as main finishes); a SIGTERM or SIGHUP
        drains first, if there is a drain delay.  Once stopping, a Ctrl-C ends a drain at once
        (the stop is then the Ctrl-C's), a second Ctrl-C forces the exit, and a repeated SIGTERM
        is only noted, during a drain too."""
        name = signal_name(signum)
        forcing = signum in forcing_signals()
        if not self._requested:
            # First: logging allocates, and may run a garbage collection.
            self.request(signum, drain=not forcing)
            if self.phase is Phase.DRAINING:
                logger.warning(
                    "received %s: draining for %g s, then stopping (Ctrl-C to stop now)",
                    name,
                    self._drain_delay,
                )
            else:
                logger.warning("received %s: stopping", name)
                if forcing:
                    self._hint_at_forcing_later(name)
        elif forcing and self.phase is Phase.DRAINING:
            self.signum = signum
            logger.warning("received %s while draining: stopping now", name)
            self._hint_at_forcing_later(name)
            self._end_drain()
        elif forcing:
            self._force(signum)
            self._cancel_main()
        else:
            logger.info("received %s again: already stopping", name)

    def request(self, signum: Optional[int], *, drain: bool = False) -> None:
        """Ask to stop: at once, or with ``drain`` after the drain delay, if there is one."""
        in_call = self.phase in _IN_A_CALL
        if self._requested or (signum is None and not in_call):
            return  # request_stop() twice, or after main finished: nothing more to do
        self._requested = True
        self.signum = signum
        main_returned = self.main is not None and self.main.done()
        if in_call and main_returned:
            # Main has returned, and the callbacks queued before its end (this one) run before
            # the end of its phase takes its own hold: a signal a library re-raised as it
            # returned, whose handling allocates, and so may run a garbage collection.
            self._held.hold_pending()
        if self._notifier is not None:
            self._notifier.stopping()
        if not in_call:
            self._late = True
            self._resolve_future()
        elif drain and self._drain_delay is not None and not main_returned:
            self._drain(self._drain_delay)
        else:
            self._tell_main()

    def _drain(self, delay: float) -> None:
        """Main goes on, untouched, for ``delay`` seconds, while :meth:`is_stopping` says it
        will stop: a load balancer's health check sees it and routes traffic elsewhere."""
        self.phase = Phase.DRAINING
        self._drain_end = self._loop.call_later(delay, self._end_drain)
        announce_step(self._notifier, f"draining for {delay:g} s", delay)

    def _end_drain(self) -> None:
        if self._drain_end is not None:
            self._drain_end.cancel()
            self._drain_end = None
        if self.phase is Phase.DRAINING:
            self._tell_main()

    def _tell_main(self) -> None:
        """Resolve the stop future; cancel main, or give it ``shutdown_timeout`` to return."""
        self.phase = Phase.STOPPING
        self._resolve_future()
        if self.main is None:
            return  # start-up: main is cancelled as soon as it exists
        if not self._main_handles_stop:
            self._cancel_main()
        elif self._timeout is not None:
            self._main_deadline = self._loop.call_later(self._timeout, self._main_overran)
            announce_step(self._notifier, "waiting for main to return", self._timeout)

    def _resolve_future(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(self.signum)

    def request_for_this_call(self) -> Callable[[], None]:
        """``request(None)`` for a callback queued from another thread: it asks the call running
        when it was queued, and never the next one."""
        call = self._calls

        def request() -> None:
            if self._calls == call:
                self.request(None)

        return request

    def on_task_failure(self, task: asyncio.Task[Any]) -> None:
        if task is self.main or self.failure is not None or self.phase not in _IN_A_CALL:
            return
        self.failure = task.exception()  # retrieved: raised from run(), not reported again
        from ._report import task_label

        logger.error("%s failed; stopping (stop_on_error=True)", task_label(task))
        self.request(None)

    def _force(self, signum: int) -> None:
        """End every wait at once: pending work gets one pass of the loop, then is named."""
        if self.forced_by is not None:
            return
        logger.warning("%s while stopping: forcing the exit", signal_name(signum))
        self._drop_force_hint()
        self.forced_by = signum
        self._forced_in = self.phase
        self.forced.set_result(None)

    def _hint_at_forcing_later(self, name: str) -> None:
        """Say how to force the exit only if the stop is still going on after FORCE_HINT_DELAY:
        said at once, it would often come after everything was over."""
        key = "Ctrl-Break" if name == "SIGBREAK" else "Ctrl-C"
        self._force_hint = self._loop.call_later(
            FORCE_HINT_DELAY, logger.warning, "still stopping (%s again to force the exit)", key
        )

    def _drop_force_hint(self) -> None:
        if self._force_hint is not None:
            self._force_hint.cancel()
            self._force_hint = None

    def _main_overran(self) -> None:
        logger.warning(
            "main did not return within %g s of the stop request; cancelling it", self._timeout
        )
        self._cancel_main()

    def _cancel_main(self) -> None:
        if self.main is not None and not self.main.done():
            self._cancels += 1
            self.main.cancel()

    # -- the outcome -----------------------------------------------------------------------------

    def outcome(self) -> Optional[BaseException]:
        """What the phase that just ended raises -- a call's (``run()``) or the shutdown's
        (``close()``) -- or None: ``run()`` then returns :meth:`result`, ``close()`` returns.
        The rules, first match wins (docs/explanation/outcomes.md states them for users):

        1. a KeyboardInterrupt or SystemExit a task raised in that phase (not main's own);
        2. the exit a signal forced in that phase;
        3. close(): the exit a late first signal asked for, unless the last call's main handled
           stopping itself; nothing else;
        4. a call: the failure that stopped it (``stop_on_error``); a RuntimeError if the loop
           stopped before main completed; the exit of the signal whose stop ended main (a Ctrl-C
           that cut a drain short made the stop its own); else main's own outcome.

        The launcher adds a fifth, :meth:`program_exit`.
        """
        closing = self.phase is Phase.SHUTTING_DOWN
        main = self.main
        if self._escaped is not None and not (main is not None and _raised_by(main, self._escaped)):
            return self._escaped
        if self.forced_by is not None and (self._forced_in is Phase.SHUTTING_DOWN) == closing:
            return exit_for_signal(self.forced_by)
        if closing:
            if self._late and self.signum is not None and not self._main_handles_stop:
                return exit_for_signal(self.signum)
            return None
        assert main is not None
        if self.failure is not None:
            _log_other_error(main)
            return self.failure
        if not main.done():
            return RuntimeError("aioboot.run(): Event loop stopped before Future completed.")
        if self.signum is not None and self._ended_by_signal(main):
            return exit_for_signal(self.signum)
        return None

    def program_exit(self, value: object) -> Optional[BaseException]:
        """5. The launcher's rule, once the shutdown is over and ``run()`` returned ``value``
        (main awaited ``stop_future()``, or the signal came during the shutdown): the launcher
        owns its process, so a run that a stop signal asked to stop ends by it, unless main
        returned an ``int``, its own exit status."""
        if self.signum is None or isinstance(value, int):
            return None
        return exit_for_signal(self.signum)

    def result(self) -> Any:
        main, self.main = self.main, None
        assert main is not None
        return main.result()

    def _ended_by_signal(self, main: asyncio.Task[Any]) -> bool:
        """A signal's stop request decides the outcome: main was cancelled by it and by nothing
        else (asyncio.Runner's rule on 3.11+, where a task counts the cancellations asked of
        it), or main did not handle stopping and returned as the signal came or during its
        drain."""
        if main.cancelled():
            if not self._cancels:
                return False
            if not _TASKS_COUNT_CANCELS:
                return True  # 3.9/3.10: nothing to tell by, so the signal's stop decides
            # A task without the count (a task factory's own class) cannot tell: asyncio.Runner
            # then lets the CancelledError through, and so does this.
            cancelling = getattr(main, "cancelling", None)
            return cancelling is not None and cancelling() <= self._cancels
        return not self._main_handles_stop and main.exception() is None

    def let_go(self) -> None:
        """Drop a main that is done (an exception it raised counts as retrieved: its outcome is
        decided), so that nothing main's frame held (often every task it started) outlives the
        call through a raised exception's traceback.  A main still pending is kept: the shutdown
        must find it, cancel it and name it, and nothing else may hold it (asyncio's loop keeps
        tasks only weakly)."""
        main = self.main
        if main is None or not main.done():
            return
        self.main = None
        if not main.cancelled():
            main.exception()


def _raised_by(main: asyncio.Task[Any], exc: BaseException) -> bool:
    return main.done() and not main.cancelled() and main.exception() is exc


def _log_other_error(main: asyncio.Task[Any]) -> None:
    if main.done() and not main.cancelled() and main.exception() is not None:
        logger.error("main also raised while stopping on a task failure", exc_info=main.exception())
