"""Signal capture: for the length of a run, one object owns the process's stop signals.

It routes SIGINT, SIGTERM (and SIGBREAK where it exists) to a callback on the loop's thread and,
when the run ends, gives back exactly the handlers and the wakeup fd it found.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from types import FrameType
from typing import Any, Callable, Optional, Union

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

# Tests set this in a child's environment to exercise the Windows path on Linux.
FORCE_FALLBACK_ENV = "_AIOBOOT_SIGNAL_FALLBACK"

_logger = logging.getLogger("aioboot")


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that mean "stop" on this platform."""
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return tuple(getattr(signal.Signals, name) for name in names if hasattr(signal.Signals, name))


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class SignalCapture:
    """Routes stop signals to ``on_signal(signum)``, always called on the loop's thread.

    Uses ``loop.add_signal_handler`` where the loop has it.  Where it raises
    ``NotImplementedError`` (every Windows loop, loops without the Unix machinery) or when
    ``force_fallback`` is set, it uses ``signal.signal`` and hands the signal to the loop with
    ``call_soon_threadsafe``, which also wakes an idle loop at once.

    The ``signal.signal`` handlers go in first, at :meth:`install`, and are swapped for the loop's
    own in the loop's first callback: uvloop loses a signal that arrives between
    ``add_signal_handler`` and the start of the loop, so start-up is covered by the fallback.

    A signal whose disposition is ``SIG_IGN`` stays ignored (a job started in the background by
    a shell ignores SIGINT on purpose), and one whose handler was installed outside Python
    (``getsignal`` returns ``None``) is left alone, because it could not be given back.

    Must be installed and restored on the main thread, restored while the loop is not yet closed.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_signal: Callable[[int], None],
        *,
        force_fallback: bool | None = None,
    ) -> None:
        self._loop = loop
        self._on_signal = on_signal
        if force_fallback is None:
            force_fallback = os.environ.get(FORCE_FALLBACK_ENV, "") not in ("", "0")
        self._force_fallback = force_fallback
        self._previous: dict[int, _Handler] = {}
        self._via_loop: set[int] = set()
        self._wakeup_fd = -1

    def install(self) -> None:
        """Take the stop signals; ValueError (nothing left changed) where Python may not set
        signal handlers: a thread other than the main one, a sub-interpreter, an embedding."""
        self._wakeup_fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(self._wakeup_fd)
        try:
            for sig in stop_signals():
                previous = signal.getsignal(sig)
                if previous is None or previous == signal.SIG_IGN:
                    continue
                signal.signal(sig, self._fallback_handler)
                self._previous[sig] = previous
        except ValueError:
            self.restore()
            raise
        if self._force_fallback:
            self._log_how()
        else:
            self._loop.call_soon(self._move_to_loop)

    def _move_to_loop(self) -> None:
        self._via_loop = {sig for sig in self._previous if self._add_loop_handler(sig)}
        self._log_how()

    def restore(self) -> None:
        """Give back every handler replaced, and the wakeup fd, exactly as they were."""
        for sig, previous in self._previous.items():
            if sig in self._via_loop and not self._loop.is_closed():
                # uvloop keeps its handler installed after close(); remove it while the loop lives.
                with contextlib.suppress(Exception):
                    self._loop.remove_signal_handler(sig)
            signal.signal(sig, previous)
        self._previous.clear()
        self._via_loop.clear()
        # Removing the last loop handler resets the wakeup fd to -1, and a Proactor loop's close()
        # does the same (python/cpython#91170); either would leave an earlier owner deaf.
        signal.set_wakeup_fd(self._wakeup_fd)

    def _log_how(self) -> None:
        _logger.debug(
            "handling %s (%s)",
            ", ".join(signal_name(s) for s in self._previous),
            "loop" if self._via_loop == set(self._previous) else "signal.signal fallback",
        )

    def _add_loop_handler(self, sig: int) -> bool:
        try:
            self._loop.add_signal_handler(sig, self._on_signal, int(sig))
        except NotImplementedError:
            return False
        return True

    def _fallback_handler(self, signum: int, frame: object) -> None:
        # Runs between two bytecodes of the main thread, possibly inside the loop's own code: only
        # hand the signal over, which is what call_soon_threadsafe is safe for.
        with contextlib.suppress(
            RuntimeError
        ):  # the loop closed under us: the run is ending anyway
            self._loop.call_soon_threadsafe(self._on_signal, signum)
