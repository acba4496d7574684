"""aioboot's pytest plugin, through pytester: real suites run by a real pytest, on each loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from importlib import metadata
from typing import Callable

import pytest
from conftest import PYTHON, ROOT, child_env, needs_uvloop

from aioboot._pytest_census import Census, census
from aioboot._task_failures import heap_tasks

pytest_plugins = ["pytester"]
pytest_asyncio = pytest.importorskip("pytest_asyncio")

PYTEST_ASYNCIO = metadata.version("pytest-asyncio")
HAS_LOOP_HOOK = tuple(int(p) for p in PYTEST_ASYNCIO.split(".")[:2]) >= (1, 4)
needs_loop_hook = pytest.mark.skipif(
    not HAS_LOOP_HOOK, reason=f"pytest-asyncio {PYTEST_ASYNCIO} < 1.4: no loop-factory hook"
)

# The suite every check runs; SCOPE, MODE and LOOP are filled in per run.  The tests' names say
# what the plugin must conclude about them.
SUITE = """
import asyncio
import gc

import pytest
import pytest_asyncio

import aioboot

SCOPE, MODE, LOOP = {scope!r}, {mode!r}, {loop!r}
if MODE == "strict" or SCOPE != "function":
    ASYNC = pytest.mark.asyncio(loop_scope=SCOPE)
else:
    ASYNC = lambda test: test  # auto mode needs no mark
kept = []
left = {{}}


@pytest.fixture(scope="module", autouse=True)
def _retrieve_kept_at_the_end():
    # Not the plugin's business: without it, tasks kept here are reported at interpreter exit.
    yield
    for task in kept:
        if task.done() and not task.cancelled():
            task.exception()


async def fail_soon(message):
    await asyncio.sleep(0)
    raise ValueError(message)


@pytest.fixture(scope="module")
def module_keeps_a_failed_task():
    async def main():
        task = asyncio.create_task(fail_soon("module fixture"), name="module-task")
        await asyncio.wait([task])
        return task

    task = asyncio.run(main())
    yield
    assert str(task.exception()) == "module fixture"  # looked at when the module is done


def test_passes_broader_fixture_task_is_not_the_tests(module_keeps_a_failed_task):
    pass


@ASYNC
async def test_fails_referenced():
    kept.append(asyncio.create_task(fail_soon("referenced"), name="referenced"))
    await asyncio.wait(kept[-1:])


@ASYNC
async def test_fails_collected():
    task = asyncio.create_task(fail_soon("collected"), name="collected")
    await asyncio.wait([task])
    del task
    for _ in range(3):
        gc.collect()  # at once by reference counting, but not on PyPy


@ASYNC
async def test_passes_retrieved():
    task = asyncio.create_task(fail_soon("retrieved"))
    with pytest.raises(ValueError, match="retrieved"):
        await task


def test_fails_sync_asyncio_run_referenced():
    async def main():
        kept.append(asyncio.create_task(fail_soon("in asyncio.run"), name="in-asyncio-run"))
        await asyncio.wait(kept[-1:])

    asyncio.run(main())


def test_fails_sync_aioboot_run_collected():
    async def main():
        task = asyncio.create_task(fail_soon("in aioboot.run"), name="in-aioboot-run")
        await asyncio.wait([task])

    aioboot.run(main(), handle_signals=False)


def test_passes_sync_retrieved():
    async def main():
        return await asyncio.gather(fail_soon("gathered"), return_exceptions=True)

    assert isinstance(aioboot.run(main(), handle_signals=False)[0], ValueError)


@pytest_asyncio.fixture(loop_scope=SCOPE)
async def forgets_its_task():
    kept.append(asyncio.create_task(fail_soon("fixture"), name="fixture-task"))
    yield


@pytest_asyncio.fixture(loop_scope=SCOPE)
async def retrieves_its_task():
    task = asyncio.create_task(fail_soon("fixture retrieved"))
    yield
    with pytest.raises(ValueError):
        await task


@ASYNC
async def test_errors_fixture_forgets(forgets_its_task):
    await asyncio.wait(kept[-1:])


@ASYNC
async def test_passes_fixture_retrieves(retrieves_its_task):
    pass


