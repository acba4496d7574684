"""Real servers under aioboot, stopped by real signals while a real client's request is in flight.

Each program in tests/programs/servers/ runs in a child process, as a script (``python file.py``)
or through the launcher (``python -m aioboot module:main``). A client in a thread of the test sends
one request (a message, for websockets); once the program prints ``IN FLIGHT`` the test sends the
signal. A repeated signal is sent once the program printed ``STOPPING`` (the server's graceful
shutdown has begun), so the two are never merged by the kernel into one pending signal.

What every case asserts, as issue 10 specifies it:

- the exit status. A signal that stopped the run: the launcher dies of that signal (bash stops a
  loop, systemd counts a clean stop), whether main was cancelled or awaited the stop future and
  returned; a script dies of SIGINT (an uncaught KeyboardInterrupt), and ends with
  ``SCRIPT_SIGTERM_STATUS`` after SIGTERM, except a script wired to the stop future, which gets
  main's value back from ``run()`` (it prints ``RESULT None``) and exits 0, unless a second Ctrl-C
  forced the exit;
- a second Ctrl-C forces the exit (dies of SIGINT); a repeated SIGTERM changes nothing;
- uvicorn's ``serve()`` as main prints no hint to force the exit: the signal reaches aioboot only
  once uvicorn's own shutdown is over, with nothing left to force;
- after a graceful stop, the in-flight request is answered 200 (websockets: the server's own close
  handshake, code 1001, reaches the client) and the server's own shutdown ran (the ASGI lifespan
  shutdown, aiohttp's ``on_shutdown``, websockets' close); after a forced exit, the client is not
  left waiting;
- stderr holds none of the noise listed in ``NOISE`` (after a forced exit, ``FORCED_NOISE``:
  the server's own report of the request it abandoned is allowed). A script stopped by SIGINT
  ends with Python's KeyboardInterrupt traceback, as under ``asyncio.run``; nothing else;
- aioboot's own report (conftest.assert_child_signal_path) says the signals were handled on the
  path the case names.

Matrix, to stay near 60 s per Python on a loaded 2-core machine (each case takes 1.3-1.5 s: the
server's start and the one-second request). Where a cut was needed, it keeps the cases where two
owners of a signal meet, uvicorn's own ``signal.signal`` handlers and aioboot's:

- every setup x every signal case, through the launcher, on uvloop (the loop ``auto`` picks);
- as a script (what differs is the exit status and ``run()`` returning main's value, not how the
  signals are handled): every setup under SIGTERM, the two uvicorn setups under SIGINT too;
- on asyncio, through the launcher: every signal case for uvicorn's ``serve()`` as main, SIGTERM
  for the others;
- aioboot's ``signal.signal`` path (Windows' only one, forced here with
  ``_AIOBOOT_SIGNAL_FALLBACK=1``), through the launcher: uvicorn's ``serve()`` as main under
  SIGTERM (the re-raised signal reaches aioboot's own handler) and Ctrl-C twice.

Without uvloop, the uvloop cases run on asyncio instead (``auto`` falls back), so nothing is lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.client
import importlib.util
import shlex
import signal
import threading
from dataclasses import dataclass
from typing import Callable, NamedTuple

import pytest
from conftest import (
    LOOPS,
    PROGRAMS,
    PYTHON,
    Child,
    Spawn,
    assert_child_signal_path,
    child_env,
    posix_only,
    run_env,
)

pytestmark = [pytest.mark.timeout(60), posix_only]

SERVERS = PROGRAMS / "servers"

# Issue 10 item 3 leaves it to the runner: SystemExit(143) (today), or death by SIGTERM like the
# launcher (-SIGTERM) if that can be done without surprising a program that catches the exception.
SCRIPT_SIGTERM_STATUS = 128 + signal.SIGTERM

# Bounds the client's wait: far above the server's one-second answer.
CLIENT_TIMEOUT = 15.0

NOISE = (
    "Traceback",
    "CancelledError",
    "Exception in callback",
    "never awaited",
    "no running event loop",
    "Task was destroyed but it is pending",
    "Exception in ASGI application",
    "protocol appears unsupported",
    "connection handler failed",
    "forcing the exit",
)
FORCED_NOISE = (
    "Exception in callback",
    "never awaited",
    "no running event loop",
    "Task was destroyed but it is pending",
)

ANSWERED = "200 answered"
GOING_AWAY = "closed 1001"


def http_request(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return f"{response.status} {response.read().decode()}"
    finally:
        connection.close()


def ws_message(port: int) -> str:
    """websockets' asyncio client, in an event loop of its own, not its threaded client: that one
    joins its reader thread as it closes, and PyPy 3.9's ``Thread.join`` (7.3.11) now and then
    fails there with "cannot release un-acquired lock" (pypy/pypy#5079, a race in ``join`` fixed
    in later PyPy releases)."""
    return asyncio.run(_ws_message(port))


async def _ws_message(port: int) -> str:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(f"ws://127.0.0.1:{port}", open_timeout=CLIENT_TIMEOUT) as ws:
        await ws.send("answered")
        try:
            return f"message {await asyncio.wait_for(ws.recv(), CLIENT_TIMEOUT)!r}"
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else 'without a close frame'}"


@dataclass(frozen=True)
class Setup:
    module: str
    needs: str  # the module the program imports
    client: Callable[[int], str]
    graceful_answer: str
    shutdown_marker: str  # printed by the server's own shutdown
    stop_future: bool  # the program awaits aioboot.stop_future() and returns None


SETUPS = {
    setup.module: setup
    for setup in [
        Setup("uvicorn_main", "uvicorn", http_request, ANSWERED, "LIFESPAN SHUTDOWN", False),
        Setup("uvicorn_stop_future", "uvicorn", http_request, ANSWERED, "LIFESPAN SHUTDOWN", True),
        Setup("hypercorn_serve", "hypercorn", http_request, ANSWERED, "LIFESPAN SHUTDOWN", True),
        Setup("aiohttp_runner", "aiohttp", http_request, ANSWERED, "APP SHUTDOWN", True),
        Setup(
            "websockets_serve",
            "websockets.asyncio.server",
            ws_message,
            GOING_AWAY,
            "SERVER CLOSED",
            True,
        ),
    ]
}


class Case(NamedTuple):
    name: str
    signals: tuple[signal.Signals, ...]

    @property
    def forces(self) -> bool:
        return self.signals == (signal.SIGINT, signal.SIGINT)


SIGINT = Case("SIGINT", (signal.SIGINT,))
SIGTERM = Case("SIGTERM", (signal.SIGTERM,))
SIGTERM_TWICE = Case("SIGTERM_twice", (signal.SIGTERM, signal.SIGTERM))
SIGINT_TWICE = Case("SIGINT_twice", (signal.SIGINT, signal.SIGINT))
CASES = (SIGINT, SIGTERM, SIGTERM_TWICE, SIGINT_TWICE)

# uvloop when installed, else asyncio; with $AIOBOOT_TEST_LOOPS, the last loop it names.
FAST_LOOP = LOOPS[-1]


class Run(NamedTuple):
    module: str
    runner: str  # "script" or "launcher"
    loop: str
    case: Case
    signal_path: str = "loop"  # or "fallback": aioboot's handlers installed with signal.signal

    def __str__(self) -> str:
        path = "" if self.signal_path == "loop" else f"-{self.signal_path}"
        return f"{self.module}-{self.runner}-{self.loop}-{self.case.name}{path}"


def matrix() -> list[Run]:
    """The cases the module docstring lists."""
    runs = [Run(s, "launcher", FAST_LOOP, c) for s in SETUPS for c in CASES]
    runs += [Run(s, "script", FAST_LOOP, SIGTERM) for s in SETUPS]
    runs += [Run(s, "script", FAST_LOOP, SIGINT) for s in ("uvicorn_main", "uvicorn_stop_future")]
    runs += [
        Run("uvicorn_main", "launcher", FAST_LOOP, c, "fallback") for c in (SIGTERM, SIGINT_TWICE)
    ]
    if FAST_LOOP != "asyncio":
        runs += [Run("uvicorn_main", "launcher", "asyncio", c) for c in CASES]
        runs += [Run(s, "launcher", "asyncio", SIGTERM) for s in SETUPS if s != "uvicorn_main"]
    return runs


def expected_status(setup: Setup, runner: str, case: Case) -> int:
    if runner == "script" and setup.stop_future and not case.forces:
        return 0
    last = case.signals[-1]
    if runner == "script" and last == signal.SIGTERM:
        return SCRIPT_SIGTERM_STATUS
    return -last


class InFlight:
    """One request from a thread of the test; ``outcome()`` is how it ended."""

    def __init__(self, client: Callable[[int], str], port: int) -> None:
        self._outcome: concurrent.futures.Future[str] = concurrent.futures.Future()
        threading.Thread(target=self._send, args=(client, port), daemon=True).start()

    def _send(self, client: Callable[[int], str], port: int) -> None:
        try:
            self._outcome.set_result(client(port))
        except Exception as error:  # how the connection failed is the outcome
            self._outcome.set_result(f"failed: {type(error).__name__}: {error}")

    def outcome(self) -> str:
        return self._outcome.result(timeout=CLIENT_TIMEOUT + 5)


def skip_unless_installed(module: str) -> None:
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if not found:
        pytest.skip(f"{module} is not installed for this Python")


def start_server(spawn: Spawn, run: Run) -> Child:
    skip_unless_installed(SETUPS[run.module].needs)
    args = {
        "script": [PYTHON, str(SERVERS / f"{run.module}.py")],
        "launcher": [PYTHON, "-m", "aioboot", f"{run.module}:main"],
    }[run.runner]
    child: Child = spawn(args, env=run_env(run.loop, run.signal_path), cwd=SERVERS)
    assert_child_signal_path(child, run.signal_path)
    return child


def ready_port(child: Child) -> int:
    return int(child.wait_for_line("READY").split()[1])


def without_keyboardinterrupt_traceback(stderr: str) -> str:
    """stderr without the final traceback, if it is Python's report of a KeyboardInterrupt."""
    head, found, tail = stderr.rpartition("Traceback (most recent call last):")
    if found and tail.rstrip().endswith("\nKeyboardInterrupt"):
        return head
    return stderr


