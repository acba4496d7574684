"""aioboot.run() through its public surface, in-process: arguments, outcomes, loop handling."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import warnings
import weakref
from collections.abc import Coroutine
from typing import Any, Callable

import pytest
from conftest import (
    ASYNCIO_REFUSAL,
    REFERENCE_COUNTING,
    assert_signal_path,
    collect_garbage,
    posix_only,
)

import aioboot


async def answer() -> int:
    return 42


def test_returns_mains_value(loop_name: str) -> None:
    assert aioboot.run(answer(), loop=loop_name) == 42


def test_accepts_an_async_function_without_arguments(loop_name: str) -> None:
    assert aioboot.run(answer, loop=loop_name) == 42


def test_mains_exception_propagates_unchanged(loop_name: str) -> None:
    error = ValueError("boom")

    async def main() -> None:
        raise error

    with pytest.raises(ValueError, match="boom") as raised:
        aioboot.run(main(), loop=loop_name)
    assert raised.value is error


@pytest.mark.parametrize(
    "bad", [lambda: None, 42, "main", None], ids=["lambda", "int", "str", "none"]
)
def test_a_non_coroutine_is_both_a_typeerror_and_a_valueerror_in_asyncios_words(
    bad: object,
) -> None:
    with pytest.raises(TypeError, match=ASYNCIO_REFUSAL) as raised:
        aioboot.run(bad)  # type: ignore[arg-type]
    assert isinstance(raised.value, ValueError)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="asyncio.run accepts futures since 3.14")
def test_a_future_is_refused_as_asyncio_run_refuses_it_before_3_14() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match=ASYNCIO_REFUSAL):
            aioboot.run(loop.create_future())
    finally:
        loop.close()


@pytest.mark.skipif(sys.version_info < (3, 14), reason="asyncio.run refuses futures before 3.14")
def test_a_future_is_awaited_as_asyncio_run_awaits_it_since_3_14() -> None:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_result(42)
    assert aioboot.run(future, loop_factory=lambda: loop) == 42


def test_a_plain_function_is_never_called() -> None:
    calls: list[int] = []

    def plain() -> Coroutine[Any, Any, int]:
        calls.append(1)
        return answer()

    with pytest.raises(ValueError, match="is a synchronous function, not an async function"):
        aioboot.run(plain)  # type: ignore[arg-type]
    assert calls == []


def test_an_async_function_that_needs_arguments_is_refused_clearly() -> None:
    async def needs(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="needs arguments"):
        aioboot.run(needs)  # type: ignore[arg-type]


def collect_never_awaited_warnings(action: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        collect_garbage()
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"shutdown_timeout": -1}, ValueError),
        ({"shutdown_timeout": "5"}, TypeError),
        ({"shutdown_timeout": True}, TypeError),
        ({"debug": "yes"}, TypeError),
        ({"stop_on_error": 1}, TypeError),
        ({"handle_signals": None}, TypeError),
        ({"loop": "bogus"}, ValueError),
        ({"loop": 3}, TypeError),
        ({"loop": "asyncio", "loop_factory": asyncio.new_event_loop}, TypeError),
    ],
)
def test_bad_arguments_raise_clearly_and_close_the_coroutine(
    kwargs: dict[str, Any], error: type
) -> None:
    def call() -> None:
        with pytest.raises(error):
            aioboot.run(answer(), **kwargs)

    assert collect_never_awaited_warnings(call) == []


def test_inside_a_running_loop_that_error_comes_before_main_is_checked_as_in_asyncio_run() -> None:
    async def outer() -> None:
        with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
            aioboot.run(42)  # type: ignore[arg-type]

    asyncio.run(outer())


def test_running_inside_a_running_loop_is_refused() -> None:
    async def outer() -> None:
        inner = answer()
        with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
            aioboot.run(inner)

    assert collect_never_awaited_warnings(lambda: asyncio.run(outer())) == []


def test_rebinding_asyncio_run_to_aioboot_run_does_not_recurse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(asyncio, "run", aioboot.run)
    assert asyncio.run(answer()) == 42


def test_works_off_the_main_thread_without_touching_signals(loop_name: str) -> None:
    before = signal.getsignal(signal.SIGINT)
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(aioboot.run(answer(), loop=loop_name)))
    thread.start()
    thread.join(30)
    assert box == [42]
    assert signal.getsignal(signal.SIGINT) is before


def test_debug_is_applied(loop_name: str) -> None:
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert aioboot.run(main(), loop=loop_name, debug=True) is True
    assert aioboot.run(main(), loop=loop_name, debug=False) is False


def test_run_twice_in_a_row_leaves_handlers_as_they_were(loop_name: str) -> None:
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert aioboot.run(answer(), loop=loop_name) == 42
    assert aioboot.run(answer(), loop=loop_name) == 42
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before


def test_custom_and_ignored_handlers_are_left_to_the_program(
    loop_name: str, signal_path_in_process: str, caplog: pytest.LogCaptureFixture
) -> None:
    def own(signum: int, frame: object) -> None: ...

    seen: list[object] = []

    async def main() -> None:
        seen.extend(signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM))

    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, own)
    try:
        aioboot.run(main(), loop=loop_name)
        assert seen[0] == signal.SIG_IGN  # an ignored signal stays ignored during the run
        assert seen[1] is own  # the program's own handler: the signal is its alone
        assert signal.getsignal(signal.SIGTERM) is own
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert_signal_path(caplog.text, signal_path_in_process)  # SIGUSR1's, the one it took
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def test_the_wakeup_fd_is_given_back(loop_name: str) -> None:
    import socket

    a, b = socket.socketpair()
    a.setblocking(False)
    old = signal.set_wakeup_fd(a.fileno())
    try:
        aioboot.run(answer(), loop=loop_name)
        assert signal.set_wakeup_fd(old) == a.fileno()
    finally:
        a.close()
        b.close()


def test_the_loop_is_the_threads_current_loop_during_the_run(loop_name: str) -> None:
    captured: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        loop = aioboot._loops.choose_loop(loop_name).factory()
        captured.append(loop)
        return loop

    async def main() -> bool:
        # get_event_loop() from plain code in this thread must give the run's loop
        return asyncio.get_event_loop() is captured[0]

    assert aioboot.run(main(), loop=factory) is True


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="event-loop policies are deprecated on 3.14"
)
def test_no_event_loop_policy_is_left_changed(loop_name: str) -> None:
    before = asyncio.get_event_loop_policy()
    aioboot.run(answer(), loop=loop_name)
    assert asyncio.get_event_loop_policy() is before


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="event-loop policies are deprecated on 3.14"
)
def test_asyncio_choice_respects_a_policy_the_program_installed() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            made.append(super().new_event_loop())
            return made[-1]

    async def main() -> bool:
        return asyncio.get_running_loop() is made[0]

    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(Policy())
    try:
        assert aioboot.run(main(), loop="asyncio") is True
    finally:
        asyncio.set_event_loop_policy(old)


def test_loop_factory_keyword_is_accepted_like_asyncio_run() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    async def main() -> bool:
        return asyncio.get_running_loop() is made[0]

    assert aioboot.run(main(), loop_factory=factory) is True
    assert made[0].is_closed()


def test_with_loop_factory_the_threads_current_loop_is_left_alone_as_asyncio_run_does() -> None:
    # asyncio.Runner calls set_event_loop only for a loop it made itself (3.12-3.15), so a loop
    # the program had made current is still current after the run.
    outer = asyncio.new_event_loop()
    asyncio.set_event_loop(outer)
    try:
        assert aioboot.run(answer(), loop_factory=asyncio.new_event_loop) == 42
        assert asyncio.get_event_loop() is outer
    finally:
        asyncio.set_event_loop(None)
        outer.close()


def test_a_factory_that_returns_no_loop_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="not an event loop"):
        aioboot.run(answer(), loop=lambda: object())  # type: ignore[arg-type,return-value]


def test_stop_future_and_request_stop_outside_a_run_are_clear_errors() -> None:
    with pytest.raises(RuntimeError, match=r"stop_future\(\) must be called inside aioboot.run"):
        aioboot.stop_future()
    with pytest.raises(RuntimeError, match=r"no aioboot\.run"):
        aioboot.request_stop()


@posix_only
def test_the_stop_future_resolves_to_a_plain_int(
    loop_name: str, signal_path_in_process: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> object:
        stop = aioboot.stop_future()
        os.kill(os.getpid(), signal.SIGTERM)
        return await stop

    value = aioboot.run(main(), loop=loop_name)
    assert type(value) is int  # not signal.Signals, whose str() differs across versions
    assert value == signal.SIGTERM
    assert_signal_path(caplog.text, signal_path_in_process)


@posix_only
def test_a_signal_exit_does_not_keep_what_main_held_alive(loop_name: str) -> None:
    class Held:
        pass

    refs: list[weakref.ref[Held]] = []

    async def main() -> None:
        held = Held()  # e.g. the list of every task main started
        refs.append(weakref.ref(held))
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)

    with pytest.raises(SystemExit) as raised:
        aioboot.run(main(), loop=loop_name)
    assert raised.value.code == 128 + signal.SIGTERM
    # While the exception and its traceback are still alive: freed by run(), not at exit nor by
    # the cyclic GC; without reference counting, by the next collection.
    if not REFERENCE_COUNTING:
        collect_garbage()
    assert refs[0]() is None


async def wait_forever_unreferenced(events: list[str]) -> None:
    """A task nothing references but the future it waits on, which references it back: garbage
    to the cyclic GC while it is still pending (uvicorn's lifespan task after a forced stop)."""
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        events.append("cancelled")
        raise


def gc_in_a_shutdown_hook() -> None:
    aioboot.on_shutdown(gc.collect)  # a collection between main's end and the cancellation


def gc_as_a_stop_lands_late() -> None:
    # Queued before main's end, so run after it and before its phase ends: as the signal uvicorn
    # re-raises while serve() returns, handled on the signal.signal path.
    loop = asyncio.get_running_loop()
    loop.call_soon(aioboot.request_stop)
    loop.call_soon(gc.collect)


@pytest.mark.parametrize("then", [gc_in_a_shutdown_hook, gc_as_a_stop_lands_late])
def test_a_task_dropped_by_the_program_is_cancelled_even_if_a_gc_comes_before_the_shutdown(
    loop_name: str, caplog: pytest.LogCaptureFixture, then: Callable[[], None]
) -> None:
    events: list[str] = []

    async def main() -> None:
        asyncio.ensure_future(wait_forever_unreferenced(events))
        await asyncio.sleep(0)
        then()

    aioboot.run(main(), loop=loop_name)
    assert events == ["cancelled"]
    assert "destroyed" not in caplog.text


def test_request_stop_resolves_the_stop_future_to_none(loop_name: str) -> None:
    async def main() -> object:
        stop = aioboot.stop_future()
        aioboot.request_stop()
        aioboot.request_stop()  # idempotent
        return await stop

    assert aioboot.run(main(), loop=loop_name) is None


def test_request_stop_cancels_a_main_that_did_not_ask_for_the_stop_future(loop_name: str) -> None:
    cleaned: list[bool] = []

    async def main() -> None:
        try:
            aioboot.request_stop()
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    with pytest.raises(asyncio.CancelledError):
        aioboot.run(main(), loop=loop_name)
    assert cleaned == [True]


def test_request_stop_from_another_thread(loop_name: str) -> None:
    async def main() -> object:
        stop = aioboot.stop_future()

        def stopper() -> None:
            aioboot.request_stop()
            aioboot.request_stop()

        thread = threading.Thread(target=stopper)
        thread.start()
        value = await stop
        # Both calls within the run: one made after it ended would be refused, as outside a run.
        await asyncio.to_thread(thread.join)
        return value

    assert aioboot.run(main(), loop=loop_name) is None


def test_cancelling_one_awaiter_does_not_cancel_the_stop_request(loop_name: str) -> None:
    async def main() -> object:
        first = asyncio.ensure_future(aioboot.stop_future())
        await asyncio.sleep(0)
        first.cancel()
        second = aioboot.stop_future()
        aioboot.request_stop()
        return await second

    assert aioboot.run(main(), loop=loop_name) is None


def test_loop_stopped_by_the_program_is_an_error_like_asyncio_run(loop_name: str) -> None:
    async def main() -> None:
        asyncio.get_running_loop().stop()
        await asyncio.sleep(30)

    with pytest.raises(RuntimeError, match="Event loop stopped before Future completed"):
        aioboot.run(main(), loop=loop_name, shutdown_timeout=1)


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_systemexit_and_keyboardinterrupt_in_a_task_propagate_after_cleanup(
    loop_name: str, exc_type: type[BaseException]
) -> None:
    cleaned: list[bool] = []

    async def bail() -> None:
        await asyncio.sleep(0)  # raised from the loop, eager tasks or not (see test_eager.py)
        raise exc_type(3)

    async def main() -> None:
        asyncio.ensure_future(bail())
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    with pytest.raises(exc_type):
        aioboot.run(main(), loop=loop_name)
    assert cleaned == [True]


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_systemexit_and_keyboardinterrupt_in_main_propagate(
    loop_name: str, exc_type: type[BaseException]
) -> None:
    async def main() -> None:
        raise exc_type(4)

    with pytest.raises(exc_type):
        aioboot.run(main(), loop=loop_name)
