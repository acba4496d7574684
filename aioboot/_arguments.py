"""Argument checks for every public entry point, so each error reads the same everywhere and names
the function and the argument; and one answer, for every entry point that takes an async callable
(``run()``, ``Runner.run()``, ``call_later``/``call_at`` and the launcher), to "is this async?",
"can it be called with these arguments?", and "how does what it gave become a coroutine?", so
that they accept and refuse the same things with the same words."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import os
import reprlib
import sys
from typing import Any, Awaitable, Coroutine, Optional, TypeVar

T = TypeVar("T")

# Under Docker's 10 s stop grace period, so the report of what is stuck gets out before a SIGKILL.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0

STALL_WARNING_ENV = "AIOBOOT_STALL_WARNING"
HEARTBEAT_FILE_ENV = "AIOBOOT_HEARTBEAT_FILE"
DRAIN_DELAY_ENV = "AIOBOOT_DRAIN_DELAY"
EAGER_TASKS_ENV = "AIOBOOT_EAGER_TASKS"
# asyncio.eager_task_factory is 3.12's; until 3.12.5, Task.get_coro() on a task that finished
# eagerly crashed the interpreter (CPython gh-122332), and a report of a lost exception calls it.
_EAGER_TASKS_SINCE = (3, 12, 5)


def checked_seconds(
    value: object, name: str, caller: str, *, minimum: Optional[float] = None
) -> float:
    """``value`` as a finite number of seconds, at least ``minimum``; TypeError or ValueError
    naming the function and the argument otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"aioboot.{caller}: {name} must be a number of seconds, not {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or (minimum is not None and seconds < minimum):
        bound = "a finite number" if minimum is None else f"a finite number >= {minimum:g}"
        raise ValueError(f"aioboot.{caller}: {name} must be {bound}, not {value!r}")
    return seconds


def checked_shutdown_timeout(value: object) -> Optional[float]:
    """``value`` as seconds (None: wait forever); TypeError/ValueError saying what is wrong."""
    if value is None:
        return None
    return checked_seconds(value, "shutdown_timeout", "run()", minimum=0.0)


def checked_stall_warning(value: object, caller: str = "run()") -> Optional[float]:
    """``stall_warning=`` as seconds, or None for off: None reads ``$AIOBOOT_STALL_WARNING``
    (unset or empty: off), and 0 is off too.  TypeError/ValueError naming what is wrong."""
    return _seconds_or_off(value, "stall_warning", STALL_WARNING_ENV, caller)


def checked_drain_delay(value: object, caller: str = "run()") -> Optional[float]:
    """``drain_delay=`` as seconds, or None for no drain: None reads ``$AIOBOOT_DRAIN_DELAY``
    (unset or empty: none), and 0 is none too.  TypeError/ValueError naming what is wrong."""
    return _seconds_or_off(value, "drain_delay", DRAIN_DELAY_ENV, caller)


def _seconds_or_off(value: object, name: str, variable: str, caller: str) -> Optional[float]:
    if value is None:
        text = os.environ.get(variable, "").strip()
        if not text:
            return None
        name = f"${variable}"
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"aioboot.{caller}: {name} must be a number of seconds, not {text!r}"
            ) from None
    seconds = checked_seconds(value, name, caller, minimum=0.0)
    return seconds or None


def checked_heartbeat_file(value: object, caller: str = "run()") -> Optional[str]:
    """``heartbeat_file=`` as an absolute path, or None for none: None reads
    ``$AIOBOOT_HEARTBEAT_FILE`` (unset or empty: none).  TypeError/ValueError naming what is
    wrong; whether the file can be written is found out when the run starts."""
    if value is None:
        value = os.environ.get(HEARTBEAT_FILE_ENV, "")
        if not value:
            return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"aioboot.{caller}: heartbeat_file must be a path, not {value!r}")
    if not value:
        raise ValueError(f"aioboot.{caller}: heartbeat_file must be a path, not ''")
    # Absolute now: a program that changes its working directory must not start refreshing
    # another file than the one the probe reads.
    return os.path.abspath(value)


def checked_eager_tasks(value: object, caller: str = "run()") -> bool:
    """``eager_tasks=``: None reads ``$AIOBOOT_EAGER_TASKS`` (``1`` on; unset, empty or ``0``
    off).  TypeError/ValueError naming what is wrong, and ValueError naming the version for eager
    tasks asked for before Python 3.12.5 (see ``eager_tasks_refusal``)."""
    asked = "eager_tasks=True"
    if value is None:
        text = os.environ.get(EAGER_TASKS_ENV, "").strip()
        if text not in ("", "0", "1"):
            raise ValueError(f"aioboot.{caller}: ${EAGER_TASKS_ENV} must be 0 or 1, not {text!r}")
        value, asked = text == "1", f"${EAGER_TASKS_ENV}=1"
    eager = checked_flag(value, "eager_tasks")
    refusal = eager_tasks_refusal(asked) if eager else None
    if refusal is not None:
        raise ValueError(f"aioboot.{caller}: {refusal}")
    return eager


def eager_tasks_refusal(asked: str) -> Optional[str]:
    """Why eager tasks, asked for as ``asked``, cannot be had on this Python; None if they can."""
    if sys.version_info >= _EAGER_TASKS_SINCE:
        return None
    version = ".".join(map(str, sys.version_info[:3]))
    return (
        f"{asked} needs Python 3.12.5 or later (asyncio.eager_task_factory; before 3.12.5, "
        f"reporting a task that finished eagerly crashes the interpreter, CPython gh-122332); "
        f"this is Python {version}"
    )


def checked_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value


def checked_optional_flag(value: object, name: str) -> Optional[bool]:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be True, False or None, not {value!r}")
    return value


class RunOptions:
    """``run()``'s and ``Runner``'s options, each one checked as it is stored, so bad input is
    refused before anything starts.  (A plain class, not a NamedTuple: this module is imported by
    every run, and making a NamedTuple's class takes 0.2-0.4 ms in a fresh interpreter.)"""

    __slots__ = (
        "debug",
        "drain_delay",
        "eager_tasks",
        "handle_signals",
        "heartbeat_file",
        "shutdown_timeout",
        "stall_warning",
        "stop_on_error",
    )

    def __init__(
        self,
        *,
        debug: object,
        shutdown_timeout: object,
        stop_on_error: object,
        handle_signals: object,
        stall_warning: object,
        heartbeat_file: object,
        drain_delay: object,
        eager_tasks: object,
    ) -> None:
        self.debug = checked_optional_flag(debug, "debug")
        self.shutdown_timeout = checked_shutdown_timeout(shutdown_timeout)
        self.stop_on_error = checked_flag(stop_on_error, "stop_on_error")
        self.handle_signals = checked_flag(handle_signals, "handle_signals")
        self.stall_warning = checked_stall_warning(stall_warning)
        self.heartbeat_file = checked_heartbeat_file(heartbeat_file)
        self.drain_delay = checked_drain_delay(drain_delay)
        self.eager_tasks = checked_eager_tasks(eager_tasks)


def qualified_name(obj: object) -> str:
    """``module:qualname`` for functions and classes, bare ``qualname`` without a module,
    repr otherwise."""
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(qualname, str):
        return repr(obj)
    module = getattr(obj, "__module__", None)
    return f"{module}:{qualname}" if isinstance(module, str) and module else qualname


# -- async callables ------------------------------------------------------------------------------


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
