"""7. What the production watchers cost: the stall warning (a heartbeat timer on the loop and a
thread that reads it) and the systemd watchdog (a ping from the loop), both on, against both off.

- Task throughput (programs/tasks.py) under aioboot.run with both off, and with
  ``stall_warning=0.1`` and ``WATCHDOG_USEC=200000`` (a ping every 0.1 s): settings far tighter
  than production ones, so that any per-turn cost would show.  Target: ratio >= 0.99.  Both
  variants run the same runner with environments of the same size (see disabled_env).  Measured
  on a shared 2-core machine: 0.96-0.98, almost all of it the watch thread's mere presence (an
  idle thread in an otherwise single-threaded process showed it too); the watchdog alone, ~1.0.
- Instructions per task under valgrind (callgrind), when it is installed: deterministic where the
  timings above move by several per cent with the machine's load.  Valgrind's slowdown multiplies
  the timer events per task by the same factor, so the difference found is scaled back by it for
  the native estimate.
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
import shutil
import socket
import statistics
import sys
import tempfile
import threading
from typing import Callable, Dict, Iterator, List, Mapping, Sequence, Tuple

from harness import (
    RUNNER_LABELS,
    Config,
    Section,
    Target,
    Trial,
    callgrind_instructions,
    child_interpreter,
    column,
    interleaved,
    n_label,
    print_sections,
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


def disabled_env(address: str, watchdog_usec: int) -> Dict[str, str]:
    """The same variables, of the same sizes, with both watchers off (an empty NOTIFY_SOCKET is
    no socket, a stall warning of 0 is none): the environment's size moves the stack, and that
    alone can move a tight loop's speed by a few per cent."""
    return {
        "NOTIFY_SOCKET": "",
        "BENCH_PAD": "x" * len(address),
        "WATCHDOG_USEC": str(watchdog_usec),
        "BENCH_STALL_WARNING": "0.0",
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
        sections = _measure_throughput(cfg, address)
        if shutil.which("valgrind"):
            sections.append(_measure_instructions(cfg, address))
        else:
            cfg.log("diagnose: valgrind not installed, no instruction counts")
        sections.append(_measure_idle(cfg, address))
        return sections


def _instructions(cfg: Config, runner: str, n: int, env: Mapping[str, str]) -> Tuple[int, float]:
    """Instructions of a whole tasks.py run under callgrind, and its work's wall seconds."""
    args = ["tasks.py", runner, str(n), "sequential", "1"]
    instructions, out = callgrind_instructions(cfg, args, env)
    return instructions, float(json.loads(out)["seconds"])


def _measure_instructions(cfg: Config, address: str) -> Section:
    cfg.log("diagnose: instructions per task under valgrind (sequential, 10k and 30k tasks)")
    variants = {"off": ("aioboot", {}), "on": ("aioboot-watched", watched_env(address, *TIGHT))}
    settings = "stall warning 0.1 s and watchdog ping every 0.1 s"
    return measure_instructions(cfg, f"{KEY}_instructions", settings, variants)


Variants = Mapping[str, Tuple[str, Mapping[str, str]]]  # "off"/"on" -> (runner, extra env)


def measure_instructions(cfg: Config, key: str, settings: str, variants: Variants) -> Section:
    """Instructions per task of a watcher ``on`` against ``off``, from two sizes: what both runs
    share (start-up, imports, the watchers' own start) cancels out."""
    small, large = 10_000, 30_000
    per_task: Dict[str, float] = {}
    slowdown: Dict[str, float] = {}
    for variant, (runner, extra) in variants.items():
        (ir_small, _), (ir_large, seconds) = (
            _instructions(cfg, runner, n, extra) for n in (small, large)
        )
        per_task[variant] = (ir_large - ir_small) / (large - small)
        native = json.loads(
            time_child(
                cfg,
                ["tasks.py", runner, str(large), "sequential", "3"],
                timeout=60,
                extra_env=extra,
            ).stdout
        )["seconds"]
        slowdown[variant] = seconds / native
    extra_share = per_task["on"] / per_task["off"] - 1
    factor = statistics.mean(slowdown.values())
    native_ratio = 1 / (1 + extra_share / factor)
    section = Section(
        key,
        f"Instructions per task under valgrind, {settings}",
        "instructions",
        "per task",
        higher_is_better=False,
        baseline="off",
        plot="none",
    )
    for variant in ("off", "on"):
        section.add("N=30k-10k sequential", variant, [per_task[variant]])
    section.notes.append(
        f"On costs {extra_share:+.2%} instructions per task under valgrind, which ran the work "
        f"{factor:.0f}x slower than natively, so that each task saw {factor:.0f}x the timer events "
        f"it sees natively: native throughput ratio on/off about {native_ratio:.4f}."
    )
    section.targets.append(
        Target(
            f"native throughput ratio (from instruction counts) >= {MIN_RATIO}",
            native_ratio >= MIN_RATIO,
            f"{native_ratio:.4f} (+{extra_share:.2%} under valgrind, slowdown {factor:.0f}x)",
        )
    )
    return section


def _measure_throughput(cfg: Config, address: str) -> List[Section]:
    cfg.log("diagnose: task throughput, stall warning + watchdog on vs off")
    env = watched_env(address, *TIGHT)
    env["BENCH_PAD"] = ""
    labels = (RUNNER_LABELS["aioboot"], RUNNER_LABELS["aioboot-watched"])
    settings = "stall warning 0.1 s and watchdog ping every 0.1 s, on against off"
    return measure_throughput(
        cfg, KEY, settings, "aioboot-watched", (disabled_env(address, TIGHT[1]), env), labels
    )


def measure_throughput(
    cfg: Config,
    key: str,
    settings: str,
    runner: str,
    envs: Tuple[Mapping[str, str], Mapping[str, str]],
    labels: Tuple[str, str],
) -> List[Section]:
    """Task throughput of ``runner`` with the environments ``envs`` (off, on), labelled
    ``labels``: per CPU second (with a target) and per wall-clock second."""
    off, on = labels
    # One size: a cost paid per loop turn or per second shows at any N (bench_tasks has 1M).
    cases = [(100_000, mode) for mode in MODES]
    groups = [
        [
            (f"{off}|{n}|{mode}", _throughput(cfg, runner, n, mode, envs[0])),
            (f"{on}|{n}|{mode}", _throughput(cfg, runner, n, mode, envs[1])),
        ]
        for n, mode in cases
    ]
    samples = interleaved(groups, cfg.reps(full=11, quick=3), log=cfg.log)
    by_cpu = Section(
        f"{key}_cpu",
        f"Task throughput per CPU second (all threads), {settings} (least of {INNER_REPEATS} "
        "repetitions per child): what the watchers cost, whatever else runs on the machine",
        "throughput",
        "k tasks per CPU s",
        higher_is_better=True,
        baseline=off,
        plot="ratios",
    )
    by_wall = Section(
        f"{key}_wall",
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
            sample_key = f"{variant}|{n}|{mode}"
            by_cpu.add(
                f"N={n_label(n)} {mode}", variant, column(samples[sample_key], "ktasks_per_cpu_s")
            )
            by_wall.add(
                f"N={n_label(n)} {mode}", variant, column(samples[sample_key], "ktasks_per_s")
            )
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
    variants = [(OFF, "aioboot", {})]
    for name, (stall, usec) in IDLE_SETTINGS.items():
        variants.append((name, "aioboot-watched", watched_env(address, stall, usec)))
    section, medians = measure_idle(cfg, KEY, variants)
    off = medians[OFF]
    for name, (stall, usec) in IDLE_SETTINGS.items():
        measured = medians[name]
        required = expected_wakeups_per_s(stall, usec)
        section.targets.append(
            Target(
                f"{name}: no more wake-ups than the intervals require ({required:g}/s)",
                measured - off <= required * 1.1,
                f"measured {measured:.1f}/s, {measured - off:.1f}/s over off ({off:.1f}/s)",
            )
        )
    return section


def measure_idle(
    cfg: Config, key: str, variants: Sequence[Tuple[str, str, Mapping[str, str]]]
) -> Tuple[Section, Dict[str, float]]:
    """Wake-ups per second of programs/idle.py for each (name, runner, extra env): the section,
    and each variant's median."""
    seconds = 3.0 if cfg.quick else 5.0
    trials = [(name, _idle(cfg, runner, seconds, env)) for name, runner, env in variants]
    samples = interleaved([trials], cfg.reps(full=3, quick=2), log=cfg.log)
    section = Section(
        f"{key}_idle",
        f"Wake-ups per second of a program idle for {seconds:g} s (context switches, all threads)",
        "wake-ups",
        "per s",
        higher_is_better=False,
        baseline=None,
        plot="none",
    )
    medians: Dict[str, float] = {}
    for name, _ in trials:
        values = column(samples[name], "wakeups_per_s")
        section.add("idle", name, values)
        medians[name] = statistics.median(values)
    return section, medians


def main() -> int:
    return run_alone(measure)


def run_alone(measure: Callable[[Config], List[Section]]) -> int:
    """One measurement on its own (``--quick``: fewer repeats), its tables printed."""
    quick = "--quick" in sys.argv[1:]
    python, env = child_interpreter(site=False)
    print_sections(measure(Config(quick, None, python, env)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
