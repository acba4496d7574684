"""Property-based test for wait_any: random completion times, random exceptions, random outside
cancellation -- always exactly the documented outcome, and no task left pending when it returns."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pytest

hypothesis = pytest.importorskip("hypothesis")
from conftest import LOOPS  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import aioboot  # noqa: E402

# A child: (delay in ms, what it does when the delay is over).
child_strategy = st.tuples(
    st.sampled_from([0, 1, 3, 8]), st.sampled_from(["return", "raise", "hang"])
)
delays = st.one_of(st.none(), st.sampled_from([0, 1, 2, 5, 10]))


class Boom(Exception):
    pass


async def child(delay_ms: int, action: str, index: int) -> int:
    await asyncio.sleep(delay_ms / 1000)
    if action == "raise":
        raise Boom(index)
    if action == "hang":
        await asyncio.sleep(3600)
    return index


async def scenario(
    children: list[tuple[int, str]], timeout_ms: Optional[int], cancel_after_ms: Optional[int]
) -> dict[str, Any]:
    tasks = [asyncio.ensure_future(child(d, a, i)) for i, (d, a) in enumerate(children)]
    started = asyncio.Event()

    async def waiting() -> tuple[set[asyncio.Task[int]], set[asyncio.Task[int]]]:
        started.set()
        return await aioboot.wait_any(
            tasks, timeout=None if timeout_ms is None else timeout_ms / 1000
        )

    waiter = asyncio.ensure_future(waiting())
    if cancel_after_ms is not None:
        # uvloop's clock is cached per iteration: under load this can fire before waiter starts.
        asyncio.get_running_loop().call_later(cancel_after_ms / 1000, waiter.cancel)
    try:
        done, pending = await waiter
        outcome: dict[str, Any] = {"cancelled": False, "done": done, "pending": pending}
    except asyncio.CancelledError:
        outcome = {"cancelled": True}
    outcome["started"] = started.is_set()
    if not outcome["started"]:  # wait_any never ran, so the children are still ours to cancel
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    outcome["tasks"] = tasks
    outcome["all_done_at_return"] = all(t.done() for t in tasks)
    outcome["left"] = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:  # retrieve every exception: the run must not report any of them
        if task.done() and not task.cancelled():
            task.exception()
    return outcome


@pytest.mark.parametrize("loop", LOOPS)
@settings(max_examples=60, deadline=None)
@given(
    children=st.lists(child_strategy, min_size=1, max_size=5),
    timeout_ms=delays,
    cancel_after_ms=delays,
)
def test_wait_any_always_ends_with_nothing_running(
    loop: str,
    children: list[tuple[int, str]],
    timeout_ms: Optional[int],
    cancel_after_ms: Optional[int],
) -> None:
    # Something must end the wait: a child that finishes, the timeout, or the outside cancel.
    assume(
        any(a != "hang" for _, a in children)
        or timeout_ms is not None
        or cancel_after_ms is not None
    )
    outcome = aioboot.run(scenario(children, timeout_ms, cancel_after_ms), loop=loop)
    assume(outcome["started"])  # cancelled before wait_any even started: nothing to check
    tasks = outcome["tasks"]
    assert outcome["all_done_at_return"]  # finished or cancelled -- never left dangling
    assert outcome["left"] == set()
    if outcome["cancelled"]:
        return  # cancelled from outside: every child was cancelled and waited for (above)
    done, pending = outcome["done"], outcome["pending"]
    assert done | pending == set(tasks)
    assert not done & pending
    for task in pending:
        # cancelled by wait_any (none of the children suppresses cancellation)
        assert task.cancelled()
    if not done:
        assert timeout_ms is not None  # only a timeout returns with nothing done
    for task in done:
        assert not task.cancelled()  # nobody else cancels the children
        if children[tasks.index(task)][1] == "raise":
            assert isinstance(task.exception(), Boom)  # exceptions are returned, never raised
        else:
            assert task.result() == tasks.index(task)
    hangers = [t for t, (_, action) in zip(tasks, children) if action == "hang"]
    assert not (set(hangers) & done)  # a child that never finishes can only end up in pending
