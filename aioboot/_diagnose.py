"""Seeing what a running program is doing, without stopping it: the task dump (on demand, or on
SIGUSR1) and the stall watch, a thread that notices when the loop stops turning.

Nothing here changes what the program does: the dump only reads and writes text, and the stall
watch's thread only reads a timestamp the loop refreshes, the loop thread's current task and its
stack.
"""

from __future__ import annotations

import _contextvars
import asyncio
import logging
import os
import sys
import threading
import time
import traceback
from types import FrameType
from typing import Any, Callable, Optional, TextIO

from ._loops import running_loop
from ._report import task_label, where_suspended

logger = logging.getLogger("aioboot")


# 3.14+ records which task awaits which (asyncio.capture_call_graph); older versions only let us
# follow a task's own await chain downwards.
_format_call_graph: Optional[Callable[..., str]] = getattr(asyncio, "format_call_graph", None)


# -- the dump ------------------------------------------------------------------------------------


def dump_tasks(file: Optional[TextIO] = None) -> None:
    """Write every task of the loop running in this thread, with its await chain, and every
    thread's stack, to ``file`` (default: ``sys.stderr`` at the time of the call), in one write.

    Called outside a running loop (another thread, no loop) it writes the threads only: tasks can
    only be read safely from their loop's thread (SIGUSR1 does that for the run).
    """
    out = sys.stderr if file is None else file
    out.write(format_dump())
    out.flush()


def format_dump() -> str:
    loop = running_loop()
    tasks = _tasks_of(loop) if loop is not None else []
    threads = _thread_stacks()
    parts = [
        f"--- aioboot dump (pid {os.getpid()}): {len(tasks)} tasks, {len(threads)} threads ---\n"
    ]
    if loop is None:
        parts.append("(no event loop is running in this thread: tasks are not listed)\n")
    current = asyncio.current_task(loop) if loop is not None else None
    awaited_by = _awaited_by(tasks)
    parts.extend(_format_task(task, task is current, awaited_by) for task in tasks)
    parts.extend(threads)
    parts.append("--- end of aioboot dump ---\n")
    return "".join(parts)


def _tasks_of(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    # Creation order is not kept by all_tasks(); names give a stable, readable order.
    return sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())


def _format_task(
    task: asyncio.Task[Any],
    running: bool,
    awaited_by: dict[asyncio.Future[Any], list[asyncio.Task[Any]]],
) -> str:
    header = f"{task_label(task)} [{_state(task, running)}]\n"
    if _format_call_graph is not None and not running:
        # The running task's graph would start inside this dump; its own chain says where it is.
        return header + _indent(_format_call_graph(task))
    text = header + where_suspended(task)
    waiting_on = _waiting_on(task)
    if isinstance(waiting_on, asyncio.Task):
        text += f"  waiting for {task_label(waiting_on)}\n"
    text += "".join(f"  awaited by {task_label(t)}\n" for t in awaited_by.get(task, ()))
    return text


def _waiting_on(task: asyncio.Task[Any]) -> Optional[asyncio.Future[Any]]:
    """The future a suspended task is blocked on: the edge 3.14's call graph records, which
    older versions only keep privately (``_fut_waiter``, in both the C and Python tasks)."""
    return getattr(task, "_fut_waiter", None)


def _awaited_by(
    tasks: list[asyncio.Task[Any]],
) -> dict[asyncio.Future[Any], list[asyncio.Task[Any]]]:
    edges: dict[asyncio.Future[Any], list[asyncio.Task[Any]]] = {}
    for task in tasks:
        waiting_on = _waiting_on(task)
        if waiting_on is not None:
            edges.setdefault(waiting_on, []).append(task)
    return edges


def _state(task: asyncio.Task[Any], running: bool) -> str:
    if running:
        return "running: it called the dump"
    cancelling = getattr(task, "cancelling", None)  # 3.11+
    if cancelling is not None and cancelling():
        return "pending, being cancelled"
    return "pending"


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


def _thread_stacks() -> list[str]:
    names = {t.ident: t for t in threading.enumerate()}
    me = threading.get_ident()
    stacks = []
    for ident, frame in sys._current_frames().items():
        thread = names.get(ident)
        name = thread.name if thread is not None else "?"
        notes = []
        if thread is not None and thread.daemon:
            notes.append("daemon")
        if ident == me:
            notes.append("this one")
        suffix = f" ({', '.join(notes)})" if notes else ""
        stack = "".join(traceback.format_list(_outside_this_module(frame)))
        stacks.append(f"Thread {name!r} [{ident}]{suffix}, most recent call last:\n{stack}")
    return stacks


def _outside_this_module(frame: FrameType) -> traceback.StackSummary:
    # The dump's own frames say nothing about the program (a thread of ours keeps its first).
    stack = traceback.extract_stack(frame)
    while len(stack) > 1 and stack[-1].filename == __file__:
        stack.pop()
    return stack


