"""No orphans: the child processes a program started through its loop and left running are stopped
by the shutdown (SIGTERM, then SIGKILL) and reaped, on every loop, as a script and through the
launcher, after a signal to the program's pid and after Ctrl-C to its whole process group, and as
PID 1 of a PID namespace (a container's init).

``programs/children.py`` starts ``programs/child.py`` twice: one ignores SIGINT and SIGTERM, the
other ignores SIGINT and exits on SIGTERM, saying so.  A Ctrl-C to the group reaches both and
stops neither, so whatever stops them is the shutdown.  It prints, once run() is over, whether
each pid is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import LOOPS, PROGRAMS, PYTHON, Child, Spawn, posix_only, run_env

import aioboot
from aioboot import _children

pytestmark = [pytest.mark.timeout(60)]

TIMEOUT = "3"  # the shutdown_timeout: how long the child that ignores SIGTERM gets (0.5 s was
# too short for the polite child to be seen exiting on a loaded CI machine, on 3.15)


class Case(NamedTuple):
    loop: str
    runner: str  # "script" or "launcher"
    signal_to: str  # "pid" (SIGTERM, as kill and supervisors send it) or "group" (Ctrl-C)

    def __str__(self) -> str:
        return f"{self.loop}-{self.runner}-{self.signal_to}"


CASES = [
    Case(loop, runner, to)
    for loop in LOOPS
    for runner in ("script", "launcher")
    for to in ("pid", "group")
]


def command(case: Case) -> list[str]:
    if case.runner == "script":
        return [PYTHON, str(PROGRAMS / "children.py")]
    return [PYTHON, "-m", "aioboot", "--shutdown-timeout", TIMEOUT, "children:main"]


def expected_status(case: Case) -> int:
    if case.signal_to == "group":
        return -signal.SIGINT  # KeyboardInterrupt ends a script by SIGINT too
    return -signal.SIGTERM if case.runner == "launcher" else 128 + signal.SIGTERM


def kill_leftovers(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def children_of(child: Child) -> list[int]:
    return [int(pid) for pid in child.wait_for_line("CHILDREN").split()[1:]]


def assert_stopped_and_named(child: Child, pids: list[int]) -> None:
    ignores, exits_on_term = pids[:2]
    assert f"GONE {ignores}" in child.lines, child.transcript()
    assert f"GONE {exits_on_term}" in child.lines, child.transcript()
    # SIGTERM first: the polite child said so and was not killed, the other one was, and named.
    assert f"CHILD {exits_on_term} GOT SIGTERM" in child.stderr, child.transcript()
    assert f"child process {exits_on_term} " not in child.stderr, child.transcript()
    killed = f"child process {ignores} ({PYTHON} {PROGRAMS / 'child.py'} ignores-term)"
    assert killed in child.stderr, child.transcript()
    assert f"did not exit within {TIMEOUT} s of SIGTERM; killed it (SIGKILL)" in child.stderr


@posix_only
@pytest.mark.parametrize("case", CASES, ids=str)
def test_children_left_running_are_stopped_then_killed_and_reaped(spawn: Spawn, case: Case) -> None:
    env = run_env(case.loop, CHILDREN_TIMEOUT=TIMEOUT)
    child = spawn(command(case), env=env, cwd=PROGRAMS, new_session=True)
    pids = children_of(child)
    try:
        if case.signal_to == "group":
            child.send_to_group(signal.SIGINT)  # the program and its children, as a terminal does
        else:
            child.send(signal.SIGTERM)
        assert child.finish() == expected_status(case), child.transcript()
        assert_stopped_and_named(child, pids)
        # Only a script stopped by Ctrl-C has one: Python's report of its KeyboardInterrupt.
        tracebacks = 1 if (case.runner, case.signal_to) == ("script", "group") else 0
        assert child.stderr.count("Traceback") == tracebacks, child.stderr
    finally:
        kill_leftovers(pids)


@posix_only
@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_child_in_a_session_of_its_own_is_left_alone(spawn: Spawn, loop_name: str) -> None:
    env = run_env(loop_name, CHILDREN_TIMEOUT=TIMEOUT, CHILDREN_DETACHED="1")
    child = spawn([PYTHON, str(PROGRAMS / "children.py")], env=env, cwd=PROGRAMS)
    pids = children_of(child)
    detached = pids[2]
    try:
        child.send(signal.SIGTERM)
        child.wait_for_line(f"LEFT {detached}")  # after the shutdown, at the program's exit
        kill_leftovers([detached])  # it holds the program's stderr open
        assert child.finish() == 128 + signal.SIGTERM, child.transcript()
        assert f"CHILD {detached} GOT SIGTERM" not in child.stderr
        assert f"child process {detached} " not in child.stderr
        assert_stopped_and_named(child, pids)
    finally:
        kill_leftovers(pids)


def pid_namespaces_work() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0


@pytest.mark.skipif(not pid_namespaces_work(), reason="needs root and unshare --pid (Linux)")
@pytest.mark.parametrize("loop_name", LOOPS)
def test_as_pid_1_of_a_container_the_children_are_stopped_and_reaped(
    spawn: Spawn, loop_name: str
) -> None:
    args = ["unshare", "--pid", "--fork", "--mount-proc", *command(Case(loop_name, "launcher", ""))]
    unshare = spawn(args, env=run_env(loop_name), cwd=PROGRAMS)
    pids = children_of(unshare)  # as the namespace numbers them: its init is 1
    init = int(Path(f"/proc/{unshare.proc.pid}/task/{unshare.proc.pid}/children").read_text())
    # A container runtime's SIGTERM to the container's init.
    os.kill(init, signal.SIGTERM)
    # PID 1 cannot end by a signal it sends itself (the kernel drops it): its exit status says it.
    assert unshare.finish() == 128 + signal.SIGTERM, unshare.transcript()
    assert pids[0] != 1
    assert_stopped_and_named(unshare, pids)


def test_how_each_platform_stops_a_child() -> None:
    posix = _children.how_to_stop({}, windows=False)
    assert posix is not None
    assert (posix.ask, posix.kill_name) == (signal.SIGTERM, "SIGKILL")
    assert _children.how_to_stop({"start_new_session": True}, windows=False) is None
    assert _children.how_to_stop({"process_group": 0}, windows=False) is None
    own_group = {"creationflags": _children.CREATE_NEW_PROCESS_GROUP}
    windows = _children.how_to_stop(own_group, windows=True)
    assert windows is not None
    assert (windows.ask_name, windows.kill_name) == ("CTRL_BREAK_EVENT", "TerminateProcess")
    outside = _children.how_to_stop({}, windows=True)
    assert outside is not None
    assert (outside.ask, outside.kill_name) == (None, "TerminateProcess")
    detached = {"creationflags": _children.DETACHED_PROCESS}
    assert _children.how_to_stop(detached, windows=True) is None


@posix_only
@pytest.mark.parametrize("loop_name", LOOPS)
def test_on_windows_a_child_outside_its_own_process_group_is_terminated_at_once(
    loop_name: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # The Windows path, taken on Linux: no console event can reach such a child alone, so it is
    # not asked; transport.kill() (TerminateProcess there, SIGKILL here) ends it at once.
    monkeypatch.setattr(_children.ChildrenToStop, "_windows", True)

    async def main() -> int:
        child = await asyncio.create_subprocess_exec(
            PYTHON, str(PROGRAMS / "child.py"), "exits-on-term", stdout=asyncio.subprocess.PIPE
        )
        assert child.stdout is not None
        await child.stdout.readline()
        return child.pid

    pid = aioboot.run(main(), loop=loop_name, shutdown_timeout=30)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
    assert "GOT SIGTERM" not in capfd.readouterr().err
    assert f"child process {pid} (" in caplog.text
    assert (
        "could not be asked to stop (not started with CREATE_NEW_PROCESS_GROUP); "
        "killed it (TerminateProcess)"
    ) in caplog.text


@pytest.mark.parametrize("loop_name", LOOPS)
def test_children_that_exited_are_let_go_and_left_untouched(
    loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> list[int]:
        statuses = []
        for _ in range(3):
            child = await asyncio.create_subprocess_exec(PYTHON, "-c", "pass")
            statuses.append(await child.wait())
        return statuses

    with caplog.at_level("DEBUG", logger="aioboot"):
        assert aioboot.run(main(), loop=loop_name) == [0, 0, 0]
    assert "child process" not in caplog.text
    assert "stopping the child processes" not in caplog.text
