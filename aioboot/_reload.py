"""``python -m aioboot --reload ...``: the program runs in a child launcher, restarted on changes.

A development tool.  This process only watches and supervises: it never imports the program.  The
child is ``python -m aioboot`` with the same command line minus the reload options, so it stops
the way any aioboot program stops.  Imported only for ``--reload``; ``watchfiles`` is imported
once the command line has been checked, so that its absence is a usage error like the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Callable, Optional

from ._cli_exit import UsageError
from ._signals import stop_signals

if TYPE_CHECKING:
    import watchfiles

_WINDOWS = sys.platform == "win32"

if sys.platform == "win32":
    # A Windows process cannot be sent SIGTERM, only killed; a child in a process group of its
    # own can be sent CTRL_BREAK_EVENT, which aioboot reads as a stop signal (SIGBREAK).
    _GRACEFUL_STOP = signal.CTRL_BREAK_EVENT
    _CHILD_FLAGS = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    _GRACEFUL_STOP = signal.SIGTERM
    # The child stays in this process group, so that Ctrl-C at the terminal reaches it directly.
    _CHILD_FLAGS = 0


def run_with_reload(
    command: Sequence[str],
    target_file: Optional[str],
    reload_dirs: Optional[Sequence[str]],
    say: Callable[[str], None],
) -> int:
    """``--reload``: check the directories to watch (``reload_dirs``, else the current directory,
    or the directory of a file target) and that watchfiles is installed, then
    :func:`_run_reloading`.  The target's form has been checked already: nothing is imported."""
    directories = list(reload_dirs or ())
    if not directories:
        here = os.getcwd() if target_file is None else os.path.dirname(os.path.abspath(target_file))
        directories.append(here)
    for directory in directories:
        if not os.path.isdir(directory):
            raise UsageError(f"--reload-dir: {directory!r} is not a directory")
    try:
        import watchfiles  # noqa: F401  (only checked here: _run_reloading uses it)
    except ImportError as exc:
        if exc.name != "watchfiles":
            raise
        raise UsageError(
            "--reload needs watchfiles: pip install 'aioboot-runner[reload]'"
        ) from None
    return _run_reloading(command, directories, say)


def _run_reloading(
    command: Sequence[str], directories: Sequence[str], say: Callable[[str], None]
) -> int:
    """Run ``command``; whenever a ``.py`` file under ``directories`` changes, stop it gracefully,
    wait for it, and start it again.  A program that exits by itself (finished, or failed to
    import) is started again on the next change.  Ends on SIGINT/SIGTERM, once the program has
    stopped; returns its last run's returncode (-N: ended by signal N)."""
    import watchfiles

    supervisor = _Supervisor(command)
    watching = _WatchingEvent(supervisor.stop_requested, lambda: supervisor.start(directories, say))
    with supervisor.capturing_signals():
        try:
            for changes in watchfiles.watch(
                *directories,
                watch_filter=_source_filter(),
                stop_event=watching,
                raise_interrupt=False,
            ):
                say(f"{_changed(changes)} changed; restarting")
                supervisor.stop_program()
                if supervisor.stop_requested.is_set():
                    break
                supervisor.start_program()
        except BaseException:
            supervisor.stop_program()  # never leave it running on its own
            raise
        return supervisor.outcome()


def _source_filter() -> watchfiles.PythonFilter:
    """Python source files, outside virtual environments and caches: named here, not left to
    whichever defaults the installed watchfiles has.  Its class is made here, as watchfiles is
    imported only once it is needed."""
    import watchfiles

    class SourceFilter(watchfiles.PythonFilter):
        ignore_dirs = (
            *watchfiles.PythonFilter.ignore_dirs,
            ".venv",
            "venv",
            ".tox",
            "__pycache__",
        )

    return SourceFilter()


class _WatchingEvent:
    """The stop event watchfiles checks on each step of its wait.  Its first check comes once the
    watcher is set up, which is when the program is started: no change made after the program's
    first line can be missed."""

    def __init__(self, stop: threading.Event, on_first_check: Callable[[], None]) -> None:
        self._stop = stop
        self._on_first_check: Optional[Callable[[], None]] = on_first_check

    def is_set(self) -> bool:
        if self._on_first_check is not None:
            on_first_check, self._on_first_check = self._on_first_check, None
            on_first_check()
        return self._stop.is_set()


class _Supervisor:
    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._signals: list[int] = []
        self.stop_requested = threading.Event()

    def start(self, directories: Sequence[str], say: Callable[[str], None]) -> None:
        say(f"watching {', '.join(directories)} for changes to .py files (--reload)")
        self.start_program()

    def start_program(self) -> None:
        if self.stop_requested.is_set():
            return
        signals_before = len(self._signals)
        self._process = subprocess.Popen(self._command, creationflags=_CHILD_FLAGS)
        if len(self._signals) > signals_before:
            # A Ctrl-C that reached the group while the child was being started is lost with the
            # exec: ask it to stop, rather than wait for a program that never heard of it.
            self._process.send_signal(_GRACEFUL_STOP)

    def stop_program(self) -> None:
        """Stop the program the way any stop signal does, and wait for its shutdown."""
        if self._running():
            assert self._process is not None
            self._process.send_signal(_GRACEFUL_STOP)
        self._wait()

    def outcome(self) -> int:
        """The exit status of the program's last run, once it has ended, as ``Popen.returncode``
        gives it (-N: ended by signal N).  Not "was it running when the stop came": this
        process's handler runs up to a watch step late, when a Ctrl-C may already have ended
        the program."""
        status = self._wait()
        if status is not None:
            return status
        return -self._signals[0] if self._signals else 0

    def capturing_signals(self) -> _CapturedSignals:
        return _CapturedSignals(self._on_signal)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        first = not self._signals
        self._signals.append(signum)
        self.stop_requested.set()
        running = self._running()
        # A terminal's Ctrl-C reaches the whole foreground process group, the child included on
        # POSIX: passing the first SIGINT on would be a second signal, which forces its exit.
        # Anything else was sent to this process alone, or is a second signal meant to force.
        if running and (_WINDOWS or signum != signal.SIGINT or not first):
            assert self._process is not None
            self._process.send_signal(_GRACEFUL_STOP if _WINDOWS else signum)

    def _running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _wait(self) -> Optional[int]:
        """Wait for the program; its ``returncode``, or None if none was started."""
        if self._process is None:
            return None
        return self._process.wait()


class _CapturedSignals:
    """The stop signals go to ``handler`` inside the ``with``; the previous handlers come back."""

    def __init__(self, handler: Callable[[int, Optional[FrameType]], None]) -> None:
        self._handler = handler
        self._previous: dict[int, object] = {}

    def __enter__(self) -> None:
        for sig in stop_signals():  # what this process takes over while it supervises
            self._previous[sig] = signal.signal(sig, self._handler)

    def __exit__(self, *exc_info: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]


def _changed(changes: set[tuple[watchfiles.Change, str]]) -> str:
    paths = sorted({_shown(path) for _, path in changes})
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _shown(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # on another Windows drive
        return path
