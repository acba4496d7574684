"""A real program for the dump, stall and notify tests: ``production.py NAME [key=value ...]``.

It prints ``READY`` once it is in the state the test wants to look at, and a line per thing that
happened.  The loop comes from AIOBOOT_LOOP, the signal path from _AIOBOOT_SIGNAL_FALLBACK, the
service manager from NOTIFY_SOCKET / WATCHDOG_USEC, as a user's program would get them.
"""

import asyncio
import logging
import signal
import sys
import threading

import aioboot

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
options = dict(arg.split("=", 1) for arg in sys.argv[2:])


def say(*words: object) -> None:
    print(*words, flush=True)


def block_until_told() -> None:
    """Blocks the loop (when called from a coroutine) in one call, as a real blocking call would,
    until the test writes a line on stdin: the stack shows the same line whenever it is read."""
    sys.stdin.readline()  # THE BLOCKING LINE


# -- dump ----------------------------------------------------------------------------------------


async def wait_for_the_event(event: asyncio.Event) -> None:
    await event.wait()


async def worker(event: asyncio.Event) -> None:
    await wait_for_the_event(event)


async def waiter(task: "asyncio.Task[None]") -> None:
    await task


def parked_thread(release: threading.Event) -> None:
    release.wait()


async def stuck() -> int:
    """Tasks awaiting each other, a thread waiting, and main awaiting the stop request."""
    stop = aioboot.stop_future()
    event = asyncio.Event()
    work = asyncio.create_task(worker(event), name="the-worker")
    watcher = asyncio.create_task(waiter(work), name="the-waiter")
    release = threading.Event()
    thread = threading.Thread(target=parked_thread, args=(release,), name="parked-thread")
    thread.start()
    say("READY")
    say("STOP", await stop)
    release.set()
    event.set()
    await watcher
    thread.join()
    return 0


# -- stall ---------------------------------------------------------------------------------------


async def blocker() -> None:
    # Blocks once the loop runs it, as the task named "the-blocker": an eager task's first step
    # runs inside create_task(), before create_task() names it (3.12, 3.13, uvloop).
    await asyncio.sleep(0)
    block_until_told()


async def stall() -> None:
    say("READY")
    await asyncio.create_task(blocker(), name="the-blocker")
    say("UNBLOCKED")
    # Let the loop turn a few times so the stall's end line is out before the run ends.
    await asyncio.sleep(0.5)


async def idle() -> None:
    say("READY")
    await asyncio.sleep(float(options["idle"]))
    say("DONE")


# -- notify --------------------------------------------------------------------------------------


async def serve() -> int:
    """A service: ready, then waiting for the stop request; optionally blocks its loop once."""
    stop = aioboot.stop_future()
    aioboot.ready(status="serving")
    say("READY")
    if options.get("block") == "stdin":
        await asyncio.sleep(0)
        say("BLOCKING")
        block_until_told()
        say("UNBLOCKED")
    say("STOP", await stop)
    return 0


SCENARIOS = {f.__name__: f for f in (stuck, stall, idle, serve)}


def main() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    try:
        aioboot.run(
            SCENARIOS[sys.argv[1]](),
            stall_warning=float(options["stall_warning"]) if "stall_warning" in options else None,
            shutdown_timeout=None
            if options.get("timeout") == "none"
            else float(options.get("timeout", "5")),
        )
    finally:
        after = signal.getsignal(signal.SIGUSR1)
        say("RESTORED" if after == before else f"CHANGED {before} -> {after}")


def own_handler(signum: int, frame: object) -> None:
    # Said from the loop once the signal has been handled: a signal the test sends as soon as it
    # reads this line must not land while uvloop is still processing this one (uvloop can
    # then run the loop handler of that second signal twice).
    asyncio.get_event_loop().call_soon_threadsafe(say, "OWN-USR1")


if __name__ == "__main__":
    if options.get("own_usr1"):
        signal.signal(signal.SIGUSR1, own_handler)
    main()
