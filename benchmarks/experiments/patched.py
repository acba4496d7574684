"""Run a program from ``benchmarks/programs`` with aioboot changed:
``python patched.py CHANGES PROGRAM [ARGS ...]`` (run from ``benchmarks/programs``).

CHANGES is ``none`` or a comma-separated list of the names in ``CHANGES`` below.  Each one is a
monkeypatch of aioboot's internals that stands in for a change, so that its effect can be
measured before anyone edits aioboot; it depends on those internals and may need updating when
they change (it fails loudly if a name it patches is gone).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Callable, Dict

import aioboot._task_failures as tasks_module


def no_sweep() -> None:
    """No end-of-run heap sweep at all: what the sweep costs, at most (not a proposal)."""
    if not hasattr(tasks_module, "unretrieved_failures"):
        raise SystemExit(
            "patched.py: aioboot._task_failures.unretrieved_failures is gone; update no_sweep"
        )
    tasks_module.unretrieved_failures = lambda loop: []


CHANGES: Dict[str, Callable[[], None]] = {
    "no-sweep": no_sweep,
}


if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        if name != "none":
            CHANGES[name]()
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # as if run as a script
    runpy.run_path(sys.argv[0], run_name="__main__")
