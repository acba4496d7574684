"""The Windows path, proven where it can be: loop choice on any OS, the console signal on Windows.

Loop choice reads ``sys.platform`` and ``sys.implementation`` when it is made, so on Linux a
patched ``sys.platform`` plus a stand-in ``winloop`` module exercise exactly the code a Windows
user runs.  Delivering a real console control event needs a real Windows console: that test runs
on the Windows CI legs and is skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from typing import IO

import pytest
from conftest import CHILD_TIMEOUT, PYTHON, ROOT, child_env, program

import aioboot
from aioboot import _loops


class StandInWinloop(types.ModuleType):
    """Plays ``winloop``: makes ordinary asyncio loops, but remembers each one it made."""

    def __init__(self) -> None:
        super().__init__("winloop")
        self.made: list[asyncio.AbstractEventLoop] = []

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        self.made.append(loop)
        return loop


def implementation_named(name: str) -> types.SimpleNamespace:
    """A copy of ``sys.implementation`` under another name."""
    return types.SimpleNamespace(**{**vars(sys.implementation), "name": name})


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process looks like Windows CPython to aioboot's loop choice."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "implementation", implementation_named("cpython"))


@pytest.fixture
def winloop(monkeypatch: pytest.MonkeyPatch, on_windows: None) -> Iterator[StandInWinloop]:
    stand_in = StandInWinloop()
    monkeypatch.setitem(sys.modules, "winloop", stand_in)
    yield stand_in
    for loop in stand_in.made:
        if not loop.is_closed():
            loop.close()


@pytest.fixture
def no_winloop(monkeypatch: pytest.MonkeyPatch, on_windows: None) -> None:
    # None in sys.modules makes `import winloop` raise ImportError (name='winloop'), as when the
    # package is not installed, even on a machine where it is.
    monkeypatch.setitem(sys.modules, "winloop", None)


# -- loop choice under Windows ------------------------------------------------------------------


@pytest.mark.usefixtures("winloop")
def test_auto_picks_winloop_on_windows() -> None:
    chosen = _loops.choose_loop("auto")
    assert chosen.name == "winloop"
    assert chosen.factory == sys.modules["winloop"].new_event_loop


@pytest.mark.usefixtures("winloop")
def test_auto_never_picks_uvloop_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_loops.ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "uvloop", types.ModuleType("uvloop"))  # would break if used
    assert _loops.choose_loop(None).name == "winloop"


def test_run_really_runs_main_on_the_winloop_loop(winloop: StandInWinloop) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def main() -> str:
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return "done"

    assert aioboot.run(main(), loop="auto") == "done"
    assert len(winloop.made) == 1, "the stand-in winloop made no loop (or several)"
    assert seen == winloop.made
    assert winloop.made[0].is_closed()


def test_run_with_the_env_var_default_uses_winloop(
    winloop: StandInWinloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_loops.ENV_VAR, raising=False)

    async def main() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert aioboot.run(main()) is winloop.made[0]


@pytest.mark.usefixtures("no_winloop")
def test_auto_falls_back_to_asyncio_without_winloop(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aioboot")
    assert _loops.choose_loop("auto").name == "asyncio"
    assert "winloop is not usable" in caplog.text


@pytest.mark.usefixtures("no_winloop")
def test_run_falls_back_to_asyncio_without_winloop() -> None:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert aioboot.run(main(), loop="auto").startswith("asyncio.")


@pytest.mark.usefixtures("no_winloop")
def test_explicit_winloop_missing_says_how_to_install() -> None:
    with pytest.raises(ImportError, match="pip install winloop") as info:
        _loops.choose_loop("winloop")
    assert info.value.name == "winloop"


@pytest.mark.usefixtures("no_winloop")
def test_run_with_explicit_winloop_missing_raises_before_running_main() -> None:
    started = False

    async def main() -> None:
        nonlocal started
        started = True

    # The coroutine is closed, not leaked: a "never awaited" RuntimeWarning would be an error here.
    with pytest.raises(ImportError, match="pip install winloop"):
        aioboot.run(main(), loop="winloop")
    assert not started


@pytest.mark.parametrize("platform", ["win32", "linux", "darwin"])
def test_other_implementations_use_asyncio(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "implementation", implementation_named("pypy"))
    # Even with both fast loops importable, a non-CPython interpreter gets asyncio's loop.
    monkeypatch.setitem(sys.modules, "winloop", StandInWinloop())
    monkeypatch.setitem(sys.modules, "uvloop", types.ModuleType("uvloop"))
    assert _loops.choose_loop("auto").name == "asyncio"


# -- a real console control event, on Windows only ----------------------------------------------


def windows_loops() -> list[str]:
    """The loops to deliver CTRL_BREAK_EVENT to: asyncio's Proactor always, winloop if installed."""
    loops = ["asyncio"]
    if sys.platform == "win32":
        try:
            import winloop  # noqa: F401
        except ImportError:
            pass
        else:
            loops.append("winloop")
    return loops


