"""Shared fixtures: a real child process running a real program, and the loops to run on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"
CHILD_TIMEOUT = 20.0


def available_loops() -> list[str]:
    loops = ["asyncio"]
    try:
        import uvloop  # noqa: F401
    except ImportError:
        pass
    else:
        loops.append("uvloop")
    return loops


LOOPS = available_loops()


@pytest.fixture(params=LOOPS)
def loop_name(request: pytest.FixtureRequest) -> str:
    """Every test using this runs once per installed loop."""
    return str(request.param)


class Child:
    """A program started in a child process, talking to the test through line-buffered stdout."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
        )
        self.lines: list[str] = []
        self._stderr: list[str] = []
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def wait_for_line(self, expected: str, timeout: float = CHILD_TIMEOUT) -> str:
        """Read stdout until a line starting with ``expected``; fail (and kill) on EOF or timeout."""
        assert self.proc.stdout is not None
        box: list[Optional[str]] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if line.startswith(expected):
                    box.append(line.rstrip("\n"))
                    return
            box.append(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or box[0] is None:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=CHILD_TIMEOUT)
            pytest.fail(
                f"child never printed {expected!r}; stdout so far: {self.lines!r} + {out!r}; "
                f"stderr: {self.stderr}"
            )
        return box[0]

    def send(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def finish(self, timeout: float = CHILD_TIMEOUT) -> int:
        """Wait for exit; returns the exit code (negative: killed by that signal)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            pytest.fail(f"child did not exit within {timeout} s; stderr: {self.stderr}")
        self.lines.extend(out.splitlines())
        self._err_reader.join(CHILD_TIMEOUT)
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("AIOBOOT_LOOP", None)
    env.pop("_AIOBOOT_SIGNAL_FALLBACK", None)
    env.update(extra)
    return env


Spawn = Callable[..., Child]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start children with ``spawn(args, env=..., cwd=...)``; every one is killed at teardown."""
    children: list[Child] = []

    def start(args: list[str], *, env: Optional[dict[str, str]] = None, cwd: Optional[Path] = None) -> Child:
        child = Child(args, env if env is not None else child_env(), cwd or ROOT)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.communicate(timeout=CHILD_TIMEOUT)


def program(name: str) -> str:
    return str(PROGRAMS / name)


PYTHON = sys.executable
SIGNALS = [signal.SIGINT, signal.SIGTERM]
