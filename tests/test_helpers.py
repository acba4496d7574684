"""The helpers: ``wait_any`` (first one wins, nothing left running) and ``call_later``/``call_at``
(the coroutine exists only once the call is due), on every installed loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Awaitable, Callable, Coroutine, Optional

import pytest
from conftest import aioboot_reports, collect_garbage, reported_exception

import aioboot

# The tests count the reports of lost tasks.
pytestmark = pytest.mark.usefixtures("earlier_garbage_collected")

kept: list[object] = []


@pytest.fixture(autouse=True)
def _release_kept() -> Iterator[None]:
    yield
    kept.clear()


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


async def cleaned_up_forever(name: str, cleaned: list[str], started: asyncio.Event) -> None:
    """Runs until cancelled; its cleanup needs the loop, so it only finishes if someone waits."""
    started.set()
    try:
        await forever()
    finally:
        await asyncio.sleep(0)
        cleaned.append(name)


async def quick(value: str) -> str:
    await asyncio.sleep(0)
    return value


async def boom(message: str = "boom") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def coroutines_of(fn: Callable[..., Any]) -> list[object]:
    """Every live coroutine object created by calling ``fn``."""
    code = fn.__code__
    return [o for o in gc.get_objects() if inspect.iscoroutine(o) and o.cr_code is code]


@contextlib.contextmanager
def no_never_awaited_warning() -> Iterator[None]:
    """Fails when a coroutine is created and dropped without being awaited in the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        collect_garbage()
    never_awaited = [w for w in caught if "never awaited" in str(w.message)]
    assert never_awaited == []


def closed(coro: Coroutine[Any, Any, Any]) -> bool:
    return inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def started_task(call: aioboot.ScheduledCall[Any]) -> asyncio.Task[Any]:
    task = call.task
    assert task is not None, f"{call!r} has not started"
    return task


# -- wait_any -------------------------------------------------------------------------------------


def test_wait_any_work_finishes_first_and_the_connection_watcher_is_cancelled(
    loop_name: str,
) -> None:
    async def main() -> str:
        lost = asyncio.Event()
        work = asyncio.create_task(quick("data"))
        watcher = asyncio.create_task(lost.wait())
        done, pending = await aioboot.wait_any([work, watcher])
        assert done == {work}
        assert pending == {watcher}
        assert watcher.cancelled()  # finished cancelling before wait_any returned
        return work.result()

    assert aioboot.run(main(), loop=loop_name) == "data"


def test_wait_any_connection_lost_first_cancels_the_work(loop_name: str) -> None:
    cleaned: list[str] = []

    async def main() -> None:
        started, lost = asyncio.Event(), asyncio.Event()
        work = asyncio.create_task(cleaned_up_forever("work", cleaned, started))
        watcher = asyncio.create_task(lost.wait())
        asyncio.get_running_loop().call_soon(lost.set)
        done, pending = await aioboot.wait_any([work, watcher])
        assert done == {watcher}
        assert pending == {work}
        assert work.cancelled()
        assert cleaned == ["work"]  # its cleanup, which awaits, had finished

    aioboot.run(main(), loop=loop_name)


def test_cancelling_wait_any_cancels_every_child_and_waits_for_them(loop_name: str) -> None:
    cleaned: list[str] = []

    async def main() -> None:
        work_started, watcher_started = asyncio.Event(), asyncio.Event()
        work = asyncio.create_task(cleaned_up_forever("work", cleaned, work_started))
        watcher = asyncio.create_task(cleaned_up_forever("watcher", cleaned, watcher_started))
        waiter = asyncio.create_task(aioboot.wait_any([work, watcher]))
        await work_started.wait()
        await watcher_started.wait()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert work.cancelled()
        assert watcher.cancelled()
        assert sorted(cleaned) == ["watcher", "work"]

    aioboot.run(main(), loop=loop_name)


