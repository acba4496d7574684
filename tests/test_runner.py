"""aioboot.Runner: asyncio.Runner's contract on every supported Python (3.9/3.10 have no
asyncio.Runner, so these tests are the proof there), and everything aioboot adds inside each
run() call and at close().  Real signals go to a real multi-run program in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import re
import signal
import sys
import threading
import warnings
from typing import Any, Callable
from unittest import mock

import pytest
from conftest import (
    ASYNCIO_REFUSAL,
    PYTHON,
    Child,
    Spawn,
    aioboot_reports,
    assert_child_signal_path,
    assert_signal_path,
    collect_garbage,
    posix_only,
    program,
    run_env,
)

import aioboot

kept: list[asyncio.Task[Any]] = []
cvar: contextvars.ContextVar[int] = contextvars.ContextVar("cvar", default=-1)


async def answer() -> int:
    return 42


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


async def fail(message: str) -> None:
    raise ValueError(message)


def handlers() -> list[object]:
    return [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]


def counting_factory(loop_name: str) -> tuple[Callable[[], asyncio.AbstractEventLoop], list[Any]]:
    """A loop factory for ``loop_name`` that records every loop it makes."""
    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        if loop_name == "uvloop":
            import uvloop

            made.append(uvloop.new_event_loop())
        else:
            made.append(asyncio.new_event_loop())
        return made[-1]

    return factory, made


# -- asyncio.Runner's contract ------------------------------------------------------------------


def test_the_context_manager_runs_on_one_loop_and_closes_it(loop_name: str) -> None:
    async def running_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    with aioboot.Runner(loop=loop_name) as runner:
        loop = runner.get_loop()
        assert runner.run(running_loop()) is loop
        assert runner.run(answer()) == 42
        assert runner.run(running_loop()) is loop
        assert not loop.is_closed()
    assert loop.is_closed()
    with pytest.raises(RuntimeError, match="Runner is closed"):
        runner.get_loop()


def test_a_task_started_in_one_run_lives_on_into_the_next(loop_name: str) -> None:
    async def start_waiter() -> tuple[asyncio.Event, asyncio.Future[str]]:
        woken = asyncio.Event()

        async def waiter() -> str:
            await woken.wait()
            return "woke"

        return woken, asyncio.ensure_future(waiter())

    async def wake(woken: asyncio.Event, task: asyncio.Future[str]) -> str:
        woken.set()
        return await task

    with aioboot.Runner(loop=loop_name) as runner:
        woken, task = runner.run(start_waiter())
        assert not task.done()  # as asyncio.Runner: the end of a run cancels nothing
        assert runner.run(wake(woken, task)) == "woke"


def test_the_loop_is_created_lazily_and_once(loop_name: str) -> None:
    factory, made = counting_factory(loop_name)
    runner = aioboot.Runner(loop=factory)
    assert made == []
    loop = runner.get_loop()
    assert made == [loop]
    assert runner.get_loop() is loop
    assert runner.run(answer()) == 42
    assert made == [loop]
    runner.close()


def test_with_creates_the_loop_on_entry(loop_name: str) -> None:
    factory, made = counting_factory(loop_name)
    with aioboot.Runner(loop=factory):
        assert len(made) == 1
    assert made[0].is_closed()


def test_close_is_idempotent(loop_name: str) -> None:
    runner = aioboot.Runner(loop=loop_name)
    loop = runner.get_loop()
    runner.close()
    assert loop.is_closed()
    runner.close()
    assert loop.is_closed()


def test_closing_a_runner_that_never_ran_makes_no_loop(loop_name: str) -> None:
    factory, made = counting_factory(loop_name)
    runner = aioboot.Runner(loop=factory)
    runner.close()
    assert made == []
    assert runner.run(answer()) == 42  # as asyncio.Runner: nothing was closed, so it still runs
    runner.close()


def test_a_closed_runner_refuses_run_and_get_loop(loop_name: str) -> None:
    runner = aioboot.Runner(loop=loop_name)
    runner.run(answer())
    runner.close()
    coro = answer()
    with pytest.raises(RuntimeError, match="Runner is closed"):
        runner.run(coro)
    coro.close()
    with pytest.raises(RuntimeError, match="Runner is closed"):
        runner.get_loop()


def test_a_second_with_block_is_refused(loop_name: str) -> None:
    ran: list[int] = []

    async def note(n: int) -> None:
        ran.append(n)

    runner = aioboot.Runner(loop=loop_name)
    with runner:
        runner.run(note(1))
    with pytest.raises(RuntimeError, match="Runner is closed"), runner:
        runner.run(note(2))  # pragma: no cover - never reached
    assert ran == [1]


def test_a_recursive_run_is_refused_and_its_coroutine_left_unclosed(loop_name: str) -> None:
    async def inner() -> None:
        pass

    with aioboot.Runner(loop=loop_name) as runner:

        async def outer() -> None:
            runner.run(inner())

        def run_recursively() -> None:
            with pytest.raises(
                RuntimeError,
                match=re.escape("Runner.run() cannot be called from a running event loop"),
            ):
                runner.run(outer())
            collect_garbage()

        # As asyncio.Runner (CPython's test_recursive_run): the refused coroutine is not closed.
        with pytest.warns(RuntimeWarning, match="coroutine .+ was never awaited"):
            run_recursively()
        assert runner.run(answer()) == 42


@pytest.mark.parametrize(
    "bad",
    [
        "int",
        pytest.param(
            "future",
            marks=pytest.mark.skipif(
                sys.version_info >= (3, 14), reason="asyncio accepts futures since 3.14"
            ),
        ),
        "plain function",
    ],
)
def test_a_non_awaitable_is_both_a_typeerror_and_a_valueerror(loop_name: str, bad: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        value: object = {
            "int": 123,
            "future": runner.get_loop().create_future(),
            "plain function": lambda: None,
        }[bad]
        with pytest.raises(TypeError, match=ASYNCIO_REFUSAL) as raised:
            runner.run(value)  # type: ignore[arg-type]
        assert isinstance(raised.value, ValueError)
        assert runner.run(answer()) == 42


def test_an_async_function_without_arguments_is_accepted(loop_name: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(answer) == 42


# -- context variables --------------------------------------------------------------------------


async def set_cvar(value: int) -> int:
    old = cvar.get()
    await asyncio.sleep(0)
    cvar.set(value)
    return old


async def current_context() -> contextvars.Context:
    return contextvars.copy_context()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.9/3.10 tasks always copy the context")
def test_context_vars_set_in_one_run_are_seen_by_the_next(loop_name: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(set_cvar(1)) == -1
        assert runner.run(set_cvar(2)) == 1
        assert runner.run(current_context()).get(cvar) == 2


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.11+ keeps the runner's context")
def test_on_3_9_and_3_10_each_run_starts_from_the_runners_context(loop_name: str) -> None:
    token = cvar.set(10)  # in the caller's context when the runner copies it
    try:
        with aioboot.Runner(loop=loop_name) as runner:
            cvar.set(11)  # too late: the copy was taken when the loop was made
            assert runner.run(set_cvar(1)) == 10
            assert runner.run(set_cvar(2)) == 10  # a copy each time: run 1's value is gone
            assert runner.run(current_context()).get(cvar) == 10
    finally:
        cvar.reset(token)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.9/3.10 tasks always copy the context")
@pytest.mark.parametrize("start", ["empty", "with a value"])
def test_an_explicit_context_is_the_one_the_run_uses(loop_name: str, start: str) -> None:
    context = contextvars.Context()
    if start == "with a value":
        context.run(cvar.set, 5)
    with aioboot.Runner(loop=loop_name) as runner:
        runner.run(set_cvar(1))  # the runner's own context, which the explicit one must not see
        assert runner.run(set_cvar(7), context=context) == (5 if start == "with a value" else -1)
        assert context.get(cvar) == 7
        assert runner.run(set_cvar(3)) == 1  # the runner's context did not see the 7


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.11+ runs in the context itself")
def test_on_3_9_and_3_10_an_explicit_context_is_copied(loop_name: str) -> None:
    context = contextvars.Context()
    context.run(cvar.set, 5)
    with aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(set_cvar(7), context=context) == 5
    assert context.get(cvar) == 5


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_debug_is_applied_to_the_loop(loop_name: str, debug: bool) -> None:
    async def loop_debug() -> bool:
        return asyncio.get_running_loop().get_debug()

    with aioboot.Runner(loop=loop_name, debug=debug) as runner:
        assert runner.get_loop().get_debug() is debug
        assert runner.run(loop_debug()) is debug


def test_the_loop_is_the_one_asked_for(loop_name: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        module = type(runner.get_loop()).__module__.split(".")[0]
    assert module == loop_name


def test_loop_factory_makes_the_loop_and_close_closes_it(loop_name: str) -> None:
    factory, made = counting_factory(loop_name)
    with aioboot.Runner(loop_factory=factory) as runner:
        assert runner.run(answer()) == 42
        assert made == [runner.get_loop()]
    assert made[0].is_closed()


def test_loop_and_loop_factory_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        aioboot.Runner(loop="asyncio", loop_factory=asyncio.new_event_loop)


@pytest.mark.parametrize("how", ["loop", "loop_factory"])
def test_only_an_explicit_loop_factorys_loop_is_left_not_current(loop_name: str, how: str) -> None:
    """As asyncio.Runner: loop= (and the default) make the loop the thread's current one;
    an explicit loop_factory= does not.  Checked in a fresh thread, which has no current loop."""
    factory, _ = counting_factory(loop_name)
    seen: list[object] = []

    def current_loop() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.10-3.13 may warn here
            try:
                return asyncio.get_event_loop()
            except RuntimeError:
                return None

    def in_thread() -> None:
        runner = aioboot.Runner(**{how: factory})  # type: ignore[arg-type]
        loop = runner.get_loop()
        seen.append(current_loop() is loop)
        runner.close()
        seen.append(current_loop())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(30)
    assert seen == [how == "loop", None]


# -- what each run() call gets ------------------------------------------------------------------


def test_each_run_gets_its_own_stop_future(loop_name: str) -> None:
    async def stops_itself() -> object:
        stop = aioboot.stop_future()
        aioboot.request_stop()
        return await stop

    async def fresh_stop_future() -> bool:
        return aioboot.stop_future().done()

    with aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(stops_itself()) is None
        assert runner.run(fresh_stop_future()) is False


def test_request_stop_ends_only_the_current_run(loop_name: str) -> None:
    cleaned: list[bool] = []

    async def stops_itself() -> None:
        try:
            aioboot.request_stop()
            await forever()
        finally:
            cleaned.append(True)

    with aioboot.Runner(loop=loop_name) as runner:
        with pytest.raises(asyncio.CancelledError):
            runner.run(stops_itself())
        assert cleaned == [True]
        assert runner.run(answer()) == 42


def test_request_stop_from_another_thread_stops_the_running_call(loop_name: str) -> None:
    threads: list[threading.Thread] = []

    async def stopped_from_a_thread() -> object:
        stop = aioboot.stop_future()
        threads.append(threading.Thread(target=aioboot.request_stop))
        threads[-1].start()
        return await stop

    with aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(stopped_from_a_thread()) is None
        assert runner.run(stopped_from_a_thread()) is None  # and again in the next call
    for thread in threads:
        thread.join(30)


def test_a_request_stop_between_runs_does_not_stop_the_next_run(loop_name: str) -> None:
    async def stop_requested() -> bool:
        await asyncio.sleep(0)  # the queued request, if it were carried over, is delivered now
        return aioboot.stop_future().done()

    with aioboot.Runner(loop=loop_name) as runner:
        runner.run(answer())
        aioboot.request_stop()  # the runner is open but not running: no call to stop
        assert runner.run(stop_requested()) is False


def test_stop_future_between_runs_is_refused(loop_name: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        runner.run(answer())
        with pytest.raises(RuntimeError, match="must be called inside"):
            aioboot.stop_future()


def test_shutdown_hooks_registered_in_any_run_run_at_close_last_first(loop_name: str) -> None:
    events: list[str] = []

    async def register(name: str) -> None:
        aioboot.on_shutdown(lambda: events.append(name))

    with aioboot.Runner(loop=loop_name) as runner:
        runner.run(register("first run"))
        runner.run(register("second run"))
        assert events == []  # the end of a run is not the shutdown
    assert events == ["second run", "first run"]


def test_scheduled_calls_fire_in_a_later_run_and_pending_ones_are_cancelled_at_close(
    loop_name: str,
) -> None:
    async def schedule() -> tuple[aioboot.ScheduledCall[int], aioboot.ScheduledCall[int]]:
        loop = asyncio.get_running_loop()
        return aioboot.call_later(0, answer), aioboot.call_at(loop.time() + 3600, answer)

    async def result_of(call: aioboot.ScheduledCall[int]) -> int:
        return await call

    with aioboot.Runner(loop=loop_name) as runner:
        due, late = runner.run(schedule())
        assert runner.run(result_of(due)) == 42
        assert not late.cancelled()
    assert late.cancelled()
    assert late.task is None  # its coroutine was never created


def test_stop_on_error_ends_the_failing_run_only(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails_in_the_background(message: str) -> None:
        kept.append(asyncio.ensure_future(fail(message)))
        await forever()

    caplog.set_level(logging.ERROR)
    with aioboot.Runner(loop=loop_name, stop_on_error=True) as runner:
        with pytest.raises(ValueError, match="first"):
            runner.run(fails_in_the_background("first"))
        assert runner.run(answer()) == 42
        with pytest.raises(ValueError, match="second"):
            runner.run(fails_in_the_background("second"))
    kept.clear()
    assert aioboot_reports(caplog, "never retrieved") == []  # raised, so not reported again


async def refuses_to_stop() -> None:
    while True:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)


async def leave_trouble() -> None:
    loop = asyncio.get_running_loop()
    kept.append(loop.create_task(fail("lost"), name="lost"))
    loop.create_task(refuses_to_stop(), name="refuser")
    await asyncio.sleep(0)  # one pass: "lost" fails, "refuser" starts waiting


def test_close_reports_lost_exceptions_and_stuck_tasks_as_aioboot_run_does(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    def reports() -> list[tuple[str, str, str]]:
        found = [
            (
                r.levelname,
                re.sub(" at 0x[0-9a-f]+", "", r.getMessage()),  # object addresses differ
                repr(r.exc_info[1] if r.exc_info else None),
            )
            for r in caplog.records
            if r.name == "aioboot" and r.levelno >= logging.ERROR
        ]
        caplog.clear()
        kept.clear()
        return found

    caplog.set_level(logging.ERROR)
    aioboot.run(leave_trouble(), loop=loop_name, shutdown_timeout=0.2)
    by_run = reports()
    with aioboot.Runner(loop=loop_name, shutdown_timeout=0.2) as runner:
        runner.run(leave_trouble())
        assert runner.run(answer()) == 42
        assert caplog.records == []  # nothing is reported before close()
    assert reports() == by_run
    messages = " | ".join(message for _, message, _ in by_run)
    assert "Task exception was never retrieved: task 'lost' running fail()" in messages
    assert "task 'refuser' running refuses_to_stop() did not finish within 0.2 s" in messages


def test_works_off_the_main_thread_without_touching_signals(loop_name: str) -> None:
    before = handlers()
    results: list[object] = []

    def in_thread() -> None:
        with aioboot.Runner(loop=loop_name) as runner:
            results.append(runner.run(answer()))
            results.append(runner.run(answer()))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(30)
    assert results == [42, 42]
    assert handlers() == before


# -- signals ------------------------------------------------------------------------------------


@posix_only
def test_signals_are_taken_only_during_run_and_close(
    loop_name: str, signal_path_in_process: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = handlers()
    seen: dict[str, list[object]] = {}

    async def look(when: str) -> None:
        seen[when] = handlers()
        aioboot.on_shutdown(lambda: seen.setdefault("close", handlers()))

    with aioboot.Runner(loop=loop_name) as runner:
        seen["before the first run"] = handlers()
        runner.run(look("first run"))
        seen["between runs"] = handlers()
        runner.run(look("second run"))
    assert seen.pop("before the first run") == before
    assert seen.pop("between runs") == before
    for when, during in seen.items():
        assert all(d != b for d, b in zip(during, before)), when
    assert handlers() == before
    assert_signal_path(caplog.text, signal_path_in_process)


@posix_only
def test_sigint_ends_the_run_with_keyboardinterrupt_and_the_next_run_works(
    loop_name: str, signal_path_in_process: str, caplog: pytest.LogCaptureFixture
) -> None:
    cleaned: list[bool] = []

    async def interrupted() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            await forever()
        finally:
            cleaned.append(True)

    with aioboot.Runner(loop=loop_name) as runner:
        with pytest.raises(KeyboardInterrupt):
            runner.run(interrupted())
        assert cleaned == [True]
        assert runner.run(answer()) == 42
    assert_signal_path(caplog.text, signal_path_in_process)


@posix_only
def test_when_signal_signal_is_refused_runs_work_without_signal_handling(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # As CPython's test_signal_install_not_supported_ok: what a sub-interpreter or an embedding
    # that disabled signals does.
    before = handlers()
    refused = ValueError("signal only works in main thread of the main interpreter")

    async def stopped_by_request() -> object:
        stop = aioboot.stop_future()
        aioboot.request_stop()
        return await stop

    caplog.set_level(logging.DEBUG, logger="aioboot")
    refusing = mock.patch.object(signal, "signal", side_effect=refused)
    with refusing, aioboot.Runner(loop=loop_name) as runner:
        assert runner.run(answer()) == 42
        assert runner.run(stopped_by_request()) is None
    assert handlers() == before
    assert aioboot_reports(caplog, "stop signals are not handled: " + str(refused))


EXIT_SIGTERM = 128 + signal.SIGTERM


def start_runner_program(
    spawn: Spawn, loop_name: str, signal_path: str, scenario: str, timeout: float
) -> Child:
    env = run_env(loop_name, signal_path, RUNNER_TIMEOUT=str(timeout))
    child: Child = spawn([PYTHON, program("runner.py"), scenario], env=env)
    child.wait_for_line("READY")
    assert_child_signal_path(child, signal_path)
    return child


@posix_only
@pytest.mark.timeout(60)
def test_a_sigterm_ends_one_run_with_143_and_the_next_run_handles_signals_again(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start_runner_program(spawn, loop_name, signal_path, "stopped_then_runs_again", 5)
    child.send(signal.SIGTERM)
    # A fresh stop request: the first run's did not carry over into the second.
    child.wait_for_line("READY-2 False")
    child.send(signal.SIGINT)
    assert child.finish() == 0
    assert child.lines == [
        "READY",
        f"FIRST {EXIT_SIGTERM}",
        "BETWEEN RESTORED",
        "READY-2 False",
        f"SECOND {int(signal.SIGINT)}",
        "CLOSED RESTORED",
    ]
    assert child.stderr.count("Task exception was never retrieved: task 'lost' running fail()") == 1
    assert "ValueError: lost in the second run" in child.stderr


@posix_only
@pytest.mark.timeout(60)
def test_a_forced_exit_is_final_the_next_run_is_refused_and_close_does_not_wait(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    # With a 60 s shutdown timeout, only a close() that does not wait ends within finish()'s 20 s.
    child = start_runner_program(spawn, loop_name, signal_path, "forced_then_refuses", 60)
    child.send(signal.SIGINT)
    child.wait_for_line("IGNORED-CANCEL")
    child.send(signal.SIGINT)  # Ctrl-C again: forces
    assert child.finish() == 0
    assert "FIRST KeyboardInterrupt" in child.lines
    assert "REFUSED aioboot.Runner: the exit was forced; the runner can only close" in child.lines
    assert child.lines[-1] == "CLOSED RESTORED"
    assert "forcing the exit" in child.stderr
    assert "running ignores_cancellation() did not finish before the forced exit" in child.stderr
    assert "Task was destroyed but it is pending" not in child.stderr  # named, not dropped
