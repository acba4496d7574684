"""The drain: on SIGTERM, ``aioboot.is_stopping()`` turns true at once and main is stopped only
after ``drain_delay`` seconds; Ctrl-C never drains.  Real signals (os.kill) to a real program
(tests/programs/orchestrated.py) on every loop and both signal paths, through ``run()`` and the
launcher; ``is_stopping()``'s contract in this process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
from conftest import (
    PROGRAMS,
    PYTHON,
    Child,
    Launch,
    Spawn,
    assert_child_signal_path,
    child_env,
    posix_only,
    run_env,
)
from test_notify import Manager

import aioboot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    """The service manager's end of NOTIFY_SOCKET (test_notify.py tests both kinds of address)."""
    bound = Manager(str(tmp_path / "notify"))
    yield bound
    bound.sock.close()


EXIT_SIGTERM = 128 + signal.SIGTERM
DRAINING = "WARNING aioboot: received SIGTERM: draining for"


def start(
    spawn: Spawn,
    loop_name: str,
    signal_path: str,
    *options: str,
    env: Optional[dict[str, str]] = None,
    prefix: tuple[str, ...] = (),
) -> Child:
    """orchestrated.py with ``options``, serving, with a pipe for commands; ``prefix``: what it
    is started through (``nohup``)."""
    child: Child = spawn(
        [*prefix, PYTHON, str(PROGRAMS / "orchestrated.py"), *options],
        env=run_env(loop_name, signal_path, **(env or {})),
        stdin=True,
    )
    child.wait_for_line("READY")
    assert_child_signal_path(child, signal_path)
    return child


def ask(child: Child, command: str, answer: str) -> str:
    child.write_line(command)
    return child.wait_for_line(answer)


def before(child: Child, first: str, then: str) -> bool:
    return child.lines.index(first) < child.lines.index(then)


# -- through real signals ------------------------------------------------------------------------


@posix_only
def test_sigterm_makes_it_stopping_at_once_while_main_still_serves_until_ctrl_c_ends_the_drain(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "drain=60")
    assert ask(child, "ping", "PONG") == "PONG False"
    assert ask(child, "ping-thread", "THREAD") == "THREAD False"
    child.send(signal.SIGTERM)
    assert child.wait_for_line(DRAINING).endswith(
        "draining for 60 s, then stopping (Ctrl-C to stop now)"
    )
    assert ask(child, "ping", "PONG") == "PONG True"  # main still answers, and says it stops
    assert ask(child, "ping-thread", "THREAD") == "THREAD True"
    child.send(signal.SIGINT)
    child.wait_for_line("WARNING aioboot: received SIGINT while draining: stopping now")
    # The Ctrl-C made the stop its own: the exit is SIGINT's, as for a Ctrl-C with no drain.
    assert child.finish() == -signal.SIGINT, child.transcript()
    assert child.lines[-2:] == ["CANCELLED", "RESTORED"]
    assert "KeyboardInterrupt" in child.stderr


@posix_only
def test_a_drain_ends_by_itself_then_main_is_cancelled_and_sigterm_decides_the_exit(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "drain=0.2", "watch=1")
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM, child.transcript()
    assert before(child, "NOTICED", "CANCELLED"), child.transcript()
    assert child.lines[-1] == "RESTORED"
    assert "Traceback" not in child.stderr


@posix_only
def test_a_drained_main_that_awaits_the_stop_future_gets_it_after_the_drain(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "drain=0.2", "watch=1", "stop=future")
    child.send(signal.SIGTERM)
    assert child.finish() == 0, child.transcript()
    assert before(child, "NOTICED", f"STOP {int(signal.SIGTERM)}"), child.transcript()


@posix_only
def test_a_repeated_sigterm_during_a_drain_is_only_noted(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "drain=60")
    child.send(signal.SIGTERM)
    child.wait_for_line(DRAINING)
    child.send(signal.SIGTERM)
    child.wait_for_line("INFO aioboot: received SIGTERM again: already stopping")
    assert ask(child, "ping", "PONG") == "PONG True"  # still draining: main was not touched
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.transcript()
    assert before(child, "PONG True", "CANCELLED")


@posix_only
def test_ctrl_c_never_drains(spawn: Spawn, loop_name: str, signal_path: str) -> None:
    child = start(spawn, loop_name, signal_path, "drain=60")
    child.send(signal.SIGINT)
    child.wait_for_line("CANCELLED")
    assert child.finish() == -signal.SIGINT, child.transcript()
    assert "draining" not in child.stdout
    assert "WARNING aioboot: received SIGINT: stopping" in child.lines


@posix_only
def test_request_stop_does_not_drain(spawn: Spawn, loop_name: str) -> None:
    child = start(spawn, loop_name, "loop", "drain=60", "stop=future")
    child.write_line("request-stop")
    child.wait_for_line("STOP None")
    assert child.finish() == 0, child.transcript()
    assert "draining" not in child.stdout


@posix_only
def test_a_drain_tells_the_service_manager_stopping_and_how_long_it_drains(
    spawn: Spawn,
    manager: Manager,
    loop_name: str,
) -> None:
    child = start(
        spawn, loop_name, "loop", "drain=0.2", "stop=future", env={"NOTIFY_SOCKET": manager.name}
    )
    child.send(signal.SIGTERM)
    status, datagrams = manager.until_exit(child)
    assert status == 0
    assert datagrams[:3] == [
        ["STOPPING=1"],
        ["EXTEND_TIMEOUT_USEC=1200000", "STATUS=stopping: draining for 0.2 s"],
        ["EXTEND_TIMEOUT_USEC=6000000", "STATUS=stopping: waiting for main to return"],
    ]


