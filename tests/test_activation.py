"""Socket activation, for real: programs started by systemd's own ``systemd-socket-activate``
accept a real client on the socket it passed, and a child process they start inherits neither
the socket nor the LISTEN_* variables; a restart under a socket held outside the program refuses
no connection."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    CHILD_TIMEOUT,
    PROGRAMS,
    PYTHON,
    ROOT,
    Child,
    Spawn,
    child_env,
    free_port,
    run_env,
)

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(sys.platform != "linux", reason="socket activation is systemd's (Linux)"),
]

ACTIVATE = shutil.which("systemd-socket-activate")
needs_activate = pytest.mark.skipif(
    ACTIVATE is None,
    reason="systemd-socket-activate is not installed (Debian: apt-get install systemd)",
)
EXAMPLES = ROOT / "docs" / "examples"


def activate(
    spawn: Spawn, addresses: list[str], command: list[str], env: dict[str, str], *fdnames: str
) -> Child:
    """``command`` under systemd-socket-activate, listening on ``addresses``; returns once it
    listens (the program itself starts at the first connection)."""
    assert ACTIVATE is not None
    args = [ACTIVATE, *(f"--listen={address}" for address in addresses)]
    if fdnames:
        args.append(f"--fdname={':'.join(fdnames)}")
    env.pop("PORT", None)  # a recipe that bound a port of its own instead would then hang
    child = spawn([*args, *command], env=env, cwd=command_dir(command))
    for address in addresses:
        child.wait_for_stderr(f"Listening on {address} as")
    return child


def command_dir(command: list[str]) -> Path:
    return EXAMPLES if any(arg.startswith("activated_") for arg in command) else PROGRAMS


def ask(port: int, line: bytes = b"\n") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=CHILD_TIMEOUT) as sock:
        sock.sendall(line)
        return sock.makefile("rb").readline()


@needs_activate
def test_the_passed_sockets_are_served_and_a_child_inherits_neither_them_nor_the_variables(
    spawn: Spawn, loop_name: str
) -> None:
    web, admin = free_port(), free_port()
    addresses = [f"127.0.0.1:{web}", f"127.0.0.1:{admin}"]
    command = [PYTHON, "-m", "aioboot", "activated:main"]
    child = activate(spawn, addresses, command, run_env(loop_name), "web", "admin")
    seen = json.loads(ask(admin))  # the first connection starts the program
    child.wait_for_line("SERVING 2")
    assert seen == {
        "count": 2,
        "same_again": True,
        "by_name": {"web": [0], "admin": [1], "unknown": []},
        "env": {},
        "child": {"env": {}, "held": []},
    }
    assert json.loads(ask(web))["count"] == 2
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()


@needs_activate
def test_sockets_without_names_are_called_unknown(spawn: Spawn) -> None:
    port = free_port()
    command = [PYTHON, "-m", "aioboot", "activated:main"]
    child = activate(spawn, [f"127.0.0.1:{port}"], command, child_env())
    seen = json.loads(ask(port))
    assert seen["by_name"] == {"web": [], "admin": [], "unknown": [0]}
    assert seen["child"] == {"env": {}, "held": []}
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()


# A stand-in for the service manager's last step, as systemd takes it: the listening socket
# becomes descriptor 3 and the variables name this very process, which then becomes the program.
EXEC_AS_ACTIVATED = """
import os, sys
fd = int(sys.argv[1])
os.dup2(fd, 3)
os.close(fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execv(sys.argv[2], sys.argv[2:])
"""


def start_activated(spawn: Spawn, listener: socket.socket, loop_name: str) -> Child:
    fd = listener.fileno()
    command = [PYTHON, "-m", "aioboot", "activated_asyncio:main"]
    return spawn(
        [PYTHON, "-c", EXEC_AS_ACTIVATED, str(fd), *command],
        env=run_env(loop_name),
        cwd=EXAMPLES,
        pass_fds=(fd,),
    )


def test_a_restart_under_a_socket_held_outside_the_program_refuses_no_connection(
    spawn: Spawn, loop_name: str
) -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        port = listener.getsockname()[1]
        first = start_activated(spawn, listener, loop_name)
        first.wait_for_line("serving")
        assert ask(port, b"Ada\n") == b"hello, Ada\n"
        first.send(signal.SIGTERM)
        assert first.finish() == -signal.SIGTERM, first.transcript()
        # No program runs now; the socket still listens, so the connection waits in its queue.
        with socket.create_connection(("127.0.0.1", port), timeout=CHILD_TIMEOUT) as waiting:
            waiting.sendall(b"Grace\n")
            second = start_activated(spawn, listener, loop_name)
            assert waiting.makefile("rb").readline() == b"hello, Grace\n"
        second.send(signal.SIGTERM)
        assert second.finish() == -signal.SIGTERM, second.transcript()


# No service manager passed descriptor 3, but the interpreter may hold it: PyPy 8 keeps libffi's
# file open there once asyncio is imported.
NO_DESCRIPTOR_3 = """
try:
    os.close(3)
except OSError:
    pass
"""
PROBE = """
import os, sys
import aioboot
try:
    sockets = aioboot.listen_sockets()
except ValueError as exc:
    print("ValueError:", exc)
else:
    env = sorted(k for k in os.environ if k.startswith("LISTEN_"))
    print(len(sockets), env)
"""


@pytest.mark.parametrize(
    ("variables", "seen"),
    [
        ({}, "0 []"),
        ({"LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "web"}, "0 []"),
        ({"LISTEN_FDS": "1"}, "0 []"),
        (
            {"LISTEN_PID": "self", "LISTEN_FDS": "two"},
            "ValueError: aioboot.listen_sockets(): $LISTEN_FDS must be a number, not 'two'",
        ),
        (
            {"LISTEN_PID": "me", "LISTEN_FDS": "1"},
            "ValueError: aioboot.listen_sockets(): $LISTEN_PID must be a number, not 'me'",
        ),
        (
            {"LISTEN_PID": "self", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"},
            "ValueError: aioboot.listen_sockets(): $LISTEN_FDNAMES names 2 sockets ('a:b'), "
            "$LISTEN_FDS passes 1",
        ),
        (
            {"LISTEN_PID": "self", "LISTEN_FDS": "1"},
            "ValueError: aioboot.listen_sockets(): descriptor 3, passed by the service manager "
            "($LISTEN_FDS=1), is not open",
        ),
    ],
    ids=["none", "another-process", "no-pid", "bad-count", "bad-pid", "names-mismatch", "no-fd"],
)
def test_without_activation_for_this_process_nothing_is_passed_and_malformed_variables_are_refused(
    variables: dict[str, str], seen: str
) -> None:
    env = child_env(**variables)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        if name not in variables:
            env.pop(name, None)
    code = PROBE
    if variables.get("LISTEN_PID") == "self":  # the variables name this very process
        env.pop("LISTEN_PID")
        code = "import os; os.environ['LISTEN_PID'] = str(os.getpid())\n" + PROBE.replace(
            "import aioboot\n", "import aioboot\n" + NO_DESCRIPTOR_3
        )
    done = subprocess.run(
        [PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )
    assert done.stdout.strip() == seen, done.stderr


def test_a_name_that_is_not_a_string_is_refused() -> None:
    import aioboot

    with pytest.raises(TypeError, match=r"listen_sockets\(\): name must be a string, not 3"):
        aioboot.listen_sockets(3)  # type: ignore[arg-type]


def test_a_descriptor_that_is_not_a_socket_is_refused(tmp_path: Path) -> None:
    code = (
        "import os\n"
        f"os.dup2(os.open({str(tmp_path / 'file')!r}, os.O_CREAT | os.O_RDWR), 3)\n"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1')\n" + PROBE
    )
    env = child_env()
    env.pop("LISTEN_FDNAMES", None)
    done = subprocess.run(
        [PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )
    assert done.stdout.strip() == (
        "ValueError: aioboot.listen_sockets(): descriptor 3, passed by the service manager "
        "($LISTEN_FDS=1), is not a socket"
    ), done.stderr


def units_in_the_docs(page: str = "systemd.md") -> dict[str, str]:
    """The unit files a page of docs/howto/ shows, by file name (each block's first line)."""
    text = (ROOT / "docs" / "howto" / page).read_text()
    blocks = re.findall(r"```ini\n# /etc/systemd/system/(\S+)\n(.*?)```", text, re.DOTALL)
    return dict(blocks)


def write_units(units: dict[str, str], directory: Path) -> None:
    """The units in ``directory``, their paths made real: ``systemd-analyze verify`` checks that
    ExecStart= names an executable and WorkingDirectory= exists."""
    for name, text in units.items():
        text = text.replace("/srv/myapp/venv/bin/python", sys.executable)
        (directory / name).write_text(text.replace("/srv/myapp", str(directory)))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is missing")
def test_the_socket_and_service_units_in_the_docs_pass_systemd_analyze_verify(
    tmp_path: Path,
) -> None:
    units = units_in_the_docs()
    assert sorted(units) == ["myapp.service", "myapp.socket"]
    write_units(units, tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", "./myapp.socket", "./myapp.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
