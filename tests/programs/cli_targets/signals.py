"""Long-running targets that print READY once they are waiting for a signal."""

import asyncio

import aioboot


async def wait_forever() -> None:
    """Never asks for the stop future: the first signal cancels it."""
    try:
        print("READY", flush=True)
        await asyncio.get_running_loop().create_future()
    finally:
        print("CLEANUP", flush=True)


async def with_stop_future() -> None:
    """The server pattern: await the stop request, clean up, return normally."""
    stop = aioboot.stop_future()
    print("READY", flush=True)
    signum = await stop
    print("STOPPED BY", signum, flush=True)
    await asyncio.sleep(0)  # graceful close work that needs the loop
    print("CLEANUP", flush=True)


async def stops_with_status_3() -> int:
    """Awaits the stop request and chooses its exit status, which a signal does not override."""
    await with_stop_future()
    return 3


async def slow_to_return() -> None:
    """Asks for the stop future but never returns: cancelled after the shutdown timeout."""
    stop = aioboot.stop_future()
    print("READY", flush=True)
    await stop
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        print("CLEANUP", flush=True)
