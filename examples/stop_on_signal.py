"""Stop gracefully on Ctrl-C or SIGTERM: the program awaits the stop request instead of being
cancelled in the middle of whatever it was doing, then cleans up and returns.

    python examples/stop_on_signal.py     # then press Ctrl-C, or: kill -TERM <pid>

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio
import contextlib
import signal
from typing import Optional

import aioboot


async def heartbeat(beats: list[float]) -> None:
    """Background work that has to be stopped before the program ends."""
    loop = asyncio.get_running_loop()
    while True:
        beats.append(loop.time())
        await asyncio.sleep(0.1)


def describe(signum: Optional[int]) -> str:
    return "a stop request" if signum is None else signal.Signals(signum).name


async def main() -> int:
    # Asked for before anything else: from now on a signal resolves this future instead of
    # cancelling main.
    stop = aioboot.stop_future()
    beats: list[float] = []
    worker = asyncio.create_task(heartbeat(beats))
    print("READY: press Ctrl-C or send SIGTERM", flush=True)
    signum = await stop
    print(f"received {describe(signum)}: stopping")
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    print(f"cleanup: heartbeat stopped after {len(beats)} beat(s)")
    print("cleanup: done; main returns normally, exit code 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(aioboot.run(main()))
