"""A real program for the signal and shutdown tests: ``scenario.py NAME [key=value ...]``.

It prints ``READY`` once it is waiting for a signal, a line per thing that happened (``CLEANUP``,
``STOP <value>``, ``RESULT <value>``), and lets aioboot decide the exit.  The loop comes from
AIOBOOT_LOOP, the signal path from _AIOBOOT_SIGNAL_FALLBACK, as a user's program would get them.
"""

import asyncio
import logging
import os
import signal
import sys
import threading
import time

import aioboot

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
options = dict(arg.split("=", 1) for arg in sys.argv[2:])
TIMEOUT = float(options.get("timeout", "5"))


BACKGROUND: list[asyncio.Task[None]] = []


def say(*words: object) -> None:
    print(*words, flush=True)


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


async def cancelled() -> None:
    """Never asks for the stop future: the first signal cancels it.  With ``hold=stdin`` its
    cleanup waits for a line on stdin, so the test decides when the shutdown may go on."""
    try:
        say("READY")
        await forever()
    finally:
        if options.get("hold") == "stdin":
            say("HOLDING")
            sys.stdin.readline()
        say("CLEANUP")


async def stop_future() -> int:
    """The classic server pattern: await the stop request, then return normally."""
    stop = aioboot.stop_future()
    say("READY")
    value = await stop
    say("STOP", value)
    await asyncio.sleep(0.01)  # graceful close work that needs the loop
    say("CLEANUP")
    return 7


async def slow_to_return() -> None:
    """Asks for the stop future but never returns: cancelled after shutdown_timeout."""
    stop = aioboot.stop_future()
    say("READY")
    await stop
    try:
        await forever()
    finally:
        say("CLEANUP")


async def stubborn_task() -> None:
    """A background task that ignores cancellation, so only a second signal ends shutdown fast."""

    async def stubborn() -> None:
        while True:
            try:
                await forever()
            except asyncio.CancelledError:
                say("IGNORED-CANCEL")

    # Held, as a program holds its background tasks: asyncio keeps tasks only weakly, and an
    # unreferenced pending task can be garbage-collected before the shutdown gets to it.
    BACKGROUND.append(asyncio.create_task(stubborn(), name="stubborn"))
    await asyncio.sleep(0)
    try:
        say("READY")
        await forever()
    finally:
        say("CLEANUP")


async def idle_wait() -> None:
    """Idle loop, no timers at all: a signal is only noticed if it wakes the loop itself.  With
    ``deliver=thread``, the kernel delivers the signals to another thread, which cannot interrupt
    the loop's wait in its selector (only a byte on the wakeup fd can), as a signal may always
    land in a process with threads, and lands just before the wait starts in one without."""
    stop = aioboot.stop_future()
    if options.get("deliver") == "thread":
        threading.Thread(target=threading.Event().wait, name="receiver", daemon=True).start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    say("READY", time.monotonic())
    await stop
    say("NOTICED", time.monotonic())


async def handlers() -> None:
    """Prints the signal handlers during the run."""
    say("DURING", *(repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)))
    say("READY")


async def library_loop_handler() -> None:
    """A library takes SIGTERM on the run's loop (aiogram, arq), then lets go of it."""
    loop = asyncio.get_running_loop()
    got = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, got.set)
    say("READY")
    await got.wait()
    say("LIBRARY GOT SIGTERM")
    loop.remove_signal_handler(signal.SIGTERM)
    say("REMOVED")
    try:
        await forever()
    finally:
        say("CLEANUP")


async def own_handler_reraised() -> str:
    """What uvicorn's serve() does: its own handler while it serves, then the previous handler
    back and the caught signal raised again for the layer outside to act on."""
    got = asyncio.Event()
    loop = asyncio.get_running_loop()
    previous = signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(got.set))
    say("READY")
    await got.wait()
    say("PROGRAM GOT SIGTERM")
    await asyncio.sleep(0.05)  # its own graceful shutdown
    signal.signal(signal.SIGTERM, previous)
    signal.raise_signal(signal.SIGTERM)
    say("CLEANUP")
    return "served"


async def waits_for() -> None:
    """Main awaits work handed to aioboot.shutdown_waits_for(), which ends when a line comes on
    stdin: the stop cancels main and not the work, which the shutdown waits for before its
    hooks."""

    async def commit() -> None:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        say("COMMITTED")

    aioboot.on_shutdown(lambda: say("HOOK"))
    try:
        say("READY")
        await aioboot.shutdown_waits_for(commit())
    finally:
        say("CLEANUP")


SCENARIOS = {
    f.__name__: f
    for f in (
        cancelled,
        stop_future,
        slow_to_return,
        stubborn_task,
        idle_wait,
        handlers,
        library_loop_handler,
        own_handler_reraised,
        waits_for,
    )
}


def main() -> None:
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        result = aioboot.run(SCENARIOS[sys.argv[1]](), shutdown_timeout=TIMEOUT)
        say("RESULT", result)
    finally:
        after = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
        say("RESTORED" if after == before else f"CHANGED {before} -> {after}")
    if options.get("then") == "sleep":
        # After the run, the process's own handlers must work again (uvloop keeps its handler
        # on a closed loop otherwise, and a later Ctrl-C would be swallowed).
        say("AFTER")
        # Short sleeps: a signal that arrives between say() and a sleep's system call has its
        # Python handler run only when that sleep ends, and one long sleep would hide it for 60 s.
        for _ in range(1200):
            time.sleep(0.05)


if __name__ == "__main__":
    if os.environ.get("SCENARIO_SIGTERM_HANDLER"):
        signal.signal(signal.SIGTERM, lambda *_: None)  # a handler of the program's own, to be kept
    main()
