"""A service as orchestrators run it, for the drain and SIGHUP tests:
``orchestrated.py [key=value ...]``, or ``python -m aioboot orchestrated:serve [key=value ...]``.

It prints ``READY`` once it serves, answers commands read from stdin (``ping``: ``PONG`` and what
``aioboot.is_stopping()`` says; ``ping-thread``: the same from another thread; ``request-stop``;
``release``: lets a ``held`` reload callback finish), and a line per thing that happened.  Its
log goes to stdout too, so that a test reads everything in the order it happened.

Options: ``drain=SECONDS``; ``stop=future`` (main awaits the stop future instead of being
cancelled); ``reload=NAME,...`` (reload callbacks to register, in that order); ``watch=1`` (print
``NOTICED`` as soon as ``is_stopping()`` turns true); ``hup=own`` (a SIGHUP handler of the
program's); ``timeout=SECONDS``.
"""

import asyncio
import logging
import os
import signal
import stat
import sys
import threading
from typing import Callable, Optional

import aioboot

logging.basicConfig(
    stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
)
options = dict(arg.split("=", 1) for arg in sys.argv[1:])
KEPT: list["asyncio.Task[None]"] = []  # asyncio keeps tasks only weakly
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def say(*words: object) -> None:
    print(*words, flush=True)


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


# -- reload callbacks ----------------------------------------------------------------------------

released: Optional[asyncio.Event] = None  # made in the run (3.9's binds the loop it is made in)
held_reloads = 0


def reload_sync() -> None:
    say("RELOAD sync")


async def reload_async() -> None:
    await asyncio.sleep(0)
    say("RELOAD async")


def reload_fail() -> None:
    raise RuntimeError("bad configuration")


async def reload_stuck() -> None:
    say("RELOAD stuck")
    await forever()


async def reload_held() -> None:
    """Reloads until the test writes ``release``: a SIGHUP can then come during the reload."""
    global held_reloads
    held_reloads += 1
    say("RELOAD held", held_reloads)
    assert released is not None
    await released.wait()
    released.clear()


RELOADS: dict[str, Callable[[], object]] = {
    "sync": reload_sync,
    "async": reload_async,
    "fail": reload_fail,
    "stuck": reload_stuck,
    "held": reload_held,
}


# -- what a service does while it serves ---------------------------------------------------------


def from_another_thread() -> bool:
    answer: list[bool] = []
    thread = threading.Thread(target=lambda: answer.append(aioboot.is_stopping()))
    thread.start()
    thread.join()
    return answer[0]


async def answer_commands() -> None:
    if not stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        return  # no test writing to it (uvloop aborts on a pipe transport for /dev/null)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "ping":
            say("PONG", aioboot.is_stopping())
        elif line == "ping-thread":
            say("THREAD", from_another_thread())
        elif line == "request-stop":
            aioboot.request_stop()
        elif line == "release" and released is not None:
            released.set()


async def notice_the_stop() -> None:
    """What a health check sees: polled, as a load balancer polls."""
    while not aioboot.is_stopping():
        await asyncio.sleep(0.005)
    say("NOTICED")


async def serve() -> Optional[int]:
    global released
    released = asyncio.Event()
    stop = aioboot.stop_future() if options.get("stop") == "future" else None
    for name in filter(None, options.get("reload", "").split(",")):
        aioboot.on_reload(RELOADS[name])
    KEPT.append(asyncio.create_task(answer_commands()))
    if options.get("watch"):
        KEPT.append(asyncio.create_task(notice_the_stop()))
    try:
        say("READY")
        if stop is None:
            await forever()
            return None
        say("STOP", await stop)
        return 0
    except asyncio.CancelledError:
        say("CANCELLED")
        raise


def own_sighup_handler(signum: int, frame: object) -> None:
    asyncio.get_event_loop().call_soon_threadsafe(say, "OWN-HUP")


def main() -> None:
    if options.get("hup") == "own":
        signal.signal(signal.SIGHUP, own_sighup_handler)
    before = [signal.getsignal(s) for s in STOP_SIGNALS]
    try:
        aioboot.run(
            serve(),
            drain_delay=float(options["drain"]) if "drain" in options else None,
            shutdown_timeout=float(options.get("timeout", "5")),
        )
    finally:
        after = [signal.getsignal(s) for s in STOP_SIGNALS]
        say("RESTORED" if after == before else f"CHANGED {before} -> {after}")


if __name__ == "__main__":
    main()
