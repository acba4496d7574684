"""``eager_tasks=True``: a task runs from its creation to its first suspension, on every loop, and
the loop's task factory still composes with stop_on_error and with a factory the program sets.
Refused, in one line naming the version, before Python 3.12.5."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any, Optional

import pytest
from conftest import aioboot_reports, reported_exception

import aioboot
from aioboot._loops import choose_loop

EAGER_PYTHON = sys.version_info >= (3, 12, 5)
needs_eager = pytest.mark.skipif(not EAGER_PYTHON, reason="eager tasks need Python 3.12.5+")
pytestmark = pytest.mark.timeout(30)


async def record(events: list[str], name: str, suspend: bool = False) -> str:
    events.append(f"{name} starts")
    if suspend:
        await asyncio.sleep(0)
    events.append(f"{name} ends")
    return name


async def side_effects_in_order(events: list[str]) -> list[str]:
    quick = asyncio.create_task(record(events, "quick"))
    events.append("quick created")
    slow = asyncio.create_task(record(events, "slow", suspend=True))
    events.append("slow created")
    return list(await asyncio.gather(quick, slow))


@needs_eager
def test_a_task_runs_at_creation_until_its_first_suspension(loop_name: str) -> None:
    events: list[str] = []
    result = aioboot.run(side_effects_in_order(events), loop=loop_name, eager_tasks=True)
    assert result == ["quick", "slow"]
    assert events == [
        "quick starts",
        "quick ends",
        "quick created",
        "slow starts",
        "slow created",
        "slow ends",
    ]


def test_without_it_a_task_starts_on_the_loop(
    loop_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOBOOT_EAGER_TASKS", raising=False)
    events: list[str] = []
    aioboot.run(side_effects_in_order(events), loop=loop_name)
    assert events[:2] == ["quick created", "slow created"]


@needs_eager
def test_current_task_in_the_eager_step_is_the_new_task(loop_name: str) -> None:
    seen: list[Optional[asyncio.Task[Any]]] = []

    async def child() -> None:
        seen.append(asyncio.current_task())

    async def main() -> bool:
        task = asyncio.create_task(child())
        return task.done() and seen == [task]

    assert aioboot.run(main(), loop=loop_name, eager_tasks=True) is True


@needs_eager
@pytest.mark.parametrize("given_as", ["argument", "environment"])
def test_the_environment_turns_it_on_and_the_argument_wins(
    monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    async def starts_eagerly() -> bool:
        return asyncio.create_task(record([], "x")).done()

    if given_as == "environment":
        monkeypatch.setenv("AIOBOOT_EAGER_TASKS", "1")
        assert aioboot.run(starts_eagerly()) is True
        assert aioboot.run(starts_eagerly(), eager_tasks=False) is False
    else:
        monkeypatch.setenv("AIOBOOT_EAGER_TASKS", "0")
        assert aioboot.run(starts_eagerly()) is False
        assert aioboot.run(starts_eagerly(), eager_tasks=True) is True


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("yes", ValueError, r"aioboot.run\(\): \$AIOBOOT_EAGER_TASKS must be 0 or 1, not 'yes'"),
        (None, TypeError, r"eager_tasks must be True or False, not 1"),
    ],
)
def test_a_bad_value_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: Optional[str], error: type[Exception], message: str
) -> None:
    coro = record([], "never")
    if value is not None:
        monkeypatch.setenv("AIOBOOT_EAGER_TASKS", value)
        with pytest.raises(error, match=message):
            aioboot.run(coro)
    else:
        with pytest.raises(error, match=message):
            aioboot.run(coro, eager_tasks=1)  # type: ignore[arg-type]


@pytest.mark.skipif(EAGER_PYTHON, reason="this Python has eager tasks")
@pytest.mark.parametrize("given_as", ["argument", "environment"])
def test_before_3_12_5_it_is_refused_naming_the_version(
    monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    version = ".".join(map(str, sys.version_info[:3]))
    asked = "eager_tasks=True"
    kwargs = {"eager_tasks": True}
    if given_as == "environment":
        monkeypatch.setenv("AIOBOOT_EAGER_TASKS", "1")
        asked, kwargs = "$AIOBOOT_EAGER_TASKS=1", {}
    with pytest.raises(ValueError, match=r"needs Python 3\.12\.5 or later") as refused:
        aioboot.run(record([], "never"), **kwargs)  # type: ignore[arg-type]
    assert str(refused.value).startswith(f"aioboot.run(): {asked} needs Python 3.12.5 or later")
    assert str(refused.value).endswith(f"this is Python {version}")
    assert "\n" not in str(refused.value)


# -- composing: the program's factory, stop_on_error --------------------------------------------


class Tagged(asyncio.Task):  # type: ignore[type-arg]
    """The program's own task class."""


