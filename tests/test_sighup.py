"""SIGHUP: the ``aioboot.on_reload()`` callbacks when there are any, else a graceful stop like
SIGTERM's; left alone when ignored (nohup) or the program's own.  Real signals to a real program
(tests/programs/orchestrated.py) on every loop and both signal paths; the datagrams systemd's
``Type=notify-reload`` reads, on a socket bound as systemd binds it; the documentation's unit
checked by ``systemd-analyze verify``."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PROGRAMS, PYTHON, Child, Spawn, posix_only, run_env
from test_activation import units_in_the_docs, write_units
from test_drain import ask, start
from test_drain import manager as manager  # the fixture, shared
from test_notify import Manager

import aioboot

pytestmark = pytest.mark.timeout(60)

EXIT_SIGTERM = 128 + signal.SIGTERM
NOTIFY_RELOAD_SINCE = 253  # the systemd version that knows Type=notify-reload


def stop_with_sigterm(child: Child) -> None:
    child.send(signal.SIGTERM)
    assert child.finish() == EXIT_SIGTERM, child.transcript()
    assert child.lines[-2:] == ["CANCELLED", "RESTORED"], child.transcript()


# -- with reload callbacks -----------------------------------------------------------------------


@posix_only
def test_sighup_runs_the_reload_callbacks_in_order_and_the_program_goes_on(
    spawn: Spawn,
    manager: Manager,
    loop_name: str,
    signal_path: str,
) -> None:
    env = {"NOTIFY_SOCKET": manager.name}
    child = start(spawn, loop_name, signal_path, "reload=sync,async", env=env)
    for _ in range(2):  # each SIGHUP is a reload, not only the first
        child.send(signal.SIGHUP)
        manager.expect("RELOADING=1")
        child.wait_for_line("INFO aioboot: received SIGHUP: reloading")
        child.wait_for_line("RELOAD sync")
        child.wait_for_line("RELOAD async")
        manager.expect("READY=1")  # sent as the reload ends: the next SIGHUP is a new one
    assert ask(child, "ping", "PONG") == "PONG False"
    stop_with_sigterm(child)


@posix_only
def test_a_failing_reload_callback_is_reported_and_the_others_still_run(
    spawn: Spawn, loop_name: str
) -> None:
    child = start(spawn, loop_name, "loop", "reload=fail,sync")
    child.send(signal.SIGHUP)
    child.wait_for_line("ERROR aioboot: reload callback __main__:reload_fail failed")
    child.wait_for_line("RuntimeError: bad configuration")
    child.wait_for_line("RELOAD sync")
    assert ask(child, "ping", "PONG") == "PONG False"
    stop_with_sigterm(child)


@posix_only
def test_an_async_reload_callback_is_bounded_by_the_shutdown_timeout(
    spawn: Spawn, loop_name: str
) -> None:
    child = start(spawn, loop_name, "loop", "reload=stuck,sync", "timeout=0.2")
    child.send(signal.SIGHUP)
    child.wait_for_line("RELOAD stuck")
    child.wait_for_line(
        "ERROR aioboot: reload callback __main__:reload_stuck did not finish within 0.2 s"
    )
    child.wait_for_line("RELOAD sync")
    stop_with_sigterm(child)


@posix_only
def test_sighups_during_a_reload_are_coalesced_into_one_more_reload(
    spawn: Spawn,
    manager: Manager,
    loop_name: str,
    signal_path: str,
) -> None:
    child = start(spawn, loop_name, signal_path, "reload=held", env={"NOTIFY_SOCKET": manager.name})
    child.send(signal.SIGHUP)
    manager.expect("RELOADING=1")
    child.wait_for_line("RELOAD held 1")
    for _ in range(2):
        child.send(signal.SIGHUP)
        child.wait_for_line("INFO aioboot: received SIGHUP during a reload: reloading again")
    child.write_line("release")
    assert manager.expect("READY=1").fields == ["READY=1"]
    manager.expect("RELOADING=1")
    child.wait_for_line("RELOAD held 2")
    child.write_line("release")
    manager.expect("READY=1")
    stop_with_sigterm(child)
    assert "RELOAD held 3" not in child.lines
    assert not [d for d in manager.drain() if d.fields[0] == "RELOADING=1"]


@posix_only
def test_a_reload_is_announced_reloading_with_its_monotonic_time_then_ready(
    spawn: Spawn,
    manager: Manager,
    loop_name: str,
    signal_path: str,
) -> None:
    child = start(spawn, loop_name, signal_path, "reload=sync", env={"NOTIFY_SOCKET": manager.name})
    # systemd's Type=notify-reload compares MONOTONIC_USEC with CLOCK_MONOTONIC when it sent
    # SIGHUP: the stamp must be on that clock, taken after the signal.
    sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    child.send(signal.SIGHUP)
    reloading = manager.expect("RELOADING=1").fields
    received = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert len(reloading) == 2, reloading
    key, _, usec = reloading[1].partition("=")
    assert key == "MONOTONIC_USEC"
    assert sent <= int(usec) <= received
    assert manager.expect("READY=1").fields == ["READY=1"]
    child.send(signal.SIGTERM)
    status, datagrams = manager.until_exit(child)
    assert status == EXIT_SIGTERM
    assert datagrams[0] == ["STOPPING=1"]


@posix_only
def test_sighup_while_stopping_does_not_reload(spawn: Spawn, loop_name: str) -> None:
    child = start(spawn, loop_name, "loop", "reload=sync", "drain=60")
    child.send(signal.SIGTERM)
    child.wait_for_line("WARNING aioboot: received SIGTERM: draining")
    child.send(signal.SIGHUP)
    child.wait_for_line("INFO aioboot: received SIGHUP while stopping: not reloading")
    child.send(signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.transcript()
    assert "RELOAD sync" not in child.lines


# -- without reload callbacks: a stop ------------------------------------------------------------


@posix_only
def test_sighup_without_reload_callbacks_stops_gracefully_and_decides_the_exit(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path)
    child.send(signal.SIGHUP)
    assert child.finish() == 128 + signal.SIGHUP, child.transcript()
    assert "WARNING aioboot: received SIGHUP: stopping" in child.lines
    assert child.lines[-2:] == ["CANCELLED", "RESTORED"]
    assert "Traceback" not in child.stderr


@posix_only
def test_sighup_as_a_stop_drains_like_sigterm(spawn: Spawn, loop_name: str) -> None:
    child = start(spawn, loop_name, "loop", "drain=0.2", "watch=1")
    child.send(signal.SIGHUP)
    assert child.finish() == 128 + signal.SIGHUP, child.transcript()
    assert any(
        line.startswith("WARNING aioboot: received SIGHUP: draining") for line in child.lines
    )
    assert child.lines.index("NOTICED") < child.lines.index("CANCELLED")


@posix_only
def test_the_launcher_ends_by_sighup_after_the_shutdown(spawn: Spawn, loop_name: str) -> None:
    child = spawn(
        [PYTHON, "-m", "aioboot", "orchestrated:serve"], env=run_env(loop_name), cwd=PROGRAMS
    )
    child.wait_for_line("READY")
    child.send(signal.SIGHUP)
    assert child.finish() == -signal.SIGHUP, child.transcript()
    assert child.lines[-1] == "CANCELLED"


@posix_only
@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
def test_a_sighup_ignored_with_nohup_stays_ignored(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "reload=sync", prefix=("nohup",))
    child.send(signal.SIGHUP)  # discarded by the kernel: nothing is pending after kill()
    assert ask(child, "ping", "PONG") == "PONG False"
    stop_with_sigterm(child)
    assert "RELOAD sync" not in child.lines


@posix_only
def test_a_sighup_handler_of_the_programs_own_is_left_to_it(
    spawn: Spawn, loop_name: str, signal_path: str
) -> None:
    child = start(spawn, loop_name, signal_path, "reload=sync", "hup=own")
    child.send(signal.SIGHUP)
    child.wait_for_line("OWN-HUP")
    assert ask(child, "ping", "PONG") == "PONG False"
    stop_with_sigterm(child)  # RESTORED: the program's handler is in place after the run
    assert "RELOAD sync" not in child.lines


# -- on_reload() in this process -----------------------------------------------------------------


def test_on_reload_returns_the_callback_so_it_works_as_a_decorator() -> None:
    async def main() -> None:
        @aioboot.on_reload
        def reread() -> None:
            pass

        assert callable(reread)

    aioboot.run(main())


def test_on_reload_refuses_a_non_callable_and_a_call_outside_a_run() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match=r"aioboot.on_reload\(\) needs a callable, not 42"):
            aioboot.on_reload(42)  # type: ignore[type-var]

    aioboot.run(main())
    with pytest.raises(RuntimeError, match=r"aioboot.on_reload\(\) must be called inside"):
        aioboot.on_reload(lambda: None)
    with pytest.raises(RuntimeError, match=r"aioboot.on_reload\(\) must be called inside"):
        asyncio.run(_register_in_plain_asyncio())


async def _register_in_plain_asyncio() -> None:
    aioboot.on_reload(lambda: None)


# -- the systemd unit ----------------------------------------------------------------------------


def systemd_version(tool: str) -> int:
    done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
    found = re.match(r"systemd (\d+)", done.stdout)
    assert found is not None, done.stdout
    return int(found.group(1))


def verify(tool: str, unit: Path) -> list[str]:
    """What ``systemd-analyze verify`` says about ``unit``: nothing, for a unit it accepts."""
    done = subprocess.run(
        [tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if line.strip()]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="needs systemd-analyze (Debian's systemd package)",
)
def test_the_notify_reload_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool is not None
    units = units_in_the_docs("reload.md")
    assert list(units) == ["myapp.service"]
    write_units(units, tmp_path)
    unit = tmp_path / "myapp.service"
    complaints = verify(tool, unit)
    if systemd_version(tool) >= NOTIFY_RELOAD_SINCE:
        assert complaints == []
    else:
        # An older systemd-analyze checks every other line, and says it ignores only the type.
        assert len(complaints) == 1, complaints
        assert complaints[0].endswith(": Failed to parse service type, ignoring: notify-reload")
    # It does read the unit: a misspelt key is reported.
    unit.write_text(unit.read_text().replace("TimeoutStopSec=", "TimeoutStopSek="))
    assert any("Unknown key 'TimeoutStopSek'" in line for line in verify(tool, unit))
