"""The task dump (on demand, and on SIGUSR1 to a real child) and the stall warning (a real child
whose coroutine blocks its loop), on every loop and both signal paths."""

from __future__ import annotations

import _contextvars
import asyncio
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
from conftest import (
    PYTHON,
    Child,
    Spawn,
    aioboot_reports,
    assert_child_signal_path,
    child_env,
    posix_only,
    program,
    run_env,
)

import aioboot

pytestmark = pytest.mark.timeout(60)

CALL_GRAPH = sys.version_info >= (3, 14)
STALL = "the event loop has not turned for"
STALL_END = "the event loop turned again after a stall of"
# PyPy's Context.run, through which its loop calls every callback, is Python code (C on CPython).
CONTEXT_RUN_FILE = getattr(_contextvars, "__file__", None)


def start(
    spawn: Spawn, loop_name: str, scenario: str, *options: str, signal_path: str = "loop"
) -> Child:
    env = run_env(loop_name, signal_path)
    child: Child = spawn([PYTHON, program("production.py"), scenario, *options], env=env)
    child.wait_for_line("READY")
    assert_child_signal_path(child, signal_path)
    return child


# -- dump_tasks() --------------------------------------------------------------------------------


async def _chain(event: asyncio.Event) -> None:
    await event.wait()


async def _await(task: asyncio.Task[None]) -> None:
    await task


async def _dump_of_a_task_awaiting_another() -> str:
    event = asyncio.Event()
    inner = asyncio.create_task(_chain(event), name="inner-task")
    outer = asyncio.create_task(_await(inner), name="outer-task")
    await asyncio.sleep(0)
    out = io.StringIO()
    aioboot.dump_tasks(out)
    event.set()
    await outer
    return out.getvalue()


def test_dump_lists_each_task_with_its_await_chain_and_who_awaits_it(loop_name: str) -> None:
    dump = aioboot.run(_dump_of_a_task_awaiting_another(), loop=loop_name)
    inner = dump[dump.index("task 'inner-task'") :]
    assert "running _chain() [pending]" in inner.splitlines()[0]
    assert re.search(r"in (async )?_chain\b", inner)
    assert "await event.wait()" in inner or CALL_GRAPH
    # The edge between the two tasks, seen from either side.
    assert "Awaited by:" in inner if CALL_GRAPH else "awaited by task 'outer-task'" in inner
    assert "running _dump_of_a_task_awaiting_another() [running: it called the dump]" in dump
    assert "aioboot.dump_tasks(out)" in dump  # where the running task is: at the call
    assert "Thread 'MainThread'" in dump
    assert dump.endswith("--- end of aioboot dump ---\n")


def test_dump_outside_a_loop_lists_the_threads_only() -> None:
    out = io.StringIO()
    release = threading.Event()
    parked = threading.Thread(target=release.wait, name="parked")
    parked.start()
    try:
        aioboot.dump_tasks(out)
    finally:
        release.set()
        parked.join()
    dump = out.getvalue()
    assert ": 0 tasks," in dump
    assert "no event loop is running in this thread" in dump
    assert "Thread 'parked'" in dump
    assert "in wait" in dump
    assert os.path.join("aioboot", "_diagnose.py") not in dump  # the dump's own frames: left out


# -- SIGUSR1 -------------------------------------------------------------------------------------


@posix_only
def test_sigusr1_dumps_tasks_and_threads_and_the_program_goes_on(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, "stuck", signal_path=signal_path)
    child.send(signal.SIGUSR1)
    child.wait_for_stderr("--- end of aioboot dump ---")
    child.send(signal.SIGTERM)  # still running, still stoppable
    child.wait_for_line("STOP 15")
    assert child.finish() == 0
    assert child.lines[-1] == "RESTORED"  # SIGUSR1 is SIG_DFL again after the run
    dump = child.stderr
    assert "task 'the-worker' running worker() [pending]" in dump
    assert "task 'the-waiter' running waiter() [pending]" in dump
    assert "running stuck() [pending]" in dump
    # The whole chain, innermost included, with files and lines.
    assert dump.count("production.py") >= 4
    for function in ("worker", "wait_for_the_event", "waiter", "stuck"):
        assert re.search(rf"in (async )?{function}\b", dump), function  # 3.14: "in async f()"
    if CALL_GRAPH:
        assert "Awaited by:" in dump
    else:
        assert "awaited by task 'the-waiter'" in dump
        assert "waiting for task 'the-worker'" in dump
    assert "Thread 'parked-thread'" in dump
    assert "in parked_thread" in dump
    assert "Thread 'MainThread'" in dump


@posix_only
def test_a_program_with_its_own_sigusr1_handler_keeps_it(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, "stuck", "own_usr1=1", signal_path=signal_path)
    child.send(signal.SIGUSR1)
    child.wait_for_line("OWN-USR1")
    child.send(signal.SIGTERM)
    child.wait_for_line("STOP 15")
    assert child.finish() == 0
    assert "aioboot dump" not in child.stderr
    assert child.lines[-1] == "RESTORED"


# -- the stall warning ---------------------------------------------------------------------------


@pytest.mark.parametrize("given_as", ["argument", "environment"])
def test_a_blocked_loop_gives_one_warning_with_the_blocking_line_and_one_end_line(
    spawn: Spawn, loop_name: str, given_as: str
) -> None:
    args = [PYTHON, program("production.py"), "stall"]
    env = child_env(AIOBOOT_LOOP=loop_name)
    if given_as == "argument":
        args.append("stall_warning=0.2")
    else:
        env["AIOBOOT_STALL_WARNING"] = "0.2"
    child = spawn(args, env=env, stdin=True)
    child.wait_for_line("READY")
    child.wait_for_stderr(STALL)
    child.write_line("unblock")
    child.wait_for_line("UNBLOCKED")
    assert child.finish() == 0
    assert child.stderr.count(STALL) == 1
    assert child.stderr.count(STALL_END) == 1
    warning = child.stderr[child.stderr.index(STALL) : child.stderr.index(STALL_END)]
    assert "(stall_warning=0.2)" in warning
    assert "task 'the-blocker' running blocker() is blocking it" in warning
    # The stack starts where the loop called the task's coroutine: the start-up, aioboot's runner
    # and the loop's own frames are only counted.
    assert re.search(
        r"most recent call last; \d+ frames above it, the start-up and the loop, ", warning
    )
    assert frames_in(warning) == [
        (program("production.py"), "blocker"),
        (program("production.py"), "block_until_told"),
    ]
    assert "sys.stdin.readline()  # THE BLOCKING LINE\n" in warning


def test_the_launcher_refuses_a_bad_stall_warning_in_one_line(tmp_path: Path) -> None:
    env = child_env(AIOBOOT_STALL_WARNING="-1")
    command = [PYTHON, "-m", "aioboot", "anything:main"]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr == (
        "aioboot: error: aioboot.run(): $AIOBOOT_STALL_WARNING must be a finite number >= 0, "
        "not -1.0\n"
    )


def test_an_idle_loop_gives_no_stall_warning(spawn: Spawn, loop_name: str) -> None:
    child = start(spawn, loop_name, "idle", "idle=1.5", "stall_warning=0.5")
    child.wait_for_line("DONE")
    assert child.finish() == 0
    assert STALL not in child.stderr


async def _block_in_a_callback(callback: Callable[..., object], *args: object) -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(callback, *args)  # blocks the loop from a plain callback, outside any task
    loop.call_soon(done.set_result, None)
    await done


def _busy_wait() -> None:
    threading.Event().wait(0.6)


def stall_warning_of(
    caplog: pytest.LogCaptureFixture, loop_name: str, callback: Callable[..., object], *args: object
) -> str:
    """The one stall warning of a run blocked by ``callback(*args)`` (checked to have its one
    end line)."""
    caplog.set_level(logging.WARNING, logger="aioboot")
    aioboot.run(_block_in_a_callback(callback, *args), loop=loop_name, stall_warning=0.2)
    [warning] = aioboot_reports(caplog, STALL)
    assert len(aioboot_reports(caplog, STALL_END)) == 1
    return warning.getMessage()


def test_a_stall_in_a_plain_callback_says_no_task_is_running(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    warning = stall_warning_of(caplog, loop_name, _busy_wait)
    assert "a callback (no task) blocks it" in warning
    # From the callback down to the wait inside threading: pytest's frames, this test's and the
    # loop's are left out.
    frames = frames_in(warning)
    assert frames[0] == (__file__, "_busy_wait")
    assert {file for file, _ in frames[1:]} == {threading.__file__}


def test_a_stall_with_no_frame_of_the_programs_below_the_loop_keeps_the_whole_stack(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # time.sleep is the callback itself: no Python frame of the program's below the loop's.
    warning = stall_warning_of(caplog, loop_name, time.sleep, 0.6)
    assert "(most recent call last):" in warning
    frames = frames_in(warning)
    this_test = "test_a_stall_with_no_frame_of_the_programs_below_the_loop_keeps_the_whole_stack"
    assert (__file__, this_test) in frames
    # The innermost frame is the loop's (asyncio's, running the callback; on PyPy, its pure-Python
    # Context.run) or, on uvloop, whose loop has no Python frames, aioboot's runner calling
    # run_forever().
    loop_and_runner = (os.path.dirname(asyncio.__file__), os.path.dirname(aioboot.__file__))
    innermost = frames[-1][0]
    assert os.path.dirname(innermost) in loop_and_runner or innermost == CONTEXT_RUN_FILE


def frames_in(warning: str) -> list[tuple[str, str]]:
    """(file, function) of each frame of a stall warning's stack, outermost first."""
    return re.findall(r'^  File "([^"]+)", line \d+, in (\S+)$', warning, re.MULTILINE)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("soon", TypeError, "stall_warning must be a number of seconds, not 'soon'"),
        (-1, ValueError, "stall_warning must be a finite number >= 0, not -1"),
        (float("inf"), ValueError, "stall_warning must be a finite number >= 0, not inf"),
    ],
)
def test_a_bad_stall_warning_is_refused_before_the_run(
    value: object, error: type[Exception], message: str
) -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(error, match=message):
        aioboot.run(coro, stall_warning=value)  # type: ignore[arg-type]


def test_a_bad_stall_warning_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIOBOOT_STALL_WARNING", "1s")
    with pytest.raises(ValueError, match=r"\$AIOBOOT_STALL_WARNING must be a number of seconds"):
        aioboot.run(asyncio.sleep(0))
