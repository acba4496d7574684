"""One ``run()`` call's stop request, from a signal or ``request_stop()`` to main's outcome.

The first request decides: main is cancelled, or — when main asked for ``stop_future()`` — the
future resolves and main gets ``shutdown_timeout`` seconds to return.  A signal once a stop has
been requested forces the exit.  When the call ends, :meth:`StopRequest.outcome` turns what
happened into main's value or the exception ``run()`` raises.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any, Generic, Optional, TypeVar

from . import _report
from ._notify import Notifier
from ._shutdown import Shutdown, announce_step
from ._signals import forcing_signals, signal_name

T = TypeVar("T")

logger = logging.getLogger("aioboot")

_TASKS_COUNT_CANCELS = sys.version_info >= (3, 11)  # Task.cancelling()/uncancel()


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


class StopRequest(Generic[T]):
    """The stop state of one ``run()`` call on ``loop``, whose runner shuts down with
    ``shutdown``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        shutdown_timeout: Optional[float],
        shutdown: Shutdown,
        notifier: Optional[Notifier] = None,
    ) -> None:
        self._loop = loop
        self._timeout = shutdown_timeout
        self._shutdown = shutdown
        self._notifier = notifier
        self.main: Optional[asyncio.Task[T]] = None
        self.signum: Optional[int] = None
        self.failure: Optional[BaseException] = None  # stop_on_error: the task's exception
        self._requested = False
        self._ended = False
        self._late = False  # requested by a signal after main's phase ended
        self._future: Optional[asyncio.Future[Optional[int]]] = None
        self._main_handles_stop = False
        self._cancels = 0  # how many times this request cancelled main
        self._main_deadline: Optional[asyncio.TimerHandle] = None

    def start(self, main: asyncio.Task[T]) -> None:
        self.main = main
        if self._requested:  # a signal came during start-up
            self._cancel_main()

    def end(self) -> None:
        """Main's phase is over: later requests belong to the runner's shutdown."""
        self._ended = True
        if self._main_deadline is not None:
            self._main_deadline.cancel()

    def stop_future(self) -> asyncio.Future[Optional[int]]:
        self._main_handles_stop = True
        if self._future is None:
            self._future = self._loop.create_future()
            if self._requested:
                self._future.set_result(self.signum)
        # Shielded: cancelling one awaiter must not cancel the run's stop request for the others.
        return asyncio.shield(self._future)

    def on_signal(self, signum: int) -> None:
        """The first signal asks to stop, whenever it comes (a signal a library re-raises once
        its own graceful shutdown is done may come only as main finishes); once stopping, a
        second Ctrl-C forces the exit and a repeated SIGTERM is only noted."""
        name = signal_name(signum)
        if not self._requested:
            self.request(signum)  # first: logging allocates, and may run a garbage collection
            key = "Ctrl-Break" if name == "SIGBREAK" else "Ctrl-C"
            hint = f" ({key} again to force the exit)" if signum in forcing_signals() else ""
            logger.warning("received %s: stopping%s", name, hint)
        elif signum in forcing_signals():
            self._shutdown.force(signum)
            self._cancel_main()
        else:
            logger.info("received %s again: already stopping", name)

    def request(self, signum: Optional[int]) -> None:
        if self._requested or (self._ended and signum is None):
            return  # request_stop() twice, or after main finished: nothing more to do
        self._requested = True
        self.signum = signum
        if not self._ended and self.main is not None and self.main.done():
            # Main has returned, and the callbacks queued before its end (this one) run before
            # the end of its phase takes its own hold: a signal a library re-raised as it
            # returned, whose handling allocates, and so may run a garbage collection.
            self._shutdown.hold_pending_tasks()
        if self._notifier is not None:
            self._notifier.stopping()
        if self._future is not None and not self._future.done():
            self._future.set_result(signum)
        if self._ended:
            self._late = True
            return
        if self.main is None:
            return  # start-up: main is cancelled as soon as it exists
        if not self._main_handles_stop:
            self._cancel_main()
        elif self._timeout is not None:
            self._main_deadline = self._loop.call_later(self._timeout, self._main_overran)
            announce_step(self._notifier, "waiting for main to return", self._timeout)

    def on_task_failure(self, task: asyncio.Task[Any]) -> None:
        if task is self.main or self.failure is not None or self._ended:
            return
        self.failure = task.exception()  # retrieved: raised from run(), not reported again
        logger.error("%s failed; stopping (stop_on_error=True)", _report.task_label(task))
        self.request(None)

    def _main_overran(self) -> None:
        logger.warning(
            "main did not return within %g s of the stop request; cancelling it", self._timeout
        )
        self._cancel_main()

    def _cancel_main(self) -> None:
        if self.main is not None and not self.main.done():
            self._cancels += 1
            self.main.cancel()

    def outcome(self, escaped: Optional[BaseException]) -> Optional[BaseException]:
        """The exception ``run()`` raises, or None when it returns :meth:`result`.  Main is let
        go of here unless its result is still to be read, so that nothing main's frame held
        (often every task it started) outlives the call through a raised exception's traceback.
        """
        main = self.main
        assert main is not None
        if escaped is not None and not _raised_by(main, escaped):
            self.let_go()
            return escaped
        if self.failure is not None:
            _log_other_error(main)
            self.let_go()
            return self.failure
        if not main.done():
            self.let_go()
            return RuntimeError("aioboot.run(): Event loop stopped before Future completed.")
        if self.signum is not None and self._ended_by_signal(main):
            self.let_go()
            return exit_for_signal(self.signum)
        return None

    def late_exit(self) -> Optional[BaseException]:
        """The exit a signal asks for when it came after main's phase (during the shutdown), for
        a main that did not handle stopping itself."""
        if not self._late or self.signum is None or self._main_handles_stop:
            return None
        return exit_for_signal(self.signum)

    def result(self) -> T:
        main, self.main = self.main, None
        assert main is not None
        return main.result()

    def _ended_by_signal(self, main: asyncio.Task[Any]) -> bool:
        """A signal's stop request decides the outcome: main was cancelled by it and by nothing
        else (asyncio.Runner's rule on 3.11+, where a task counts the cancellations asked of
        it), or main did not handle stopping and returned as the signal came."""
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
        decided).  A main still pending is kept: the shutdown must find it, cancel it and name
        it, and nothing else may hold it (asyncio's loop keeps tasks only weakly)."""
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
