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
