"""aioboot's benchmarks, in one command: ``python benchmarks/run.py``.

Compares aioboot.run (and its launcher) with asyncio.run, uvloop.run and aiorun.run in one run,
interleaved, and prints the tables.  Peers that are not installed are skipped with a message.

    python benchmarks/run.py                      # everything, about 6 minutes on 2 cores
    python benchmarks/run.py --quick              # smaller and fewer, about 2 minutes
    python benchmarks/run.py --only startup,shutdown --repeats 3
    python benchmarks/run.py --update-md          # also rewrite BENCHMARKS.md and plots/
    python benchmarks/run.py --wait-quiet 600     # wait for other processes to calm down first

Results go to benchmarks/results/ (report.md, results.json, plots/), which git ignores; only
``--update-md`` touches tracked files.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import bench_diagnose
import bench_eager
import bench_echo
import bench_heartbeat
import bench_memory
import bench_shutdown
import bench_startup
import bench_tasks
from harness import (
    BENCH_DIR,
    ChildFailed,
    Config,
    Section,
    child_interpreter,
    installed,
    time_child,
)
from plots import draw_all
from report import (
    CpuMeter,
    environment,
    render,
    source_fingerprint,
    to_json,
    update_markdown,
    wait_until_quiet,
)

MEASUREMENTS: Dict[str, Callable[[Config], List[Section]]] = {
    bench_startup.KEY: bench_startup.measure,
    bench_tasks.KEY: bench_tasks.measure,
    bench_shutdown.KEY: bench_shutdown.measure,
    bench_echo.KEY: bench_echo.measure,
    bench_memory.KEY: bench_memory.measure,
    bench_diagnose.KEY: bench_diagnose.measure,
    bench_heartbeat.KEY: bench_heartbeat.measure,
    bench_eager.KEY: bench_eager.measure,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument(
        "--repeats", type=int, metavar="N", help="rounds per measurement (default: per measurement)"
    )
    parser.add_argument(
        "--only",
        type=_keys,
        metavar="NAMES",
        help="comma-separated subset of: " + ", ".join(MEASUREMENTS),
    )
    parser.add_argument(
        "--site",
        action="store_true",
        help="run children as installed (site and .pth files) instead of python -S",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "results",
        help="where results go (default: %(default)s)",
    )
    parser.add_argument(
        "--update-md",
        action="store_true",
        help="write the tables into benchmarks/BENCHMARKS.md and the plots into benchmarks/plots/",
    )
    parser.add_argument("--no-plots", action="store_true", help="do not draw plots")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each measurement, wait up to SECONDS for other processes to use at most "
        "10%% of the CPU (default: do not wait)",
    )
    return parser


def _keys(text: str) -> List[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in MEASUREMENTS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(MEASUREMENTS)}"
        )
    return keys


def log(message: str) -> None:
    print(message, flush=True)


def _prime(cfg: Config) -> None:
    """Import everything once, so .pyc files exist before anything is timed."""
    modules = ["aioboot", "aioboot.__main__", "_runners", "startup", "tasks", "pending", "idle"]
    modules += ["echo_server", "echo_client", "fanout", "aioboot._task_factory"]
    modules += [m for m in ("uvloop", "aiorun", "rloop") if installed(m)]
    time_child(cfg, ["-c", "import " + ", ".join(modules)], timeout=60)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if sys.platform == "win32":
        log("benchmarks/run.py needs POSIX signals (it sends SIGTERM/SIGINT to its children)")
        return 2
    if args.repeats is not None and args.repeats < 1:
        log("--repeats must be at least 1")
        return 2
    if not installed("aioboot"):
        log("aioboot is not importable: pip install -e . first")
        return 2
    python, env = child_interpreter(args.site)
    out: Path = args.out
    plots_dir = BENCH_DIR / "plots" if args.update_md else out / "plots"
    cfg = Config(args.quick, args.repeats, python, env, log)
    keys = args.only or list(MEASUREMENTS)
    meter = CpuMeter()
    fingerprint = source_fingerprint()
    log(f"children: {' '.join(python)} (PYTHONPATH={env.get('PYTHONPATH', '')})")
    sections: List[Section] = []
    busy: Dict[str, Optional[float]] = {}
    try:
        _prime(cfg)
        for key in keys:
            if args.wait_quiet > 0:
                wait_until_quiet(log, args.wait_quiet)
            phase = CpuMeter()
            sections += MEASUREMENTS[key](cfg)
            busy[key] = phase.other_share()
            log(f"  {key}: {time.monotonic() - phase.started:.0f} s")
    except ChildFailed as exc:
        log(f"a child program failed:\n{exc}")
        return 1
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    env_info = environment(meter, command, python, busy, fingerprint)
    drawn = {} if args.no_plots else draw_all(sections, plots_dir, log)
    md_dir = BENCH_DIR if args.update_md else out
    plots = {key: os.path.relpath(path, md_dir) for key, path in drawn.items()}
    generated = render(sections, env_info, plots)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(generated)
    (out / "results.json").write_text(json.dumps(to_json(sections, env_info), indent=1) + "\n")
    print("\n" + generated)
    log(f"wrote {out / 'report.md'} and {out / 'results.json'}")
    if args.update_md:
        update_markdown(BENCH_DIR / "BENCHMARKS.md", generated)
        log(f"updated {BENCH_DIR / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
