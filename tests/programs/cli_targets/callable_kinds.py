"""One callable of each kind, for every entry point (run(), Runner.run(), call_later(),
call_at(), the launcher) to accept or refuse alike.  Each accepted one gives its own number."""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, AsyncIterator, Coroutine, Generator


async def async_function() -> int:
    return 21


async def _returns(value: int) -> int:
    return value


async def _wrapped() -> int:
    return 22


@functools.wraps(_wrapped)
def wraps_wrapper() -> Coroutine[Any, Any, int]:
    """A plain function made with functools.wraps around an async one."""
    return _wrapped()


partial_of_async = functools.partial(_returns, 23)


class _AsyncCall:
    def __init__(self, value: int = 24) -> None:
        self._value = value

    async def __call__(self) -> int:
        return self._value


async_call_object = _AsyncCall()

# inspect.iscoroutinefunction sees through a partial only to a function.
partial_of_async_call_object = functools.partial(_AsyncCall(27))


class AwaitableClass:
    """A class whose instances are awaitable: calling it makes one, which is awaited."""

    def __await__(self) -> Generator[Any, None, int]:
        return _returns(25).__await__()


def _marked() -> Coroutine[Any, Any, int]:
    return _returns(26)


if sys.version_info >= (3, 12):
    marked_function = inspect.markcoroutinefunction(_marked)


# -- refused, never called ------------------------------------------------------------------------


def plain_function() -> Coroutine[Any, Any, int]:
    raise AssertionError("a plain function must never be called")


class _SyncCall:
    def __call__(self) -> int:
        raise AssertionError("a synchronous callable must never be called")


sync_call_object = _SyncCall()


async def async_generator() -> AsyncIterator[int]:
    yield 0
