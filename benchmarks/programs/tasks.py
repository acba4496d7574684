"""Task throughput: ``python tasks.py RUNNER N MODE [REPEATS]`` creates and awaits N tiny tasks
inside main, REPEATS times (default 1), and prints ``{"seconds": <the fastest>, "all": [...],
"cpu_seconds": <the least CPU time, all the process's threads>}``, timed inside main (interpreter
start and shutdown excluded).  The fastest of a few repetitions is the one least disturbed by
other processes on a shared machine; a cost paid per task is paid in every repetition.

MODE ``sequential`` awaits each task before creating the next; ``gather`` creates all N, then
gathers them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Awaitable, Callable

from _runners import run


async def noop() -> None:
    return None


async def sequential(n: int) -> None:
    for _ in range(n):
        await asyncio.create_task(noop())


async def gather(n: int) -> None:
    await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(n)])


MODES = {"sequential": sequential, "gather": gather}


async def main(n: int, mode: str, repeats: int) -> None:
    await time_work(MODES[mode], n, repeats)


async def time_work(work: Callable[[int], Awaitable[None]], n: int, repeats: int) -> None:
    """``await work(n)`` ``repeats`` times; prints the result line (see the module's docstring)."""
    times, cpu_times = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        await work(n)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    result = {"seconds": min(times), "all": times, "cpu_seconds": min(cpu_times)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    runner, count, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    run(runner, lambda: main(count, how, repeats))
