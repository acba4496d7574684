"""systemd's notify protocol, for real: the test binds the datagram socket the way the service
manager does, starts a real program with NOTIFY_SOCKET (and WATCHDOG_USEC) and reads what it
sends, on every loop and both signal paths."""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Optional

import pytest
from conftest import (
    CHILD_TIMEOUT,
    PYTHON,
    Child,
    Spawn,
    assert_child_signal_path,
    posix_only,
    program,
    run_env,
)

import aioboot

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix sockets"),
]

SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # Linux's value; Python does not export it


class Datagram(NamedTuple):
    fields: list[str]
    sent_at: Optional[float]  # the kernel's stamp: when it was queued, not when we read it


class Manager:
    """The receiving end of NOTIFY_SOCKET, as systemd binds it."""

    def __init__(self, address: str) -> None:
        self.name = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        if sys.platform == "linux":
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)

    def receive(self, timeout: float = CHILD_TIMEOUT) -> Optional[Datagram]:
        """The next datagram, or None if none came within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16))
        except (socket.timeout, BlockingIOError):  # BlockingIOError: timeout 0, nothing queued
            return None
        sent_at = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP:
                seconds, micro = struct.unpack("qq", payload[:16])
                sent_at = seconds + micro / 1e6
        return Datagram(data.decode().split("\n"), sent_at)

    def expect(self, first_field: str) -> Datagram:
        received = self.receive()
        assert received is not None, f"no datagram; expected {first_field}"
        assert received.fields[0] == first_field, received
        return received

    def expect_one_of(self, *first_fields: str) -> list[str]:
        received = self.receive()
        assert received is not None, f"no datagram; expected one of {first_fields}"
        assert received.fields[0] in first_fields, received
        return received.fields

    def drain(self) -> list[Datagram]:
        """Everything already queued."""
        queued = []
        while (received := self.receive(timeout=0)) is not None:
            queued.append(received)
        return queued

    def until_exit(self, child: Child) -> tuple[int, list[list[str]]]:
        """Every datagram sent until the child exits (each send precedes the exit)."""
        status = child.finish()
        return status, [d.fields for d in self.drain()]


@pytest.fixture(params=["path", "abstract"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Manager]:
    if request.param == "path":
        address = str(tmp_path / "notify")
    else:
        address = f"@aioboot-test-{uuid.uuid4().hex}"
    manager = Manager(address)
    yield manager
    manager.sock.close()


def start(
    spawn: Spawn,
    manager: Manager,
    loop_name: str,
    *options: str,
    signal_path: str = "loop",
    stdin: bool = False,
    **env: str,
) -> Child:
    environment = run_env(loop_name, signal_path, NOTIFY_SOCKET=manager.name, **env)
    for inherited in ("WATCHDOG_USEC", "WATCHDOG_PID"):  # from a test run under systemd
        if inherited not in env:
            environment.pop(inherited, None)
    child: Child = spawn(
        [PYTHON, program("production.py"), "serve", *options], env=environment, stdin=stdin
    )
    child.wait_for_line("READY")
    assert_child_signal_path(child, signal_path)
    return child


def without_pings(datagrams: list[list[str]]) -> list[list[str]]:
    return [d for d in datagrams if d != ["WATCHDOG=1"]]


@posix_only
def test_ready_then_stopping_then_each_shutdown_step_then_exit(
    spawn: Spawn, manager: Manager, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, manager, loop_name, "timeout=5", signal_path=signal_path)
    assert manager.expect("READY=1").fields == ["READY=1", "STATUS=serving"]
    child.send(signal.SIGTERM)
    status, datagrams = manager.until_exit(child)
    assert status == 0
    extend = "EXTEND_TIMEOUT_USEC=6000000"  # shutdown_timeout 5 s, + 1 s for the step's report
    assert datagrams == [
        ["STOPPING=1"],
        [extend, "STATUS=stopping: waiting for main to return"],
        [extend, "STATUS=stopping: running shutdown hooks"],
        [extend, "STATUS=stopping: cancelling remaining tasks"],
        [extend, "STATUS=stopping: finalizing async generators"],
        [extend, "STATUS=stopping: shutting the default executor down"],
        ["STATUS=stopping: reporting unretrieved task exceptions"],
    ]


@posix_only
def test_an_unbounded_shutdown_never_extends_the_managers_timeout(
    spawn: Spawn, manager: Manager, loop_name: str
) -> None:
    child = start(spawn, manager, loop_name, "timeout=none")
    manager.expect("READY=1")
    child.send(signal.SIGINT)
    status, datagrams = manager.until_exit(child)
    assert status == 0
    assert datagrams[0] == ["STOPPING=1"]
    assert not [d for d in datagrams if any(f.startswith("EXTEND_TIMEOUT_USEC") for f in d)]


@pytest.mark.skipif(sys.platform != "linux", reason="kernel send stamps (SO_TIMESTAMP)")
def test_watchdog_pings_come_from_the_loop_every_half_interval(
    spawn: Spawn, manager: Manager, loop_name: str
) -> None:
    interval = 0.1
    child = start(spawn, manager, loop_name, WATCHDOG_USEC=str(int(2 * interval * 1e6)))
    while manager.expect_one_of("WATCHDOG=1", "READY=1") != ["READY=1", "STATUS=serving"]:
        pass  # the first ping comes on the loop's first turn, before or after main's first step
    stamps = [manager.expect("WATCHDOG=1").sent_at for _ in range(5)]
    # Never more often than every half WATCHDOG_USEC (uvloop may fire a timer 1 ms early); a
    # loaded machine can only make them rarer, so only the lower bound is a fact.
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]  # type: ignore[operator]
    assert min(gaps) >= interval - 0.002, gaps
    child.send(signal.SIGTERM)
    status, datagrams = manager.until_exit(child)
    assert status == 0
    assert without_pings(datagrams)[0] == ["STOPPING=1"]


def test_pings_stop_while_a_coroutine_blocks_the_loop_and_resume_after(
    spawn: Spawn, manager: Manager, loop_name: str
) -> None:
    child = start(spawn, manager, loop_name, "block=stdin", stdin=True, WATCHDOG_USEC="100000")
    child.wait_for_line("BLOCKING")
    # Every ping sent before the loop blocked is already queued: a datagram is queued by the
    # sendto() itself, and the child printed BLOCKING after its last ping.
    assert ["WATCHDOG=1"] in [d.fields for d in manager.drain()]
    assert manager.receive(timeout=0.5) is None  # ten intervals: not one ping while blocked
    child.write_line("unblock")
    child.wait_for_line("UNBLOCKED")
    manager.expect("WATCHDOG=1")
    child.send(signal.SIGTERM)
    status, _ = manager.until_exit(child)
    assert status == 0


def test_no_pings_when_the_watchdog_is_meant_for_another_process(
    spawn: Spawn, manager: Manager, loop_name: str
) -> None:
    child = start(spawn, manager, loop_name, WATCHDOG_USEC="20000", WATCHDOG_PID=str(os.getpid()))
    manager.expect("READY=1")
    child.send(signal.SIGTERM)
    status, datagrams = manager.until_exit(child)
    assert status == 0
    assert datagrams[0] == ["STOPPING=1"]
    assert ["WATCHDOG=1"] not in datagrams


def test_ready_sends_ready_and_status_and_does_nothing_without_a_manager(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", manager.name)
    aioboot.ready()
    aioboot.ready(status="two\nlines")
    assert manager.expect("READY=1").fields == ["READY=1"]
    assert manager.expect("READY=1").fields == ["READY=1", "STATUS=two lines"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    aioboot.ready()
    assert manager.receive(timeout=0) is None


def test_a_manager_that_went_away_is_no_error_for_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    monkeypatch.setenv("WATCHDOG_USEC", "20000")

    async def main() -> str:
        aioboot.ready()
        return "fine"

    assert aioboot.run(main()) == "fine"
