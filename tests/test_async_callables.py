"""One answer to "is it async": every entry point that takes an async callable -- ``run()``,
``Runner.run()``, ``call_later()``, ``call_at()`` and the launcher -- runs the same kinds of
callables and refuses the same others, before calling them, with the same sentence.

The callables are the module-level ones of ``programs/cli_targets/callable_kinds.py``, which the
launcher imports as its target and the other entry points get from a copy loaded here.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable

import pytest
from conftest import CLI_TARGETS, Launch

import aioboot


def _load_kinds() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "callable_kinds", CLI_TARGETS / "callable_kinds.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kinds = _load_kinds()


def _run(fn: Any) -> object:
    return aioboot.run(fn)


def _runner_run(fn: Any) -> object:
    with aioboot.Runner() as runner:
        return runner.run(fn)


def _call_later(fn: Any) -> object:
    async def main() -> object:
        return await aioboot.call_later(0, fn)

    return aioboot.run(main())


def _call_at(fn: Any) -> object:
    async def main() -> object:
        return await aioboot.call_at(asyncio.get_running_loop().time(), fn)

    return aioboot.run(main())


API_ENTRY_POINTS: dict[str, Callable[[Any], object]] = {
    "run": _run,
    "Runner.run": _runner_run,
    "call_later": _call_later,
    "call_at": _call_at,
}
ENTRY_POINTS = [*API_ENTRY_POINTS, "launcher"]

marked_needs_3_12 = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="inspect.markcoroutinefunction is new in Python 3.12"
)

# Each kind gives its own number, so a result cannot come from another kind.
ACCEPTED = [
    pytest.param("async_function", 21, id="async-def"),
    pytest.param("wraps_wrapper", 22, id="functools.wraps-wrapper"),
    pytest.param("partial_of_async", 23, id="functools.partial"),
    pytest.param("async_call_object", 24, id="async-__call__"),
    pytest.param("partial_of_async_call_object", 27, id="functools.partial-of-async-__call__"),
    pytest.param("AwaitableClass", 25, id="class-with-__await__"),
    pytest.param("marked_function", 26, id="markcoroutinefunction", marks=marked_needs_3_12),
]

REFUSED = [
    pytest.param(
        "plain_function",
        "callable_kinds:plain_function is a synchronous function, not an async function: "
        "define it with async def",
        id="plain-function",
    ),
    pytest.param(
        "sync_call_object",
        "an instance of callable_kinds:_SyncCall is a synchronous callable, not an async "
        "function: define its __call__ with async def",
        id="sync-__call__",
    ),
    pytest.param(
        "async_generator",
        "callable_kinds:async_generator is an async generator function, not an async function: "
        "iterate it with async for inside one",
        id="async-generator-function",
    ),
]


@pytest.fixture(params=ENTRY_POINTS)
def entry(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per entry point."""
    return str(request.param)


@pytest.mark.parametrize(("name", "result"), ACCEPTED)
def test_every_entry_point_runs_every_async_kind(
    launch_here: Launch, entry: str, name: str, result: int
) -> None:
    if entry == "launcher":
        launched = launch_here(f"callable_kinds:{name}")
        assert launched == (result, "", ""), launched  # the exit status is what it returned
    else:
        assert API_ENTRY_POINTS[entry](getattr(kinds, name)) == result


@pytest.mark.parametrize(("name", "sentence"), REFUSED)
def test_every_entry_point_refuses_what_is_not_async_with_the_same_sentence(
    launch_here: Launch, entry: str, name: str, sentence: str
) -> None:
    # Never called: each would fail with an AssertionError, not with the refusal.
    if entry == "launcher":
        launched = launch_here(f"callable_kinds:{name}")
        assert launched == (2, "", f"aioboot: error: target 'callable_kinds:{name}': {sentence}")
        return
    # ValueError for run() and Runner.run(), as asyncio.run refuses a non-coroutine before 3.14
    # (aioboot's error is both TypeError and ValueError); TypeError for call_later/call_at.
    with pytest.raises((TypeError, ValueError)) as refused:
        API_ENTRY_POINTS[entry](getattr(kinds, name))
    assert str(refused.value).endswith(sentence), refused.value
