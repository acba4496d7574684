"""How long a drain takes, measured with real SIGTERMs:
``python benchmarks/experiments/drain_timings.py [--repeats N] [--drain SECONDS]``.

For each loop and signal path (the loop's handlers, the ``signal.signal`` fallback), without a
drain and with one: a fresh child (programs/drain.py) serves until the parent sends SIGTERM,
then the time from the parent's ``os.kill`` to ``aioboot.is_stopping()`` turning true (the
child's stamp), to main being cancelled (the child's stamp), and to the process's exit (after
``waitpid``).  Both sides read ``time.monotonic()``, the system-wide ``CLOCK_MONOTONIC`` on Linux.
POSIX only.  Prints a markdown table: median [min..max] in ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import PROGRAMS, child_interpreter

STAMPS = ("is_stopping()", "main cancelled", "exit")
TIMEOUT = 30.0


def one_stop(python: Sequence[str], env: Dict[str, str], drain: float) -> List[float]:
    """SIGTERM -> each stamp, in ms, for one child."""
    child = subprocess.Popen(
        [*python, str(PROGRAMS / "drain.py"), str(drain)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "READY":
            raise RuntimeError("the child did not start")
        # A blocking wait: Popen.wait(timeout) polls, ever more slowly (up to every 50 ms).
        watchdog = threading.Timer(TIMEOUT, child.kill)
        watchdog.start()
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGTERM)
        status = child.wait()
        exited = time.monotonic()
        watchdog.cancel()
        lines = dict(line.split(" ", 1) for line in child.stdout.read().splitlines())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stopping, said = lines["STOPPING"].split()
    if status != 128 + signal.SIGTERM or said != "True":
        raise RuntimeError(f"unexpected: exit status {status}, is_stopping() said {said}")
    stamps = (float(stopping), float(lines["CANCELLED"]), exited)
    return [(stamp - sent) * 1000 for stamp in stamps]


def measure(repeats: int, drain: float) -> List[str]:
    python, base_env = child_interpreter(site=False)
    rows = []
    for loop in ("asyncio", "uvloop"):
        for path in ("loop", "fallback"):
            env = dict(base_env, AIOBOOT_LOOP=loop)
            env["_AIOBOOT_SIGNAL_FALLBACK"] = "1" if path == "fallback" else "0"
            for delay in (0.0, drain):
                one_stop(python, env, delay)  # warm-up: .pyc files, page cache
                samples = [one_stop(python, env, delay) for _ in range(repeats)]
                cells = [_cell([s[i] for s in samples]) for i in range(len(STAMPS))]
                rows.append(f"| {loop} | {path} | {delay:g} | " + " | ".join(cells) + " |")
    return rows


def _cell(values: List[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}..{max(values):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20, metavar="N")
    parser.add_argument("--drain", type=float, default=1.0, metavar="SECONDS")
    args = parser.parse_args()
    head = " | ".join(f"SIGTERM -> {stamp} (ms)" for stamp in STAMPS)
    print(f"| loop | signal path | drain (s) | {head} |")
    print("|---|---|---|" + "---|" * len(STAMPS))
    for row in measure(args.repeats, args.drain):
        print(row)


if __name__ == "__main__":
    main()