def test_wait_any_wraps_coroutines_in_tasks_and_cancels_the_slow_one(loop_name: str) -> None:
    cleaned: list[str] = []

    async def main() -> None:
        started = asyncio.Event()
        done, pending = await aioboot.wait_any(
            [cleaned_up_forever("slow", cleaned, started), quick("fast")]
        )
        [first] = done
        [slow] = pending
        assert isinstance(first, asyncio.Task)
        assert first.result() == "fast"
        assert isinstance(slow, asyncio.Task)
        assert slow.cancelled()
        assert cleaned == ["slow"]

    aioboot.run(main(), loop=loop_name)


def test_wait_any_timeout_returns_nothing_done_and_cancels_everything(loop_name: str) -> None:
    async def main() -> None:
        task = asyncio.create_task(forever())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        aws: list[Awaitable[Any]] = [task, future, forever()]
        done, pending = await aioboot.wait_any(aws, timeout=0.01)
        assert done == set()
        assert len(pending) == 3
        assert {task, future} < pending
        assert all(p.cancelled() for p in pending)

    aioboot.run(main(), loop=loop_name)


def test_wait_any_rejects_bad_input_and_closes_the_coroutines_it_was_given(
    loop_name: str,
) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="at least one"):
            await aioboot.wait_any([])
        coro = forever()
        not_awaitable: list[Any] = [coro, 42]
        with pytest.raises(TypeError, match="not awaitable"):
            await aioboot.wait_any(not_awaitable)
        assert closed(coro)  # it will never run
        coro = forever()
        with pytest.raises(ValueError, match="timeout"):
            await aioboot.wait_any([coro], timeout=-1)
        assert closed(coro)
        task: Any = asyncio.create_task(forever())
        with pytest.raises(TypeError, match="iterable of awaitables, not a single one"):
            await aioboot.wait_any(task)
        task.cancel()

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)


