"""A service for the drain timings: ``python drain.py SECONDS``.

main serves (waits) under ``aioboot.run(drain_delay=SECONDS)``; it prints ``READY``, then, with
``time.monotonic()`` stamps (``CLOCK_MONOTONIC`` on Linux, as the parent's), ``STOPPING <t>`` from
a log handler on aioboot's "received SIGTERM" record, which the signal's own callback logs right
after the stop request (so ``is_stopping()`` is already true there: the line says so), and
``CANCELLED <t>`` when main is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import aioboot


class StampTheStopRequest(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("received SIGTERM"):
            print(f"STOPPING {time.monotonic()} {aioboot.is_stopping()}", flush=True)


async def main() -> None:
    print("READY", flush=True)
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        print(f"CANCELLED {time.monotonic()}", flush=True)
        raise


if __name__ == "__main__":
    aioboot_logger = logging.getLogger("aioboot")
    aioboot_logger.addHandler(StampTheStopRequest())
    aioboot_logger.propagate = False  # no last-resort handler's line on stderr
    aioboot.run(main(), drain_delay=float(sys.argv[1]) or None)