@ASYNC
async def test_warns_leaves_task_pending():
    go = asyncio.Event()

    async def wait_then_fail():
        await go.wait()
        raise ValueError("left running")

    left["task"], left["go"] = asyncio.create_task(wait_then_fail(), name="left-pending"), go
    await asyncio.sleep(0)  # one pass of the loop: it starts, and is suspended in go.wait()


@ASYNC
async def test_runs_after_the_leaver():
    task = left["task"]
    if task.get_loop() is not asyncio.get_running_loop():
        # function scope: the leaver's loop is closed (pytest-asyncio >= 0.25 cancelled it first)
        assert task.get_loop().is_closed()
        return
    left["go"].set()
    await asyncio.wait([task])
"""


def run_suite(
    pytester: pytest.Pytester,
    *args: str,
    scope: str = "function",
    mode: str = "strict",
    loop: str = "asyncio",
    ini: str = "",
) -> dict[str, tuple[str, str]]:
    """Run SUITE; test name -> (worst outcome over its phases, everything reported about it)."""
    source = SUITE.format(scope=scope, mode=mode, loop=loop)
    return run_tests(pytester, source, *args, mode=mode, ini=ini)


def run_tests(
    pytester: pytest.Pytester, source: str, *args: str, mode: str = "strict", ini: str = ""
) -> dict[str, tuple[str, str]]:
    """Run the tests in ``source``, as run_suite does."""
    pytester.makeini(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n{ini}"
    )
    pytester.makepyfile(test_suite=source)
    reprec = pytester.inline_run("-p", "no:cacheprovider", *args)
    results: dict[str, tuple[str, str]] = {}
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    for report in reprec.getreports("pytest_runtest_logreport"):
        name = report.nodeid.split("::")[-1]
        outcome, text = results.get(name, ("passed", ""))
        this = report.outcome if report.when == "call" or report.passed else "error"
        if this == "error" or rank.get(this, 3) > rank.get(outcome, 3):
            outcome = this
        results[name] = (outcome, text + report.longreprtext)
    warnings = reprec.getcalls("pytest_warning_recorded")
    for call in warnings:
        name = call.nodeid.split("::")[-1]
        if name in results:
            outcome, text = results[name]
            results[name] = (outcome, text + f"\nWARNING {call.warning_message.message}")
    return results


@pytest.fixture
def chosen_loop(loop_name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """aioboot.run() in a sync test and (pytest-asyncio >= 1.4) async tests run on loop_name."""
    monkeypatch.setenv("AIOBOOT_LOOP", loop_name)
    return loop_name


@pytest.mark.parametrize(
    ("scope", "mode"),
    [("function", "strict"), ("function", "auto"), ("module", "strict"), ("session", "auto")],
)
def test_enabled_fails_tests_that_lose_a_task_exception(
    pytester: pytest.Pytester, chosen_loop: str, scope: str, mode: str
) -> None:
    results = run_suite(pytester, "--aioboot", scope=scope, mode=mode, loop=chosen_loop)
    outcome = {name: result[0] for name, result in results.items()}
    leaver_outlives = scope != "function"
    assert outcome == {
        "test_passes_broader_fixture_task_is_not_the_tests": "passed",
        "test_fails_referenced": "failed",
        "test_fails_collected": "failed",
        "test_passes_retrieved": "passed",
        "test_fails_sync_asyncio_run_referenced": "failed",
        "test_fails_sync_aioboot_run_collected": "failed",
        "test_passes_sync_retrieved": "passed",
        "test_errors_fixture_forgets": "error",
        "test_passes_fixture_retrieves": "passed",
        "test_warns_leaves_task_pending": "passed",
        "test_runs_after_the_leaver": "failed" if leaver_outlives else "passed",
    }, results
    for name, task, message in [
        ("test_fails_referenced", "task 'referenced' running fail_soon()", "referenced"),
        ("test_fails_collected", "name='collected' coro=<fail_soon()", "collected"),
        ("test_fails_sync_asyncio_run_referenced", "task 'in-asyncio-run'", "in asyncio.run"),
        ("test_fails_sync_aioboot_run_collected", "task 'in-aioboot-run'", "in aioboot.run"),
        ("test_errors_fixture_forgets", "task 'fixture-task' running fail_soon()", "fixture"),
    ]:
        text = results[name][1]
        assert task in text, text
        assert "Traceback (most recent call last):" in text, text
        assert "raise ValueError(message)" in text, text
        assert f"ValueError: {message}" in text, text
    assert "(started by a fixture) failed" in results["test_errors_fixture_forgets"][1]
    leaver = results["test_warns_leaves_task_pending"][1]
    assert "WARNING task 'left-pending' running " in leaver, leaver
    assert "was still pending when the test returned; suspended at:" in leaver, leaver
    assert "in wait_then_fail" in leaver, leaver
    assert "await go.wait()" in leaver, leaver
    if leaver_outlives:
        later = results["test_runs_after_the_leaver"][1]
        assert (
            "started by test_suite.py::test_warns_leaves_task_pending, which left it running"
            in later
        ), later
        assert "ValueError: left running" in later, later


def test_not_enabled_changes_nothing(pytester: pytest.Pytester) -> None:
    results = run_suite(pytester)
    assert {name: result[0] for name, result in results.items()} == dict.fromkeys(
        results, "passed"
    ), results
    assert len(results) == 11


def test_inert_plugin_imports_no_loop_and_no_pytest_asyncio() -> None:
    heavy = ("uvloop", "winloop", "pytest_asyncio", "aioboot._pytest_verdicts")
    code = f"import sys, aioboot.pytest_plugin\nprint([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [PYTHON, "-c", code],
        env=child_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert out.strip() == "[]", out


# How the plugin finds a test's tasks: the one this Python gets (CPython's freeze, PyPy's task
# registry), and the heap scan the free-threaded build gets, which no CI machine here has.
CENSUSES: dict[str, Callable[[], Census]] = {
    "this-python": census,
    "heap": lambda: Census("heap", heap_tasks, freezes=False),
}


@pytest.mark.parametrize("make_census", CENSUSES.values(), ids=list(CENSUSES))
def test_a_census_lists_only_the_tasks_created_since_it_started(
    make_census: Callable[[], Census],
) -> None:
    loop = asyncio.new_event_loop()
    try:
        older = loop.create_task(asyncio.sleep(0))
        taken = make_census()
        taken.start()
        newer = loop.create_task(asyncio.sleep(0))
        try:
            found = taken.new_tasks()
        finally:
            taken.stop()
        loop.run_until_complete(asyncio.gather(older, newer))
    finally:
        loop.close()
    assert found == [newer]


def test_ini_option_enables_it_and_the_header_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naioboot = true\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        "import asyncio\n"
        "def test_loses():\n"
        "    async def boom():\n"
        "        raise KeyError('lost')\n"
        "    async def main():\n"
        "        global task\n"
        "        task = asyncio.create_task(boom(), name='lost-one')\n"
        "        await asyncio.wait([task])\n"
        "    asyncio.run(main())\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "aioboot: lost task exceptions fail the test; leftover tasks warn",
            "*task 'lost-one' running *boom() (started by the test) failed and nobody retrieved "
            "its exception:",
            "Traceback (most recent call last):",
            "*raise KeyError('lost')",
            "KeyError: 'lost'",
        ]
    )


def test_leftover_tasks_fail_the_test_when_configured(pytester: pytest.Pytester) -> None:
    results = run_suite(pytester, "--aioboot", "-k", "leaves", ini="aioboot_leftover_tasks = error")
    outcome, text = results["test_warns_leaves_task_pending"]
    assert outcome == "failed", results
    assert "task 'left-pending' running " in text, text
    assert "suspended at:" in text, text
    assert "WARNING" not in text


MARKED = """
import asyncio

