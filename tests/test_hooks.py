"""aioboot.on_shutdown(): order, timing within the shutdown, bounds and failures."""

from __future__ import annotations

import asyncio
import logging

import pytest
from conftest import reported_exception

import aioboot


def test_hooks_run_last_registered_first_before_tasks_are_cancelled(loop_name: str) -> None:
    events: list[str] = []

    async def background() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("task cancelled")
            raise

    async def main() -> None:
        asyncio.ensure_future(background())
        aioboot.on_shutdown(lambda: events.append("first registered"))

        @aioboot.on_shutdown
        async def second() -> None:
            await asyncio.sleep(0)  # an async hook can still use the loop
            events.append("second registered")

        await asyncio.sleep(0)
        events.append("main returned")

    aioboot.run(main(), loop=loop_name)
    assert events == ["main returned", "second registered", "first registered", "task cancelled"]


def test_the_decorator_returns_the_function(loop_name: str) -> None:
    async def main() -> bool:
        def hook() -> None: ...

        return aioboot.on_shutdown(hook) is hook

    assert aioboot.run(main(), loop=loop_name) is True


def test_a_failing_hook_is_reported_and_the_others_run(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def main() -> None:
        aioboot.on_shutdown(lambda: ran.append("runs anyway"))

        @aioboot.on_shutdown
        async def broken() -> None:
            raise RuntimeError("hook broke")

    caplog.set_level(logging.ERROR, logger="aioboot")
    aioboot.run(main(), loop=loop_name)
    assert ran == ["runs anyway"]
    (record,) = [r for r in caplog.records if "shutdown hook" in r.getMessage()]
    assert "broken failed" in record.getMessage()
    assert str(reported_exception(record)) == "hook broke"


def test_a_hook_that_never_returns_is_bounded(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> int:
        @aioboot.on_shutdown
        async def hangs() -> None:
            await asyncio.sleep(30)

        return 5

    caplog.set_level(logging.ERROR, logger="aioboot")
    assert aioboot.run(main(), loop=loop_name, shutdown_timeout=0.1) == 5
    assert any("hangs did not finish within 0.1 s" in r.getMessage() for r in caplog.records)


def test_a_hook_registered_by_a_hook_runs_next(loop_name: str) -> None:
    ran: list[str] = []

    async def main() -> None:
        def outer() -> None:
            ran.append("outer")
            aioboot.on_shutdown(lambda: ran.append("inner"))

        aioboot.on_shutdown(lambda: ran.append("earliest"))
        aioboot.on_shutdown(outer)

    aioboot.run(main(), loop=loop_name)
    assert ran == ["outer", "inner", "earliest"]


def test_hooks_run_when_main_raises(loop_name: str) -> None:
    ran: list[str] = []

    async def main() -> None:
        aioboot.on_shutdown(lambda: ran.append("hook"))
        raise ValueError("main failed")

    with pytest.raises(ValueError, match="main failed"):
        aioboot.run(main(), loop=loop_name)
    assert ran == ["hook"]


def test_registering_outside_a_run_or_after_the_hooks_is_an_error(loop_name: str) -> None:
    with pytest.raises(RuntimeError, match=r"on_shutdown\(\) must be called inside aioboot.run"):
        aioboot.on_shutdown(lambda: None)

    errors: list[BaseException] = []

    async def late() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            try:
                aioboot.on_shutdown(lambda: None)
            except RuntimeError as exc:
                errors.append(exc)

    async def main() -> None:
        asyncio.ensure_future(late())
        await asyncio.sleep(0)

    aioboot.run(main(), loop=loop_name)
    assert len(errors) == 1
    assert "already run" in str(errors[0])


def test_a_non_callable_is_refused(loop_name: str) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="needs a callable"):
            aioboot.on_shutdown(42)  # type: ignore[type-var]

    aioboot.run(main(), loop=loop_name)
