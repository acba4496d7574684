"""The type aliases of aioboot's signatures, for type checkers and the docs only.

Making a typing alias costs start-up time (a tenth of a millisecond and more for a ``Union``, in a
fresh interpreter; benchmarks/bench_startup.py), and every run would pay for it: aioboot's modules
import this one under ``TYPE_CHECKING`` and never at run time.  The docs' build gives the aliases
to the modules that use them (docs/conf.py), so the reference shows them expanded.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Coroutine, TypeVar, Union

__all__ = ["LoopFactory", "LoopSpec", "Main"]

T = TypeVar("T")

# What run() and Runner.run() accept as main.
Main = Union[Coroutine[Any, Any, T], Awaitable[T], Callable[[], Coroutine[Any, Any, T]]]
# What makes a new event loop, and loop=: a loop's name, a "module:factory" string or a factory.
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
LoopSpec = Union[str, LoopFactory]
