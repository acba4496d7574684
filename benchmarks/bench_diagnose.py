"""7. What the production watchers cost: the stall warning (a heartbeat timer on the loop and a
thread that reads it) and the systemd watchdog (a ping from the loop), both on, against both off.

- Task throughput (programs/tasks.py) under aioboot.run, and under aioboot.run with
  ``stall_warning=0.1`` and ``WATCHDOG_USEC=200000`` (a ping every 0.1 s): settings far tighter
  than production ones, so that any per-turn cost would show.  Target: ratio >= 0.99.
- An idle program's wake-ups (programs/idle.py: context switches of all its threads while main
  sleeps), against what the intervals require: the heartbeat every stall_warning / 2, the watch
  thread about once per stall_warning, a ping every WATCHDOG_USEC / 2.

The service manager is played by a datagram socket this process binds and drains.

    python benchmarks/bench_diagnose.py [--quick]     # or: python benchmarks/run.py --only diagnose
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
from typing import Dict, Iterator, List, Mapping, Tuple

from harness import (
    RUNNER_LABELS,
    Config,
    Section,
    Target,
    Trial,
    child_interpreter,
    column,
    interleaved,
    n_label,
    time_child,
)

KEY = "diagnose"
MIN_RATIO = 0.99
INNER_REPEATS = 5  # the fastest of 5 per child: the least disturbed by other processes
MODES = ("sequential", "gather")

# (stall_warning seconds, WATCHDOG_USEC) for the throughput runs: tight on purpose.
TIGHT = (0.1, 200_000)
# The idle runs: a production-like setting, and the tight one.
IDLE_SETTINGS = {
    "stall 1 s + watchdog 10 s": (1.0, 10_000_000),
    "stall 0.1 s + watchdog 0.2 s": TIGHT,
}
OFF = "off"


@contextlib.contextmanager
def service_manager() -> Iterator[str]:
    """A NOTIFY_SOCKET address whose datagrams are read and dropped, as systemd would."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        done = threading.Event()

        def drain() -> None:
            while not done.is_set():
                with contextlib.suppress(socket.timeout):
                    sock.recv(4096)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            yield path
        finally:
            done.set()
            reader.join()
            sock.close()


def watched_env(address: str, stall: float, watchdog_usec: int) -> Dict[str, str]:
    return {
        "NOTIFY_SOCKET": address,
        "WATCHDOG_USEC": str(watchdog_usec),
        "BENCH_STALL_WARNING": str(stall),
    }


def expected_wakeups_per_s(stall: float, watchdog_usec: int) -> float:
    return 2 / stall + 1 / stall + 2 / (watchdog_usec / 1e6)


def _throughput(cfg: Config, runner: str, n: int, mode: str, env: Mapping[str, str]) -> Trial:
    def trial() -> Dict[str, float]:
        args = ["tasks.py", runner, str(n), mode, str(INNER_REPEATS)]
        result = json.loads(time_child(cfg, args, timeout=180, extra_env=env).stdout)
        return {
            "ktasks_per_s": n / float(result["seconds"]) / 1000,
            "ktasks_per_cpu_s": n / float(result["cpu_seconds"]) / 1000,
        }

    return trial


def _idle(cfg: Config, runner: str, seconds: float, env: Mapping[str, str]) -> Trial:
    def trial() -> Dict[str, float]:
        out = time_child(cfg, ["idle.py", runner, str(seconds)], timeout=60, extra_env=env).stdout
        result = json.loads(out)
        return {"wakeups_per_s": result["wakeups"] / result["seconds"]}

    return trial


def measure(cfg: Config) -> List[Section]:
    with service_manager() as address:
        return [*_measure_throughput(cfg, address), _measure_idle(cfg, address)]


