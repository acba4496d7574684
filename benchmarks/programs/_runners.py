"""How each runner runs the same ``async def main()``: the one place the child programs differ.

Imports happen here, inside ``run()``, so a child pays only for the runner it uses.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Coroutine

Main = Callable[[], Coroutine[Any, Any, Any]]


def run(runner: str, main: Main) -> object:
    if runner == "asyncio":
        return asyncio.run(main())
    if runner == "uvloop":
        import uvloop

        return uvloop.run(main())
    if runner in ("aiorun", "aiorun-asyncio"):
        import aiorun

        # aiorun keeps the loop running after main returns: the program stops it (its idiom).
        aiorun.run(_stop_loop_after(main), use_uvloop=runner == "aiorun")
        return None
    if runner == "aioboot":
        import aioboot

        return aioboot.run(main())
    if runner == "aioboot-stop-on-error":
        import aioboot

        return aioboot.run(main(), stop_on_error=True)
    if runner.startswith("aioboot-eager") or runner.startswith("aioboot-rloop"):
        import aioboot

        loop = "rloop" if "rloop" in runner else None
        return aioboot.run(main(), loop=loop, eager_tasks=runner.endswith("eager"))
    if runner == "aioboot-watched":
        import aioboot

        # The watchdog comes from NOTIFY_SOCKET and WATCHDOG_USEC, which the benchmark sets.
        return aioboot.run(main(), stall_warning=float(os.environ["BENCH_STALL_WARNING"]))
    raise SystemExit(f"unknown runner {runner!r}")


async def _stop_loop_after(main: Main) -> object:
    # Only once main has returned: stopping the loop while aiorun waits for cancelled tasks
    # would end its shutdown early.
    result = await main()
    asyncio.get_running_loop().stop()
    return result
