"""What is left to win, measured before anyone changes aioboot:
``python benchmarks/experiments/whatif.py [--repeats N] [--n N]``.

- the end-of-run heap sweep's whole cost (``no-sweep``: aioboot monkeypatched by ``patched.py``
  to skip it), interleaved with aioboot as it is, in shutdown latency at N pending tasks (split
  into run() and interpreter teardown, as in run.py) and in the trivial program's start-up;
- what the launcher's argparse costs: what a launcher skipping it on its common path (just a
  target, no launcher option) saves, as aioboot's does since 41f823a.

Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_shutdown import run_pending
from harness import (
    Config,
    Section,
    Trial,
    child_interpreter,
    column,
    interleaved,
    n_label,
    time_child,
)
from report import section_table

PATCHED = str(Path(__file__).resolve().parent / "patched.py")

SHUTDOWN_VARIANTS = ("none", "no-sweep")
STARTUP_VARIANTS = ("none", "no-sweep")


def _shutdown(cfg: Config, changes: str, n: int) -> Trial:
    def trial() -> Dict[str, float]:
        run = run_pending(cfg, "aioboot", n, "wait", wrapper=[PATCHED, changes])
        assert run.signalled_at is not None
        return {
            "exit_ms": (run.exited_at - run.signalled_at) * 1000,
            "in_run_ms": (run.returned_at - run.signalled_at) * 1000,
            "teardown_ms": (run.exited_at - run.returned_at) * 1000,
        }

    return trial


def _startup(cfg: Config, changes: str) -> Trial:
    def trial() -> Dict[str, float]:
        done = time_child(cfg, [PATCHED, changes, "startup.py", "aioboot"], timeout=30)
        return {"ms": done.seconds * 1000}

    return trial


# What a launcher skipping argparse on its common path (no launcher option before the target)
# saves: importing argparse (and gettext), then building and using the parser, whose
# HelpFormatter imports shutil (and with it bz2, lzma) on first use.
ARGPARSE_COST = """
import json, time, asyncio, uvloop, aioboot
t0 = time.perf_counter()
import argparse
t1 = time.perf_counter()
import aioboot.__main__
t2 = time.perf_counter()
aioboot._cli_options._parser().parse_args(["startup:main"])
t3 = time.perf_counter()
print(json.dumps({"import argparse (+gettext)": (t1 - t0) * 1000,
                  "import the rest of aioboot.__main__": (t2 - t1) * 1000,
                  "build the parser + parse_args (+shutil, bz2, lzma)": (t3 - t2) * 1000}))
"""


def _argparse_cost(cfg: Config) -> Trial:
    def trial() -> Dict[str, float]:
        out = time_child(cfg, ["-c", ARGPARSE_COST], timeout=30).stdout
        stages: Dict[str, float] = json.loads(out)
        return stages

    return trial


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=100_000, help="pending tasks (default 100000)")
    args = parser.parse_args(argv)
    python, env = child_interpreter(site=False)
    cfg = Config(False, args.repeats, python, env)
    shutdown = Section(
        "whatif_shutdown",
        f"aioboot.run + SIGTERM at N={n_label(args.n)}, with and without the heap sweep",
        "time",
        "ms",
        higher_is_better=False,
        baseline="none",
    )
    samples = interleaved(
        [[(v, _shutdown(cfg, v, args.n)) for v in SHUTDOWN_VARIANTS]], args.repeats, log=print
    )
    for metric, case in (
        ("exit_ms", "signal -> exit"),
        ("in_run_ms", "signal -> run() raised"),
        ("teardown_ms", "run() raised -> exit"),
    ):
        for variant in SHUTDOWN_VARIANTS:
            shutdown.add(case, variant, column(samples[variant], metric))
    startup = Section(
        "whatif_startup",
        "Trivial program under aioboot.run (through patched.py), spawn to exit",
        "wall time",
        "ms",
        higher_is_better=False,
        baseline="none",
    )
    samples = interleaved(
        [[(v, _startup(cfg, v)) for v in STARTUP_VARIANTS]], args.repeats * 4, log=print
    )
    for variant in STARTUP_VARIANTS:
        startup.add("async def main(): return 0", variant, column(samples[variant], "ms"))
    argparse_cost = Section(
        "whatif_argparse",
        "The launcher's argparse path, in one interpreter (asyncio, uvloop, aioboot imported)",
        "time",
        "ms",
        higher_is_better=False,
        baseline=None,
    )
    samples = interleaved([[("launcher", _argparse_cost(cfg))]], args.repeats * 4, log=print)
    for step in samples["launcher"][0]:
        argparse_cost.add(step, "python -m aioboot", column(samples["launcher"], step))
    tables: List[str] = []
    for section in (shutdown, startup, argparse_cost):
        tables += [f"#### {section.title}", "", section_table(section), ""]
    print("\n" + "\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
