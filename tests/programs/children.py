"""A program that leaves child processes running, for the no-orphans tests.

``python children.py`` (a script, on $AIOBOOT_LOOP) or ``python -m aioboot children:main``: main
starts, through the loop, ``child.py ignores-term`` (``create_subprocess_exec``) and ``child.py
exits-on-term`` (``create_subprocess_shell``); with ``CHILDREN_DETACHED=1`` also an
``exits-on-term`` one started with ``start_new_session=True``.  Each has set its
signal dispositions before main prints ``CHILDREN <pid> ...`` and waits to be stopped.

After run() and the whole shutdown (as a script: when run() returns or raises; under the
launcher: at exit, ``atexit``, before the launcher ends the process), it prints ``GONE <pid>`` for
each child that no longer exists (reaped: it was this process's child) or ``LEFT <pid>`` for one
that still does.  The script does not rely on ``atexit``: PyPy 3.9 runs no atexit handler after
an uncaught KeyboardInterrupt.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shlex
import sys

import aioboot

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
PIDS: list[int] = []


async def start_children() -> list[asyncio.subprocess.Process]:
    pipe = asyncio.subprocess.PIPE
    python = sys.executable
    children = [
        await asyncio.create_subprocess_exec(python, CHILD, "ignores-term", stdout=pipe),
        # exec: the shell becomes the Python child, so the pid the loop knows is the one signalled
        await asyncio.create_subprocess_shell(
            f"exec {shlex.join([python, CHILD, 'exits-on-term'])}", stdout=pipe
        ),
    ]
    if os.environ.get("CHILDREN_DETACHED") == "1":
        children.append(
            await asyncio.create_subprocess_exec(
                python, CHILD, "exits-on-term", stdout=pipe, start_new_session=True
            )
        )
    return children


async def main() -> None:
    children = await start_children()
    for child in children:
        assert child.stdout is not None
        await child.stdout.readline()  # UP: its signal dispositions are set
        PIDS.append(child.pid)
    print("CHILDREN", *PIDS, flush=True)
    await asyncio.get_running_loop().create_future()


def say_which_are_gone() -> None:
    for pid in PIDS:
        try:
            os.kill(pid, 0)  # succeeds for a zombie too: only reaping makes a pid go
        except ProcessLookupError:
            print("GONE", pid, flush=True)
        else:
            print("LEFT", pid, flush=True)


if __name__ == "__main__":
    try:
        aioboot.run(main(), shutdown_timeout=float(os.environ.get("CHILDREN_TIMEOUT", "0.5")))
    finally:
        say_which_are_gone()
else:
    atexit.register(say_which_are_gone)
