"""Where eager tasks help and where they cannot: ``python fanout.py RUNNER WORKLOAD N [REPEATS]``
runs WORKLOAD inside main REPEATS times (default 1) and prints ``{"seconds": <the fastest>,
"all": [...], "cpu_seconds": <the least CPU time>}``, timed inside main.

- ``fanout``: 3 rounds of N ``ensure_future`` calls of a mostly-cached lookup (99 in 100 are hits
  that return without suspending; a miss suspends once, as I/O would), then one ``gather`` of
  them: an eager task that hits the cache finishes inside ``ensure_future`` and never goes
  through the loop.
- ``pipeline``: N items through a chain of 4 stages, long-lived worker tasks joined by
  ``asyncio.Queue``: every item is awaited and handed on, no task is created per item, so eager
  tasks have nothing to speed up (the neutral workload).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Optional

from _runners import run
from tasks import time_work

ROUNDS = 3
MISS_EVERY = 100
STAGES = 4
QUEUE_SIZE = 64


async def lookup(cache: dict[int, int], key: int) -> int:
    value = cache.get(key)
    if value is None:
        await asyncio.sleep(0)  # a miss: one trip through the loop
        value = key
    return value


async def fanout(n: int) -> None:
    cache = {key: key for key in range(n) if key % MISS_EVERY}
    for _ in range(ROUNDS):
        futures = [asyncio.ensure_future(lookup(cache, key)) for key in range(n)]
        results = await asyncio.gather(*futures)
        assert len(results) == n


async def stage(inbox: asyncio.Queue[Optional[int]], outbox: asyncio.Queue[Optional[int]]) -> None:
    while True:
        item = await inbox.get()
        await outbox.put(None if item is None else item + 1)
        if item is None:
            return


async def pipeline(n: int) -> None:
    queues: list[asyncio.Queue[Optional[int]]] = [
        asyncio.Queue(QUEUE_SIZE) for _ in range(STAGES + 1)
    ]
    workers = [asyncio.ensure_future(stage(a, b)) for a, b in zip(queues, queues[1:])]
    last = queues[-1]

    async def feed() -> None:
        for item in range(n):
            await queues[0].put(item)
        await queues[0].put(None)

    feeder = asyncio.ensure_future(feed())
    total = 0
    while (item := await last.get()) is not None:
        total += item
    await asyncio.gather(feeder, *workers)
    assert total == n * (n - 1) // 2 + n * STAGES


WORKLOADS: dict[str, Any] = {"fanout": fanout, "pipeline": pipeline}


async def main(workload: str, n: int, repeats: int) -> None:
    await time_work(WORKLOADS[workload], n, repeats)


if __name__ == "__main__":
    runner, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    run(runner, lambda: main(name, count, repeats))