def tagged_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
) -> asyncio.Task[Any]:
    return Tagged(coro, loop=loop, **kwargs)


def lazy_tagged_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], *, context: Any = None
) -> asyncio.Task[Any]:
    return Tagged(coro, loop=loop, context=context)  # takes no eager_start: starts lazily


@needs_eager
@pytest.mark.parametrize(
    ("factory", "eager"), [(tagged_factory, True), (lazy_tagged_factory, False)]
)
def test_a_factory_the_program_sets_builds_the_tasks_eagerly_if_it_can(
    loop_name: str, factory: Any, eager: bool
) -> None:
    async def main() -> tuple[bool, bool, bool]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        task = asyncio.create_task(record([], "x"))
        done_at_once = task.done()
        await task
        return type(task) is Tagged, done_at_once, loop.get_task_factory() is factory

    assert aioboot.run(main(), loop=loop_name, eager_tasks=True) == (True, eager, True)


@needs_eager
def test_a_factory_set_by_the_loop_factory_is_kept(loop_name: str) -> None:
    def loop_with_a_factory() -> asyncio.AbstractEventLoop:
        loop = choose_loop(loop_name).factory()
        loop.set_task_factory(tagged_factory)
        return loop

    async def main() -> tuple[bool, bool]:
        task = asyncio.create_task(record([], "x"))
        return type(task) is Tagged, task.done()

    assert aioboot.run(main(), loop=loop_with_a_factory, eager_tasks=True) == (True, True)


@needs_eager
def test_stop_on_error_stops_at_a_task_that_fails_in_its_eager_step(loop_name: str) -> None:
    async def fail() -> None:
        raise ValueError("eagerly")

    async def main() -> None:
        asyncio.get_running_loop().set_task_factory(tagged_factory)
        task = asyncio.create_task(fail())
        assert task.done()  # failed inside create_task()
        await asyncio.sleep(30)

    with pytest.raises(ValueError, match="eagerly"):
        aioboot.run(main(), loop=loop_name, eager_tasks=True, stop_on_error=True)


@needs_eager
def test_the_report_of_a_task_that_failed_eagerly_names_its_coroutine(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    kept: list[asyncio.Task[Any]] = []

    async def fail() -> None:
        raise ValueError("lost eagerly")

    async def main() -> None:
        kept.append(asyncio.create_task(fail()))

    caplog.set_level(logging.ERROR)
    aioboot.run(main(), loop=loop_name, eager_tasks=True)
    assert kept[0].get_coro() is None  # the task let go of its coroutine
    (record,) = aioboot_reports(caplog, "never retrieved")
    assert "running test_the_report_of_a_task_that_failed_eagerly_names_its_coroutine." in (
        record.getMessage()
    )
    assert ".fail()" in record.getMessage()
    assert str(reported_exception(record)) == "lost eagerly"


@needs_eager
def test_a_systemexit_in_an_eager_step_is_raised_where_the_task_is_created(
    loop_name: str,
) -> None:
    # What changes with eager tasks: the first step runs in its creator's call of create_task().
    reached: list[str] = []

    async def bail() -> None:
        raise SystemExit(3)

    async def main() -> None:
        try:
            asyncio.create_task(bail())
        except SystemExit:
            reached.append("creator saw it")
            raise

    with pytest.raises(SystemExit):
        aioboot.run(main(), loop=loop_name, eager_tasks=True)
    assert reached == ["creator saw it"]
