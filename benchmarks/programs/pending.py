"""N pending tasks, for the shutdown and memory benchmarks.

``python pending.py RUNNER N MODE``: main starts N tasks that each sleep for an hour, lets every
one of them reach its sleep, then prints ``READY <peak RSS in KiB> N``.  main holds the
list of its tasks until it ends.

- MODE ``wait``: main then waits forever, for the signal the parent sends.
- MODE ``return``: main returns at once; the runner cancels the N tasks on its way out.

When run() has returned or raised, the program prints ``RETURNED <time.monotonic()> <peak RSS in
KiB>`` and ends the way run() did (its exception propagates), so the interpreter's teardown is
what it would have been without the measurement.  With $BENCH_PROFILE set to a path, cProfile
records from READY to the end of run() and writes its stats there.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import sys
import time
from typing import Optional

from _runners import run

PROFILE_PATH = os.environ.get("BENCH_PROFILE")
profiler: Optional[cProfile.Profile] = None


def peak_rss_kib() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


async def main(n: int, mode: str) -> None:
    global profiler
    tasks = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(n)]
    await asyncio.sleep(0)  # one pass of the loop: every task is now suspended in its sleep
    print(f"READY {peak_rss_kib()} {len(tasks)}", flush=True)
    if mode == "return":
        return
    if PROFILE_PATH:
        profiler = cProfile.Profile()
        profiler.enable()
    await asyncio.get_running_loop().create_future()


def run_then_stamp(runner: str, n: int, mode: str) -> None:
    """run(), then the stamp; whatever run() raised propagates unchanged (no variable keeps it,
    so the interpreter frees it exactly when it would free it in a program without the stamp)."""
    try:
        run(runner, lambda: main(n, mode))
    finally:
        returned = time.monotonic()
        if profiler is not None and PROFILE_PATH:
            profiler.disable()
            profiler.dump_stats(PROFILE_PATH)
        print(f"RETURNED {returned!r} {peak_rss_kib()}", flush=True)


if __name__ == "__main__":
    run_then_stamp(sys.argv[1], int(sys.argv[2]), sys.argv[3])
