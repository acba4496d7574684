"""Signal capture: who owns which stop signal, and when.

For the length of a run, SIGINT, SIGTERM (and SIGBREAK where it exists), SIGHUP for a reload or a
stop, and SIGUSR1 for the task dump, are routed to callbacks on the loop's thread, politely: a
signal the program (or a library it calls) has taken for itself is the program's alone until it
lets go, and when the run ends, exactly the handlers and the wakeup fd that were there before are
given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from ._loops import shadow_methods, unshadow_methods

if TYPE_CHECKING:  # a typing alias costs start-up time, and every run imports this module
    from types import FrameType

    _Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

# Tests set this in a child's environment to exercise the Windows path on Linux.
FORCE_FALLBACK_ENV = "_AIOBOOT_SIGNAL_FALLBACK"

_logger = logging.getLogger("aioboot")


def _existing(*names: str) -> tuple[signal.Signals, ...]:
    return tuple(getattr(signal.Signals, name) for name in names if hasattr(signal.Signals, name))


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that mean "stop" on this platform."""
    return _existing("SIGINT", "SIGTERM", "SIGBREAK")


def forcing_signals() -> tuple[signal.Signals, ...]:
    """The signals that force the exit once a stop is under way: a second Ctrl-C (Ctrl-Break).
    A repeated SIGTERM does not: orchestrators send one and then SIGKILL after their grace
    period, and a wrapper forwarding a signal to its process group delivers it twice."""
    return tuple(sig for sig in stop_signals() if sig != signal.SIGTERM)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _is_default(handler: _Handler) -> bool:
    return handler in (signal.SIG_DFL, signal.default_int_handler)


def _ignored_unseen() -> frozenset[int]:
    """The signals the process ignores though ``signal.getsignal()`` says SIG_DFL: PyPy's does for
    a signal it was started with ignored (nohup's SIGHUP, a background job's SIGINT).  Linux
    lists them in /proc/self/status; CPython needs no such look, and elsewhere none is known."""
    if sys.implementation.name == "cpython" or not sys.platform.startswith("linux"):
        return frozenset()
    try:
        with open("/proc/self/status") as status:
            mask = next((line.split()[1] for line in status if line.startswith("SigIgn:")), "0")
    except OSError:
        return frozenset()
    bits = int(mask, 16)
    return frozenset(sig for sig in range(1, bits.bit_length() + 1) if bits >> (sig - 1) & 1)


