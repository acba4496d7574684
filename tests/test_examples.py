"""Every example, run as a real program on every installed loop, does what it says it does."""

from __future__ import annotations

import ast
import asyncio
import signal
from pathlib import Path

import pytest
from conftest import (
    CHILD_TIMEOUT,
    PYTHON,
    ROOT,
    Child,
    Spawn,
    child_env,
    free_port,
    needs_uvloop,
    posix_only,
)


def start(spawn: Spawn, name: str, loop_name: str, *args: str) -> Child:
    return spawn(
        [PYTHON, str(ROOT / "examples" / name), *args], env=child_env(AIOBOOT_LOOP=loop_name)
    )


def run_example(spawn: Spawn, name: str, loop_name: str) -> Child:
    child = start(spawn, name, loop_name)
    assert child.finish() == 0, child.stderr
    return child


def test_every_example_is_tested() -> None:
    tested = {
        "loop_choice.py",
        "stop_on_signal.py",
        "websocket_echo.py",
        "delayed_calls.py",
        "done_pitfall.py",
        "gather_vs_wait.py",
        "wait_any.py",
    }
    assert {p.name for p in (ROOT / "examples").glob("*.py")} == tested


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_every_example_says_what_it_needs_at_the_top(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "Needs " in docstring, docstring
    assert "pip install aioboot-runner" in docstring, docstring


def test_loop_choice_prints_the_loop_it_ran_on(spawn: Spawn, loop_name: str) -> None:
    child = run_example(spawn, "loop_choice.py", loop_name)
    expected = f"loop: {loop_name}."
    assert child.lines[0].startswith(expected), child.lines


@needs_uvloop
def test_loop_choice_without_a_choice_prefers_uvloop_when_installed(spawn: Spawn) -> None:
    child = spawn([PYTHON, str(ROOT / "examples" / "loop_choice.py")], env=child_env())
    assert child.finish() == 0, child.stderr
    assert child.lines == ["loop: uvloop.Loop"]


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_stop_on_signal_cleans_up_and_exits_0(
    spawn: Spawn, loop_name: str, sig: signal.Signals
) -> None:
    child = start(spawn, "stop_on_signal.py", loop_name)
    child.wait_for_line("READY")
    child.send(sig)
    assert child.finish() == 0, child.stderr
    ready = next(i for i, line in enumerate(child.lines) if line.startswith("READY"))
    after_ready = child.lines[ready + 1 :]
    assert after_ready[0] == f"received {sig.name}: stopping"
    assert after_ready[1].startswith("cleanup: heartbeat stopped after ")
    assert after_ready[2] == "cleanup: done; main returns normally, exit code 0"
    assert "Traceback" not in child.stderr


@posix_only
@pytest.mark.parametrize("port_from", ["ephemeral", "argv"])
def test_websocket_echo_echoes_then_closes_clients_with_1001_on_sigterm(
    spawn: Spawn, loop_name: str, port_from: str
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    args = [str(free_port())] if port_from == "argv" else []
    child = start(spawn, "websocket_echo.py", loop_name, *args)
    port = int(child.wait_for_line("READY").split()[1])
    if args:
        assert port == int(args[0])
    messages: list[str | bytes] = ["hello", "second message", b"\x00binary\xff", "é" * 1000]

    async def client() -> tuple[list[str | bytes], int | None]:
        echoed: list[str | bytes] = []
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            for message in messages:
                await ws.send(message)
                echoed.append(await asyncio.wait_for(ws.recv(), CHILD_TIMEOUT))
            child.send(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), CHILD_TIMEOUT)
            return echoed, ws.close_code

    echoed, close_code = asyncio.run(client())
    assert echoed == messages
    assert close_code == 1001
    exit_code = child.finish()
    assert exit_code == 0, child.stderr
    assert "received SIGTERM: closing client connections (1001 going away)" in child.lines
    assert child.lines[-1] == "server closed; exiting 0"


def test_delayed_calls_fire_on_time_and_leave_nothing_pending(spawn: Spawn, loop_name: str) -> None:
    child = run_example(spawn, "delayed_calls.py", loop_name)
    assert child.lines == [
        "call_later: started at or after when(): True",
        "call_at: started at or after when(): True",
        "cancelled before due: cancelled=True task=None",
        "scheduled from another thread: ran in the loop thread: True",
        "pending at exit: cancelled=True task=None",
    ]
    assert child.stderr == ""  # no "never awaited" warning, nothing reported


def test_done_pitfall_gets_the_lost_exception_reported_with_its_traceback(
    spawn: Spawn, loop_name: str
) -> None:
    child = run_example(spawn, "done_pitfall.py", loop_name)
    assert child.lines[0].startswith("pitfall: task.done() is True")
    assert child.lines[1].startswith("fix: checked.exception() = ConnectionError(")
    report = child.stderr
    header = (
        "ERROR aioboot: Task exception was never retrieved: "
        "task 'refresh-cache' running refresh_cache()"
    )
    assert report.count("never retrieved") == 1, report
    assert header in report
    assert "Traceback (most recent call last):" in report
    assert 'raise ConnectionError("cache backend unreachable")' in report
    assert report.rstrip().endswith("ConnectionError: cache backend unreachable")
    assert "refresh-cache-checked" not in report


def test_gather_vs_wait_shows_who_cancels_the_children(spawn: Spawn, loop_name: str) -> None:
    child = run_example(spawn, "gather_vs_wait.py", loop_name)
    assert child.lines == [
        "gather cancelled -> children cancelled: True",
        "wait cancelled -> children still running: True",
        "wait cancelled -> stopped by hand: True",
    ]


def test_wait_any_example_shows_its_three_cases(spawn: Spawn, loop_name: str) -> None:
    child = run_example(spawn, "wait_any.py", loop_name)
    assert child.lines == [
        "work first: done is the work=True result='payload'",
        "work first: watcher cancelled=True",
        "connection lost first: done is the watcher=True work cancelled=True",
        "wait cancelled: work cancelled=True watcher cancelled=True",
    ]
    assert child.stderr == ""
