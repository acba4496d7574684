"""How a run tells what went wrong: failed tasks nobody looked at, and work that refused to stop.

Everything here only describes and reports; deciding *when* to report is the runner's business.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from types import FrameType
from typing import Any, Callable

from ._arguments import qualified_name
from ._task_failures import is_unretrieved_failure

logger = logging.getLogger("aioboot")

UNRETRIEVED = "Task exception was never retrieved"  # asyncio's own wording, kept for log searches


def task_label(task: asyncio.Task[Any]) -> str:
    """``task 'name' running coroutine qualname()``: enough to find it in the code."""
    coro: object = task.get_coro()  # None for a task that finished eagerly (3.12+)
    what = _coroutine_name(coro) if coro is not None else _eagerly_finished_coroutine(task)
    return f"task {task.get_name()!r} running {what}"


def _eagerly_finished_coroutine(task: asyncio.Task[Any]) -> str:
    """A task that finished eagerly has let go of its coroutine; a failure's traceback starts
    in the coroutine's frame.  Reading the exception retrieves it: only for a report of it."""
    exc = None if task.cancelled() else task.exception()
    tb = exc.__traceback__ if exc is not None else None
    if tb is None:
        return "a coroutine that finished eagerly"
    return f"{tb.tb_frame.f_code.co_qualname}()"  # type: ignore[attr-defined,unused-ignore]


def _coroutine_name(coro: object) -> str:
    return f"{getattr(coro, '__qualname__', None) or type(coro).__name__}()"


def where_suspended(task: asyncio.Task[Any]) -> str:
    """The task's await chain, outermost first, each frame at the line it is suspended on.

    ``Task.get_stack()`` shows only the outermost coroutine; following ``cr_await`` shows the
    innermost one too, which is where a stuck task is actually stuck.
    """
    frames: list[FrameType] = []
    awaited: object = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    stack = traceback.StackSummary.extract((f, f.f_lineno) for f in frames)
    text = "".join(stack.format()) or "  (not started, or no Python frame)\n"
    if awaited is not None:
        text += f"  awaiting {awaited!r}\n"
    return text


def report_unretrieved(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """Report a failed task whose exception nobody retrieved, and retrieve it so that asyncio
    does not report it a second time when the task is garbage-collected."""
    exc = task.exception()
    loop.call_exception_handler(
        {
            "message": f"{UNRETRIEVED}: {task_label(task)}",
            "exception": exc,
            "future": task,
            "task": task,
        }
    )


def report_failed_while_cancelled(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """A task raised instead of stopping when shutdown cancelled it: the same report asyncio.run
    gives, word for word (exception handlers and log filters match on it), through the loop's
    exception handler."""
    loop.call_exception_handler(
        {
            "message": "unhandled exception during asyncio.run() shutdown",
            "exception": task.exception(),
            "task": task,
        }
    )


def report_hook_failure(
    loop: asyncio.AbstractEventLoop,
    hook: Callable[[], object],
    exc: BaseException,
    kind: str = "shutdown hook",
) -> None:
    loop.call_exception_handler(
        {"message": f"{kind} {qualified_name(hook)} failed", "exception": exc, "hook": hook}
    )


def report_failed_step(loop: asyncio.AbstractEventLoop, step: str, task: asyncio.Task[Any]) -> None:
    loop.call_exception_handler(
        {"message": f"{step} failed", "exception": task.exception(), "task": task}
    )


def report_stuck_tasks(
    tasks: list[asyncio.Task[Any]],
    waited: float | None,
    outcome: str = "after being cancelled; abandoning it",
) -> None:
    for task in tasks:
        logger.error(
            "%s did not finish %s %s. Suspended at:\n%s",
            task_label(task),
            _within(waited),
            outcome,
            where_suspended(task).rstrip("\n"),
        )


def report_killed_child(
    child: str, asked_with: str, killed_with: str, waited: float | None
) -> None:
    """A child process the shutdown had to kill: it did not exit when asked, or (a Windows child
    outside its own process group) could not be asked."""
    if not asked_with:
        why = "could not be asked to stop (not started with CREATE_NEW_PROCESS_GROUP)"
    elif waited is None:
        why = f"had not exited on {asked_with} before the forced exit"
    else:
        why = f"did not exit within {waited:g} s of {asked_with}"
    logger.error("%s %s; killed it (%s)", child, why, killed_with)


def report_stuck_jobs(
    jobs: dict[threading.Thread, Callable[..., Any]], waited: float | None
) -> None:
    frames = sys._current_frames()
    for worker, job in jobs.items():
        frame = frames.get(worker.ident or -1)
        where = "".join(traceback.format_stack(frame)) if frame is not None else "  (unknown)\n"
        logger.error(
            "default-executor job %s in thread %r did not finish %s; "
            "abandoning it (daemon thread). Running at:\n%s",
            qualified_name(job),
            worker.name,
            _within(waited),
            where.rstrip("\n"),
        )


def report_step_timeout(step: str, waited: float | None) -> None:
    logger.error("%s did not finish %s; going on without it", step, _within(waited))


def _within(waited: float | None) -> str:
    return "before the forced exit" if waited is None else f"within {waited:g} s"


def handle_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler for a run, until the program sets its own.

    Task failures (never retrieved, or raised while being cancelled at shutdown) and the failures
    of shutdown hooks and reload callbacks are logged on the ``"aioboot"`` logger with the full
    traceback; every other context goes to the loop's default handler, unchanged.  A handler the
    program sets replaces this one and receives the same contexts.
    """
    exc = context.get("exception")
    task = context.get("task") or context.get("future")
    is_ours = isinstance(task, asyncio.Task) or "hook" in context
    if not isinstance(exc, BaseException) or not is_ours:
        loop.default_exception_handler(context)
        return
    message = str(context.get("message") or "Unhandled exception in task")
    if isinstance(task, asyncio.Task) and task_label(task) not in message:
        message = f"{message}: {task_label(task)}"
    logger.error("%s", message, exc_info=(type(exc), exc, exc.__traceback__))
    if isinstance(task, asyncio.Task) and is_unretrieved_failure(task):
        # Reported now, so retrieved: asyncio's pure-Python Task (PyPy's) reports itself from
        # __del__ without clearing its flag, and a handler keeping this record's traceback (the
        # task's frames on PyPy) brings it back to life, for the end-of-run scan to report again.
        task.exception()


def handle_exception_while_stopping(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """:func:`handle_exception` once the shutdown has begun: a callback that fails with
    ``CancelledError`` (a stream protocol whose waiter the shutdown cancelled) is the shutdown's
    own doing, not the program's error, and is only logged at debug level."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        logger.debug("%s (cancelled by the shutdown)", context.get("message"))
        return
    handle_exception(loop, context)
