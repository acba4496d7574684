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

import aioboot._shutdown as shutdown_module
import aioboot._stop as stop_module
import aioboot._task_failures as tasks_module


def no_sweep() -> None:
    """No end-of-run heap sweep at all: what the sweep costs, at most (not a proposal)."""
    if not hasattr(tasks_module, "unretrieved_failures"):
        raise SystemExit(
            "patched.py: aioboot._task_failures.unretrieved_failures is gone; update no_sweep"
        )
    tasks_module.unretrieved_failures = lambda loop: []


def no_child_tracking() -> None:
    """The loop's subprocess methods left as they are: no child is noted, none is stopped at
    shutdown (what tracking costs, and what the program's exit costs without it)."""
    if not hasattr(shutdown_module.ChildProcesses, "install"):
        raise SystemExit("patched.py: aioboot._shutdown.ChildProcesses.install is gone; update it")
    shutdown_module.ChildProcesses.install = lambda self: None  # type: ignore[method-assign]


def no_force_hint() -> None:
    """No timer for "Ctrl-C again to force the exit" after a first SIGINT."""
    if not hasattr(stop_module.RunState, "_hint_at_forcing_later"):
        raise SystemExit(
            "patched.py: RunState._hint_at_forcing_later is gone; update no_force_hint"
        )
    stop_module.RunState._hint_at_forcing_later = lambda self, name: None  # type: ignore[method-assign]


CHANGES: Dict[str, Callable[[], None]] = {
    "no-sweep": no_sweep,
    "no-child-tracking": no_child_tracking,
    "no-force-hint": no_force_hint,
}


if __name__ == "__main__":
    for name in sys.argv[1].split(","):
        if name != "none":
            CHANGES[name]()
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # as if run as a script
    runpy.run_path(sys.argv[0], run_name="__main__")
