"""A real terminal: an interactive bash with job control on a pseudo-terminal runs
``while true; do python -m aioboot TARGET; done``, and Ctrl-C is typed into it.  The terminal
driver sends SIGINT to the foreground job (the launcher), and bash leaves its loop only if that job
died of SIGINT: one Ctrl-C must stop the loop however main was written.

A pty from the standard library rather than tmux: it is the same terminal driver and the same
shell, with nothing to install, so this runs wherever the suite runs on Linux or macOS.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from conftest import CHILD_TIMEOUT, CLI_TARGETS, LOOPS, PYTHON, child_env

fcntl = pytest.importorskip("fcntl", reason="POSIX terminals and job control")
pty = pytest.importorskip("pty", reason="POSIX terminals and job control")
termios = pytest.importorskip("termios", reason="POSIX terminals and job control")

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash"),
]


def _take_the_terminal() -> None:
    """In the child, after setsid(): make its stdin, the pty, its controlling terminal, as a
    terminal emulator does for the shell it starts."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """An interactive bash on a pty; ``type()`` writes to it as a keyboard does, ``screen`` is
    everything it has shown."""

    def __init__(self) -> None:
        self._master, slave = pty.openpty()
        self.shell = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "--noediting", "-i"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=CLI_TARGETS,
            env=child_env(TERM="dumb", PS1="$ "),
            start_new_session=True,
            preexec_fn=_take_the_terminal,
        )
        os.close(slave)
        self.screen = ""

    def type(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def wait_for(self, text: str, timeout: float = CHILD_TIMEOUT) -> None:
        """Read what the terminal shows until ``text`` appears; fail with the screen on timeout."""
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._master], [], [], left)[0]:
                pytest.fail(f"the terminal never showed {text!r}; it shows:\n{self.screen}")
            try:
                self.screen += os.read(self._master, 65536).decode(errors="replace")
            except OSError:  # EIO: every process on the terminal has gone
                pytest.fail(f"the terminal closed before showing {text!r}:\n{self.screen}")

    def close(self) -> None:
        """Kill the foreground job and the shell; closing the pty hangs up whatever is left."""
        with contextlib.suppress(OSError):
            foreground = os.tcgetpgrp(self._master)
            if foreground != self.shell.pid:
                os.killpg(foreground, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.shell.pid, signal.SIGKILL)
        os.close(self._master)
        self.shell.wait(CHILD_TIMEOUT)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    try:
        yield term
    finally:
        term.close()


@pytest.mark.parametrize("loop_name", LOOPS)
@pytest.mark.parametrize(
    "target",
    # main cancelled by the signal; main awaiting the stop future and returning None
    ["signals:wait_forever", "signals:with_stop_future"],
)
def test_one_ctrl_c_stops_a_shell_loop_around_the_launcher(
    terminal: Terminal, target: str, loop_name: str
) -> None:
    launcher = shlex.join([PYTHON, "-m", "aioboot", "--loop", loop_name, target])
    # $((...)) and $? are expanded only when run: the echo of the typed line cannot match them.
    terminal.type(f"while true; do echo RUN-$((20+1)); {launcher}; done\n")
    terminal.wait_for("READY")
    terminal.type("\x03")  # Ctrl-C
    terminal.type("echo LOOP-OVER-$((6*7)) status $?\n")
    # Typed while the loop runs, the line waits in the terminal until bash reads it again: only a
    # loop that stopped gets to run it.
    terminal.wait_for("LOOP-OVER-42 status 130")
    assert terminal.screen.count("RUN-21") == 1, terminal.screen
    assert "CLEANUP" in terminal.screen
    assert "aioboot: received SIGINT: stopping" in terminal.screen
    assert "Traceback" not in terminal.screen
