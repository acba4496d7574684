"""The liveness heartbeat, for real: a child program's loop refreshes its heartbeat file while it
turns and lets it go stale while a coroutine blocks it, the probe tells the two apart, and the
file is gone once the program has ended, however it ended."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import (
    CHILD_TIMEOUT,
    PROGRAMS,
    PYTHON,
    Child,
    Spawn,
    aioboot_reports,
    assert_child_signal_path,
    posix_only,
    program,
    run_env,
)

import aioboot
from aioboot import probe

pytestmark = pytest.mark.timeout(60)

INTERVAL = 0.5  # how often the loop refreshes the file (aioboot._heartbeat.INTERVAL)
POLL = 0.02


def modified(path: Path) -> int:
    return path.stat().st_mtime_ns


def next_refresh(path: Path, after: int) -> int:
    """The file's modification time once it differs from ``after``; fails after CHILD_TIMEOUT."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    pause = threading.Event()
    while time.monotonic() < deadline:
        stamp = modified(path)
        if stamp != after:
            return stamp
        pause.wait(POLL)
    pytest.fail(f"{path} was not refreshed within {CHILD_TIMEOUT} s")


def wait_until_older_than(path: Path, seconds: float) -> None:
    """Let the wall clock pass the file's modification time by ``seconds``: the time a turning
    loop would have refreshed it in several times over.  Fails if the file goes on being
    refreshed for CHILD_TIMEOUT."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    pause = threading.Event()
    while time.time_ns() - modified(path) <= seconds * 1e9:
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was still being refreshed after {CHILD_TIMEOUT} s")
        pause.wait(POLL)


def run_probe(path: Path, max_age: str) -> subprocess.CompletedProcess[str]:
    command = [PYTHON, "-m", "aioboot.probe", str(path), "--max-age", max_age]
    return subprocess.run(
        command, env=run_env("asyncio"), capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )


def start(
    spawn: Spawn,
    loop_name: str,
    path: Path,
    given_as: str,
    *args: str,
    signal_path: str = "loop",
    stdin: bool = False,
) -> Child:
    env = run_env(loop_name, signal_path)
    command = [PYTHON, "-m", "aioboot", "heartbeat:main", *args]
    if given_as == "launcher option":
        command[3:3] = ["--heartbeat-file", str(path)]
    elif given_as == "environment":
        env["AIOBOOT_HEARTBEAT_FILE"] = str(path)
    else:
        command = [PYTHON, program("heartbeat.py"), str(path), *args]
    child = spawn(command, env=env, cwd=PROGRAMS, stdin=stdin)
    assert_child_signal_path(child, signal_path)
    return child


@pytest.mark.parametrize("given_as", ["launcher option", "environment", "argument"])
def test_the_loop_refreshes_the_file_while_it_turns_and_not_while_it_is_blocked(
    spawn: Spawn, loop_name: str, tmp_path: Path, given_as: str
) -> None:
    path = tmp_path / "heartbeat"
    child = start(spawn, loop_name, path, given_as, stdin=True)
    child.wait_for_line("TURNING")
    first = next_refresh(path, modified(path))
    next_refresh(path, first)  # again: a timer that goes on firing, not one touch
    done = run_probe(path, "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"alive: {path} was refreshed ")

    child.write_line("block")
    child.wait_for_line("BLOCKING")
    # From here the loop thread is blocked in readline() until the test writes a line: any
    # refresh would have to come from somewhere else.
    stamp = modified(path)
    wait_until_older_than(path, 3 * INTERVAL)
    assert modified(path) == stamp
    done = run_probe(path, "1")
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"not alive: {path} was last refreshed ")

    child.write_line("unblock")
    child.wait_for_line("UNBLOCKED")
    next_refresh(path, stamp)  # it turns again
    child.send(signal.SIGTERM)
    # The program awaits its stop future and returns: a script exits 0, the launcher by SIGTERM.
    expected = 0 if given_as == "argument" else -signal.SIGTERM
    assert child.finish() == expected, child.transcript()
    assert not path.exists()


@posix_only
@pytest.mark.parametrize("ending", ["stop", "forced exit"])
def test_the_file_is_removed_when_the_program_ends(
    spawn: Spawn, loop_name: str, signal_path: str, tmp_path: Path, ending: str
) -> None:
    path = tmp_path / "heartbeat"
    args = ["hang"] if ending == "forced exit" else []
    child = start(spawn, loop_name, path, "launcher option", *args, signal_path=signal_path)
    child.wait_for_line("UNBLOCKED")  # no stdin: both reads return at once
    assert path.exists()
    child.send(signal.SIGINT)
    if ending == "forced exit":
        child.wait_for_line("HOOK")
        child.send(signal.SIGINT)  # the second Ctrl-C: every wait ends at once
        assert child.finish() == -signal.SIGINT, child.transcript()
        assert "forcing the exit" in child.stderr
    else:
        assert child.finish() == -signal.SIGINT, child.transcript()
    assert not path.exists()


def test_a_runner_has_the_file_from_its_start_to_its_close(tmp_path: Path, loop_name: str) -> None:
    path = tmp_path / "heartbeat"

    async def exists() -> bool:
        return path.exists()

    with aioboot.Runner(heartbeat_file=path, loop=loop_name) as runner:
        assert path.exists()
        assert runner.run(exists())
        assert runner.run(exists())
    assert not path.exists()


def test_a_file_removed_while_the_program_runs_is_written_again(
    tmp_path: Path, loop_name: str
) -> None:
    path = tmp_path / "heartbeat"

    async def main() -> None:
        path.unlink()
        while not path.exists():
            await asyncio.sleep(POLL)

    aioboot.run(asyncio.wait_for(main(), CHILD_TIMEOUT), heartbeat_file=path, loop=loop_name)
    assert not path.exists()


def test_a_file_that_cannot_be_refreshed_is_said_once_and_the_program_goes_on(
    tmp_path: Path, loop_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aioboot")
    directory = tmp_path / "run"
    directory.mkdir()
    path = directory / "heartbeat"

    async def main() -> str:
        path.unlink()
        directory.rmdir()
        # Timers run in the order they are due: this sleep ends after several refreshes.
        await asyncio.sleep(4 * INTERVAL)
        return "went on"

    assert aioboot.run(main(), heartbeat_file=path, loop=loop_name) == "went on"
    [warning] = aioboot_reports(caplog, "heartbeat file")
    assert warning.getMessage().startswith(f"the heartbeat file {path} cannot be refreshed: ")


def test_a_file_that_cannot_be_written_refuses_the_start(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "heartbeat"
    coro = asyncio.sleep(0)
    message = f"aioboot.run\\(\\): heartbeat_file '{path}' cannot be written: No such file"
    with pytest.raises(FileNotFoundError, match=message):
        aioboot.run(coro, heartbeat_file=path)
    assert coro.cr_frame is None  # closed, not left unawaited
    with pytest.raises(IsADirectoryError, match="cannot be written: Is a directory"):
        aioboot.Runner(heartbeat_file=tmp_path).get_loop()


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (3, TypeError, "heartbeat_file must be a path, not 3"),
        (b"/tmp/x", TypeError, "heartbeat_file must be a path, not b'/tmp/x'"),
        ("", ValueError, "heartbeat_file must be a path, not ''"),
    ],
)
def test_a_bad_heartbeat_file_is_refused_before_the_run(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        aioboot.Runner(heartbeat_file=value)  # type: ignore[arg-type]


def test_the_environment_gives_the_file_when_the_argument_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "heartbeat"
    monkeypatch.setenv("AIOBOOT_HEARTBEAT_FILE", str(path))

    async def exists() -> bool:
        return path.exists()

    assert aioboot.run(exists())
    monkeypatch.setenv("AIOBOOT_HEARTBEAT_FILE", "")
    assert not aioboot.run(exists())


def test_a_relative_path_stays_the_same_file_when_the_program_changes_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()

    def in_the_new_directory() -> bool:
        return Path("heartbeat").exists()

    async def move_away() -> bool:
        os.chdir("elsewhere")
        await asyncio.sleep(2 * INTERVAL)  # refreshes that must find the file where it was
        return in_the_new_directory()

    assert not aioboot.run(move_away(), heartbeat_file="heartbeat")
    assert not (tmp_path / "heartbeat").exists()  # and the one removed at the end


@pytest.mark.parametrize(
    ("option", "source"),
    [("--heartbeat-file", "--heartbeat-file"), (None, "$AIOBOOT_HEARTBEAT_FILE")],
)
def test_the_launcher_refuses_a_file_it_cannot_write_in_one_line_before_importing(
    tmp_path: Path, option: str | None, source: str
) -> None:
    path = tmp_path / "missing" / "heartbeat"
    env = run_env("asyncio")
    command = [PYTHON, "-m", "aioboot", "anything:main"]  # importing it would fail otherwise
    if option is None:
        env["AIOBOOT_HEARTBEAT_FILE"] = str(path)
    else:
        command[3:3] = [option, str(path)]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"aioboot: error: {source} '{path}' cannot be written: No such file or directory\n"
    )


def test_the_launcher_s_check_leaves_no_file_when_the_program_fails_to_import(
    tmp_path: Path,
) -> None:
    path = tmp_path / "heartbeat"
    command = [PYTHON, "-m", "aioboot", "--heartbeat-file", str(path), "anything:main"]
    done = subprocess.run(
        command,
        env=run_env("asyncio"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert done.returncode == 2
    assert "module 'anything' not found" in done.stderr
    assert not path.exists()


# -- the probe -----------------------------------------------------------------------------------


def test_the_probe_says_alive_for_a_fresh_file_and_not_alive_for_a_stale_or_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "heartbeat"
    path.touch()
    assert probe.main([str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"alive: {path} was refreshed ")
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert probe.main([str(path), "--max-age", "3599"]) == 1
    assert capsys.readouterr().err.startswith(f"not alive: {path} was last refreshed 3600.")
    path.unlink()
    assert probe.main([str(path)]) == 1
    assert capsys.readouterr().err == f"not alive: {path} does not exist\n"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--max-age", "0.5", "x"], "must be at least 1 (the file is refreshed every 0.5 s)"),
        (["--max-age", "soon", "x"], "must be a number of seconds, not 'soon'"),
        (["--max-age", "inf", "x"], "must be at least 1"),
        ([], "the following arguments are required: PATH"),
    ],
)
def test_the_probe_refuses_bad_arguments_with_status_2(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        probe.main(args)
    assert exited.value.code == 2
    assert error in capsys.readouterr().err
