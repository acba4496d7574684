"""Shared fixtures: a real child process running a real program, and the loops to run on."""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Callable, NamedTuple, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"
CHILD_TIMEOUT = 20.0

# What asyncio.run (and asyncio.Runner.run) say when they refuse main, on the running Python.
ASYNCIO_REFUSAL = (
    "An asyncio.Future, a coroutine or an awaitable is required"
    if sys.version_info >= (3, 14)
    else "a coroutine was expected"
)


# The loops the loop-parametrized tests run on, instead of asyncio and uvloop: e.g. "rloop".
TEST_LOOPS_ENV = "AIOBOOT_TEST_LOOPS"
# Every test using loop_name carries this mark: `pytest -m loops` runs just them (tox env eager).
LOOPS_MARK = "loops"


def available_loops() -> list[str]:
    chosen = os.environ.get(TEST_LOOPS_ENV, "").split()
    if chosen:
        return chosen
    loops = ["asyncio"]
    try:
        import uvloop  # noqa: F401
    except ImportError:
        pass
    else:
        loops.append("uvloop")
    return loops


LOOPS = available_loops()
needs_uvloop = pytest.mark.skipif(
    "uvloop" not in LOOPS,
    reason="uvloop is not installed"
    if sys.implementation.name == "cpython"
    else "uvloop is built for CPython only",
)


# CPython frees an object once nothing refers to it; PyPy has no reference counting, and frees
# garbage only when it collects.
REFERENCE_COUNTING = sys.implementation.name == "cpython"


def collect_garbage() -> None:
    """What reference counting would have freed by now, freed, and its finalizers run: on PyPy
    an object with a finalizer that refers to another one is finalized one collection before it,
    hence three (as CPython's test.support.gc_collect)."""
    for _ in range(3):
        gc.collect()


@pytest.fixture
def earlier_garbage_collected() -> None:
    """Without reference counting (PyPy), a failed task an earlier test dropped is finalized, and
    reported as lost, during whichever later test collects first: collected before this one."""
    if not REFERENCE_COUNTING:
        collect_garbage()


@pytest.fixture(params=LOOPS)
def loop_name(request: pytest.FixtureRequest) -> str:
    """Every test using this runs once per installed loop (or per loop of $AIOBOOT_TEST_LOOPS)."""
    return str(request.param)


# aioboot's switch to the signal.signal path on any OS, and what each path is called in aioboot's
# DEBUG report of the path each signal it takes is handled on (SignalCapture._log_how).
FALLBACK_SWITCH = "_AIOBOOT_SIGNAL_FALLBACK"
HANDLED_WITH = {
    # No Windows loop has add_signal_handler: the fallback is the only path there.
    "loop": "signal.signal" if sys.platform == "win32" else "loop.add_signal_handler",
    "fallback": "signal.signal",
}
# How a child started with run_env shows that report on stderr.
SIGNAL_PATH_SITE = PROGRAMS / "signal_path_report"
SIGNAL_PATH_REPORT = "aioboot signal path: "


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{LOOPS_MARK}: the test runs once per loop (it uses the loop_name fixture)"
    )