import pytest

pytestmark = pytest.mark.aioboot(leftover_tasks="error")


async def fail_soon():
    await asyncio.sleep(0)
    raise ValueError("lost on purpose")


def lose_a_task():
    async def main():
        task = asyncio.create_task(fail_soon(), name="lost")
        await asyncio.wait([task])

    asyncio.run(main())


@pytest.mark.aioboot(lost_exceptions="ignore")
def test_passes_ignores_its_lost_exception():
    lose_a_task()


def test_passes_after_the_ignored_one():
    pass  # the ignored exception was consumed, not left for this test


def test_fails_loses_without_the_mark():
    lose_a_task()


@pytest.mark.asyncio
@pytest.mark.aioboot(leftover_tasks="ignore")
async def test_passes_its_leftover_ignored():
    asyncio.create_task(asyncio.sleep(30), name="ignored-leftover")


@pytest.mark.asyncio
async def test_fails_leftover_is_an_error_for_the_module():
    asyncio.create_task(asyncio.sleep(30), name="module-leftover")


@pytest.mark.aioboot(leftover_tasks="warn")
class TestClassMark:
    @pytest.mark.asyncio
    async def test_passes_leftover_warns_for_the_class(self):
        asyncio.create_task(asyncio.sleep(30), name="class-leftover")
