"""Cancelling ``asyncio.gather`` cancels its children; cancelling ``asyncio.wait`` does not: they
keep running, and stopping them is the caller's job (``aioboot.wait_any`` does it for you).

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio
import contextlib
from typing import Any

import aioboot


async def child(started: asyncio.Event) -> None:
    started.set()
    await asyncio.sleep(3600)


async def start_children() -> list[asyncio.Task[None]]:
    events = [asyncio.Event(), asyncio.Event()]
    children = [asyncio.create_task(child(started)) for started in events]
    for started in events:
        await started.wait()
    return children


async def cancel_and_await(outer: asyncio.Future[Any]) -> None:
    outer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await outer


async def gather_case() -> None:
    children = await start_children()
    await cancel_and_await(asyncio.gather(*children))
    cancelled = all(c.cancelled() for c in children)
    print(f"gather cancelled -> children cancelled: {cancelled}")


async def wait_case() -> None:
    children = await start_children()
    await cancel_and_await(asyncio.ensure_future(asyncio.wait(children)))
    running = all(not c.done() for c in children)
    print(f"wait cancelled -> children still running: {running}")
    for c in children:  # ours to stop now
        c.cancel()
    await asyncio.wait(children)
    print(f"wait cancelled -> stopped by hand: {all(c.cancelled() for c in children)}")


async def main() -> None:
    await gather_case()
    await wait_case()


if __name__ == "__main__":
    aioboot.run(main())
