"""A real multi-run ``aioboot.Runner`` program for the signal tests: ``runner.py SCENARIO``.

It prints ``READY`` (then ``READY-2`` in the second run) when it waits for a signal, a line per
thing that happened (``FIRST <exit code or exception>``, ``BETWEEN RESTORED``, ``SECOND <value>``,
``REFUSED <message>``, ``CLOSED RESTORED``), and lets the runner report what it reports on stderr.
The loop comes from AIOBOOT_LOOP, the signal path from _AIOBOOT_SIGNAL_FALLBACK.
"""

import asyncio
import logging
import os
import signal
import sys
from typing import Any

import aioboot

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
TIMEOUT = float(os.environ.get("RUNNER_TIMEOUT", "5"))
kept: list["asyncio.Task[Any]"] = []


def say(*words: object) -> None:
    print(*words, flush=True)


def handlers() -> list[object]:
    return [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]


def restored(before: list[object]) -> str:
    return "RESTORED" if handlers() == before else f"CHANGED {before} -> {handlers()}"


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


async def fail() -> None:
    raise ValueError("lost in the second run")


async def wait_for_a_signal() -> None:
    say("READY")
    await forever()


async def second_run() -> object:
    """A fresh stop request: the first run's does not carry over; a signal stops this run too."""
    stop = aioboot.stop_future()
    kept.append(asyncio.get_running_loop().create_task(fail(), name="lost"))
    say("READY-2", stop.done())
    return await stop


async def ignores_cancellation() -> None:
    say("READY")
    while True:
        try:
            await forever()
        except asyncio.CancelledError:
            say("IGNORED-CANCEL")


async def answer() -> int:
    return 42


def stopped_then_runs_again() -> None:
    before = handlers()
    with aioboot.Runner(shutdown_timeout=TIMEOUT) as runner:
        try:
            runner.run(wait_for_a_signal())
        except SystemExit as exc:
            say("FIRST", exc.code)
        say("BETWEEN", restored(before))
        say("SECOND", runner.run(second_run()))
    say("CLOSED", restored(before))


def forced_then_refuses() -> None:
    before = handlers()
    runner = aioboot.Runner(shutdown_timeout=TIMEOUT)
    try:
        runner.run(ignores_cancellation())
    except KeyboardInterrupt:  # a second Ctrl-C forces the exit
        say("FIRST KeyboardInterrupt")
    try:
        runner.run(answer())
    except RuntimeError as exc:
        say("REFUSED", exc)
    runner.close()
    say("CLOSED", restored(before))


SCENARIOS = {f.__name__: f for f in (stopped_then_runs_again, forced_then_refuses)}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
