"""What the pytest plugin does once enabled: find the tasks each test started, fail the test when
one of them failed with nobody retrieving its exception, report those it left pending, and answer
pytest-asyncio's ``pytest_asyncio_loop_factories`` with aioboot's loop choice (with eager tasks,
if asked for).

Which tasks a test started is known without a task factory or any per-task cost, so it works for
every loop, including the ones a sync test creates with ``asyncio.run()``: a census of the tasks
that exist (``_pytest_census``) is started with the test and read at each phase boundary.  A
failed task that was garbage-collected before anyone could look is reported by asyncio itself,
through the loop's exception handler, which logs it: the plugin reads those records.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import traceback
import weakref
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Optional

import pytest

from ._arguments import EAGER_TASKS_ENV, eager_tasks_refusal
from ._loops import ENV_VAR, choose_loop
from ._pytest_census import census
from ._report import UNRETRIEVED, task_label, where_suspended
from ._task_failures import is_unretrieved_failure
from .pytest_plugin import (
    LEFTOVER_CHOICES,
    MARKER,
    MARKER_CHOICES,
    LeftoverTaskWarning,
    eager_tasks_asked,
)

if TYPE_CHECKING:
    from ._types import LoopFactory

LOOP_FACTORIES_HOOK = "pytest_asyncio_loop_factories"
# The loggers a lost exception is reported on: asyncio's default exception handler (uvloop's
# too) and aioboot.run()'s.
_REPORTING_LOGGERS = ("asyncio", "aioboot")


def enable(config: pytest.Config) -> None:
    """Register the checks and, where pytest-asyncio can take it, the loop choice."""
    leftover = str(config.getini("aioboot_leftover_tasks")).strip()
    if leftover not in LEFTOVER_CHOICES:
        raise pytest.UsageError(
            f"aioboot_leftover_tasks must be one of {', '.join(LEFTOVER_CHOICES)}, not {leftover!r}"
        )
    eager = eager_tasks_asked(config)
    if eager:
        _start_tasks_eagerly(config)
    loops: Optional[dict[str, LoopFactory]] = None
    if hasattr(config.hook, LOOP_FACTORIES_HOOK):
        loops = _chosen_loops(config)
        if eager:
            loops = {name: _eager_loops(factory) for name, factory in loops.items()}
        if eager or list(loops) != ["asyncio"]:
            # pytest-asyncio's own loop is asyncio's already: answering the hook would only add
            # the cost of its parametrization to every async test.
            config.pluginmanager.register(_LoopFactories(loops), "aioboot-loops")
    else:
        _warn_without_loop_factories(config, eager)
    config.pluginmanager.register(_Checks(leftover, loops, eager), "aioboot-checks")


def _start_tasks_eagerly(config: pytest.Config) -> None:
    """Eager tasks for every aioboot.run() of the session, in this process and in the child
    processes it starts, through $AIOBOOT_EAGER_TASKS (put back as it was at the end)."""
    refusal = eager_tasks_refusal("aioboot_eager_tasks")
    if refusal is not None:
        raise pytest.UsageError(refusal)
    previous = os.environ.get(EAGER_TASKS_ENV)
    os.environ[EAGER_TASKS_ENV] = "1"

    def put_back() -> None:
        if previous is None:
            os.environ.pop(EAGER_TASKS_ENV, None)
        else:
            os.environ[EAGER_TASKS_ENV] = previous

    config.add_cleanup(put_back)


def _eager_loops(factory: LoopFactory) -> LoopFactory:
    """``factory``'s loops, with the task factory ``aioboot.run(eager_tasks=True)`` gives."""
    from ._task_factory import TaskFactorySlot

    def new_eager_loop() -> asyncio.AbstractEventLoop:
        loop = factory()
        TaskFactorySlot(loop, eager=True).install()
        return loop

    return new_eager_loop


def _warn_without_loop_factories(config: pytest.Config, eager: bool) -> None:
    """What pytest-asyncio < 1.4 cannot do: the loop of async tests is its own."""
    installed = f"pytest-asyncio >= 1.4 ({_pytest_asyncio_version()} installed)"
    warnings = []
    if config.getini("aioboot_loop"):
        warnings.append(
            f"aioboot_loop is ignored: choosing the loop of async tests needs {installed}"
        )
    if eager:
        warnings.append(
            f"aioboot_eager_tasks applies to aioboot.run() only: eager tasks in async tests need "
            f"{installed}"
        )
    for text in warnings:
        config.issue_config_time_warning(pytest.PytestConfigWarning(text), stacklevel=2)


def _chosen_loops(config: pytest.Config) -> dict[str, LoopFactory]:
    """Loop names (ini ``aioboot_loop``, else ``$AIOBOOT_LOOP``, else auto) -> their factories,
    named as resolved (``auto`` becomes ``uvloop``) and without duplicates."""
    names: list[str] = config.getini("aioboot_loop")
    origin = "aioboot_loop"
    if not names:
        names, origin = os.environ.get(ENV_VAR, "").split() or ["auto"], ENV_VAR
    factories: dict[str, LoopFactory] = {}
    for name in names:
        try:
            chosen = choose_loop(name)
        except (ValueError, ImportError) as exc:
            raise pytest.UsageError(f"{origin}: {exc}") from None
        factories.setdefault(chosen.name, chosen.factory)
    return factories