"""


def test_a_mark_sets_the_checks_for_a_test_class_or_module(pytester: pytest.Pytester) -> None:
    results = run_tests(pytester, MARKED, "--aioboot", "--strict-markers")
    outcome = {name: result[0] for name, result in results.items()}
    assert outcome == {
        "test_passes_ignores_its_lost_exception": "passed",
        "test_passes_after_the_ignored_one": "passed",
        "test_fails_loses_without_the_mark": "failed",
        "test_passes_its_leftover_ignored": "passed",
        "test_fails_leftover_is_an_error_for_the_module": "failed",
        "test_passes_leftover_warns_for_the_class": "passed",
    }, results
    assert "ValueError: lost on purpose" in results["test_fails_loses_without_the_mark"][1]
    assert "WARNING" not in results["test_passes_its_leftover_ignored"][1]
    module_leftover = results["test_fails_leftover_is_an_error_for_the_module"][1]
    assert "task 'module-leftover' running " in module_leftover, module_leftover
    class_leftover = results["test_passes_leftover_warns_for_the_class"][1]
    assert "WARNING task 'class-leftover' running " in class_leftover, class_leftover


def test_the_mark_is_declared_when_the_plugin_is_off(pytester: pytest.Pytester) -> None:
    results = run_tests(pytester, MARKED, "--strict-markers", "-k", "ignores")
    assert results == {"test_passes_ignores_its_lost_exception": ("passed", "")}, results


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("aioboot('ignore')", "takes keyword arguments only (lost_exceptions=, leftover_tasks=)*"),
        ("aioboot(lost='ignore')", "unknown argument 'lost'; it takes lost_exceptions=, *"),
        ("aioboot(leftover_tasks='never')", "leftover_tasks must be one of warn, error, ignore*"),
    ],
)
def test_a_bad_mark_is_a_one_line_error_of_its_test(
    pytester: pytest.Pytester, mark: str, message: str
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(f"import pytest\n@pytest.mark.{mark}\ndef test_marked():\n    pass\n")
    result = pytester.runpytest("--aioboot", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"@pytest.mark.aioboot: {message}"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        (
            "aioboot_leftover_tasks = maybe",
            "ERROR: aioboot_leftover_tasks must be one of warn, error, not 'maybe'",
        ),
        ("aioboot_loop = bogus", "ERROR: aioboot_loop: unknown loop 'bogus': *"),
    ],
)
def test_bad_configuration_is_one_line_usage_error(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    if "aioboot_loop" in ini and not HAS_LOOP_HOOK:
        pytest.skip(f"pytest-asyncio {PYTEST_ASYNCIO} < 1.4: aioboot_loop is ignored")
    pytester.makeini(f"[pytest]\n{ini}\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--aioboot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


ASSERTS_LOOP = """
import asyncio

async def test_runs_on_its_loop(request):
    expected = request.node.name.partition("[")[2].rstrip("]") or {expected!r}
    assert type(asyncio.get_running_loop()).__module__.split(".")[0] == expected
