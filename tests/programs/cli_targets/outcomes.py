"""Targets for each way a program can end, and for each way a target can be wrong."""

import asyncio
from typing import Any, Coroutine

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


def plain_returning_coroutine() -> Coroutine[Any, Any, int]:
    """A plain function returning an awaitable: allowed, and called."""
    print("PLAIN CALLED")
    return return_int()


def plain_returning_int() -> int:
    print("PLAIN CALLED")
    return 42


async def needs_args(port: int) -> None:
    raise AssertionError("never called")


class App:
    @staticmethod
    async def start() -> int:
        print("APP STARTED")
        return 5
