"""Argument checks for every public entry point, so each error reads the same everywhere and names
the function and the argument."""

from __future__ import annotations

import math
import os
import sys
from typing import Optional

# Under Docker's 10 s stop grace period, so the report of what is stuck gets out before a SIGKILL.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0

STALL_WARNING_ENV = "AIOBOOT_STALL_WARNING"
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
    name = "stall_warning"
    if value is None:
        text = os.environ.get(STALL_WARNING_ENV, "").strip()
        if not text:
            return None
        name = f"${STALL_WARNING_ENV}"
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"aioboot.{caller}: {name} must be a number of seconds, not {text!r}"
            ) from None
    seconds = checked_seconds(value, name, caller, minimum=0.0)
    return seconds or None


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