"""


@needs_loop_hook
def test_async_tests_run_on_the_chosen_loop(pytester: pytest.Pytester, chosen_loop: str) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function")
    pytester.makepyfile(ASSERTS_LOOP.format(expected=chosen_loop))
    result = pytester.runpytest("--aioboot", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"aioboot: async tests run on {chosen_loop}"])


@needs_loop_hook
@needs_uvloop
def test_several_loops_run_every_async_test_on_each(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "aioboot = true\naioboot_loop = asyncio uvloop\n"
    )
    pytester.makepyfile(ASSERTS_LOOP.format(expected="none: a loop id is expected"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test_runs_on_its_loop[[]asyncio] PASSED*", "*test_runs_on_its_loop[[]uvloop] PASSED*"]
    )


@needs_loop_hook
def test_not_enabled_leaves_the_loop_to_pytest_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function")
    pytester.makepyfile(ASSERTS_LOOP.format(expected="asyncio"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "aioboot:" not in result.stdout.str()


@pytest.mark.skipif(HAS_LOOP_HOOK, reason=f"pytest-asyncio {PYTEST_ASYNCIO} has the loop hook")
def test_old_pytest_asyncio_says_loop_choice_is_not_available(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\naioboot = true\naioboot_loop = uvloop\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"aioboot: loop choice for async tests needs pytest-asyncio >= 1.4 "
            f"(pytest-asyncio {PYTEST_ASYNCIO}); they run on pytest-asyncio's own loop",
            "*aioboot_loop is ignored: choosing the loop of async tests needs "
            f"pytest-asyncio >= 1.4 (pytest-asyncio {PYTEST_ASYNCIO} installed)*",
        ]
    )


# -- eager tasks --------------------------------------------------------------------------------

EAGER_SUITE = """
import asyncio

import aioboot


async def returns_at_once():
    pass


async def test_async_test_starts_tasks_eagerly():
    assert asyncio.create_task(returns_at_once()).done()


def test_aioboot_run_starts_tasks_eagerly():
    async def main():
        return asyncio.create_task(returns_at_once()).done()

    assert aioboot.run(main())
"""
needs_eager = pytest.mark.skipif(
    sys.version_info < (3, 12, 5), reason="eager tasks need Python 3.12.5+"
)


@needs_eager
@needs_loop_hook
@pytest.mark.parametrize("given_as", ["--aioboot-eager-tasks", "aioboot_eager_tasks = true"])
def test_eager_tasks_run_the_suite_with_eager_tasks(
    pytester: pytest.Pytester, chosen_loop: str, monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    monkeypatch.delenv("AIOBOOT_EAGER_TASKS", raising=False)
    ini = "" if given_as.startswith("--") else given_as
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n" + ini
    )
    pytester.makepyfile(EAGER_SUITE)
    args = [given_as] if given_as.startswith("--") else []
    result = pytester.runpytest("--aioboot", *args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"aioboot: async tests run on {chosen_loop}",
            "aioboot: eager tasks in async tests and aioboot.run() (aioboot_eager_tasks)",
        ]
    )
    assert "AIOBOOT_EAGER_TASKS" not in os.environ  # put back as it was


@needs_eager
def test_eager_tasks_without_the_loop_hook_apply_to_aioboot_run_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIOBOOT_EAGER_TASKS", raising=False)
    pytester.makepyfile(EAGER_SUITE)
    # Without pytest-asyncio, nothing answers for the loop of async tests.
    result = pytester.runpytest(
        "--aioboot",
        "--aioboot-eager-tasks",
        "-p",
        "no:asyncio",
        "-p",
        "no:cacheprovider",
        "-k",
        "test_aioboot_run_starts",
    )
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "aioboot: eager tasks in aioboot.run() (aioboot_eager_tasks)",
            "*aioboot_eager_tasks applies to aioboot.run() only: eager tasks in async tests "
            "need pytest-asyncio >= 1.4*",
        ]
    )


def test_eager_tasks_need_the_plugin_enabled(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--aioboot-eager-tasks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: aioboot_eager_tasks needs aioboot's plugin enabled: add --aioboot, or set the "
            "ini option aioboot = true"
        ]
    )


@pytest.mark.skipif(sys.version_info >= (3, 12, 5), reason="this Python has eager tasks")
def test_eager_tasks_before_3_12_5_are_a_one_line_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--aioboot", "--aioboot-eager-tasks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: aioboot_eager_tasks needs Python 3.12.5 or later *"])
    assert "Traceback" not in result.stderr.str()
