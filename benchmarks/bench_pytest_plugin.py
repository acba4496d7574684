"""The pytest plugin's cost: a generated suite of 1,000 small async tests (pytest-asyncio, auto
mode; each test creates and awaits a task), run by pytest in a fresh interpreter per trial, with
the plugin enabled and not; interleaved rounds, paired ratios.  Target: enabled at most 10 %
slower than installed-but-not-enabled.

    python benchmarks/bench_pytest_plugin.py              # 8 rounds, about 2 minutes on 2 cores
    python benchmarks/bench_pytest_plugin.py --repeats 3

Variants: ``not enabled`` (the baseline: aioboot installed, the suite does not enable it);
``--aioboot`` (enabled, loop choice ``auto``: uvloop where installed); ``--aioboot, asyncio loop``
(enabled on the same loop as the baseline, so the ratio is the checks alone); ``-p no:aioboot``
(the plugin not even loaded: what the inert plugin costs a suite that does not enable it).
Children run as installed (site-packages), because pytest finds the plugin by its entry point.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from harness import Config, Trial, child_interpreter, installed, interleaved, spread, time_child

TESTS = 1000
MAX_RATIO = 1.10
BASELINE = "not enabled"
VARIANTS: Dict[str, Tuple[str, ...]] = {
    BASELINE: (),
    "--aioboot": ("--aioboot",),
    "--aioboot, asyncio loop": ("--aioboot", "-o", "aioboot_loop=asyncio"),
    "-p no:aioboot": ("-p", "no:aioboot"),
}
INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""
TEST = """
async def test_{i}():
    await asyncio.create_task(asyncio.sleep(0))
"""


def write_suite(where: Path, tests: int) -> Path:
    (where / "pytest.ini").write_text(INI)
    body = "import asyncio\n" + "".join(TEST.format(i=i) for i in range(tests))
    (where / "test_generated.py").write_text(body)
    return where


def _pytest(cfg: Config, suite: Path, extra: Sequence[str], tests: int) -> Trial:
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(suite), str(suite)]

    def trial() -> Dict[str, float]:
        done = time_child(cfg, [*args, *extra], timeout=300)
        if f"{tests} passed" not in done.stdout:
            raise RuntimeError(f"pytest {' '.join(extra)} did not pass:\n{done.stdout[-2000:]}")
        return {"s": done.seconds}

    return trial


def measure(cfg: Config, tests: int = TESTS) -> Dict[str, List[float]]:
    with tempfile.TemporaryDirectory(prefix="aioboot-bench-pytest-") as tmp:
        suite = write_suite(Path(tmp), tests)
        group = [(name, _pytest(cfg, suite, extra, tests)) for name, extra in VARIANTS.items()]
        samples = interleaved([group], cfg.reps(full=8, quick=3), log=cfg.log)
    return {name: [s["s"] for s in runs] for name, runs in samples.items()}


def report(seconds: Dict[str, List[float]], tests: int) -> bool:
    """Print one line per variant; True when the target is met."""
    base = seconds[BASELINE]
    print(f"\npytest, {tests} small async tests, wall time per run (median [q1-q3]):")
    for name, values in seconds.items():
        s = spread(values)
        ratios = [v / b for v, b in zip(values, base)]
        print(
            f"  {name:<26} {s.median:6.2f} s [{s.q1:.2f}-{s.q3:.2f}]  "
            f"paired ratio to '{BASELINE}': {statistics.median(ratios):.3f}"
        )
    worst = max(
        statistics.median(v / b for v, b in zip(seconds[name], base))
        for name in ("--aioboot", "--aioboot, asyncio loop")
    )
    met = worst <= MAX_RATIO
    print(
        f"target: enabled <= {MAX_RATIO:.2f}x not enabled: {'met' if met else 'MISSED'} "
        f"(worst median paired ratio {worst:.3f})"
    )
    return met


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, metavar="N", help="rounds (default 8)")
    parser.add_argument("--tests", type=int, default=TESTS, help="tests in the suite")
    args = parser.parse_args(argv)
    if not installed("pytest_asyncio"):
        print("needs pytest-asyncio: pip install -e '.[test]'")
        return 2
    python, env = child_interpreter(site=True)
    cfg = Config(False, args.repeats, python, env)
    return 0 if report(measure(cfg, args.tests), args.tests) else 1


if __name__ == "__main__":
    sys.exit(main())
