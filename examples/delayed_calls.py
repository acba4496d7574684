"""call_later / call_at: run a coroutine function later, as a task of the run.

The usual trick, ``loop.call_later(5, asyncio.run_coroutine_threadsafe, work(), loop)``, creates
the coroutine right away (cancel the timer and it is "never awaited"), and nobody looks at the
task's exception.  ``aioboot.call_later(5, work)`` creates the coroutine only when it is due, can
be cancelled, awaited, and used from any thread; a call still pending at exit is cancelled.

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio
import threading

import aioboot


async def started_at() -> float:
    """Returns the loop time at which it started."""
    return asyncio.get_running_loop().time()


async def thread_id() -> int:
    return threading.get_ident()


async def main() -> aioboot.ScheduledCall[float]:
    loop = asyncio.get_running_loop()

    later = aioboot.call_later(0.05, started_at)
    print(f"call_later: started at or after when(): {await later >= later.when()}")

    at = aioboot.call_at(loop.time() + 0.05, started_at)
    print(f"call_at: started at or after when(): {await at >= at.when()}")

    dropped = aioboot.call_later(0.01, started_at)
    dropped.cancel()
    print(f"cancelled before due: cancelled={dropped.cancelled()} task={dropped.task}")

    from_thread = await asyncio.to_thread(aioboot.call_later, 0.01, thread_id)
    ran_in_loop_thread = await from_thread == threading.get_ident()
    print(f"scheduled from another thread: ran in the loop thread: {ran_in_loop_thread}")

    return aioboot.call_later(3600, started_at)  # still pending when main returns


if __name__ == "__main__":
    leftover = aioboot.run(main())
    print(f"pending at exit: cancelled={leftover.cancelled()} task={leftover.task}")