def _pytest_asyncio_version() -> str:
    from importlib import metadata

    try:
        return f"pytest-asyncio {metadata.version('pytest-asyncio')}"
    except metadata.PackageNotFoundError:
        return "no pytest-asyncio"


class _LoopFactories:
    """pytest-asyncio >= 1.4 creates the loop of every async test with one of these; several
    run each async test once per loop."""

    def __init__(self, factories: dict[str, LoopFactory]) -> None:
        self._factories = factories

    def pytest_asyncio_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> dict[str, LoopFactory]:
        return self._factories


@dataclasses.dataclass(frozen=True)
class _Policy:
    """What the checks do for one test: the ini options, as its ``aioboot`` marks change them."""

    lost_exceptions: str = "fail"
    leftover_tasks: str = "warn"


def _policy_for(item: pytest.Item, default: _Policy) -> _Policy:
    """The test's policy: each of its marks' values, the closest mark's first (the test's own,
    then its class's, then its module's).  A mark that cannot be read fails the test's setup."""
    chosen: dict[str, str] = {}
    for mark in item.iter_markers(MARKER):
        problem = _mark_problem(mark.args, mark.kwargs)
        if problem is not None:
            pytest.fail(f"@pytest.mark.{MARKER}: {problem}", pytrace=False)
        for key, value in mark.kwargs.items():
            chosen.setdefault(key, value)
    return dataclasses.replace(default, **chosen) if chosen else default


