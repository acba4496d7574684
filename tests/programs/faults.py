"""The fault-matrix program: ``faults.py ROW``.

Every row runs inside the same frame, which sets up the three things a shutdown must never lose:
main's ``finally``, a shutdown hook, and an async generator's cleanup; each writes a marker file
into $MARKERS.  The row then injects its fault.  Lines on stdout (``READY``, ``IN-HOOK``, and the
runner's debug lines ``shutdown: ...``) let the test time its signals; errors go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Callable

import aioboot

MARKERS = Path(os.environ["MARKERS"])
ROW = sys.argv[1]
TIMEOUT = float(os.environ.get("FAULT_TIMEOUT", "5"))
keep: list[Any] = []
never = threading.Event()


def say(*words: object) -> None:
    print(*words, flush=True)


def mark(name: str) -> None:
    (MARKERS / name).write_text(name)


def configure_logging() -> None:
    steps = logging.StreamHandler(sys.stdout)
    # The runner's steps, and the stop requests it receives, for the test to time its signals.
    steps.addFilter(lambda r: r.levelno == logging.DEBUG or r.getMessage().startswith("received "))
    steps.setFormatter(logging.Formatter("%(message)s"))
    problems = logging.StreamHandler(sys.stderr)
    problems.setLevel(logging.INFO)
    problems.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[steps, problems])


async def ticker() -> AsyncIterator[None]:
    try:
        while True:
            yield
    finally:
        mark("agen")


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


def spawn(coro: Any, name: str) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    keep.append(task)
    return task


async def fail(message: str) -> None:
    raise ValueError(message)


# -- rows: each is awaited inside main's try block ---------------------------------------------


async def startup_signal() -> None:
    say("READY")
    await forever()


async def signal_in_hook() -> None:
    async def slow_hook() -> None:
        say("IN-HOOK")
        await forever()

    aioboot.on_shutdown(slow_hook)


async def signal_while_cancelling() -> None:
    async def slow_to_cancel() -> None:
        try:
            await forever()
        except asyncio.CancelledError:
            say("CANCELLING")
            await forever()

    spawn(slow_to_cancel(), "slow-to-cancel")
    await asyncio.sleep(0)


async def signal_in_executor() -> None:
    asyncio.get_running_loop().run_in_executor(None, never.wait)


async def stuck_task() -> None:
    async def refuses() -> None:
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await forever()

    spawn(refuses(), "refuses")
    await asyncio.sleep(0)


async def stuck_hook() -> None:
    async def hangs() -> None:
        await forever()

    aioboot.on_shutdown(hangs)


async def stuck_executor() -> None:
    asyncio.get_running_loop().run_in_executor(None, never.wait)


async def raise_main() -> None:
    raise ValueError("from main")


async def raise_task() -> None:
    spawn(fail("from a task"), "failing")
    await asyncio.sleep(0.01)


async def raise_hook() -> None:
    def broken_hook() -> None:
        raise ValueError("from a hook")

    aioboot.on_shutdown(broken_hook)


async def raise_done_callback() -> None:
    def broken_callback(_: object) -> None:
        raise ValueError("from a done-callback")

    future = asyncio.get_running_loop().create_future()
    future.add_done_callback(broken_callback)
    future.set_result(None)
    await asyncio.sleep(0.01)


async def raise_call_soon() -> None:
    def broken() -> None:
        raise ValueError("from call_soon")

    asyncio.get_running_loop().call_soon(broken)
    await asyncio.sleep(0.01)


async def raise_after_signal() -> None:
    stop = aioboot.stop_future()
    say("READY")
    await stop
    raise ValueError("while stopping")


async def systemexit_main() -> None:
    raise SystemExit(3)


async def keyboardinterrupt_main() -> None:
    raise KeyboardInterrupt


async def systemexit_task() -> None:
    async def bail() -> None:
        raise SystemExit(4)

    spawn(bail(), "bail")
    await forever()


async def keyboardinterrupt_task() -> None:
    async def bail() -> None:
        raise KeyboardInterrupt

    spawn(bail(), "bail")
    await forever()


async def two_failures() -> None:
    spawn(fail("first"), "first")
    spawn(fail("second"), "second")
    await forever()


async def request_stop_from_thread() -> None:
    stop = aioboot.stop_future()

    def stopper() -> None:
        aioboot.request_stop()
        aioboot.request_stop()

    threading.Thread(target=stopper).start()
    say("STOP", await stop)


async def own_factory_and_handler() -> None:
    loop = asyncio.get_running_loop()
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(getattr(coro, "__qualname__", type(coro).__name__))
        return asyncio.Task(coro, loop=loop, **kwargs)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        say("HANDLER", type(context.get("exception")).__name__, context.get("message"))

    loop.set_task_factory(factory)
    loop.set_exception_handler(handler)
    spawn(fail("to the handler"), "failing")
    await asyncio.sleep(0.01)
    say("FACTORY", ",".join(made))


ROWS: dict[str, Callable[[], Any]] = {
    f.__name__: f
    for f in (
        startup_signal, signal_in_hook, signal_while_cancelling, signal_in_executor,
        stuck_task, stuck_hook, stuck_executor,
        raise_main, raise_task, raise_hook, raise_done_callback, raise_call_soon,
        raise_after_signal, systemexit_main, keyboardinterrupt_main, systemexit_task,
        keyboardinterrupt_task, two_failures, request_stop_from_thread, own_factory_and_handler,
    )
}  # fmt: skip


async def main(suffix: str = "") -> None:
    say("STARTED")
    aioboot.on_shutdown(lambda: mark("hook" + suffix))
    generator = ticker()
    keep.append(generator)
    await generator.__anext__()
    try:
        await ROWS[ROW]()
    finally:
        mark("finally" + suffix)


def signal_handlers() -> list[object]:
    return [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]


class _SignalsSelfOnFirstTask:
    """A loop factory whose loop sends SIGTERM to its own process just before main's task exists:
    the signal arrives during start-up, after aioboot took the signals over."""

    def __init__(self) -> None:
        self.base = aioboot._loops.choose_loop(None).factory

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = self.base()
        original = loop.create_task

        def create_task(coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            loop.create_task = original  # type: ignore[method-assign]
            os.kill(os.getpid(), signal.SIGTERM)
            return original(coro, **kwargs)

        loop.create_task = create_task  # type: ignore[method-assign]
        return loop


def run_row() -> None:
    options: dict[str, Any] = {"shutdown_timeout": TIMEOUT}
    if ROW == "startup_signal":
        options["loop"] = _SignalsSelfOnFirstTask()
    if ROW == "two_failures":
        options["stop_on_error"] = True
    before = signal_handlers()
    for suffix in ("-1", "-2") if ROW == "run_twice" else ("",):
        try:
            aioboot.run(main(suffix), **options)
        finally:
            say("RESTORED" if signal_handlers() == before else "CHANGED")


if __name__ == "__main__":
    configure_logging()
    if ROW == "run_twice":
        ROWS["run_twice"] = raise_task  # two full runs, each with a failing task to report
    run_row()