def noise_in(child: Child, status: int, forced: bool) -> list[str]:
    stderr = child.stderr
    if status == -signal.SIGINT:
        stderr = without_keyboardinterrupt_traceback(stderr)
    return [marker for marker in (FORCED_NOISE if forced else NOISE) if marker in stderr]


@pytest.mark.parametrize("run", matrix(), ids=str)
def test_a_signal_stops_the_server_as_gracefully_as_its_own_runner_would(
    spawn: Spawn, run: Run
) -> None:
    setup = SETUPS[run.module]
    child = start_server(spawn, run)
    request = InFlight(setup.client, ready_port(child))
    child.wait_for_line("IN FLIGHT")
    first, *repeated = run.case.signals
    child.send(first)
    for sig in repeated:
        child.wait_for_line("STOPPING")
        child.send(sig)
    status = child.finish()
    problems = what_went_wrong(setup, run.runner, run.case, child, status, request.outcome())
    assert not problems, "; ".join(problems) + f"\n{child.transcript()}"


def what_went_wrong(
    setup: Setup, runner: str, case: Case, child: Child, status: int, outcome: str
) -> list[str]:
    """Every way the run differs from what issue 10 specifies, so one failure tells it all."""
    problems = []
    expected = expected_status(setup, runner, case)
    if status != expected:
        problems.append(f"exit status {status}, expected {expected}")
    if case.forces:
        if outcome.startswith("failed: TimeoutError"):
            problems.append("the in-flight request was left hanging")
    else:
        if outcome != setup.graceful_answer:
            problems.append(f"in-flight request: {outcome!r}, expected {setup.graceful_answer!r}")
        if setup.shutdown_marker not in child.lines:
            problems.append(f"the server's own shutdown never ran ({setup.shutdown_marker})")
    if runner == "script" and expected == 0 and "RESULT None" not in child.lines:
        problems.append("run() did not return main's value")
    if setup.module == "uvicorn_main" and not case.forces and "again to force" in child.stderr:
        # uvicorn re-raises the signal once its own shutdown is over: nothing is left to force.
        problems.append("the hint to force the exit came after the shutdown was over")
    noise = noise_in(child, status, case.forces)
    if noise:
        problems.append(f"noise on stderr: {noise}")
    return problems


def test_ctrl_c_on_a_shell_loop_around_the_launcher_stops_the_loop(spawn: Spawn) -> None:
    setup = SETUPS["uvicorn_main"]
    skip_unless_installed(setup.needs)
    launcher = shlex.join([PYTHON, "-m", "aioboot", f"{setup.module}:main"])
    loop = f"for i in 1 2 3; do {launcher}; echo ITER $i; done"
    shell = spawn(["bash", "-c", loop], env=child_env(), cwd=SERVERS, new_session=True)
    request = InFlight(setup.client, ready_port(shell))
    shell.wait_for_line("IN FLIGHT")
    # A terminal sends Ctrl-C to its whole foreground process group: bash and the launcher.
    shell.send_to_group(signal.SIGINT)
    while True:
        line = shell.read_line()
        if line is None:
            break
        assert not line.startswith("ITER"), f"bash went on with the loop; {shell.transcript()}"
    assert shell.finish() == -signal.SIGINT, shell.transcript()
    assert request.outcome() == ANSWERED