def _mark_problem(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Optional[str]:
    accepted = ", ".join(f"{key}=" for key in MARKER_CHOICES)
    if args:
        return f"takes keyword arguments only ({accepted}), not {args!r}"
    for key, value in kwargs.items():
        choices = MARKER_CHOICES.get(key)
        if choices is None:
            return f"unknown argument {key!r}; it takes {accepted}"
        if value not in choices:
            return f"{key} must be one of {', '.join(choices)}, not {value!r}"
    return None


class _LostExceptionLog(logging.Handler):
    """Collects the reports of failed tasks garbage-collected with their exception unretrieved
    (asyncio's ``Task.__del__``, through the loop's exception handler), and aioboot.run()'s."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.getMessage().startswith(UNRETRIEVED):
            self.records.append(record)


class _Window:
    """The tasks one test started, by phase; ``bucket`` is where the next scan's new tasks go
    (None: a fixture of a broader scope is being set up, and its tasks are not the test's)."""

    def __init__(self) -> None:
        self.setup: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.call: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.teardown: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.seen: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.bucket: Optional[weakref.WeakSet[asyncio.Task[Any]]] = self.setup


class _Checks:
    def __init__(self, leftover: str, loops: Optional[dict[str, LoopFactory]], eager: bool) -> None:
        self._default = _Policy(leftover_tasks=leftover)
        self._policy = self._default  # the running test's
        self._loops = loops
        self._eager = eager
        self._census = census()
        self._window: Optional[_Window] = None
        # Tasks a test left pending, with that test's id: one failing later is still reported.
        self._left_running: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = (
            weakref.WeakKeyDictionary()
        )
        self._log = _LostExceptionLog()
        for name in _REPORTING_LOGGERS:
            logging.getLogger(name).addHandler(self._log)

    def pytest_unconfigure(self) -> None:
        for name in _REPORTING_LOGGERS:
            logging.getLogger(name).removeHandler(self._log)
        self._close_window()

    def pytest_report_header(self) -> list[str]:
        leftover = "fail the test" if self._default.leftover_tasks == "error" else "warn"
        lines = [f"aioboot: lost task exceptions fail the test; leftover tasks {leftover}"]
        if self._census.name == "heap":
            lines.append(
                "aioboot: gc.freeze() hides nothing on this Python: a test's tasks are found by "
                "scanning the whole heap at the end of each of its phases"
            )
        if self._loops is not None:
            lines.append(f"aioboot: async tests run on {', '.join(self._loops)}")
        else:
            lines.append(
                "aioboot: loop choice for async tests needs pytest-asyncio >= 1.4 "
                f"({_pytest_asyncio_version()}); they run on pytest-asyncio's own loop"
            )
        if self._eager:
            where = "async tests and aioboot.run()" if self._loops is not None else "aioboot.run()"
            lines.append(f"aioboot: eager tasks in {where} (aioboot_eager_tasks)")
        return lines

    # -- the window: which tasks the test started --------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._close_window()
        self._policy = _policy_for(item, self._default)
        self._window = window = _Window()
        self._log.records.clear()  # anything logged between two tests is nobody's
        self._census.start()
        try:
            return (yield)
        finally:
            self._boundary(window.call)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        window = self._window
        if window is None or fixturedef.scope == "function":
            return (yield)
        bucket = window.bucket
        self._boundary(None)
        try:
            return (yield)
        finally:
            self._boundary(bucket)

    def _boundary(self, next_bucket: Optional[weakref.WeakSet[asyncio.Task[Any]]]) -> None:
        """The tasks created since the window opened and not seen at an earlier boundary go to
        the current bucket.  One census per test, started when the window opens: on Python 3.14
        a freeze walks the old generation."""
        window = self._window
        if window is None:
            return
        new = [task for task in self._census.new_tasks() if task not in window.seen]
        if new:
            window.seen.update(new)
            if window.bucket is not None:
                window.bucket.update(new)
        window.bucket = next_bucket

    def _close_window(self) -> None:
        if self._window is not None:
            self._window = None
            self._census.stop()

    # -- the verdicts --------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """The test's own tasks are judged when it returns: nobody is left to look at them."""
        try:
            result = yield
        except BaseException:
            self._judge_call(item, already_failing=True)
            raise
        self._judge_call(item, already_failing=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: Optional[pytest.Item]
    ) -> Generator[None, None, None]:
        """Tasks the fixtures started are judged after their teardown, which may look at them."""
        try:
            result = yield
        except BaseException:
            self._judge_teardown(item, already_failing=True)
            raise
        self._judge_teardown(item, already_failing=False)
        return result

    def _judge_call(self, item: pytest.Item, already_failing: bool) -> None:
        window = self._window
        if window is None:
            return
        self._boundary(window.teardown)
        started = _started(window.call, "started by the test")
        problems = self._problems(item, started, "the test returned")
        self._verdict(item, "call", problems, already_failing)

    def _judge_teardown(self, item: pytest.Item, already_failing: bool) -> None:
        window = self._window
        if window is None:
            return
        try:
            self._boundary(None)
            started = _started(window.setup, "started by a fixture")
            started.update(_started(window.teardown, "started during teardown"))
            problems = self._problems(item, started, "its fixtures were torn down")
        finally:
            self._close_window()
        self._verdict(item, "teardown", problems, already_failing)

    def _problems(
        self, item: pytest.Item, started: dict[asyncio.Task[Any], str], when: str
    ) -> list[str]:
        if not (started or self._left_running or self._log.records):
            return []  # most tests: nothing to look at
        return self._lost(item, started) + self._leftovers(item, started, when)

    def _lost(self, item: pytest.Item, started: dict[asyncio.Task[Any], str]) -> list[str]:
        """Failed tasks nobody retrieved: the test's, those an earlier test left running, and
        those asyncio reported when collecting them.  Each is retrieved once reported, so
        asyncio does not report it again."""
        for task, test_id in list(self._left_running.items()):
            if task.done():
                del self._left_running[task]
                if task not in started:
                    started[task] = _left_by(test_id, item)
        problems = [
            _describe_lost(task, origin)
            for task, origin in started.items()
            if is_unretrieved_failure(task)
        ]
        problems += [_describe_logged(record) for record in self._log.records]
        self._log.records.clear()
        return problems if self._policy.lost_exceptions == "fail" else []

    def _leftovers(
        self, item: pytest.Item, started: dict[asyncio.Task[Any], str], when: str
    ) -> list[str]:
        """Tasks still pending, remembered in case they fail later; a warning each, or one of
        the test's problems when leftovers fail the test."""
        problems = []
        for task, origin in started.items():
            if task.done() or task in self._left_running:
                continue
            self._left_running[task] = item.nodeid  # its failure is still a lost exception
            if self._policy.leftover_tasks == "ignore":
                continue
            text = (
                f"{task_label(task)} ({origin}) was still pending when {when}; "
                f"suspended at:\n{where_suspended(task)}"
            )
            if self._policy.leftover_tasks == "error":
                problems.append(text)
            else:
                item.warn(LeftoverTaskWarning(text))
        return problems

    def _verdict(
        self, item: pytest.Item, when: str, problems: list[str], already_failing: bool
    ) -> None:
        if not problems:
            return
        text = "\n".join(problems)
        if already_failing:
            item.add_report_section(when, "aioboot", text)
        else:
            pytest.fail(text, pytrace=False)


def _started(
    tasks: weakref.WeakSet[asyncio.Task[Any]], origin: str
) -> dict[asyncio.Task[Any], str]:
    return dict.fromkeys(tasks, origin) if tasks else {}


def _left_by(test_id: str, item: pytest.Item) -> str:
    if test_id == item.nodeid:
        return "started by the test"
    return f"started by {test_id}, which left it running"


def _describe_lost(task: asyncio.Task[Any], origin: str) -> str:
    exc = task.exception()
    assert exc is not None
    return f"{task_label(task)} ({origin}) failed and nobody retrieved its exception:\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )


def _describe_logged(record: logging.LogRecord) -> str:
    assert record.exc_info is not None
    exc_type, exc, tb = record.exc_info
    return f"reported on the {record.name!r} logger:\n{record.getMessage()}\n" + "".join(
        traceback.format_exception(exc_type, exc, tb)
    )