class SignalCapture:
    """Routes each signal of ``handlers`` to its callback, ``handler(signum)``, always called on
    the loop's thread.

    Only a signal at its default disposition is taken (SIG_DFL, or Python's
    ``default_int_handler`` for SIGINT): a handler the program installed before the run is its
    own, as ``asyncio.Runner`` leaves it for SIGINT, and an ignored signal stays ignored (a job a
    shell starts in the background ignores SIGINT on purpose).

    Uses ``loop.add_signal_handler`` where the loop has it.  Where it raises
    ``NotImplementedError`` (every Windows loop, loops without the Unix machinery) or when
    ``force_fallback`` is set, it uses ``signal.signal`` and hands the signal to the loop with
    ``call_soon_threadsafe``, which also wakes an idle loop at once.  The ``signal.signal``
    handlers go in first, at :meth:`install`, and are swapped for the loop's own in the loop's
    first callback: uvloop loses a signal that arrives between ``add_signal_handler`` and the
    start of the loop, so start-up is covered by the fallback.

    While someone else holds a signal, aioboot does not act on it:
    - a ``signal.signal`` handler installed during the run (uvicorn's ``Server.serve()`` does) is
      checked for when a signal is delivered: the loop calls its handlers for every signal written
      to the wakeup fd, whoever's Python handler ran;
    - ``loop.add_signal_handler`` on the run's loop (aiogram, arq) replaces aioboot's entry in the
      loop's table.  Its ``remove_signal_handler`` leaves the signal at its default disposition,
      where it would kill the process without any shutdown, so aioboot takes the signal back then.
    When the holder gives the signal back, the next one is aioboot's, and a first signal: uvicorn
    re-raises the signal it caught once its own graceful shutdown is done.

    Must be installed and restored on the main thread, restored while the loop is not yet closed.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handlers: Mapping[int, Callable[[int], None]],
        *,
        force_fallback: bool | None = None,
    ) -> None:
        self._loop = loop
        self._handlers = dict(handlers)  # signal -> what it calls on the loop's thread
        if force_fallback is None:
            force_fallback = os.environ.get(FORCE_FALLBACK_ENV, "") not in ("", "0")
        self._force_fallback = force_fallback
        self._previous: dict[int, _Handler] = {}
        self._ours: dict[int, _Handler] = {}  # the Python-level handler that means "aioboot's"
        self._via_loop: set[int] = set()
        self._wakeup_fd = -1
        self._waker: Optional[_Waker] = None
        self._remove_loop_handler: Optional[Callable[[int], bool]] = None

    def install(self) -> None:
        """Take the stop signals; ValueError (nothing left changed) where Python may not set
        signal handlers: a thread other than the main one, a sub-interpreter, an embedding."""
        self._wakeup_fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(self._wakeup_fd)
        ignored = _ignored_unseen()
        try:
            for sig in self._handlers:
                previous = signal.getsignal(sig)
                if not _is_default(previous) or sig in ignored:
                    continue
                signal.signal(sig, self._fallback_handler)
                self._previous[sig] = previous
                self._ours[sig] = self._fallback_handler
        except ValueError:
            self.restore()
            raise
        self._watch_loop_handler_removals()
        if self._force_fallback:
            self._wake_loop_on_fallback_signals()
            self._log_how()
        else:
            # Until then the loop has a callback ready, so it never waits in its selector.
            self._loop.call_soon(self._move_to_loop)

    def restore(self) -> None:
        """Give back every handler replaced, and the wakeup fd, exactly as they were."""
        remove = self._remove_loop_handler
        if remove is not None:
            unshadow_methods(self._loop, ["remove_signal_handler"])
            self._remove_loop_handler = None
        for sig, previous in self._previous.items():
            if sig in self._via_loop and remove is not None and not self._loop.is_closed():
                # uvloop keeps its handler installed after close(); remove it while the loop lives.
                with contextlib.suppress(Exception):
                    remove(sig)
            signal.signal(sig, previous)
        self._previous.clear()
        self._ours.clear()
        self._via_loop.clear()
        # Removing the last loop handler resets the wakeup fd to -1, and a Proactor loop's close()
        # does the same (python/cpython#91170); either would leave an earlier owner deaf.
        signal.set_wakeup_fd(self._wakeup_fd)
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def _move_to_loop(self) -> None:
        if not self._previous:
            return  # restored before the loop ran
        for sig in list(self._previous):
            if signal.getsignal(sig) == self._ours[sig] and self._add_loop_handler(sig):
                self._via_loop.add(sig)
        if self._via_loop != set(self._previous):
            self._wake_loop_on_fallback_signals()
        self._log_how()

    def _add_loop_handler(self, sig: int) -> bool:
        try:
            self._loop.add_signal_handler(sig, self._deliver, int(sig))
        except NotImplementedError:
            return False
        self._ours[sig] = signal.getsignal(sig)
        return True

    def _watch_loop_handler_removals(self) -> None:
        """Shadow the loop's ``remove_signal_handler`` so that a library letting go of a stop
        signal gives it back."""
        original = getattr(self._loop, "remove_signal_handler", None)
        if not self._previous or not callable(original):
            return
        self._remove_loop_handler = original

        def remove_signal_handler(sig: int) -> bool:
            removed = original(sig)
            self._take_back(sig)
            return bool(removed)

        shadow_methods(self._loop, {"remove_signal_handler": remove_signal_handler})

    def _take_back(self, sig: int) -> None:
        if sig not in self._previous or not _is_default(signal.getsignal(sig)):
            return
        if not (sig in self._via_loop and self._add_loop_handler(sig)):
            self._via_loop.discard(sig)
            signal.signal(sig, self._fallback_handler)
            self._ours[sig] = self._fallback_handler
            self._wake_loop_on_fallback_signals()
        _logger.debug(
            "%s is aioboot's again: its other holder removed its handler", signal_name(sig)
        )

    def _wake_loop_on_fallback_signals(self) -> None:
        """A signal handled with ``signal.signal`` must wake the loop (see _Waker), unless a
        wakeup fd was set before the run: that one is its owner's, not aioboot's to replace."""
        if self._wakeup_fd != -1:
            return
        if self._waker is None:
            self._waker = _Waker.started(self._loop)
        else:
            self._waker.arm()  # the loop's last own handler gone, its wakeup fd went with it

    def _deliver(self, signum: int) -> None:
        if signal.getsignal(signum) != self._ours.get(signum):
            # Its Python handler is someone else's (uvicorn's serve(), say), which has run: the
            # loop only calls this one because the wakeup fd carries every signal.
            _logger.debug("%s left to the handler the program installed", signal_name(signum))
            return
        self._handlers[signum](signum)

    def _log_how(self) -> None:
        """Which path each signal takes, at DEBUG: the tests of each path check it there."""
        if not _logger.isEnabledFor(logging.DEBUG):
            return
        if not self._previous:
            _logger.debug("no stop signal taken: the program has its own handlers")
            return
        how = [
            f"{signal_name(sig)} with "
            + ("loop.add_signal_handler" if sig in self._via_loop else "signal.signal")
            for sig in self._previous
        ]
        _logger.debug("handling %s", ", ".join(how))

    def _fallback_handler(self, signum: int, frame: object) -> None:
        # Runs between two bytecodes of the main thread, possibly inside the loop's own code: only
        # hand the signal over, which is what call_soon_threadsafe is safe for.
        with contextlib.suppress(RuntimeError):  # the loop closed under us: the run is ending
            self._loop.call_soon_threadsafe(self._handlers[signum], signum)


class _Waker:
    """The wakeup fd that the ``signal.signal`` path needs, as ``loop.add_signal_handler``
    sets one for the loop's own handlers.  A signal interrupts the loop's wait in its selector
    only if it lands in the loop's thread while that thread waits: one landing just before the
    wait starts, or in another thread, has its Python handler run only once the wait ends on
    its own (at the next timer, or never).  Python writes each signal to this socket, whose
    other end the loop watches.

    A loop that sets its own wakeup fd while it runs (uvloop, the Windows proactor) takes the
    place of this one for that time and gives it back after.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        self._loop = loop
        self._reader, self._writer = pair

    @classmethod
    def started(cls, loop: asyncio.AbstractEventLoop) -> Optional[_Waker]:
        """Watching and armed; None where the loop cannot watch a socket (the proactor, which
        sets its own wakeup fd while it runs)."""
        pair = socket.socketpair()
        for sock in pair:
            sock.setblocking(False)
        waker = cls(loop, pair)
        try:
            loop.add_reader(waker._reader.fileno(), waker._drain)
        except (NotImplementedError, OSError, ValueError) as exc:
            _logger.debug("no wakeup fd for the signal.signal path: %r", exc)
            waker._close_sockets()
            return None
        waker.arm()
        return waker

    def arm(self) -> None:
        """Be the wakeup fd, unless the loop's own is set (it wakes the loop as well)."""
        mine = self._writer.fileno()
        current = signal.set_wakeup_fd(mine, warn_on_full_buffer=False)
        if current not in (-1, mine):
            signal.set_wakeup_fd(current)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.remove_reader(self._reader.fileno())
        self._close_sockets()

    def _drain(self) -> None:
        # The bytes only woke the loop; the Python handlers run as it goes back to Python code.
        with contextlib.suppress(OSError):
            while self._reader.recv(4096):
                pass

    def _close_sockets(self) -> None:
        self._reader.close()
        self._writer.close()


def task_dump_signals() -> tuple[signal.Signals, ...]:
    """The signal that asks for a task dump during a run: SIGUSR1, where it exists (POSIX).  Its
    default disposition would kill the process, so the runner takes it only while it has that
    default, as it takes the stop signals, and the program goes on."""
    return _existing("SIGUSR1")


def hangup_signals() -> tuple[signal.Signals, ...]:
    """SIGHUP, where it exists (POSIX): a reload for a program with reload callbacks, else a
    stop like SIGTERM's.  Its default disposition kills the process with no shutdown at all (a
    closed terminal, a ``kill -HUP``), so the runner takes it while it has that default, as it
    takes the stop signals; ``nohup``'s SIG_IGN, or a handler of the program's, is left alone."""
    return _existing("SIGHUP")
