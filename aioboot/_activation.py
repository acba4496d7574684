"""Socket activation: the listening sockets a service manager passes a program, as
``sd_listen_fds(3)`` describes them -- descriptors 3, 4, ... and three variables, ``LISTEN_FDS``
(how many), ``LISTEN_PID`` (for which process) and ``LISTEN_FDNAMES`` (their names).

The descriptors are passed inheritable and the variables stay in the environment: left so, every
child process the program starts would hold the listening sockets open (a restarted service then
finds its port still bound by an old worker) and could take them for its own (systemd#36899).
Imported only when a program asks for its sockets.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import threading
from typing import Optional

FIRST_FD = 3  # SD_LISTEN_FDS_START
PID_ENV, FDS_ENV, NAMES_ENV = "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"
UNNAMED = "unknown"  # what sd_listen_fds_with_names(3) calls a socket without LISTEN_FDNAMES

_lock = threading.Lock()
_passed: Optional[list[tuple[str, socket.socket]]] = None  # read once, on the first call


def listen_sockets(name: Optional[str] = None) -> list[socket.socket]:
    """The listening sockets the service manager passed this program (socket activation:
    systemd's ``.socket`` units, ``systemd-socket-activate``), in the order it passed them, as
    :class:`socket.socket` objects.  With ``name``, only those it named so (``LISTEN_FDNAMES``:
    ``FileDescriptorName=`` in the socket unit, whose own name is the default; ``--fdname`` of
    ``systemd-socket-activate``; ``"unknown"`` when the manager names none).

    The first call reads ``LISTEN_PID``, ``LISTEN_FDS`` and ``LISTEN_FDNAMES``: the sockets are
    this program's only if ``LISTEN_PID`` is its process id.  It then removes the three variables
    from ``os.environ`` and makes the sockets close-on-exec, so that no child process the program
    starts sees them.  Later calls read nothing and return the same socket objects.  An empty list
    when the program was not socket-activated (no variables, or ones meant for another process),
    and always on Windows, which has no such protocol.

    Needs no event loop: call it anywhere, from any thread, before :func:`aioboot.run` or inside
    it.  The sockets are the program's: a server that closes one at its shutdown closes it for
    every caller.

    Raises ``ValueError`` when the variables are malformed (a ``LISTEN_PID`` or ``LISTEN_FDS``
    that is not a number, a count of names that differs from ``LISTEN_FDS``) or a passed
    descriptor is not an open socket, and then removes nothing; ``TypeError`` for a ``name`` that
    is not a string.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"aioboot.listen_sockets(): name must be a string, not {name!r}")
    global _passed
    with _lock:
        if _passed is None:
            _passed = _take_passed_sockets()
        passed = _passed
    return [sock for sock_name, sock in passed if name is None or sock_name == name]


def _take_passed_sockets() -> list[tuple[str, socket.socket]]:
    if sys.platform == "win32":
        return []
    count = _count_for_this_process()
    names = _names(count)
    descriptors = range(FIRST_FD, FIRST_FD + count)
    for fd in descriptors:
        _check_is_socket(fd)
    for variable in (PID_ENV, FDS_ENV, NAMES_ENV):
        os.environ.pop(variable, None)  # unsetenv() too: children started any way inherit none
    for fd in descriptors:
        os.set_inheritable(fd, False)
    return [(name, socket.socket(fileno=fd)) for name, fd in zip(names, descriptors)]


def _count_for_this_process() -> int:
    """``LISTEN_FDS``, or 0 when the variables are missing or meant for another process (one
    that started this one with its own environment, say)."""
    pid, fds = os.environ.get(PID_ENV), os.environ.get(FDS_ENV)
    if pid is None or fds is None:
        return 0
    if _number(pid, PID_ENV) != os.getpid():
        return 0
    return _number(fds, FDS_ENV)


def _number(text: str, variable: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"aioboot.listen_sockets(): ${variable} must be a number, not {text!r}")
    return value


def _names(count: int) -> list[str]:
    text = os.environ.get(NAMES_ENV)
    if text is None:
        return [UNNAMED] * count
    names = text.split(":") if count else []
    if len(names) != count:
        raise ValueError(
            f"aioboot.listen_sockets(): ${NAMES_ENV} names {len(names)} sockets "
            f"({text!r}), ${FDS_ENV} passes {count}"
        )
    return names


def _check_is_socket(fd: int) -> None:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        problem = "is not open"
    else:
        if stat.S_ISSOCK(mode):
            return
        problem = "is not a socket"
    raise ValueError(
        f"aioboot.listen_sockets(): descriptor {fd}, passed by the service manager "
        f"(${FDS_ENV}={os.environ.get(FDS_ENV)}), {problem}"
    )
