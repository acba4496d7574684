"""aioboot.shutdown_waits_for(): work the stop does not cancel, which the shutdown waits for (first,
bounded), then cancels and names.  In this process with request_stop(), the same stop request as a
signal's; tests/test_signals.py sends the real signals."""

from __future__ import annotations

import asyncio
import re
from typing import Optional

import pytest
from conftest import aioboot_reports

import aioboot

pytestmark = [pytest.mark.timeout(30)]


def stop_soon() -> None:
    """Ask to stop once main is suspended in its await (a request made before it was running
    would cancel it before its first step)."""
    asyncio.get_running_loop().call_soon(aioboot.request_stop)


def test_the_work_goes_on_when_the_stop_cancels_the_task_awaiting_it(loop_name: str) -> None:
    events: list[str] = []

    async def commit(release: asyncio.Event) -> str:
        await release.wait()
        events.append("committed")
        return "done"

    async def main() -> None:
        aioboot.on_shutdown(lambda: events.append("hook"))
        release = asyncio.Event()  # made in the loop: 3.9's binds to the loop current when made
        stop_soon()
        try:
            await aioboot.shutdown_waits_for(commit(release))
        finally:
            events.append("main cancelled")
            asyncio.get_running_loop().call_soon(release.set)

    with pytest.raises(asyncio.CancelledError):  # request_stop() cancelled main
        aioboot.run(main(), loop=loop_name)
    # The shutdown waited for it, and only then ran the hooks.
    assert events == ["main cancelled", "committed", "hook"]


def test_the_awaiter_gets_the_result_or_the_exception(loop_name: str) -> None:
    async def work(fail: bool) -> int:
        await asyncio.sleep(0)
        if fail:
            raise LookupError("no such row")
        return 42

    async def main() -> Optional[int]:
        with pytest.raises(LookupError, match="no such row"):
            await aioboot.shutdown_waits_for(work(fail=True))
        return await aioboot.shutdown_waits_for(work(fail=False))

    assert aioboot.run(main(), loop=loop_name) == 42


def test_a_task_or_a_future_can_be_handed_over_too(loop_name: str) -> None:
    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(asyncio.sleep(0, "from a task"))
        future: asyncio.Future[str] = loop.create_future()
        loop.call_soon(future.set_result, "from a future")
        return (
            await aioboot.shutdown_waits_for(task),
            await aioboot.shutdown_waits_for(future),
        )

    assert aioboot.run(main(), loop=loop_name) == ("from a task", "from a future")


def test_work_that_outlasts_the_timeout_is_cancelled_and_named(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    async def flush() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("flush cancelled")
            raise

    async def main() -> None:
        aioboot.on_shutdown(lambda: events.append("hook"))
        aioboot.shutdown_waits_for(flush())  # no need to await it: the shutdown waits anyway

    aioboot.run(main(), loop=loop_name, shutdown_timeout=0.1)
    assert events == ["hook", "flush cancelled"]
    [report] = aioboot_reports(caplog, "flush()")
    assert report.levelname == "ERROR"
    assert re.match(
        # 'None' on 3.13.0 whenever a task factory is set (eager tasks): create_task names it so.
        r"task '(?:Task-\d+|None)' running "
        r"test_work_that_outlasts_the_timeout_is_cancelled_and_named\."
        r"<locals>\.flush\(\) did not finish within 0\.1 s \(aioboot\.shutdown_waits_for\); "
        r"cancelling it\. Suspended at:",
        report.getMessage(),
    )
    assert "await asyncio.Event().wait()" in report.getMessage()


def test_a_failure_once_nobody_awaits_is_reported_once(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def commit(release: asyncio.Event) -> None:
        await release.wait()
        raise ConnectionError("database went away")

    async def main() -> None:
        release = asyncio.Event()
        stop_soon()
        try:
            await aioboot.shutdown_waits_for(commit(release))
        finally:
            asyncio.get_running_loop().call_soon(release.set)

    with pytest.raises(asyncio.CancelledError):
        aioboot.run(main(), loop=loop_name)
    reports = aioboot_reports(caplog, "database went away") + aioboot_reports(caplog, "commit()")
    assert len({id(r) for r in reports}) == 1, [r.getMessage() for r in reports]
    assert reports[0].getMessage().startswith("Task exception was never retrieved")


def test_work_handed_over_while_it_is_waited_for_is_waited_for_too(loop_name: str) -> None:
    events: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0)
        events.append("second")

    async def first() -> None:
        await asyncio.sleep(0)
        aioboot.shutdown_waits_for(second())
        events.append("first")

    async def main() -> None:
        aioboot.on_shutdown(lambda: events.append("hook"))
        aioboot.shutdown_waits_for(first())

    aioboot.run(main(), loop=loop_name)
    assert events == ["first", "second", "hook"]


def test_outside_a_run_it_is_a_clear_error_and_the_coroutine_is_closed() -> None:
    async def commit() -> None: ...

    coro = commit()
    with pytest.raises(RuntimeError, match=r"shutdown_waits_for\(\) must be called inside"):
        aioboot.shutdown_waits_for(coro)
    assert coro.cr_frame is None  # closed: no "never awaited" warning