def dump_on_signal(signum: int) -> None:
    """The dump, as a callback on the loop's thread."""
    try:
        dump_tasks()
    except Exception:  # a closed or full stderr must not end the program it was to inspect
        logger.debug("the task dump could not be written (signal %d)", signum, exc_info=True)


# -- the stall watch -----------------------------------------------------------------------------
# Where the loop and aioboot's runner live: the frames above the program's own in a stall.  PyPy
# runs each callback through a pure-Python Context.run (C code on CPython, without a frame).
_LOOP_MACHINERY = (
    os.path.dirname(asyncio.__file__) + os.sep,
    os.path.dirname(__file__) + os.sep,
    *filter(None, [getattr(_contextvars, "__file__", None)]),
)


def _where_blocked(frame: Optional[FrameType]) -> str:
    """The loop thread's stack from where the loop called into the program (the task's coroutine
    or the callback), down to the blocking line; the frames above it (the program's start,
    aioboot's runner, the loop's own) only say that a loop was running, so they are counted, not
    shown.  A stall inside the loop or the runner themselves keeps the whole stack."""
    if frame is None:
        return "(most recent call last):\n  (unknown)"
    stack = traceback.extract_stack(frame)
    machinery = [entry.filename.startswith(_LOOP_MACHINERY) for entry in stack]
    try:
        start = machinery.index(False, machinery.index(True))
    except ValueError:  # no loop frames, or nothing of the program's below them
        start = 0
    left_out = f"; {start} frames above it, the start-up and the loop, left out" if start else ""
    shown = "".join(traceback.StackSummary.from_list(stack[start:]).format())
    return f"(most recent call last{left_out}):\n{shown.rstrip()}"


class StallWatch:
    """One WARNING when the loop has not turned for ``threshold`` seconds, naming the task that is
    running and the loop thread's stack (the line that blocks); one more when it turns again, with
    the stall's length.

    The loop refreshes a timestamp from a timer every ``threshold / 2`` seconds (a callback that
    reads the clock: nothing else per turn of the loop), so an idle loop, asleep in its selector,
    still wakes for it on time.  A daemon thread sleeps until the earliest moment that timestamp
    could be ``threshold`` late, and only then looks.  A stall of ``threshold`` is therefore
    reported after between ``threshold`` and ``1.5 * threshold`` of blocking.

    ``start()`` in the loop's thread before the loop runs (or while it runs); ``stop()`` before the
    loop is closed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self._loop = loop
        self._threshold = threshold
        self._interval = threshold / 2
        self._lock = threading.Lock()
        self._beat = time.monotonic()  # when the loop last ran the heartbeat
        self._stalled = False  # a warning was logged and the loop has not turned since
        self._timer: Optional[asyncio.TimerHandle] = None
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._loop_thread = threading.get_ident()

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._timer = self._loop.call_later(self._interval, self._heartbeat)
        self._thread = threading.Thread(target=self._watch, name="aioboot-stall-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._stall_ended()  # the loop stopped before the heartbeat could say it

    # loop side

    def _heartbeat(self) -> None:
        self._stall_ended()
        self._timer = self._loop.call_later(self._interval, self._heartbeat)

    def _stall_ended(self) -> None:
        now = time.monotonic()
        late = now - (self._beat + self._interval)
        with self._lock:
            stalled, self._stalled = self._stalled, False
            self._beat = now
        if stalled:
            logger.warning("the event loop turned again after a stall of %.2f s", late)

    # thread side

    def _watch(self) -> None:
        planned = self._due() + self._threshold
        while not self._done.wait(max(0.0, planned - time.monotonic())):
            now = time.monotonic()
            if now - planned > self._interval:
                # This thread itself woke late: the whole process was paused (SIGSTOP, a
                # suspended VM), which is no stall of the loop. Give the loop time to turn first.
                planned = now + self._interval
                continue
            planned = self._check(now)

    def _due(self) -> float:
        return self._beat + self._interval

    def _check(self, now: float) -> float:
        """Warn if the heartbeat is ``threshold`` late; return when to look next."""
        beat = self._beat
        if self._stalled or now - (beat + self._interval) < self._threshold:
            return max(now + self._interval, self._due() + self._threshold)
        task = asyncio.current_task(self._loop)
        frame = sys._current_frames().get(self._loop_thread)
        with self._lock:  # the warning is out before the heartbeat's end line can be
            if self._beat != beat:
                return now  # it turned while we looked: no stall
            self._stalled = True
            logger.warning(
                "the event loop has not turned for %.2f s (stall_warning=%g): %s; "
                "the loop thread is at %s",
                now - (beat + self._interval),
                self._threshold,
                f"{task_label(task)} is blocking it" if task else "a callback (no task) blocks it",
                _where_blocked(frame),
            )
        return now + self._interval
