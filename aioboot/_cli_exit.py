"""How the launcher ends: the exit status for the launch's outcome, the process ending by the
signal that stopped the run, and a failure's traceback shown from the program's first frame."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import logging
import os
import signal
import sys
from types import TracebackType
from typing import Callable, Optional

from ._stop import SignalExit

# Frames a traceback starts with before it reaches the user's code: shown to nobody.  asyncio's
# are those of the pure-Python Task and Future that run main on PyPy (C code on CPython, no frame).
_LAUNCHER_DIRS = frozenset(
    os.path.dirname(os.path.abspath(path))
    for path in (__file__, importlib.__file__, asyncio.__file__)
)
# The import machinery's frozen modules, as CPython and PyPy name their code.
_FROZEN_IMPORTLIB = ("<frozen importlib", "<builtin>/frozen importlib")


class UsageError(Exception):
    """A launcher argument or target that is wrong: one line on stderr, exit status 2."""


def say(message: str) -> None:
    """The launcher's own line on stderr."""
    print(f"aioboot: {message}", file=sys.stderr, flush=True)


def exit_status(launch: Callable[[], object]) -> object:
    """The exit status for the launch's outcome, as Python gives one for a script: what the
    target returned (``SystemExit`` interprets it), 2 for a usage error, 1 with the traceback when
    it raised; 128 + N, and the process ending by signal N, when that signal stopped the run.
    The program's own ``sys.exit()`` passes through."""
    try:
        return launch()
    except UsageError as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        # aioboot.run raises it when SIGINT stopped the program: an exit status, not an error.
        signum: int = signal.SIGINT
    except SignalExit as exc:
        signum = exc.signum
    except Exception as exc:
        # On the exception itself: the default hook ignores its tb argument when it has one.
        exc = exc.with_traceback(_user_traceback(exc.__traceback__))
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1
    _end_by_signal_at_exit(signum)
    # What a shell shows for a process ended by signal N; the status itself where no signal can
    # end a process (Windows).
    return 128 + signum


# The signal that stopped the run: the process ends by it once Python has shut down.
_ending_signal: Optional[int] = None


def register_ending_by_signal() -> None:
    """Called before the program is imported, so that the handler runs after every atexit
    handler of the program's (they run last registered, first)."""
    atexit.register(_end_by_the_stopping_signal)


def _end_by_signal_at_exit(signum: int) -> None:
    """The launcher owns its process: it ends by the signal that stopped the run, as CPython ends
    by SIGINT after an uncaught KeyboardInterrupt, so that a shell stops its loop and a service
    manager counts a clean stop.  Not on Windows, where no signal can end a process."""
    global _ending_signal
    if sys.platform != "win32":
        _ending_signal = signum


def _end_by_the_stopping_signal() -> None:
    if _ending_signal is None:
        return
    logging.shutdown()  # registered before this handler, so it would run after it: never
    for stream in (sys.stdout, sys.stderr):
        # Closed or replaced by the program: nothing left to flush.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    signal.signal(_ending_signal, signal.SIG_DFL)
    os.kill(os.getpid(), _ending_signal)


def _user_traceback(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """The traceback from its first frame outside the launcher, aioboot, asyncio and the import
    machinery: what Python would print had the program been run as a script.  None when no frame
    is left, as for a SyntaxError, whose location is in the exception itself."""
    while tb is not None and _is_launcher_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _is_launcher_file(filename: str) -> bool:
    return filename.startswith(_FROZEN_IMPORTLIB) or os.path.dirname(filename) in _LAUNCHER_DIRS
