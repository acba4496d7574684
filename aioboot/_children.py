"""The shutdown step that stops the child processes a run started through its loop and left
running, so that none outlives the program as an orphan (docs/explanation/shutdown.md): SIGTERM,
then SIGKILL once its share of the shutdown budget is spent, each one killed named in the report.

The run notes its children as they start (``_shutdown.ChildProcesses``); this module is imported
only by a shutdown that finds one still running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _report

if TYPE_CHECKING:
    from ._shutdown import StartedChild

logger = logging.getLogger("aioboot")

# Windows' process creation flags and console event, which subprocess and signal define on Windows
# only: the Windows path is also tested on Linux.
CREATE_NEW_PROCESS_GROUP = 0x200
DETACHED_PROCESS = 0x8
CTRL_BREAK_EVENT = 1

# How often a stopping child's exit is looked for: from 1 ms (a child that exits on SIGTERM at
# once is seen at once) doubling to 50 ms (a long wait costs a few callbacks a second).
_FIRST_LOOK = 0.001
_LAST_LOOK = 0.05


class Stopping:
    """How one child is stopped on this platform: ``ask``, the signal that asks it to stop (None:
    there is no way to ask), and what the request and the kill are called in the report."""

    __slots__ = ("ask", "ask_name", "kill_name")

    def __init__(self, ask: Optional[int], ask_name: str, kill_name: str) -> None:
        self.ask = ask
        self.ask_name = ask_name
        self.kill_name = kill_name


_POSIX = Stopping(signal.SIGTERM, "SIGTERM", "SIGKILL")
_WINDOWS_OWN_GROUP = Stopping(CTRL_BREAK_EVENT, "CTRL_BREAK_EVENT", "TerminateProcess")
_WINDOWS = Stopping(None, "", "TerminateProcess")


def how_to_stop(options: dict[str, Any], windows: bool) -> Optional[Stopping]:
    """How to stop a child started with these keyword arguments, or None to leave it alone: it
    was detached on purpose (its own session or process group on POSIX, where a Ctrl-C to the
    program's group would not reach it either; ``DETACHED_PROCESS`` on Windows).

    POSIX: SIGTERM, then SIGKILL.  Windows: CTRL_BREAK_EVENT to a child started in its own
    process group (``CREATE_NEW_PROCESS_GROUP``), the one console event that can be sent to one
    child; otherwise there is nothing to ask with, and it is terminated at once.
    """
    if windows:
        flags = int(options.get("creationflags") or 0)
        if flags & DETACHED_PROCESS:
            return None
        return _WINDOWS_OWN_GROUP if flags & CREATE_NEW_PROCESS_GROUP else _WINDOWS
    if options.get("start_new_session") or options.get("process_group") is not None:
        return None
    return _POSIX


class _Child:
    __slots__ = ("started", "stopping", "transport")

    def __init__(self, started: StartedChild, stopping: Stopping) -> None:
        self.started = started
        self.transport = started.transport
        self.stopping = stopping

    @property
    def running(self) -> bool:
        return self.started.running

    def describe(self) -> str:
        command = self.started.command
        if len(command) == 1 and isinstance(command[0], (str, bytes)):
            line = os.fsdecode(command[0])  # subprocess_shell's command line, as written
        else:
            import shlex  # for a report: not paid for by a run that needs none

            line = shlex.join(os.fsdecode(arg) for arg in command)
        return f"child process {self.transport.get_pid()} ({line})"


class ChildrenToStop:
    """The children left running that are the run's to stop: all but those detached on purpose
    (:func:`how_to_stop`)."""

    _windows = sys.platform == "win32"  # tests set it to take the Windows path on Linux

    def __init__(
        self, loop: asyncio.AbstractEventLoop, left_running: Sequence[StartedChild]
    ) -> None:
        self._loop = loop
        self._children: list[_Child] = []
        for started in left_running:
            stopping = how_to_stop(started.options, self._windows)
            if stopping is not None:
                self._children.append(_Child(started, stopping))

    def __bool__(self) -> bool:
        return bool(self._children)

    async def stop(self, timeout: Optional[float], forced: asyncio.Future[None]) -> None:
        """Ask each child to stop, wait up to ``timeout`` seconds (None: as long as it takes) for
        them to exit, kill and name the ones still running (a child that cannot be asked: at
        once), and wait as long again for those to be reaped; a forced exit ends each wait at
        once.  Their transports are closed last."""
        children = self._children
        asked = [c for c in children if c.stopping.ask is not None]
        self._kill([c for c in children if c.stopping.ask is None], timeout, forced)
        for child in asked:
            logger.debug("asking %s to stop (%s)", child.describe(), child.stopping.ask_name)
            self._send(child, child.stopping.ask)
        await self._until_exited(asked, timeout, forced)
        self._kill([c for c in asked if c.running], timeout, forced)
        await self._until_exited(children, timeout, forced)  # reaped: no zombie, even as PID 1
        for child in children:
            child.transport.close()

    def _kill(
        self, children: list[_Child], timeout: Optional[float], forced: asyncio.Future[None]
    ) -> None:
        for child in children:
            self._send(child, None)
            _report.report_killed_child(
                child.describe(),
                child.stopping.ask_name,
                child.stopping.kill_name,
                None if forced.done() else timeout,
            )

    def _send(self, child: _Child, sig: Optional[int]) -> None:
        """``sig``, or the kill for None, through os.kill, as uvloop sends any signal: asyncio's
        send_signal() polls the child first, and that poll can reap it behind the back of the
        loop's child watcher, which then reports an unknown child with status 255.  On Windows,
        os.kill sends CTRL_BREAK_EVENT to the child's process group on every loop (winloop's
        send_signal knows no console event); the kill is the transport's (TerminateProcess)."""
        try:
            if sig is None and self._windows:
                child.transport.kill()
            else:
                os.kill(child.transport.get_pid(), signal.SIGKILL if sig is None else sig)
        except OSError as exc:  # it exited meanwhile
            logger.debug("%s: %r", child.describe(), exc)

    async def _until_exited(
        self, children: list[_Child], timeout: Optional[float], forced: asyncio.Future[None]
    ) -> None:
        """Neither loop has a public way to wait for a child's exit that ignores its pipes
        (asyncio's ``_wait()`` also waits for them to close, which a grandchild may hold open),
        so the exit status is looked for, more and more rarely."""
        deadline = None if timeout is None else self._loop.time() + timeout
        pause = _FIRST_LOOK
        while any(c.running for c in children) and not forced.done():
            left = None if deadline is None else deadline - self._loop.time()
            if left is not None and left <= 0:
                return
            await asyncio.sleep(pause if left is None else min(pause, left))
            pause = min(2 * pause, _LAST_LOOK)