WINDOWS_ONLY = (
    "CTRL_BREAK_EVENT and CREATE_NEW_PROCESS_GROUP exist only on Windows; "
    "this runs on the windows-latest CI legs"
)


def windows_constants() -> tuple[int, int, int]:
    """CREATE_NEW_PROCESS_GROUP, CTRL_BREAK_EVENT, SIGBREAK: names only Windows' modules have
    (behind a platform check, so mypy on any OS accepts them)."""
    if sys.platform == "win32":
        return subprocess.CREATE_NEW_PROCESS_GROUP, signal.CTRL_BREAK_EVENT, signal.SIGBREAK
    raise RuntimeError(WINDOWS_ONLY)


@pytest.mark.skipif(sys.platform != "win32", reason=WINDOWS_ONLY)
@pytest.mark.parametrize("loop", windows_loops())
def test_ctrl_break_stops_gracefully_on_windows(loop: str) -> None:
    new_process_group, ctrl_break_event, sigbreak = windows_constants()
    assert sigbreak == 21
    # A new process group: CTRL_BREAK_EVENT can target a group (CTRL_C_EVENT cannot: it goes to
    # every process on the console), and this test process, in another group, is not hit by it.
    proc = subprocess.Popen(
        [PYTHON, program("scenario.py"), "cancelled"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(AIOBOOT_LOOP=loop),
        cwd=ROOT,
        text=True,
        creationflags=new_process_group,
    )
    stdout: list[str] = []
    stderr: list[str] = []
    ready = threading.Event()

    def pump(pipe: IO[str], sink: list[str], on_ready: threading.Event | None = None) -> None:
        for line in pipe:
            sink.append(line.rstrip("\n"))
            if on_ready is not None and line.startswith("READY"):
                on_ready.set()

    assert proc.stdout is not None
    assert proc.stderr is not None
    readers = [
        threading.Thread(target=pump, args=(proc.stdout, stdout, ready), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        assert ready.wait(CHILD_TIMEOUT), f"no READY; stdout: {stdout!r}; stderr: {stderr!r}"
        proc.send_signal(ctrl_break_event)  # os.kill -> GenerateConsoleCtrlEvent(.., pid)
        exit_code = proc.wait(CHILD_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(CHILD_TIMEOUT)
    for reader in readers:
        reader.join(CHILD_TIMEOUT)
    errors = "\n".join(stderr)

    # scenario.py "cancelled" never asks for the stop future: SIGBREAK cancels main, whose
    # `finally` prints CLEANUP, and the run ends like exit(128 + SIGBREAK).
    assert "CLEANUP" in stdout, f"stdout: {stdout!r}; stderr: {errors}"
    assert "received SIGBREAK, stopping" in errors, errors
    assert "RESTORED" in stdout, f"stdout: {stdout!r}; stderr: {errors}"
    assert exit_code == 128 + sigbreak == 149, f"exit code {exit_code}; stderr: {errors}"
