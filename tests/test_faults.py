"""The fault matrix: a signal or an error in every phase of a run, in a real child process, on
every loop.  Each row asserts what happened AND that nothing was lost: main's ``finally``, a
shutdown hook and an async generator's cleanup each leave a marker file, and every marker must
exist unless the row says the exit was forced (then the ones that need no await still exist)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import PYTHON, Child, Spawn, child_env, posix_only, program

pytestmark = pytest.mark.timeout(60)

EVERY_MARKER = {"finally", "hook", "agen"}
EXIT_SIGTERM = 128 + signal.SIGTERM


class Row:
    def __init__(
        self, spawn: Spawn, loop_name: str, tmp_path: Path, row: str, timeout: float = 5
    ) -> None:
        self.markers = tmp_path
        env = child_env(AIOBOOT_LOOP=loop_name, MARKERS=str(tmp_path), FAULT_TIMEOUT=str(timeout))
        self.child: Child = spawn([PYTHON, program("faults.py"), row], env=env)

    def wait_for(self, line: str) -> None:
        self.child.wait_for_line(line)

    def send(self, sig: int) -> None:
        self.child.send(sig)

    def finish(self) -> int:
        return self.child.finish()

    @property
    def left(self) -> set[str]:
        return {p.name for p in self.markers.iterdir()}

    @property
    def stderr(self) -> str:
        return self.child.stderr

    def tracebacks(self) -> int:
        return self.stderr.count("Traceback (most recent call last)")


@pytest.fixture
def row(spawn: Spawn, loop_name: str, tmp_path: Path) -> object:
    def start(name: str, timeout: float = 5) -> Row:
        return Row(spawn, loop_name, tmp_path, name, timeout)

    return start


# -- signals in every phase ---------------------------------------------------------------------


@posix_only
def test_signal_during_start_up_stops_cleanly(row: object) -> None:
    r: Row = row("startup_signal")  # type: ignore[operator]
    assert r.finish() == EXIT_SIGTERM
    assert r.tracebacks() == 0
    assert "never awaited" not in r.stderr
    # On the loop path main gets its first step before the signal is read; on the fallback path
    # it is cancelled before it starts.  Either way, whatever started was cleaned up.
    if "STARTED" in r.child.lines:
        assert r.left == EVERY_MARKER


@pytest.mark.parametrize(
    ("name", "in_step"),
    [
        ("signal_in_hook", "IN-HOOK"),
        ("signal_while_cancelling", "CANCELLING"),
        ("signal_in_executor", "shutdown: shutting the default executor down"),
    ],
)
@posix_only
def test_ctrl_c_after_a_signal_during_a_shutdown_step_forces_the_exit(
    row: object, name: str, in_step: str
) -> None:
    r: Row = row(name, timeout=60)  # only the forced exit can end it within the test's timeout
    r.wait_for(in_step)
    r.send(signal.SIGTERM)  # a first signal, even during the shutdown, never forces
    r.wait_for("received SIGTERM: stopping")
    r.send(signal.SIGINT)
    # Forced by SIGINT: KeyboardInterrupt, which ends CPython by SIGINT.
    assert r.finish() == -signal.SIGINT
    assert "SIGINT while stopping: forcing the exit" in r.stderr
    assert "before the forced exit" in r.stderr  # the culprit is still named
    assert r.left == EVERY_MARKER  # forced, yet cleanup that needs no await still ran
    assert "RESTORED" in r.child.lines


# -- things that refuse to stop -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "culprit"),
    [
        (
            "stuck_task",
            "task 'refuses' running stuck_task.<locals>.refuses() did not finish within 0.3 s",
        ),
        (
            "stuck_hook",
            "shutdown hook __main__:stuck_hook.<locals>.hangs did not finish within 0.3 s",
        ),
        (
            "stuck_executor",
            "default-executor job threading:Event.wait in thread 'asyncio_0' "
            "did not finish within 0.3 s",
        ),
    ],
)
def test_work_that_never_ends_is_named_after_the_timeout(
    row: object, name: str, culprit: str
) -> None:
    r: Row = row(name, timeout=0.3)
    assert r.finish() == 0
    assert culprit in r.stderr
    assert r.left == EVERY_MARKER


# -- exceptions everywhere, each reported once --------------------------------------------------


def test_exception_in_main_propagates_once(row: object) -> None:
    r: Row = row("raise_main")
    assert r.finish() == 1
    assert r.tracebacks() == 1
    assert "ValueError: from main" in r.stderr
    assert r.left == EVERY_MARKER


@pytest.mark.parametrize(
    ("name", "report"),
    [
        ("raise_task", "Task exception was never retrieved: task 'failing' running fail()"),
        ("raise_hook", "shutdown hook __main__:raise_hook.<locals>.broken_hook failed"),
        ("raise_done_callback", "ValueError: from a done-callback"),
        ("raise_call_soon", "ValueError: from call_soon"),
    ],
)
def test_exception_elsewhere_is_reported_once_with_traceback(
    row: object, name: str, report: str
) -> None:
    r: Row = row(name)
    assert r.finish() == 0
    assert r.stderr.count(report) == 1
    assert r.tracebacks() == 1
    assert r.left == EVERY_MARKER


@posix_only
def test_exception_on_the_signal_triggered_path_propagates_once(row: object) -> None:
    r: Row = row("raise_after_signal")
    r.wait_for("READY")
    r.send(signal.SIGTERM)
    assert r.finish() == 1
    assert r.tracebacks() == 1
    assert "ValueError: while stopping" in r.stderr
    assert r.left == EVERY_MARKER


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("systemexit_main", 3),
        ("systemexit_task", 4),
        ("keyboardinterrupt_main", -signal.SIGINT),
        ("keyboardinterrupt_task", -signal.SIGINT),
    ],
)
@posix_only  # an uncaught KeyboardInterrupt ends a POSIX process by SIGINT
def test_systemexit_and_keyboardinterrupt_propagate_like_asyncio_run(
    row: object, name: str, code: int
) -> None:
    r: Row = row(name)
    assert r.finish() == code
    assert r.left == EVERY_MARKER


def test_stop_on_error_raises_the_first_failure_and_reports_the_second(row: object) -> None:
    r: Row = row("two_failures")
    assert r.finish() == 1
    assert "ValueError: first" in r.stderr
    assert r.stderr.count("Task exception was never retrieved: task 'second'") == 1
    assert r.tracebacks() == 2  # the raised one, and the reported one
    assert r.left == EVERY_MARKER


# -- stopping and restarting --------------------------------------------------------------------


def test_request_stop_from_another_thread_twice(row: object) -> None:
    r: Row = row("request_stop_from_thread")
    assert r.finish() == 0
    assert "STOP None" in r.child.lines
    assert r.left == EVERY_MARKER


def test_run_twice_in_one_process_starts_clean_each_time(row: object) -> None:
    r: Row = row("run_twice")
    assert r.finish() == 0
    assert r.child.lines.count("RESTORED") == 2
    assert r.stderr.count("Task exception was never retrieved") == 2
    assert r.left == {f"{m}-{n}" for m in ("finally", "hook") for n in (1, 2)} | {"agen"}


def test_the_programs_own_task_factory_and_exception_handler_are_kept(row: object) -> None:
    r: Row = row("own_factory_and_handler")
    assert r.finish() == 0
    assert "FACTORY fail" in r.child.lines
    handled = [line for line in r.child.lines if line.startswith("HANDLER")]
    assert handled == [
        "HANDLER ValueError Task exception was never retrieved: task 'failing' running fail()"
    ]
    assert "never retrieved" not in r.stderr  # went to the program's handler instead
    assert r.left == EVERY_MARKER
