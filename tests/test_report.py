"""What a run reports: failed tasks nobody looked at (exactly once), and work that refused to
stop (named, with where it is stuck) — through the loop's exception handler and the "aioboot"
logger."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from typing import Any

import pytest
from conftest import aioboot_reports, collect_garbage, reported_exception

import aioboot

# The tests count the reports of lost tasks.
pytestmark = pytest.mark.usefixtures("earlier_garbage_collected")

kept: list[asyncio.Task[Any]] = []


async def fail(message: str = "lost") -> None:
    raise ValueError(message)


def test_an_unretrieved_exception_of_a_referenced_task_is_reported_once_with_traceback(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        kept.append(asyncio.ensure_future(fail()))  # still referenced after run() returns
        await asyncio.sleep(0.01)
        assert kept[-1].done()  # the done() pitfall: true, yet nobody looked at the exception

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    kept.clear()
    collect_garbage()  # asyncio would log its own "never retrieved" now if we had not retrieved it
    (record,) = aioboot_reports(caplog, "Task exception was never retrieved")
    assert "running fail()" in record.getMessage()
    assert str(reported_exception(record)) == "lost"
    assert "Task exception was never retrieved" not in " ".join(
        r.getMessage() for r in caplog.records if r.name == "asyncio"
    )


def test_a_dead_weak_proxy_on_the_heap_does_not_break_the_report(loop_name: str) -> None:
    class Target:
        pass

    proxies: list[object] = []

    async def main() -> int:
        proxies.append(weakref.proxy(Target()))  # dead at once; websockets leaves such proxies
        return 1

    assert aioboot.run(main(), loop=loop_name) == 1


def test_a_failed_task_of_a_task_subclass_is_found_too(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    class TracedTask(asyncio.Task):  # type: ignore[type-arg]
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda loop, coro, **kw: TracedTask(coro, loop=loop, **kw))
        kept.append(asyncio.ensure_future(fail("in a subclass")))
        await asyncio.sleep(0.01)

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    kept.clear()
    (record,) = aioboot_reports(caplog, "never retrieved")
    assert str(reported_exception(record)) == "in a subclass"


def test_a_task_collected_during_the_run_is_reported_once(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(fail("collected"))
        await asyncio.sleep(0.01)
        del task
        collect_garbage()

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    collect_garbage()
    found = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert len(found) == 1
    assert found[0].name == "aioboot"


@pytest.mark.parametrize("retrieve", ["await", "result", "exception", "gather"])
def test_retrieved_exceptions_are_never_reported(
    loop_name: str, caplog: pytest.LogCaptureFixture, retrieve: str
) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(fail())
        kept.append(task)
        await asyncio.sleep(0.01)
        if retrieve == "await":
            with pytest.raises(ValueError, match="lost"):
                await task
        elif retrieve == "result":
            with pytest.raises(ValueError, match="lost"):
                task.result()
        elif retrieve == "exception":
            assert isinstance(task.exception(), ValueError)
        else:
            await asyncio.gather(task, return_exceptions=True)

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name)
    kept.clear()
    collect_garbage()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_a_handler_the_program_installed_receives_the_report(loop_name: str) -> None:
    contexts: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: contexts.append(ctx))
        kept.append(asyncio.ensure_future(fail()))
        await asyncio.sleep(0.01)

    aioboot.run(main(), loop=loop_name)
    failed = kept.pop()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ValueError)
    assert contexts[0]["task"] is failed


def test_a_task_that_fails_while_being_cancelled_goes_to_the_exception_handler(
    loop_name: str,
) -> None:
    contexts: list[dict[str, Any]] = []

    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            raise RuntimeError("in cleanup")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: contexts.append(ctx))
        asyncio.ensure_future(fails_on_cancel())
        await asyncio.sleep(0)

    aioboot.run(main(), loop=loop_name)
    assert len(contexts) == 1
    # asyncio.run's own words: exception handlers and log filters match on them
    assert contexts[0]["message"] == "unhandled exception during asyncio.run() shutdown"
    assert str(contexts[0]["exception"]) == "in cleanup"
    assert isinstance(contexts[0]["task"], asyncio.Task)


def test_a_task_that_refuses_to_stop_is_named_with_where_it_is_stuck(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def stuck_here() -> None:
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(30)

    async def main() -> int:
        asyncio.get_running_loop().create_task(stuck_here(), name="refuser")
        await asyncio.sleep(0)
        return 1

    caplog.set_level(logging.ERROR)
    assert aioboot.run(main(), loop=loop_name, shutdown_timeout=0.2) == 1
    (record,) = aioboot_reports(caplog, "did not finish within 0.2 s")
    message = record.getMessage()
    assert (
        "task 'refuser' running "
        "test_a_task_that_refuses_to_stop_is_named_with_where_it_is_stuck.<locals>.stuck_here()"
        in message
    )
    assert "await asyncio.sleep(30)" in message  # the line it is suspended on
    assert "in sleep" in message  # and the innermost frame, inside asyncio.sleep


def test_a_blocked_executor_job_is_named_and_does_not_hold_the_run(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def blocking_job() -> None:
        release.wait(60)

    async def main() -> None:
        asyncio.get_running_loop().run_in_executor(None, blocking_job)
        await asyncio.sleep(0)

    caplog.set_level(logging.ERROR)
    try:
        aioboot.run(main(), loop=loop_name, shutdown_timeout=0.2)
        (record,) = aioboot_reports(caplog, "default-executor job")
        assert "blocking_job" in record.getMessage()
        assert "release.wait(60)" in record.getMessage()
    finally:
        release.set()


def test_executor_jobs_that_finish_are_waited_for(loop_name: str) -> None:
    finished = threading.Event()
    started = threading.Event()

    def job() -> None:
        started.set()
        finished.wait(0.2)
        finished.set()

    async def main() -> None:
        asyncio.get_running_loop().run_in_executor(None, job)
        while not started.is_set():
            await asyncio.sleep(0.001)

    aioboot.run(main(), loop=loop_name)
    assert finished.is_set()


def test_async_generators_are_finalized(loop_name: str) -> None:
    closed: list[bool] = []

    async def numbers() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main() -> None:
        gen = numbers()
        kept.append(gen)  # type: ignore[arg-type]
        await gen.__anext__()

    aioboot.run(main(), loop=loop_name)
    kept.clear()
    assert closed == [True]


def test_stop_on_error_raises_the_first_failure_and_reports_the_second(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    cleaned: list[bool] = []

    async def main() -> None:
        kept.append(asyncio.ensure_future(fail("first")))
        kept.append(asyncio.ensure_future(fail("second")))
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    caplog.set_level(logging.ERROR)
    with pytest.raises(ValueError, match="first"):
        aioboot.run(main(), loop=loop_name, stop_on_error=True)
    kept.clear()
    collect_garbage()
    assert cleaned == [True]
    (record,) = aioboot_reports(caplog, "never retrieved")
    assert str(reported_exception(record)) == "second"


def test_stop_on_error_resolves_the_stop_future_of_a_program_that_handles_stopping(
    loop_name: str,
) -> None:
    async def main() -> str:
        stop = aioboot.stop_future()
        asyncio.ensure_future(fail("bad"))
        assert await stop is None
        return "returned"

    with pytest.raises(ValueError, match="bad"):
        aioboot.run(main(), loop=loop_name, stop_on_error=True)


def test_stop_on_error_ignores_failures_someone_awaits(loop_name: str) -> None:
    async def main() -> str:
        with pytest.raises(ValueError, match="lost"):
            await asyncio.ensure_future(fail())
        await asyncio.sleep(0.01)
        return "fine"

    assert aioboot.run(main(), loop=loop_name, stop_on_error=True) == "fine"


def test_a_task_factory_installed_inside_main_keeps_working_and_stays_tracked(
    loop_name: str,
) -> None:
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        assert loop.get_task_factory() is factory
        asyncio.ensure_future(fail("through the program's factory"))
        await asyncio.sleep(30)

    with pytest.raises(ValueError, match="through the program's factory"):
        aioboot.run(main(), loop=loop_name, stop_on_error=True)
    assert "fail" in made
