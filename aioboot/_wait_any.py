"""``wait_any``: wait for the first of several awaitables without leaving the others running.  It
works on any asyncio loop, inside a run or not."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Coroutine, Iterable, Optional, TypeVar, overload

from ._arguments import checked_seconds, close_unawaited

T = TypeVar("T")
_FT = TypeVar("_FT", bound="asyncio.Future[Any]")


@overload
async def wait_any(
    aws: Iterable[_FT], *, timeout: Optional[float] = None
) -> tuple[set[_FT], set[_FT]]: ...


@overload
async def wait_any(
    aws: Iterable[Coroutine[Any, Any, T]], *, timeout: Optional[float] = None
) -> tuple[set[asyncio.Task[T]], set[asyncio.Task[T]]]: ...


@overload
async def wait_any(
    aws: Iterable[Awaitable[T]], *, timeout: Optional[float] = None
) -> tuple[set[asyncio.Future[T]], set[asyncio.Future[T]]]: ...


async def wait_any(
    aws: Iterable[Awaitable[Any]], *, timeout: Optional[float] = None
) -> tuple[set[Any], set[Any]]:
    """Wait until the first of ``aws`` completes (or ``timeout`` seconds pass), then cancel the
    rest and wait for them to finish.  Returns ``(done, pending)``.

    ``aws`` holds tasks, futures, coroutines or other awaitables.  Tasks and futures are returned
    as themselves (so ``work in done`` works); anything else is first wrapped in a task, which is
    what the sets then hold.

    * ``done``: every one that had completed when ``wait_any`` woke up -- with a result, an
      exception, or cancelled by someone else.  Several completing in the same loop iteration are
      all in ``done``.  After a timeout, ``done`` is empty.
    * ``pending``: every one that had not completed then.  ``wait_any`` cancelled each of them and
      waited until each finished, so nothing is left running when it returns.  They normally end
      cancelled; one that suppressed the cancellation keeps the result or exception it ended with.

    Exceptions of the children are never raised by ``wait_any``: read them from ``done`` with
    ``result()``/``exception()``.  A child's failure that nobody reads is reported by the run like
    any other task's; a child that ended cancelled has nothing to report.

    If ``wait_any`` itself is cancelled, it cancels every child, waits for them to finish, then
    raises ``CancelledError``.

    The wait for cancelled children is not bounded, as with ``asyncio.TaskGroup``: a child that
    ignores cancellation delays ``wait_any`` for as long as it runs.  Cancelling ``wait_any``
    again during that wait is passed on to the children; it still waits for them, then raises
    ``CancelledError``.  So nothing is ever left running when it returns or raises; a child that
    never stops holds it, and the run's bounded shutdown names both.

    Raises ``ValueError`` for an empty ``aws`` or a timeout that is negative or not finite,
    ``TypeError`` for an element that is not awaitable or a timeout that is not a number;
    coroutines in a rejected ``aws`` are closed, since they will never run.
    """
    items = _collect_awaitables(aws, timeout)
    futures: list[asyncio.Future[Any]] = [asyncio.ensure_future(aw) for aw in items]
    try:
        done, pending = await asyncio.wait(
            futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        await _cancel_and_wait(futures)
        raise
    await _cancel_and_wait(pending)
    return done, pending


def _collect_awaitables(aws: Iterable[Awaitable[Any]], timeout: object) -> list[Awaitable[Any]]:
    if asyncio.isfuture(aws) or inspect.isawaitable(aws):
        close_unawaited(aws)
        raise TypeError("aioboot.wait_any() expects an iterable of awaitables, not a single one")
    items = list(aws)
    try:
        if timeout is not None:
            checked_seconds(timeout, "timeout", "wait_any()", minimum=0.0)
        if not items:
            raise ValueError("aioboot.wait_any() needs at least one awaitable")
        for item in items:
            if not inspect.isawaitable(item):
                raise TypeError(f"aioboot.wait_any(): {item!r} is not awaitable")
    except BaseException:
        close_unawaited(*items)  # they will never run: no "never awaited" warning on top
        raise
    return items


async def _cancel_and_wait(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel ``futures`` and wait until all are done, as ``TaskGroup`` does: a cancellation that
    arrives meanwhile is passed on to them and raised once they are all done, so nothing is ever
    left running when ``wait_any`` returns or raises."""
    futures = list(futures)
    interrupted = False
    while True:
        for future in futures:
            future.cancel()
        try:
            if futures:
                await asyncio.wait(futures)
            break
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError
