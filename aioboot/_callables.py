"""One answer, for every entry point (``run()``, ``Runner.run()``, ``call_later``/``call_at`` and
the launcher), to "is this async?", "can it be called with these arguments?", and "how does what it
gave become a coroutine?" -- so that they accept and refuse the same things with the same words."""

from __future__ import annotations

import asyncio
import functools
import inspect
import reprlib
from typing import Any, Awaitable, Coroutine, Optional, TypeVar

from ._report import qualified_name

T = TypeVar("T")


def gives_awaitable(fn: object) -> bool:
    """Whether calling ``fn`` gives an awaitable, as far as can be seen without calling it: an
    async function (also behind ``functools.partial`` or a ``functools.wraps`` wrapper, or marked
    with ``inspect.markcoroutinefunction``), an object whose ``__call__`` is one, or a class whose
    instances are awaitable."""
    if inspect.iscoroutinefunction(fn):
        return True
    if isinstance(fn, functools.partial):
        return gives_awaitable(fn.func)
    if inspect.isclass(fn):
        return callable(getattr(fn, "__await__", None))
    if not callable(fn):
        return False
    try:
        unwrapped = inspect.unwrap(fn)
    except ValueError:  # a __wrapped__ cycle
        return False
    if unwrapped is not fn:
        return gives_awaitable(unwrapped)
    # A callable object qualifies when its __call__ is an async method.
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


_NOT_ASYNC = "not an async function"


def why_not_async(fn: object) -> str:
    """The one sentence every entry point uses to refuse a callable that is not async: what it is
    and, where there is one, what to write instead."""
    if isinstance(fn, functools.partial):
        return f"functools.partial of {why_not_async(fn.func)}"
    if inspect.isclass(fn):
        return f"{qualified_name(fn)} is a class whose instances are not awaitable, {_NOT_ASYNC}"
    if inspect.isasyncgenfunction(fn):
        return (
            f"{qualified_name(fn)} is an async generator function, {_NOT_ASYNC}: iterate it with "
            "async for inside one"
        )
    if inspect.isroutine(fn):
        return (
            f"{qualified_name(fn)} is a synchronous function, {_NOT_ASYNC}: define it with "
            "async def"
        )
    # Named by its class: a repr would put an address into a message meant to be compared.
    return (
        f"an instance of {qualified_name(type(fn))} is a synchronous callable, {_NOT_ASYNC}: "
        "define its __call__ with async def"
    )


def arguments_refusal(fn: object, args: tuple[Any, ...] = ()) -> Optional[str]:
    """Why ``fn(*args)`` cannot be called, from its signature; None when it can, or when there is
    no signature to read (some builtins: the call itself will tell)."""
    try:
        signature = inspect.signature(fn)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args)
    except TypeError as exc:
        return f"its signature is {signature}: {exc}"
    return None


def as_coroutine(result: object, fn: object) -> Coroutine[Any, Any, Any]:
    """What calling the async callable ``fn`` gave, as a coroutine: a TypeError when it looked
    async (a wrapper claiming to wrap an async function) and gave something not awaitable."""
    if asyncio.iscoroutine(result):
        return result
    if inspect.isawaitable(result):
        return _await(result)
    raise TypeError(f"{qualified_name(fn)} returned {reprlib.repr(result)}, not an awaitable")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def close_unawaited(*objects: object) -> None:
    """Close the coroutines among ``objects``, which will never run: no "never awaited" warning on
    top of the error that refused them."""
    for obj in objects:
        if asyncio.iscoroutine(obj):
            obj.close()
