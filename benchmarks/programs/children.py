"""Child processes, for the shutdown benchmark: ``python children.py RUNNER K MODE``.

- MODE ``wait``: main starts K ``sleep 3600`` children through the loop
  (``asyncio.create_subprocess_exec``), prints ``READY <pid> ...`` and waits for the parent's
  signal; when run() has returned or raised it prints ``RETURNED <time.monotonic()>`` and ends the
  way run() did.  Children the runner does not stop are left running: the parent kills them.
- MODE ``spawn``: main starts K ``true`` children one after the other, awaiting each one's exit,
  and prints ``SPAWNED <seconds>``, timed inside main: what starting a child costs.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _runners import run


async def wait(k: int) -> None:
    children = [await asyncio.create_subprocess_exec("sleep", "3600") for _ in range(k)]
    print("READY", *(child.pid for child in children), flush=True)
    await asyncio.get_running_loop().create_future()


async def spawn(k: int) -> None:
    started = time.perf_counter()
    for _ in range(k):
        child = await asyncio.create_subprocess_exec("true")
        await child.wait()
    print("SPAWNED", time.perf_counter() - started, flush=True)


def run_then_stamp(runner: str, k: int, mode: str) -> None:
    try:
        run(runner, lambda: wait(k) if mode == "wait" else spawn(k))
    finally:
        print(f"RETURNED {time.monotonic()!r}", flush=True)


if __name__ == "__main__":
    run_then_stamp(sys.argv[1], int(sys.argv[2]), sys.argv[3])
