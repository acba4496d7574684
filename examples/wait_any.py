"""``aioboot.wait_any``: do some work unless the connection is lost first, without leaving
anything running whichever way it ends.

Its three cases: the work finishes first (the watcher is cancelled), the connection is lost first
(the work is cancelled), the wait itself is cancelled (both are).

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio
import contextlib

import aioboot


async def fetch(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "payload"


async def work_finishes_first() -> None:
    lost = asyncio.Event()
    work = asyncio.create_task(fetch(0.01))
    watcher = asyncio.create_task(lost.wait())
    done, _ = await aioboot.wait_any([work, watcher])
    print(f"work first: done is the work={done == {work}} result={work.result()!r}")
    print(f"work first: watcher cancelled={watcher.cancelled()}")


async def connection_lost_first() -> None:
    lost = asyncio.Event()
    work = asyncio.create_task(fetch(3600))
    watcher = asyncio.create_task(lost.wait())
    asyncio.get_running_loop().call_later(0.01, lost.set)  # the peer goes away
    done, _ = await aioboot.wait_any([work, watcher])
    print(
        f"connection lost first: done is the watcher={done == {watcher}} "
        f"work cancelled={work.cancelled()}"
    )


async def wait_itself_cancelled() -> None:
    lost = asyncio.Event()
    work = asyncio.create_task(fetch(3600))
    watcher = asyncio.create_task(lost.wait())
    waiting = asyncio.create_task(aioboot.wait_any([work, watcher]))
    asyncio.get_running_loop().call_later(0.01, waiting.cancel)  # e.g. the request timed out
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    print(
        f"wait cancelled: work cancelled={work.cancelled()} watcher cancelled={watcher.cancelled()}"
    )


async def main() -> None:
    await work_finishes_first()
    await connection_lost_first()
    await wait_itself_cancelled()


if __name__ == "__main__":
    aioboot.run(main())
