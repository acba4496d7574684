"""The service manager's notify protocol (systemd's ``sd_notify``): datagrams of ``KEY=value``
lines sent to the unix socket named by ``NOTIFY_SOCKET``.  No dependency, and nothing at all when
the variable is unset.

A send never raises into the program and never blocks the loop: the socket is non-blocking, and a
failure (no listener any more, a full queue) is logged at debug level and forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Mapping, Optional

logger = logging.getLogger("aioboot")

SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"

# A step bounded by T seconds asks for T + this: the time between two bounded waits (the report
# of what did not finish, the next step's start) must not be cut short by the manager's SIGKILL.
EXTEND_SLACK = 1.0


class Notifier:
    """A connection to the service manager; :meth:`from_environment` makes one when there is a
    manager to talk to.  Sends are safe from any thread; the watchdog runs on a loop."""

    def __init__(self, address: str, watchdog_interval: Optional[float] = None) -> None:
        self._address = address
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._watchdog_interval = watchdog_interval
        self._watchdog: Optional[asyncio.TimerHandle] = None
        self._stopping_sent = False

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None) -> Optional[Notifier]:
        """A notifier for ``NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace), with
        the watchdog interval from ``WATCHDOG_USEC`` when ``WATCHDOG_PID`` is unset or this
        process; None when ``NOTIFY_SOCKET`` is unset or empty."""
        env = os.environ if environ is None else environ
        name = env.get(SOCKET_ENV, "")
        if not name:
            return None
        address = "\0" + name[1:] if name.startswith("@") else name
        try:
            return cls(address, _watchdog_interval(env))
        except OSError:
            logger.debug("notify: cannot create a socket for %s", name, exc_info=True)
            return None

    def send(self, *fields: str) -> bool:
        """Send one datagram of ``fields`` (``"KEY=value"``); True when it left."""
        message = "\n".join(fields).encode()
        try:
            self._sock.sendto(message, self._address)
        except OSError as exc:
            logger.debug("notify: could not send %r: %s", message, exc)
            return False
        return True

    def ready(self, status: Optional[str] = None) -> bool:
        return self.send("READY=1", *_status_field(status))

    def stopping(self, status: Optional[str] = None) -> bool:
        """``STOPPING=1`` once; later calls only send the status, if any."""
        if self._stopping_sent:
            return self.status(status) if status is not None else False
        self._stopping_sent = True
        return self.send("STOPPING=1", *_status_field(status))

    def reloading(self) -> bool:
        """``RELOADING=1`` and ``MONOTONIC_USEC=`` now, in one datagram: ``Type=notify-reload``
        takes it as the answer to the SIGHUP it sent before that time, then waits for
        ``READY=1``."""
        # time.monotonic() is CLOCK_MONOTONIC on Linux, the clock systemd compares with.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def status(self, text: str) -> bool:
        return self.send(*_status_field(text))

    def extend_timeout(self, seconds: float, status: Optional[str] = None) -> bool:
        """Ask for ``seconds`` more before the manager's current timeout (start, stop) fires."""
        usec = max(1, round(seconds * 1_000_000))
        return self.send(f"EXTEND_TIMEOUT_USEC={usec}", *_status_field(status))

    def shutdown_step(self, what: str, bound: Optional[float]) -> bool:
        """``STATUS=stopping: <what>``, and room for a step that waits at most ``bound`` seconds
        (None: unbounded, so the manager's own stop timeout stays in charge)."""
        status = f"stopping: {what}"
        if bound is None:
            return self.status(status)
        return self.extend_timeout(bound + EXTEND_SLACK, status)

    def start_watchdog(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Ping ``WATCHDOG=1`` from ``loop`` on its first turn and every half ``WATCHDOG_USEC``
        after: a loop that stops turning stops the pings, and the manager acts.  False (and
        nothing scheduled) when no watchdog was asked for."""
        if self._watchdog_interval is None:
            return False
        self._watchdog = loop.call_later(0, self._ping, loop, self._watchdog_interval)
        return True

    def stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def close(self) -> None:
        """Stop the watchdog (before its loop is closed) and close the socket."""
        self.stop_watchdog()
        self._sock.close()

    def _ping(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.send("WATCHDOG=1")
        self._watchdog = loop.call_later(interval, self._ping, loop, interval)


def _status_field(status: Optional[str]) -> tuple[str, ...]:
    # One line per field: a newline inside the text would start a field of its own.
    return () if status is None else (f"STATUS={' '.join(status.splitlines())}",)


def _watchdog_interval(env: Mapping[str, str]) -> Optional[float]:
    pid = env.get(WATCHDOG_PID_ENV, "")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (the one that started us, say)
    try:
        usec = int(env.get(WATCHDOG_USEC_ENV, ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


def ready(status: Optional[str] = None) -> None:
    """Tell the service manager the program is ready (``READY=1``, with ``STATUS=`` if given).

    Does nothing when ``NOTIFY_SOCKET`` is unset, so a program can call it unconditionally; never
    raises on a send failure.  Safe from any thread, inside or outside a run.
    """
    notifier = Notifier.from_environment()
    if notifier is not None:
        try:
            notifier.ready(status)
        finally:
            notifier.close()