# What fails on rloop 0.5 (AIOBOOT_TEST_LOOPS=rloop, tox -e rloop), as docs/explanation/loop.md
# lists it: test -> (why, always).  A gap that always shows is a strict xfail, so a test that
# starts passing says the list (and the page) is out of date; a race is a plain xfail.
_WAKEUP_FD = "a signal.signal() handler waits for Python code to run: rloop's wakeup fd wakes only"
_WAKEUP_FD += " its own add_signal_handler() handlers"
RLOOP_GAPS = {
    "test_debug_is_applied[rloop]": ("rloop has no debug mode", True),
    "test_debug_is_applied_to_the_loop[rloop-True]": ("rloop has no debug mode", True),
    **dict.fromkeys(
        [
            f"test_websocket_echo_echoes_then_closes_clients_with_1001_on_sigterm[rloop-{how}]"
            for how in ("ephemeral", "argv")
        ],
        ("transport.close() does not close the connection on rloop", True),
    ),
    "test_an_idle_loop_notices_a_signal[rloop-fallback-thread]": (_WAKEUP_FD, False),
    "test_a_signal_a_library_takes_on_the_loop_is_its_own_until_it_lets_go[rloop-fallback]": (
        _WAKEUP_FD,
        False,
    ),
    **dict.fromkeys(
        [
            "test_a_signal_the_program_handles_itself_is_left_to_it_and_its_reraise_is_a_first_"
            f"signal[rloop-{path}]"
            for path in ("loop", "fallback")
        ],
        ("a signal as run_forever() ends is lost: rloop makes a new signal socket per call", False),
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "loop_name" in getattr(item, "fixturenames", ()):
            item.add_marker(LOOPS_MARK)
        gap = RLOOP_GAPS.get(item.name)
        if gap is not None:
            reason, always = gap
            item.add_marker(pytest.mark.xfail(reason=reason, strict=always))


def pytest_report_header() -> list[str]:
    # $AIOBOOT_EAGER_TASKS reaches every aioboot.run() of the session, in-process and in the
    # child processes (child_env keeps it): tox env eager runs the loop tests so.
    eager = os.environ.get("AIOBOOT_EAGER_TASKS", "") == "1"
    return [f"loops: {', '.join(LOOPS)}; eager tasks: {'on' if eager else 'off'}"]


@pytest.fixture(params=["loop", "fallback"])
def signal_path(request: pytest.FixtureRequest) -> str:
    """The loop's add_signal_handler, or the signal.signal fallback that Windows uses (forced in
    a child with _AIOBOOT_SIGNAL_FALLBACK=1, see run_env)."""
    return str(request.param)


@pytest.fixture(params=["loop", "fallback"])
def signal_path_in_process(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> str:
    """``signal_path`` for runs in this process; their report is in ``caplog.text``."""
    monkeypatch.setenv(FALLBACK_SWITCH, "1" if request.param == "fallback" else "0")
    caplog.set_level(logging.DEBUG, logger="aioboot")
    return str(request.param)


def assert_signal_path(report: str, signal_path: str) -> None:
    """That every signal aioboot took, in every run ``report`` covers (a child's report line, or
    the log of runs in this process), was handled on ``signal_path``: a case named for a path
    proves that path only if it was taken."""
    taken = re.findall(r"\b(SIG[A-Z0-9]+) with ([\w.]+)", report)
    assert taken, f"no signal path reported: {report!r}"
    other = [f"{name} with {how}" for name, how in taken if how != HANDLED_WITH[signal_path]]
    assert not other, f"{signal_path} path asked for, but: {', '.join(other)}"


class Child:
    """A program started in a child process, talking to the test through line-buffered stdout.

    One reader thread per pipe, started at once, so a chatty child never blocks on a full pipe
    and nothing is read twice.
    """

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        *,
        new_session: bool = False,
        stdin: bool = False,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        # new_session: the child leads its own process group, which ``send_to_group`` signals
        # as a terminal signals its foreground job.
        self.proc = subprocess.Popen(
            args,
            # stdin: a pipe the test writes lines to (write_line) to tell the child to go on.
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
            start_new_session=new_session,
            pass_fds=pass_fds,
        )
        self.new_session = new_session
        self.lines: list[str] = []
        self._unread: queue.Queue[Optional[str]] = queue.Queue()
        self._stderr: list[Optional[str]] = []
        self._stderr_grew = threading.Condition()
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._readers = [
            threading.Thread(
                target=self._pump, args=(self.proc.stdout, self._unread.put), daemon=True
            ),
            threading.Thread(
                target=self._pump, args=(self.proc.stderr, self._add_stderr), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(pipe: IO[str], sink: Callable[[Optional[str]], None]) -> None:
        for line in pipe:
            sink(line.rstrip("\n"))
        sink(None)

    def _add_stderr(self, line: Optional[str]) -> None:
        with self._stderr_grew:
            self._stderr.append(line)
            self._stderr_grew.notify_all()

    def wait_for_stderr(self, expected: str, timeout: float = CHILD_TIMEOUT) -> str:
        """The first stderr line that contains ``expected``, once written; on EOF or timeout,
        kill and fail."""

        def found() -> Optional[str]:
            return next((line for line in self._stderr if line and expected in line), None)

        with self._stderr_grew:
            self._stderr_grew.wait_for(lambda: None in self._stderr or found(), timeout)
            line = found()
        if line is None:
            self.proc.kill()
            self.finish()
            pytest.fail(f"child never wrote {expected!r} to stderr; {self.transcript()}")
        return line

    def wait_for_line(self, expected: str, timeout: float = CHILD_TIMEOUT) -> str:
        """Read stdout up to a line starting with ``expected``; on EOF or timeout, kill and fail."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._unread.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.kill()
                self.finish()
                pytest.fail(f"child never printed {expected!r}; {self.transcript()}")
            self.lines.append(line)
            if line.startswith(expected):
                return line

    def read_line(self, timeout: float = CHILD_TIMEOUT) -> Optional[str]:
        """The next stdout line, None once stdout is closed; on timeout, kill and fail."""
        try:
            line = self._unread.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            self.finish()
            pytest.fail(f"child printed nothing more within {timeout} s; {self.transcript()}")
        if line is not None:
            self.lines.append(line)
        return line

    def write_line(self, line: str) -> None:
        assert self.proc.stdin is not None, "only a child started with stdin=True reads lines"
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def send(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def send_to_group(self, sig: int) -> None:
        assert self.new_session, "only a child started with new_session=True leads a group"
        os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the child, and its whole process group if it leads one."""
        with contextlib.suppress(ProcessLookupError):
            if self.new_session:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()

    def finish(self, timeout: float = CHILD_TIMEOUT) -> int:
        """Wait for exit and all output; the exit code (negative: killed by that signal)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait(CHILD_TIMEOUT)
            pytest.fail(f"child did not exit within {timeout} s; {self.transcript()}")
        for reader in self._readers:
            reader.join(CHILD_TIMEOUT)
        while True:
            line = self._unread.get_nowait() if not self._unread.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return self.proc.returncode

    def transcript(self) -> str:
        return f"stdout: {self.lines!r}; stderr: {self.stderr}"

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return "\n".join(line for line in self._stderr if line is not None)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("AIOBOOT_LOOP", None)
    env.pop(FALLBACK_SWITCH, None)
    env.update(extra)
    return env


def run_env(loop_name: str, signal_path: str = "loop", **extra: str) -> dict[str, str]:
    """A child's environment for a run on ``loop_name`` whose signals take ``signal_path``: the
    loop's own handlers, or (``"fallback"``) the ``signal.signal`` path that Windows uses.  The
    child reports the path it took on stderr (programs/signal_path_report/sitecustomize.py), for
    ``assert_child_signal_path``."""
    fallback = "1" if signal_path == "fallback" else "0"
    env = child_env(AIOBOOT_LOOP=loop_name, **{FALLBACK_SWITCH: fallback}, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(SIGNAL_PATH_SITE), env["PYTHONPATH"]])
    return env


def assert_child_signal_path(child: Child, signal_path: str) -> None:
    """``assert_signal_path`` for a child started with ``run_env``, on its first run's report."""
    assert_signal_path(child.wait_for_stderr(SIGNAL_PATH_REPORT), signal_path)


Spawn = Callable[..., Child]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start children with ``spawn(args, env=..., cwd=..., new_session=..., stdin=...,
    pass_fds=...)``; each is killed at teardown (with its process group if it leads one)."""
    children: list[Child] = []

    def start(
        args: list[str],
        *,
        env: Optional[dict[str, str]] = None,
        cwd: Optional[Path] = None,
        new_session: bool = False,
        stdin: bool = False,
        pass_fds: tuple[int, ...] = (),
    ) -> Child:
        child = Child(
            args,
            env if env is not None else child_env(),
            cwd or ROOT,
            new_session=new_session,
            stdin=stdin,
            pass_fds=pass_fds,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.new_session or child.proc.poll() is None:
            child.kill()
            child.proc.wait(CHILD_TIMEOUT)


def free_port() -> int:
    """A TCP port nobody listens on now, for a child that must be told its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def program(name: str) -> str:
    return str(PROGRAMS / name)


PYTHON = sys.executable

# os.kill() with SIGINT/SIGTERM ends a Windows process at once; test_windows_path.py sends the
# console events that Windows really has.
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals with os.kill")
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def aioboot_reports(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    """What the "aioboot" logger said that contains ``text``."""
    return [r for r in caplog.records if r.name == "aioboot" and text in r.getMessage()]


def reported_exception(record: logging.LogRecord) -> BaseException:
    """The exception a report carries (its traceback is logged with it)."""
    assert record.exc_info is not None, record.getMessage()
    exc = record.exc_info[1]
    assert exc is not None
    return exc


CLI_TARGETS = PROGRAMS / "cli_targets"


class Launched(NamedTuple):
    """What an in-process launch ended with: the SystemExit code, and its output (each without
    its last newline, as a Child's)."""

    status: object
    stdout: str
    stderr: str


Launch = Callable[..., Launched]


@pytest.fixture
def launch_here(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Launch]:
    """Run the launcher in this process, ``launch_here(*argv, cwd=CLI_TARGETS)``: for what needs
    no process of its own (no signal, no ending by one, no logging set-up).  What the launcher
    changes for its program is put back afterwards: sys.argv, sys.path, the current directory,
    the modules imported from that directory, its handler on the "aioboot" logger; an atexit
    handler it registers is dropped, never run at the end of the test session."""
    from aioboot.__main__ import main

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(atexit, "register", lambda *_args, **_kwargs: None)
    aioboot_logger = logging.getLogger("aioboot")
    monkeypatch.setattr(aioboot_logger, "handlers", list(aioboot_logger.handlers))
    modules_before = set(sys.modules)
    directories: list[Path] = []

    def launch(*argv: str, cwd: Path = CLI_TARGETS) -> Launched:
        monkeypatch.chdir(cwd)
        directories.append(cwd.resolve())
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        out, err = capsys.readouterr()
        return Launched(exited.value.code, out.rstrip("\n"), err.rstrip("\n"))

    yield launch
    for name in set(sys.modules) - modules_before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(d) for d in directories):
            del sys.modules[name]  # the next launch imports the program afresh
