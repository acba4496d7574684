"""``python -m aioboot.probe PATH [--max-age SECONDS]``: a liveness probe for a program run with a
heartbeat file (``--heartbeat-file PATH``, ``run(heartbeat_file=PATH)``).

It needs nothing but the program's own image (no shell, no coreutils: a distroless image has
neither) and reads one file's modification time, which the program's loop refreshes every 0.5 s
while it turns.

Exit status: 0 when the file was refreshed within ``--max-age`` seconds (the loop turns); 1 when
it is older, or missing (the program is blocked, has not started, or has ended); 2 for a usage
error.  One line on stdout says the age, or one on stderr says what is wrong: Kubernetes shows it
in the pod's events.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Optional

from ._heartbeat import INTERVAL

DEFAULT_MAX_AGE = 10.0
# A bound close to the refresh interval would fail a loop that is merely busy.
MIN_MAX_AGE = 2 * INTERVAL

ALIVE, NOT_ALIVE, USAGE = 0, 1, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check the heartbeat file named on the command line; the exit status."""
    args = _parser().parse_args(argv)
    try:
        modified = os.stat(args.path).st_mtime
    except FileNotFoundError:
        return _not_alive(f"{args.path} does not exist")
    except OSError as exc:
        return _not_alive(f"{args.path} cannot be read: {exc.strerror or exc}")
    # Never negative: a wall clock set back since the refresh makes the file look new, not old.
    age = max(0.0, time.time() - modified)
    if age > args.max_age:
        return _not_alive(
            f"{args.path} was last refreshed {age:.1f} s ago (--max-age {args.max_age:g})"
        )
    sys.stdout.write(f"alive: {args.path} was refreshed {age:.2f} s ago\n")
    return ALIVE


def _not_alive(why: str) -> int:
    sys.stderr.write(f"not alive: {why}\n")
    return NOT_ALIVE


def _max_age(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not math.isfinite(seconds) or seconds < MIN_MAX_AGE:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_MAX_AGE:g} (the file is refreshed every {INTERVAL:g} s), "
            f"not {text!r}"
        )
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aioboot.probe",
        description="Exit 0 if the heartbeat file of an aioboot program (--heartbeat-file) was "
        "refreshed within --max-age seconds, 1 if it is older or missing, 2 for a usage error.",
        allow_abbrev=False,
    )
    parser.add_argument("path", metavar="PATH", help="the program's heartbeat file")
    parser.add_argument(
        "--max-age",
        type=_max_age,
        default=DEFAULT_MAX_AGE,
        metavar="SECONDS",
        help="the oldest refresh that still counts as alive, at least 1 (default: %(default)g)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
