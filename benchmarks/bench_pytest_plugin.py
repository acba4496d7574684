"""The pytest plugin's cost: a generated suite of 1,000 small async tests (pytest-asyncio, auto
mode; each test creates and awaits a task), run by pytest in a fresh interpreter per trial, with
the plugin enabled and not; interleaved rounds, paired ratios.  Target: enabled at most 10 %
slower than installed-but-not-enabled, judged on the children's CPU time (wall time is printed
too; on a shared machine it mostly measures the neighbours).

    python benchmarks/bench_pytest_plugin.py              # 8 rounds, about 2 minutes on 2 cores
    python benchmarks/bench_pytest_plugin.py --repeats 3 --wait-quiet 300

Variants: ``not enabled`` (the baseline: aioboot installed, the suite does not enable it);
``--aioboot`` (enabled, loop choice ``auto``: uvloop where installed); ``--aioboot, asyncio loop``
(enabled on the same loop as the baseline, so the ratio is the checks alone); ``-p no:aioboot``
(the plugin not even loaded: what the inert plugin costs a suite that does not enable it); and,
for scale, the suite with a conftest.py answering pytest-asyncio's loop-factory hook itself (asyncio
or uvloop, plugin not enabled): what that hook's parametrization and a uvloop loop per test cost
without aioboot.
Children run as installed (site-packages), because pytest finds the plugin by its entry point.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from harness import Config, Trial, child_interpreter, installed, interleaved, spread, time_child
from report import CpuMeter, wait_until_quiet

TESTS = 1000
MAX_RATIO = 1.10
BASELINE = "not enabled"
STARTUP = "start-up|"
# Variant -> (suite, extra pytest arguments).
VARIANTS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    BASELINE: ("plain", ()),
    "--aioboot": ("plain", ("--aioboot",)),
    "--aioboot, asyncio loop": ("plain", ("--aioboot", "-o", "aioboot_loop=asyncio")),
    "-p no:aioboot": ("plain", ("-p", "no:aioboot")),
    # Not aioboot: what pytest-asyncio's loop-factory hook and uvloop cost by themselves.
    "conftest hook, asyncio": ("hook-asyncio", ()),
    "conftest hook, uvloop": ("hook-uvloop", ()),
}
CONFTESTS = {
    "plain": None,
    "hook-asyncio": "import asyncio as loops\n",
    "hook-uvloop": "import uvloop as loops\n",
}
HOOK = """
def pytest_asyncio_loop_factories(config, item):
    return {"loop": loops.new_event_loop}
"""
INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""
TEST = """
async def test_{i}():
    await asyncio.create_task(asyncio.sleep(0))
"""


def write_suite(where: Path, tests: int, conftest: Optional[str] = None) -> Path:
    where.mkdir()
    (where / "pytest.ini").write_text(INI)
    body = "import asyncio\n" + "".join(TEST.format(i=i) for i in range(tests))
    (where / "test_generated.py").write_text(body)
    if conftest is not None:
        (where / "conftest.py").write_text(conftest + HOOK)
    return where


def _pytest(cfg: Config, suite: Path, extra: Sequence[str], tests: int) -> Trial:
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(suite), str(suite)]

    def trial() -> Dict[str, float]:
        before = _children_cpu()
        done = time_child(cfg, [*args, *extra], timeout=300)
        if f"{tests} passed" not in done.stdout:
            raise RuntimeError(f"pytest {' '.join(extra)} did not pass:\n{done.stdout[-2000:]}")
        return {"wall": done.seconds, "cpu": _children_cpu() - before}

    return trial


def _children_cpu() -> float:
    """CPU seconds of the children that have exited: a trial's own is the difference (one child
    at a time).  Less disturbed than wall time by other processes on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cfg: Config, tests: int = TESTS) -> Dict[str, Dict[str, List[float]]]:
    """Seconds per run, by variant; ``start-up|...`` variants run a suite of one test."""
    variants = {
        name: how
        for name, how in VARIANTS.items()
        if how[0] != "hook-uvloop" or installed("uvloop")
    }
    with tempfile.TemporaryDirectory(prefix="aioboot-bench-pytest-") as tmp:
        suites = {
            name: write_suite(Path(tmp) / name, tests, conftest)
            for name, conftest in CONFTESTS.items()
        }
        one = write_suite(Path(tmp) / "one", 1)
        groups = [
            [
                (name, _pytest(cfg, suites[suite], extra, tests))
                for name, (suite, extra) in variants.items()
            ],
            [
                (f"{STARTUP}{name}", _pytest(cfg, one, VARIANTS[name][1], 1))
                for name in (BASELINE, "-p no:aioboot")
            ],
        ]
        samples = interleaved(groups, cfg.reps(full=8, quick=3), log=cfg.log)
    return {
        metric: {name: [s[metric] for s in runs] for name, runs in samples.items()}
        for metric in ("cpu", "wall")
    }


def report(measured: Dict[str, Dict[str, List[float]]], tests: int) -> bool:
    """Print one table per metric; True when the target (judged on CPU time) is met."""
    for metric, seconds in measured.items():
        what = "CPU time (user+sys)" if metric == "cpu" else "wall time"
        print(f"\npytest, {tests} small async tests, {what} per run (median [q1-q3]):")
        _table({k: v for k, v in seconds.items() if not k.startswith(STARTUP)}, 1.0, "s")
        print(f"pytest start-up, a suite of one test, {what}: what the inert plugin costs")
        _table(
            {k[len(STARTUP) :]: v for k, v in seconds.items() if k.startswith(STARTUP)},
            1000.0,
            "ms",
        )
    cpu = measured["cpu"]
    ratios = {
        name: statistics.median(v / b for v, b in zip(cpu[name], cpu[BASELINE]))
        for name in ("--aioboot", "--aioboot, asyncio loop")
    }
    for name, ratio in ratios.items():
        met = ratio <= MAX_RATIO
        print(
            f"target: '{name}' <= {MAX_RATIO:.2f}x '{BASELINE}' (CPU time): "
            f"{'met' if met else 'MISSED'} (median paired ratio {ratio:.3f})"
        )
    return all(ratio <= MAX_RATIO for ratio in ratios.values())


def _table(seconds: Dict[str, List[float]], scale: float, unit: str) -> None:
    base = seconds[BASELINE]
    for name, values in seconds.items():
        s = spread([v * scale for v in values])
        ratio = statistics.median(v / b for v, b in zip(values, base))
        delta = statistics.median((v - b) * 1000 for v, b in zip(values, base))
        print(
            f"  {name:<24} {s.median:8.2f} {unit} [{s.q1:.2f}-{s.q3:.2f}]  "
            f"paired: {ratio:.3f}x, {delta:+.0f} ms"
        )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, metavar="N", help="rounds (default 8)")
    parser.add_argument("--tests", type=int, default=TESTS, help="tests in the suite")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to calm down",
    )
    args = parser.parse_args(argv)
    if not installed("pytest_asyncio"):
        print("needs pytest-asyncio: pip install -e '.[test]'")
        return 2
    python, env = child_interpreter(site=True)
    cfg = Config(False, args.repeats, python, env)
    if args.wait_quiet > 0:
        wait_until_quiet(print, args.wait_quiet)
    meter = CpuMeter()
    measured = measure(cfg, args.tests)
    busy = meter.other_share()
    met = report(measured, args.tests)
    if busy is not None:
        print(f"other processes used {busy:.0%} of the machine's CPU meanwhile")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
