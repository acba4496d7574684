"""The liveness heartbeat: a file whose modification time the loop itself refreshes, so that a
probe outside the program (``python -m aioboot.probe``) tells a turning loop from a blocked one,
as systemd's watchdog does with its pings.

A timer on the loop, not a thread: a thread would go on refreshing the file while the loop is
stuck, which is exactly what the probe is there to notice.  Imported only by a run that has a
heartbeat file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Optional

logger = logging.getLogger("aioboot")

# The loop refreshes the file this often, so that its age stays under a second while the loop
# turns (the probe refuses a --max-age under 1 s).
INTERVAL = 0.5


def touch(path: str) -> None:
    """Create ``path`` if need be and set its modification time to now."""
    with open(path, "a"):
        pass
    os.utime(path)


def check_writable(path: str, name: str, *, keep: bool = True) -> None:
    """Touch ``path`` now; an OSError of the same kind, in one line naming ``name`` (the argument
    or the variable that gave the path), when it cannot be created or touched.  ``keep=False``
    removes the file again if this call created it."""
    existed = os.path.lexists(path)
    try:
        touch(path)
    except OSError as exc:
        error = type(exc)(f"{name} {path!r} cannot be written: {exc.strerror or exc}")
        error.errno = exc.errno
        raise error from None
    if not keep and not existed:
        os.unlink(path)


class Heartbeat:
    """Refreshes one file from one loop every :data:`INTERVAL` seconds; :meth:`close` removes it.

    A refresh that fails (the file's directory removed, a full disk) never raises into the loop:
    it is logged once, and the probe, which sees the file go stale or vanish, does the rest.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._timer: Optional[asyncio.TimerHandle] = None
        self._failing = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = loop.call_later(INTERVAL, self._beat, loop)

    def close(self) -> None:
        """Stop refreshing (before the loop is closed) and remove the file: a program that has
        ended is not alive, whatever the file's age."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("the heartbeat file %s could not be removed: %s", self._path, exc)

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        self._refresh()
        self._timer = loop.call_later(INTERVAL, self._beat, loop)

    def _refresh(self) -> None:
        try:
            try:
                os.utime(self._path)  # one system call: the common case
            except FileNotFoundError:
                touch(self._path)  # removed under us (a clean-up of /tmp, say)
        except OSError as exc:
            if not self._failing:
                logger.warning("the heartbeat file %s cannot be refreshed: %s", self._path, exc)
            self._failing = True
        else:
            self._failing = False
