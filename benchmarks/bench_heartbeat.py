"""8. What the liveness heartbeat costs, and what a probe sees: ``heartbeat_file=`` (a timer on
the loop that sets the file's modification time every 0.5 s) on against off.

- Instructions per task under valgrind (programs/tasks.py, 10k and 30k sequential tasks), scaled
  back to a native throughput ratio as for the stall watch (bench_diagnose.measure_instructions).
- Task throughput per CPU second, on against off (bench_diagnose.measure_throughput).  Both
  variants have environments of the same size: off sets ``AIOBOOT_HEARTBEAT_FILE`` empty.
- An idle program's wake-ups (programs/idle.py), against the two per second the interval needs.
- The file's age as a probe sees it (programs/heartbeat_age.py), sampled every 5 ms by this
  process: while the loop sleeps in its selector, while it turns without pause, and while a
  ``time.sleep`` blocks it.
- One probe's cost: ``python -m aioboot.probe PATH`` from spawn to exit, against ``python -c
  pass``.

    python benchmarks/bench_heartbeat.py [--quick]   # or: python benchmarks/run.py --only heartbeat
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Dict, Iterator, List, Mapping, Tuple

from bench_diagnose import measure_idle, measure_instructions, measure_throughput, run_alone
from harness import (
    RUNNER_LABELS,
    Child,
    Config,
    Section,
    Target,
    column,
    interleaved,
    time_child,
)

KEY = "heartbeat"
ENV = "AIOBOOT_HEARTBEAT_FILE"
INTERVAL = 0.5  # aioboot._heartbeat.INTERVAL
OFF, ON = RUNNER_LABELS["aioboot"], "aioboot.run + heartbeat file"
SAMPLE_EVERY = 0.005


@contextlib.contextmanager
def heartbeat_path() -> Iterator[str]:
    """A path for the file, in a fresh directory (on tmpfs where /dev/shm exists, as a pod's
    ``emptyDir: {medium: Memory}`` would be)."""
    where = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=where) as directory:
        yield os.path.join(directory, "heartbeat")


def envs(path: str) -> Tuple[Dict[str, str], Dict[str, str]]:
    """Off and on, with environments of the same size (see bench_diagnose.disabled_env)."""
    return {ENV: "", "BENCH_PAD": "x" * len(path)}, {ENV: path, "BENCH_PAD": ""}


def measure(cfg: Config) -> List[Section]:
    with heartbeat_path() as path:
        off, on = envs(path)
        sections: List[Section] = []
        if shutil.which("valgrind"):
            cfg.log("heartbeat: instructions per task under valgrind (sequential, 10k and 30k)")
            variants = {"off": ("aioboot", off), "on": ("aioboot", on)}
            sections.append(
                measure_instructions(cfg, f"{KEY}_instructions", "heartbeat file", variants)
            )
        else:
            cfg.log("heartbeat: valgrind not installed, no instruction counts")
        cfg.log("heartbeat: task throughput, heartbeat file on vs off")
        settings = "heartbeat file on against off"
        sections.extend(measure_throughput(cfg, KEY, settings, "aioboot", (off, on), (OFF, ON)))
        sections.append(_measure_idle(cfg, off, on))
        sections.append(_measure_ages(cfg, path))
        sections.append(_measure_probe(cfg, path))
        return sections


def _measure_idle(cfg: Config, off: Mapping[str, str], on: Mapping[str, str]) -> Section:
    cfg.log("heartbeat: wake-ups of an idle program")
    section, medians = measure_idle(cfg, KEY, [("off", "aioboot", off), ("on", "aioboot", on)])
    extra = medians["on"] - medians["off"]
    required = 1 / INTERVAL
    section.targets.append(
        Target(
            f"no more wake-ups than the interval requires ({required:g}/s)",
            extra <= required * 1.1,
            f"{extra:.2f}/s over off",
        )
    )
    return section


def _sample_ages(path: str, until: threading.Event) -> List[float]:
    ages = []
    pause = threading.Event()
    while not until.is_set():
        with contextlib.suppress(FileNotFoundError):
            ages.append(time.time() - os.stat(path).st_mtime)
        pause.wait(SAMPLE_EVERY)
    return ages


def _ages(cfg: Config, path: str, mode: str, seconds: float) -> List[float]:
    """The file's age, sampled from READY to DONE."""
    with Child(
        cfg, ["heartbeat_age.py", mode, str(seconds)], timeout=seconds + 30, extra_env={ENV: path}
    ) as child:
        if child.read_line() != "READY":
            raise child.failure("did not print READY")
        done = threading.Event()
        ages: List[float] = []
        sampler = threading.Thread(target=lambda: ages.extend(_sample_ages(path, done)))
        sampler.start()
        try:
            line = child.read_line()
        finally:
            done.set()
            sampler.join()
        if line != "DONE":
            raise child.failure(f"printed {line!r}, not DONE")
        child.rest()
        child.wait()
        child.check_status((0,))
    return ages


def _measure_ages(cfg: Config, path: str) -> Section:
    cfg.log("heartbeat: the file's age while the loop sleeps, turns and is blocked")
    seconds = 3.0 if cfg.quick else 5.0
    section = Section(
        f"{KEY}_age",
        f"The heartbeat file's age as a probe sees it (sampled every {SAMPLE_EVERY * 1000:g} ms "
        f"for {seconds:g} s; one child per mode)",
        "age",
        "s",
        higher_is_better=False,
        baseline=None,
        plot="none",
    )
    for mode in ("idle", "busy", "blocked"):
        ages = _ages(cfg, path, mode, seconds)
        ordered = sorted(ages)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        section.add(mode, "median", [statistics.median(ages)])
        section.add(mode, "p99", [p99])
        section.add(mode, "max", [ordered[-1]])
        if mode != "blocked":
            section.targets.append(
                Target(
                    f"{mode}: the age stays under 1 s",
                    ordered[-1] < 1.0,
                    f"max {ordered[-1]:.3f} s",
                )
            )
        else:
            section.targets.append(
                Target(
                    "blocked: the age grows with the block",
                    ordered[-1] >= seconds,
                    f"max {ordered[-1]:.3f} s after {seconds:g} s blocked",
                )
            )
    return section


def _measure_probe(cfg: Config, path: str) -> Section:
    cfg.log("heartbeat: one probe, from spawn to exit")
    with open(path, "a"):
        os.utime(path)

    def probe() -> Dict[str, float]:
        # The file is older than --max-age by now, or not: the cost is the same either way.
        finished = time_child(cfg, ["-m", "aioboot.probe", path, "--max-age", "3600"], timeout=30)
        return {"ms": finished.seconds * 1000}

    def bare() -> Dict[str, float]:
        return {"ms": time_child(cfg, ["-c", "pass"], timeout=30).seconds * 1000}

    variants = [("python -c pass", bare), ("python -m aioboot.probe", probe)]
    samples = interleaved([variants], cfg.reps(full=20, quick=5), log=cfg.log)
    section = Section(
        f"{KEY}_probe",
        "One probe, wall time from spawn to exit",
        "wall time",
        "ms",
        higher_is_better=False,
        baseline="python -c pass",
        plot="none",
    )
    for name, _ in variants:
        section.add("probe", name, column(samples[name], "ms"))
    return section


if __name__ == "__main__":
    sys.exit(run_alone(measure))