def _measure_throughput(cfg: Config, address: str) -> List[Section]:
    cfg.log("diagnose: task throughput, stall warning + watchdog on vs off")
    off, on = RUNNER_LABELS["aioboot"], RUNNER_LABELS["aioboot-watched"]
    env = watched_env(address, *TIGHT)
    # One size: a cost paid per loop turn or per second shows at any N (bench_tasks has 1M).
    cases = [(100_000, mode) for mode in MODES]
    groups = [
        [
            (f"{off}|{n}|{mode}", _throughput(cfg, "aioboot", n, mode, {})),
            (f"{on}|{n}|{mode}", _throughput(cfg, "aioboot-watched", n, mode, env)),
        ]
        for n, mode in cases
    ]
    samples = interleaved(groups, cfg.reps(full=11, quick=3), log=cfg.log)
    settings = "stall warning 0.1 s and watchdog ping every 0.1 s, on against off"
    by_cpu = Section(
        f"{KEY}_cpu",
        f"Task throughput per CPU second (all threads), {settings} (least of {INNER_REPEATS} "
        "repetitions per child): what the watchers cost, whatever else runs on the machine",
        "throughput",
        "k tasks per CPU s",
        higher_is_better=True,
        baseline=off,
        plot="ratios",
    )
    by_wall = Section(
        f"{KEY}_wall",
        f"Task throughput per wall-clock second, {settings} (fastest of {INNER_REPEATS}): "
        "moved by other processes on a shared machine as much as by the watchers",
        "throughput",
        "k tasks/s",
        higher_is_better=True,
        baseline=off,
        plot="none",
    )
    for n, mode in cases:
        for variant in (off, on):
            key = f"{variant}|{n}|{mode}"
            by_cpu.add(f"N={n_label(n)} {mode}", variant, column(samples[key], "ktasks_per_cpu_s"))
            by_wall.add(f"N={n_label(n)} {mode}", variant, column(samples[key], "ktasks_per_s"))
    by_cpu.targets.append(_throughput_target(by_cpu, on))
    return [by_cpu, by_wall]


def _throughput_target(section: Section, variant: str) -> Target:
    text = f"{variant}: throughput ratio >= {MIN_RATIO}"
    medians: List[Tuple[str, float]] = []
    for case in section.cases():
        series = section.find(case, variant)
        ratios = section.ratios(series) if series is not None else None
        if ratios:
            medians.append((case, statistics.median(ratios)))
    if not medians:
        return Target(text, None, "nothing measured")
    case, worst = min(medians, key=lambda m: m[1])
    return Target(text, worst >= MIN_RATIO, f"lowest median ratio {worst:.3f} ({case})")


def _measure_idle(cfg: Config, address: str) -> Section:
    cfg.log("diagnose: wake-ups of an idle program")
    seconds = 3.0 if cfg.quick else 5.0
    variants = [(OFF, _idle(cfg, "aioboot", seconds, {}))]
    for name, (stall, usec) in IDLE_SETTINGS.items():
        variants.append(
            (name, _idle(cfg, "aioboot-watched", seconds, watched_env(address, stall, usec)))
        )
    samples = interleaved([variants], cfg.reps(full=3, quick=2), log=cfg.log)
    section = Section(
        f"{KEY}_idle",
        f"Wake-ups per second of a program idle for {seconds:g} s (context switches, all threads)",
        "wake-ups",
        "per s",
        higher_is_better=False,
        baseline=None,
        plot="none",
    )
    for name, _ in variants:
        section.add("idle", name, column(samples[name], "wakeups_per_s"))
    for name, (stall, usec) in IDLE_SETTINGS.items():
        measured = statistics.median(column(samples[name], "wakeups_per_s"))
        off = statistics.median(column(samples[OFF], "wakeups_per_s"))
        required = expected_wakeups_per_s(stall, usec)
        section.targets.append(
            Target(
                f"{name}: no more wake-ups than the intervals require ({required:g}/s)",
                measured - off <= required * 1.1,
                f"measured {measured:.1f}/s, {measured - off:.1f}/s over off ({off:.1f}/s)",
            )
        )
    return section


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    python, env = child_interpreter(site=False)
    cfg = Config(quick, None, python, env)
    for section in measure(cfg):
        print(f"\n{section.title}")
        for series in section.series:
            ratios = section.ratios(series)
            ratio = f"  ratio {statistics.median(ratios):.3f}" if ratios else ""
            values = ", ".join(f"{v:.1f}" for v in series.values)
            print(f"  {series.case:<18} {series.variant:<42} [{values}]{ratio}")
        for target in section.targets:
            verdict = {True: "met", False: "MISSED", None: "n/a"}[target.met]
            print(f"  target: {target.text}: {verdict} ({target.detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
