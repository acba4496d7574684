"""An idle program's wake-ups: ``python idle.py RUNNER SECONDS`` sleeps SECONDS in main and prints
``{"wakeups": N, "seconds": S, "threads": T}``: the context switches of all its threads meanwhile
(every time a thread sleeps and is woken again counts one), read from /proc (Linux).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from _runners import run


def context_switches() -> int:
    total = 0
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/status") as status:
            for line in status:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


async def main(seconds: float) -> None:
    await asyncio.sleep(0.2)  # past start-up: the watchers are running
    before, started = context_switches(), time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = context_switches(), time.monotonic() - started
    threads = len(os.listdir("/proc/self/task"))
    print(json.dumps({"wakeups": after - before, "seconds": elapsed, "threads": threads}))


if __name__ == "__main__":
    run(sys.argv[1], lambda: main(float(sys.argv[2])))
