"""Targets for each way a program can end, and for each way a target can be wrong."""

import asyncio
import functools
from typing import Any, AsyncIterator, Callable, Coroutine, Generator

VALUE = 3


async def return_int() -> int:
    return 7


async def return_none() -> None:
    print("RAN")


async def return_text() -> str:
    return "goodbye from the target"


async def raise_error() -> None:
    await asyncio.sleep(0)
    fail_deeper()


def fail_deeper() -> None:
    raise ValueError("boom from the target")


# -- what the launcher accepts as async without calling it ---------------------------------------


async def returns(value: int) -> int:
    return value


partial_of_async = functools.partial(returns, 9)


class AsyncCallable:
    async def __call__(self) -> int:
        return 11


async_callable = AsyncCallable()


class AwaitableApp:
    """A class whose instances are awaitable: calling it makes one, the run awaits it."""

    def __init__(self) -> None:
        print("APP CONSTRUCTED")

    def __await__(self) -> Generator[Any, None, int]:
        return returns(12).__await__()


def logged(func: Callable[[], Coroutine[Any, Any, int]]) -> Callable[[], Coroutine[Any, Any, int]]:
    """A decorator whose wrapper is a plain function returning the coroutine."""

    @functools.wraps(func)
    def wrapper() -> Coroutine[Any, Any, int]:
        print("WRAPPER CALLED")
        return func()

    return wrapper


@logged
async def decorated() -> int:
    return 8


def lying_wrapper() -> int:
    """Claims to wrap an async function, and returns something else."""
    print("LYING WRAPPER CALLED")
    return 42


lying_wrapper.__wrapped__ = return_int  # type: ignore[attr-defined]


# -- what it refuses before calling it ----------------------------------------------------------


def plain_returning_coroutine() -> Coroutine[Any, Any, int]:
    """A plain function returning an awaitable, with nothing that says so."""
    print("PLAIN CALLED")
    return return_int()


def plain_returning_int() -> int:
    print("PLAIN CALLED")
    return 42


def entry() -> int:
    """A synchronous entry point running its own loop."""
    print("ENTRY CALLED")
    return asyncio.run(return_int())


class SyncCallable:
    def __call__(self) -> None:
        print("SYNC CALLABLE CALLED")


sync_callable = SyncCallable()


class NotAwaitable:
    def __init__(self) -> None:
        print("NOT AWAITABLE CONSTRUCTED")


async def async_generator() -> AsyncIterator[int]:
    print("ASYNC GENERATOR STARTED")
    yield 1


async def needs_args(port: int) -> None:
    raise AssertionError("never called")


# -- methods: a staticmethod or classmethod is a target; a method needs an instance -------------


class App:
    @staticmethod
    async def start() -> int:
        print("APP STARTED")
        return 5

    @classmethod
    async def create(cls) -> int:
        print("APP CREATED BY", cls.__name__)
        return 6

    async def serve(self) -> int:
        print("APP SERVED BY", type(self).__name__)
        return 13


app = App()


class Service:
    """A class the module has no instance of."""

    async def run(self) -> None:
        raise AssertionError("never called")
