"""Real signals (os.kill) to a real program in a child process, on every loop and on both signal
paths: the loop's add_signal_handler and the signal.signal fallback that Windows uses."""

from __future__ import annotations

import signal
from typing import Optional

import pytest
from conftest import PYTHON, Child, Spawn, child_env, posix_only, program

pytestmark = [pytest.mark.timeout(60), posix_only]

EXIT_SIGTERM = 128 + signal.SIGTERM


@pytest.fixture(params=["loop", "fallback"])
def signal_path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def start(
    spawn: Spawn,
    loop_name: str,
    signal_path: str,
    scenario: str,
    *options: str,
    env: Optional[dict[str, str]] = None,
) -> Child:
    extra = {
        "AIOBOOT_LOOP": loop_name,
        "_AIOBOOT_SIGNAL_FALLBACK": "1" if signal_path == "fallback" else "0",
    }
    extra.update(env or {})
    child: Child = spawn(
        [PYTHON, program("scenario.py"), scenario, *options], env=child_env(**extra)
    )
    child.wait_for_line("READY")
    return child


def test_sigint_cancels_main_runs_finally_and_raises_keyboardinterrupt(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "cancelled")
    child.send(signal.SIGINT)
    # An uncaught KeyboardInterrupt ends CPython by re-raising SIGINT on itself.
    assert child.finish() == -signal.SIGINT
    assert "CLEANUP" in child.lines
    assert "RESTORED" in child.lines
    assert "KeyboardInterrupt" in child.stderr
    assert child.stderr.count("Traceback") == 1


def test_sigterm_cancels_main_and_exits_143(spawn: Spawn, loop_name: str, signal_path: str) -> None:
    child = start(spawn, loop_name, signal_path, "cancelled")
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM
    assert child.lines[-2:] == ["CLEANUP", "RESTORED"]
    assert "Traceback" not in child.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_future_resolves_to_the_signal_and_main_returns_normally(
    spawn: Spawn, loop_name: str, signal_path: str, sig: int
) -> None:
    child = start(spawn, loop_name, signal_path, "stop_future")
    child.send(sig)
    assert child.finish() == 0
    assert child.lines[1:] == [f"STOP {int(sig)}", "CLEANUP", "RESULT 7", "RESTORED"]
    assert "Traceback" not in child.stderr


def test_main_that_overruns_the_timeout_after_a_stop_is_cancelled(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "slow_to_return", "timeout=0.3")
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM
    assert "CLEANUP" in child.lines
    assert "main did not return within 0.3 s of the stop request" in child.stderr


def test_second_signal_forces_the_exit_past_a_task_that_ignores_cancellation(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    # With a 60 s shutdown timeout, only the forced exit can end this child within finish()'s 20 s.
    child = start(spawn, loop_name, signal_path, "stubborn_task", "timeout=60")
    child.send(signal.SIGTERM)
    child.wait_for_line("IGNORED-CANCEL")
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM
    assert "CLEANUP" in child.lines
    assert "RESTORED" in child.lines
    assert "SIGTERM while stopping: forcing the exit" in child.stderr
    assert "task 'stubborn' running stubborn_task.<locals>.stubborn()" in child.stderr


def test_a_storm_of_signals_gives_one_clean_shutdown(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "cancelled")
    for _ in range(50):
        child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM
    assert child.lines.count("CLEANUP") == 1
    assert child.lines[-1] == "RESTORED"
    assert child.stderr.count("Traceback") <= 1


def test_an_idle_loop_notices_a_signal(spawn: Spawn, loop_name: str, signal_path: str) -> None:
    # No timer is pending in the child: only the signal itself can wake its loop.
    child = start(spawn, loop_name, signal_path, "idle_wait")
    child.send(signal.SIGTERM)
    noticed = child.wait_for_line("NOTICED")
    assert child.finish() == 0
    ready_at = float(next(line for line in child.lines if line.startswith("READY")).split()[1])
    assert float(noticed.split()[1]) >= ready_at


def test_handlers_are_the_programs_own_again_after_the_run(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(
        spawn,
        loop_name,
        signal_path,
        "stop_future",
        "then=sleep",
        env={"SCENARIO_SIGTERM_HANDLER": "1"},
    )
    child.send(signal.SIGINT)
    child.wait_for_line("AFTER")
    assert "RESTORED" in child.lines
    # uvloop would swallow this SIGINT on its closed loop if its handler had been left installed.
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT
