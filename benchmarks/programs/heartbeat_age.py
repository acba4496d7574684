"""A program whose heartbeat file the parent watches: ``python heartbeat_age.py MODE SECONDS``,
run with ``AIOBOOT_HEARTBEAT_FILE`` set.  Prints READY, then for SECONDS its loop is

- ``idle``: asleep in its selector (main awaits a sleep);
- ``busy``: turning without pause (main creates and awaits one tiny task after another);
- ``blocked``: not turning at all (main calls time.sleep);

then it prints DONE and returns.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _runners import run


async def noop() -> None:
    return None


def block_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # the blocking call the heartbeat exists to notice


async def main(mode: str, seconds: float) -> None:
    await asyncio.sleep(0.6)  # past the first refresh: the file's age is the loop's from now on
    print("READY", flush=True)
    deadline = time.monotonic() + seconds
    if mode == "idle":
        await asyncio.sleep(seconds)
    elif mode == "busy":
        while time.monotonic() < deadline:
            await asyncio.create_task(noop())
    else:
        block_the_loop(seconds)
    print("DONE", flush=True)


if __name__ == "__main__":
    run("aioboot", lambda: main(sys.argv[1], float(sys.argv[2])))
