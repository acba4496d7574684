"""Real signals (os.kill) to a real program in a child process, on every loop and on both signal
paths: the loop's add_signal_handler and the signal.signal fallback that Windows uses.  Each case
checks, from the child's own report, that its path was taken."""

from __future__ import annotations

import signal
from typing import Optional

import pytest
from conftest import (
    PYTHON,
    Child,
    Spawn,
    assert_child_signal_path,
    posix_only,
    program,
    run_env,
)

pytestmark = [pytest.mark.timeout(60), posix_only]

EXIT_SIGTERM = 128 + signal.SIGTERM


def start(
    spawn: Spawn,
    loop_name: str,
    signal_path: str,
    scenario: str,
    *options: str,
    env: Optional[dict[str, str]] = None,
    stdin: bool = False,
) -> Child:
    child: Child = spawn(
        [PYTHON, program("scenario.py"), scenario, *options],
        env=run_env(loop_name, signal_path, **(env or {})),
        stdin=stdin,
    )
    child.wait_for_line("READY")
    assert_child_signal_path(child, signal_path)
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


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_ctrl_c_while_stopping_forces_the_exit_past_a_task_that_ignores_cancellation(
    spawn: Spawn, loop_name: str, signal_path: str, first: signal.Signals
) -> None:
    # With a 60 s shutdown timeout, only the forced exit can end this child within finish()'s 20 s.
    child = start(spawn, loop_name, signal_path, "stubborn_task", "timeout=60")
    child.send(first)
    child.wait_for_line("IGNORED-CANCEL")
    child.send(signal.SIGINT)
    # The forcing signal decides: KeyboardInterrupt, which ends CPython by SIGINT.
    assert child.finish() == -signal.SIGINT
    assert "CLEANUP" in child.lines
    assert "RESTORED" in child.lines
    assert "SIGINT while stopping: forcing the exit" in child.stderr
    assert "task 'stubborn' running stubborn_task.<locals>.stubborn()" in child.stderr


def test_a_repeated_sigterm_does_not_cut_the_graceful_shutdown_short(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "stubborn_task", "timeout=0.5")
    child.send(signal.SIGTERM)
    child.wait_for_line("IGNORED-CANCEL")
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM
    assert "forcing the exit" not in child.stderr
    # The shutdown waited its whole timeout for the task, then named it.
    assert "stubborn() did not finish within 0.5 s" in child.stderr


def test_a_fast_stop_says_it_is_stopping_and_gives_no_hint_to_force_it(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "cancelled")
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT
    assert "received SIGINT: stopping\n" in child.stderr
    assert "again to force" not in child.stderr  # the stop was over before the hint was due


def test_a_slow_stop_tells_how_to_force_the_exit_while_it_is_still_going_on(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "stubborn_task", "timeout=60")
    child.send(signal.SIGINT)
    # Only the hint tells the test that the stop is still going on: it comes first, or never.
    child.wait_for_stderr("still stopping (Ctrl-C again to force the exit)")
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT
    assert child.stderr.count("again to force the exit") == 1
    assert child.stderr.index("received SIGINT: stopping") < child.stderr.index("still stopping")


def test_a_storm_of_signals_gives_one_clean_shutdown(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "cancelled", "hold=stdin", stdin=True)
    for _ in range(50):
        child.send(signal.SIGTERM)
    # Every signal has reached the child before its shutdown goes on, so none can land after
    # the handlers are restored (where SIGTERM's default would kill it: -15, not 143).
    child.wait_for_line("HOLDING")
    child.write_line("GO")
    assert child.finish() == EXIT_SIGTERM
    assert child.lines.count("CLEANUP") == 1
    assert child.lines[-1] == "RESTORED"
    assert child.stderr.count("Traceback") == 0
    assert "forcing the exit" not in child.stderr


@pytest.mark.parametrize("deliver", ["main", "thread"])
def test_an_idle_loop_notices_a_signal(
    spawn: Spawn, loop_name: str, signal_path: str, deliver: str
) -> None:
    # No timer is pending in the child: only the signal itself can wake its loop.  Delivered to
    # another thread, it runs Python's C-level handler there, and the loop's thread, asleep in its
    # selector, learns of it only through the wakeup fd.
    child = start(spawn, loop_name, signal_path, "idle_wait", f"deliver={deliver}")
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


def test_a_signal_the_program_handles_itself_is_left_to_it_and_its_reraise_is_a_first_signal(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "own_handler_reraised")
    child.send(signal.SIGTERM)
    child.wait_for_line("PROGRAM GOT SIGTERM")
    # The re-raised SIGTERM is aioboot's first: it never forces, and it decides the exit.
    assert child.finish() == EXIT_SIGTERM, child.stderr
    assert "CLEANUP" in child.lines
    assert "RESTORED" in child.lines
    assert child.stderr.count("received SIGTERM: stopping") == 1
    assert "forcing" not in child.stderr
    assert "Traceback" not in child.stderr


def test_a_signal_a_library_takes_on_the_loop_is_its_own_until_it_lets_go(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "library_loop_handler")
    child.send(signal.SIGTERM)
    child.wait_for_line("LIBRARY GOT SIGTERM")
    child.wait_for_line("REMOVED")
    assert "received SIGTERM" not in child.stderr  # the library's alone
    # remove_signal_handler() left SIGTERM at its default, which would kill the process with no
    # shutdown: aioboot took it back, so this one stops the program gracefully.
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM, child.stderr
    assert child.lines[-2:] == ["CLEANUP", "RESTORED"]
    assert child.stderr.count("received SIGTERM: stopping") == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_cancels_main_and_not_the_work_the_shutdown_waits_for(
    spawn: Spawn, loop_name: str, signal_path: str, sig: signal.Signals
) -> None:
    child = start(spawn, loop_name, signal_path, "waits_for", stdin=True)
    child.send(sig)
    child.wait_for_line("CLEANUP")  # main was cancelled; the work waits for its line
    child.write_line("GO")
    assert child.finish() == (-sig if sig == signal.SIGINT else EXIT_SIGTERM), child.stderr
    assert child.lines[1:] == ["CLEANUP", "COMMITTED", "HOOK", "RESTORED"]
    assert "shutdown_waits_for" not in child.stderr


def test_a_forced_exit_cancels_the_work_the_shutdown_waits_for_and_names_it(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "waits_for", "timeout=60", stdin=True)
    child.send(signal.SIGINT)
    child.wait_for_line("CLEANUP")
    # The shutdown is waiting for the work now.  (Not at once on CLEANUP: uvloop drops a signal
    # that lands between main's end and the start of the shutdown, its loop stopped between.)
    child.wait_for_stderr("still stopping (Ctrl-C again to force the exit)")
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.stderr
    assert "COMMITTED" not in child.lines
    assert "HOOK" in child.lines  # the hooks still run, each wait ending at once
    assert (
        "running waits_for.<locals>.commit() did not finish before the forced exit "
        "(aioboot.shutdown_waits_for); cancelling it" in child.stderr
    )