# -- the launcher --------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("given_as", ["option", "environment"])
def test_the_launcher_drains_with_its_option_or_the_variable(
    spawn: Spawn, loop_name: str, given_as: str
) -> None:
    env = run_env(loop_name)
    args = [PYTHON, "-m", "aioboot"]
    if given_as == "option":
        args += ["--drain-delay", "0.2"]
    else:
        env["AIOBOOT_DRAIN_DELAY"] = "0.2"
    child = spawn([*args, "orchestrated:serve", "watch=1"], env=env, cwd=PROGRAMS)
    child.wait_for_line("READY")
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()
    child_said = "WARNING aioboot: received SIGTERM: draining for 0.2 s, then stopping"
    assert any(line.startswith(child_said) for line in child.lines), child.transcript()
    assert before(child, "NOTICED", "CANCELLED"), child.transcript()


def test_the_launcher_refuses_a_bad_drain_delay_in_one_line(launch_here: Launch) -> None:
    launched = launch_here("--drain-delay", "-1", "anything:main")
    assert launched.status == 2
    assert launched.stderr.endswith(
        "aioboot: error: argument --drain-delay: aioboot.run(): drain_delay must be a finite "
        "number >= 0, not -1.0"
    )


def test_the_launcher_refuses_a_bad_drain_delay_variable_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "aioboot", "anything:main"],
        env=child_env(AIOBOOT_DRAIN_DELAY="soon"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "aioboot: error: aioboot.run(): $AIOBOOT_DRAIN_DELAY must be a number of seconds, "
        "not 'soon'\n"
    )


# -- the argument --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("5", TypeError, "drain_delay must be a number of seconds, not '5'"),
        (-1, ValueError, "drain_delay must be a finite number >= 0, not -1"),
        (float("nan"), ValueError, "drain_delay must be a finite number >= 0, not nan"),
    ],
)
def test_a_bad_drain_delay_is_refused_by_run_and_runner(
    value: object, error: type[Exception], message: str
) -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(error, match=message):
        aioboot.run(coro, drain_delay=value)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        aioboot.Runner(drain_delay=value)  # type: ignore[arg-type]


def test_a_bad_drain_delay_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBOOT_DRAIN_DELAY", "5s")
    with pytest.raises(ValueError, match=r"\$AIOBOOT_DRAIN_DELAY must be a number of seconds"):
        aioboot.run(asyncio.sleep(0))


# -- is_stopping() -------------------------------------------------------------------------------


def from_a_thread() -> bool:
    answer: list[bool] = []
    thread = threading.Thread(target=lambda: answer.append(aioboot.is_stopping()))
    thread.start()
    thread.join(10)
    return answer[0]


def test_is_stopping_is_false_outside_any_run_and_never_raises() -> None:
    assert aioboot.is_stopping() is False
    assert asyncio.run(_is_stopping_in_plain_asyncio()) is False


async def _is_stopping_in_plain_asyncio() -> bool:
    return aioboot.is_stopping()


def test_is_stopping_turns_true_on_the_stop_request_in_the_loop_and_in_any_thread() -> None:
    seen: list[tuple[str, bool]] = []

    async def main() -> None:
        stop = aioboot.stop_future()
        seen.append(("before", aioboot.is_stopping()))
        aioboot.request_stop()
        seen.append(("loop", aioboot.is_stopping()))
        seen.append(("thread", from_a_thread()))
        await stop
        aioboot.on_shutdown(lambda: seen.append(("shutdown", aioboot.is_stopping())))

    aioboot.run(main())
    assert seen == [("before", False), ("loop", True), ("thread", True), ("shutdown", True)]
    assert aioboot.is_stopping() is False  # the run is over


def test_is_stopping_is_true_during_the_shutdown_of_a_main_that_just_returned() -> None:
    seen: list[bool] = []

    async def main() -> None:
        aioboot.on_shutdown(lambda: seen.append(aioboot.is_stopping()))
        seen.append(aioboot.is_stopping())

    aioboot.run(main())
    assert seen == [False, True]


def test_each_runner_call_starts_with_is_stopping_false_again() -> None:
    async def stopped() -> None:
        aioboot.request_stop()
        await asyncio.sleep(3600)

    async def look() -> bool:
        return aioboot.is_stopping()

    with aioboot.Runner() as runner:
        with pytest.raises(asyncio.CancelledError):
            runner.run(stopped())
        assert runner.run(look()) is False


async def _look() -> bool:
    return aioboot.is_stopping()


@pytest.fixture
def a_run_in_a_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """A second run, in a thread of its own, not stopping until the test ends; its loop."""
    started, finish = threading.Event(), threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, finish.wait, 30)

    thread = threading.Thread(target=aioboot.run, args=(main(),))
    thread.start()
    assert started.wait(10)
    yield loops[0]
    finish.set()
    thread.join(30)


def test_is_stopping_answers_for_its_own_run_in_a_run_and_for_any_run_elsewhere(
    a_run_in_a_thread: asyncio.AbstractEventLoop,
) -> None:
    seen: dict[str, bool] = {}

    async def main() -> None:
        seen["no run stopping yet"] = from_a_thread()
        aioboot.request_stop()
        seen["this run"] = aioboot.is_stopping()
        seen["the other run"] = asyncio.run_coroutine_threadsafe(_look(), a_run_in_a_thread).result(
            10
        )
        seen["a thread of neither"] = from_a_thread()
        await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        aioboot.run(main())
    assert seen == {
        "no run stopping yet": False,
        "this run": True,
        "the other run": False,
        "a thread of neither": True,
    }
    assert aioboot.is_stopping() is False  # only the thread's run is left, and it runs on
