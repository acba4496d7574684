"""Argument checks shared by the public functions, so each error reads the same everywhere."""

from __future__ import annotations

import math
from typing import Optional


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
