"""The done() pitfall: ``task.done()`` means "finished", not "succeeded".  A failed task that the
program keeps a reference to but never asks for its result loses the exception: asyncio only
mentions it when the task is garbage-collected, which may be never.  aioboot reports it when the
run ends, with the task's name and the traceback, on the "aioboot" logger (here: stderr).

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio
import logging

import aioboot

logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")

background: list[asyncio.Task[None]] = []  # a reference keeps the failed task alive


async def refresh_cache() -> None:
    await asyncio.sleep(0)
    raise ConnectionError("cache backend unreachable")


async def main() -> None:
    task = asyncio.create_task(refresh_cache(), name="refresh-cache")
    background.append(task)
    await asyncio.wait([task])  # waits for it without looking at its outcome
    if task.done():
        print("pitfall: task.done() is True, so the program moves on as if it had worked")

    checked = asyncio.create_task(refresh_cache(), name="refresh-cache-checked")
    await asyncio.wait([checked])
    # The fix: look at the outcome (result() raises it, exception() returns it).
    print(f"fix: checked.exception() = {checked.exception()!r}; that one is not reported")
    print("main returns; aioboot reports the lost exception on the 'aioboot' logger:")


if __name__ == "__main__":
    aioboot.run(main())