def test_wait_any_hands_a_childs_exception_to_the_caller_instead_of_raising_it(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        failing = asyncio.create_task(boom("child failed"))
        other = asyncio.create_task(forever())
        done, pending = await aioboot.wait_any([failing, other])
        assert done == {failing}
        assert pending == {other}
        assert isinstance(failing.exception(), ValueError)

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    collect_garbage()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_childs_exception_nobody_reads_is_reported_once(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        done, pending = await aioboot.wait_any([boom("nobody looked"), forever()])
        kept.append(done)  # held, never read: the run must say so
        kept.append(pending)  # ended cancelled: nothing to report

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    kept.clear()
    collect_garbage()
    (record,) = aioboot_reports(caplog, "never retrieved")
    assert "running boom()" in record.getMessage()
    assert str(reported_exception(record)) == "nobody looked"


def test_wait_any_puts_every_child_completed_in_the_same_iteration_in_done(
    loop_name: str,
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        first: asyncio.Future[int] = loop.create_future()
        second: asyncio.Future[int] = loop.create_future()
        third: asyncio.Future[int] = loop.create_future()

        def complete_two() -> None:
            first.set_result(1)
            second.set_result(2)

        loop.call_soon(complete_two)
        done, pending = await aioboot.wait_any([first, second, third])
        assert done == {first, second}
        assert pending == {third}
        assert third.cancelled()

    aioboot.run(main(), loop=loop_name)


def test_cancelling_wait_any_again_is_passed_on_and_it_still_waits_for_its_children(
    loop_name: str,
) -> None:
    async def main() -> None:
        refused, never = asyncio.Event(), asyncio.Event()

        async def stubborn() -> str:
            try:
                await forever()
            except asyncio.CancelledError:
                refused.set()
                await never.wait()  # ignores the first cancellation, not the second
            return "late"

        work = asyncio.create_task(stubborn())
        waiter = asyncio.create_task(aioboot.wait_any([work, quick("fast")]))
        await refused.wait()
        await asyncio.sleep(0)
        assert not waiter.done()  # it waits for the cancelled child, without a bound
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert work.cancelled()  # the second cancellation reached the child, which then ended

    aioboot.run(main(), loop=loop_name)


# -- call_later / call_at -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["call_later", "call_at"])
def test_a_scheduled_call_starts_at_its_loop_time_not_before(loop_name: str, how: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        started_at: list[float] = []

        async def job(tag: str) -> str:
            started_at.append(loop.time())
            return tag

        before = loop.time()
        if how == "call_later":
            call = aioboot.call_later(0.05, job, "fired")
        else:
            call = aioboot.call_at(before + 0.05, job, "fired")
        assert call.when() >= before + 0.05
        assert call.task is None
        assert not call.cancelled()
        assert await call == "fired"
        assert started_at[0] >= call.when()
        assert started_task(call).done()

    aioboot.run(main(), loop=loop_name)


def test_many_short_calls_never_start_early(loop_name: str) -> None:
    """uvloop's millisecond timers fire up to 1 ms early; the call must wait that out."""

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def now() -> float:
            return loop.time()

        for i in range(40):
            call = aioboot.call_later((i % 7) * 0.0003 + 0.0001, now)
            assert await call >= call.when()

    aioboot.run(main(), loop=loop_name)


def test_a_call_cancelled_before_it_is_due_never_creates_its_coroutine(loop_name: str) -> None:
    ran: list[str] = []

    async def job() -> None:
        ran.append("job")

    async def main() -> None:
        call = aioboot.call_later(0.01, job)
        assert coroutines_of(job) == []  # not created early
        assert call.cancel() is True
        assert call.cancelled()
        assert call.cancel() is False
        await aioboot.call_later(0.05, asyncio.sleep, 0)  # due after the cancelled one
        assert ran == []
        assert call.task is None
        with pytest.raises(asyncio.CancelledError):
            await call

        awaited = aioboot.call_later(3600, job)
        awaiter = asyncio.ensure_future(awaited)
        await asyncio.sleep(0)  # one loop step: the awaiter is now waiting for the call
        awaited.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(awaiter, 5)  # a bound, so a regression fails instead of hangs

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)
    assert coroutines_of(job) == []


def test_cancelling_a_started_call_cancels_its_task(loop_name: str) -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def job() -> None:
            started.set()
            await forever()

        call = aioboot.call_later(0, job)
        await started.wait()
        assert call.cancel() is True
        with pytest.raises(asyncio.CancelledError):
            await call
        assert call.cancelled()
        assert started_task(call).cancelled()
        assert call.cancel() is False  # finished: nothing left to cancel

        finished = aioboot.call_later(0, quick, "done")
        assert await finished == "done"
        assert finished.cancel() is False
        assert not finished.cancelled()

    aioboot.run(main(), loop=loop_name)


def test_an_awaiter_giving_up_cancels_the_call(loop_name: str) -> None:
    async def main() -> None:
        call = aioboot.call_later(3600, quick, "never")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call, 0.01)
        assert call.cancelled()
        assert call.task is None

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)


def test_a_scheduled_calls_unretrieved_exception_is_reported_once(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(started: asyncio.Event) -> None:
        started.set()
        raise ValueError("scheduled failure")

    async def main() -> None:
        started = asyncio.Event()
        call = aioboot.call_later(0, failing, started)
        kept.append(call)
        await started.wait()
        await asyncio.wait([started_task(call)])  # waits without retrieving the exception

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    kept.clear()
    collect_garbage()
    (record,) = aioboot_reports(caplog, "never retrieved")
    assert ".failing()" in record.getMessage()
    assert str(reported_exception(record)) == "scheduled failure"


def test_calls_still_pending_at_shutdown_are_cancelled_without_creating_coroutines(
    loop_name: str,
) -> None:
    calls: list[aioboot.ScheduledCall[None]] = []

    async def job() -> None:
        raise AssertionError("must never run")

    async def main() -> None:
        calls.append(aioboot.call_later(3600, job))
        calls.append(aioboot.call_at(asyncio.get_running_loop().time() + 3600, job))

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)
    assert [c.cancelled() for c in calls] == [True, True]
    assert [c.task for c in calls] == [None, None]
    assert coroutines_of(job) == []


def test_scheduling_outside_a_run_is_a_clear_error() -> None:
    async def job() -> None:
        raise AssertionError("must never run")

    with no_never_awaited_warning():
        with pytest.raises(RuntimeError, match=r"aioboot.call_later\(\).*no aioboot.run\(\)"):
            aioboot.call_later(0, job)
        with pytest.raises(RuntimeError, match=r"aioboot.call_at\(\).*no aioboot.run\(\)"):
            aioboot.call_at(0, job)

        async def in_plain_asyncio() -> None:
            with pytest.raises(RuntimeError, match=r"must be called inside aioboot.run\(\)"):
                aioboot.call_later(0, job)

        asyncio.run(in_plain_asyncio())
    assert coroutines_of(job) == []


def test_another_thread_can_schedule_and_cancel_calls_that_run_in_the_loop_thread(
    loop_name: str,
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()
        ran: list[tuple[int, float]] = []

        async def job(x: int) -> int:
            ran.append((threading.get_ident(), loop.time()))
            return x * 2

        later = await asyncio.to_thread(aioboot.call_later, 0.01, job, 21)
        assert await later == 42
        at = await asyncio.to_thread(aioboot.call_at, loop.time() + 0.01, job, 1)
        assert await at == 2
        assert [thread for thread, _ in ran] == [loop_thread, loop_thread]
        assert ran[0][1] >= later.when()
        assert ran[1][1] >= at.when()

        pending = aioboot.call_later(3600, job, 0)

        def cancel_and_look() -> tuple[bool, bool]:
            # cancelled() is True at once, not only once the loop thread gets to it.
            return pending.cancel(), pending.cancelled()

        assert await asyncio.to_thread(cancel_and_look) == (True, True)
        with pytest.raises(asyncio.CancelledError):
            await pending

        def schedule_then_cancel() -> tuple[aioboot.ScheduledCall[int], bool, bool]:
            call = aioboot.call_later(0, job, 0)
            return call, call.cancel(), call.cancelled()  # before the loop received the request

        # Joined from the loop thread, which is blocked meanwhile: the loop cannot receive the
        # request before cancel() runs.
        box: list[tuple[aioboot.ScheduledCall[int], bool, bool]] = []
        scheduler = threading.Thread(target=lambda: box.append(schedule_then_cancel()))
        scheduler.start()
        scheduler.join(10)
        ((never, cancelled, looked),) = box
        assert (cancelled, looked) == (True, True)
        assert never.cancelled()
        await aioboot.call_later(0.01, asyncio.sleep, 0)
        assert len(ran) == 2
        assert never.task is None

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)


class AsyncCallable:
    async def __call__(self, value: int) -> int:
        return value


def test_call_later_checks_its_arguments_when_called(loop_name: str) -> None:
    def plain() -> None:
        raise AssertionError("must never run")

    async def needs_one(value: int) -> int:
        return value

    async def main() -> None:
        for bad_delay, error in [
            (-1, ValueError),
            (float("nan"), ValueError),
            (float("inf"), ValueError),
            ("1", TypeError),
            (True, TypeError),
        ]:
            with pytest.raises(error, match="delay"):
                aioboot.call_later(bad_delay, needs_one, 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="when"):
            aioboot.call_at(float("nan"), needs_one, 1)
        # What a type checker rejects must also fail at run time, clearly.
        unchecked: Any = aioboot.call_later
        with pytest.raises(TypeError, match="not an async function"):
            unchecked(0, plain)
        coro = needs_one(1)
        with pytest.raises(TypeError, match=r"got the coroutine .*not fn\(arg\)"):
            unchecked(0, coro, 1)
        assert closed(coro)  # no "never awaited" warning
        with pytest.raises(TypeError, match="cannot be called with these arguments"):
            unchecked(0, needs_one)
        with pytest.raises(TypeError, match="cannot be called with these arguments"):
            unchecked(0, needs_one, 1, 2)
        # Async callables that are not plain functions are accepted.
        assert await aioboot.call_later(0, AsyncCallable(), 3) == 3
        assert await aioboot.call_later(0, functools.partial(needs_one, 4)) == 4

    with no_never_awaited_warning():
        aioboot.run(main(), loop=loop_name)


def test_a_scheduled_call_runs_in_the_callers_context(loop_name: str) -> None:
    import contextvars

    request_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
        "request_id", default=None
    )

    async def read() -> Optional[str]:
        return request_id.get()

    async def main() -> Optional[str]:
        request_id.set("r-42")
        return await aioboot.call_later(0, read)

    assert aioboot.run(main(), loop=loop_name) == "r-42"
