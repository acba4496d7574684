"""2. Task-tracking overhead: create and await N tiny tasks under aioboot.run and under uvloop.run
(the same loop), timed inside main; aioboot's tracking must cost under 5 % of the throughput."""

from __future__ import annotations

import json
import statistics
from typing import Dict, List

from harness import (
    RUNNER_LABELS,
    Config,
    Section,
    Target,
    Trial,
    available_runners,
    column,
    interleaved,
    n_label,
    time_child,
)

KEY = "tasks"
MAX_COST = 0.05
MODES = ("sequential", "gather")


# Repetitions inside one child, the fastest kept: about one second of work per trial at most.
INNER_REPEATS = {100_000: 3}


def _throughput(cfg: Config, runner: str, n: int, mode: str) -> Trial:
    inner = str(INNER_REPEATS.get(n, 1))

    def trial() -> Dict[str, float]:
        out = time_child(cfg, ["tasks.py", runner, str(n), mode, inner], timeout=180).stdout
        seconds = float(json.loads(out)["seconds"])
        return {"ktasks_per_s": n / seconds / 1000}

    return trial


def measure(cfg: Config) -> List[Section]:
    cfg.log("tasks: create+await N tiny tasks, timed inside main")
    runners = available_runners(["uvloop", "aioboot", "aioboot-stop-on-error"], cfg.log)
    sizes = [100_000] if cfg.quick else [100_000, 1_000_000]
    cases = [(n, mode) for n in sizes for mode in MODES]
    # stop_on_error (a task factory: a per-task cost by design) is shown for scale at the
    # smallest N only, which keeps the full run under 10 minutes.
    included = {
        case: [r for r in runners if r != "aioboot-stop-on-error" or case[0] == sizes[0]]
        for case in cases
    }
    groups = [
        [
            (f"{RUNNER_LABELS[r]}|{n}|{mode}", _throughput(cfg, r, n, mode))
            for r in included[n, mode]
        ]
        for n, mode in cases
    ]
    samples = interleaved(groups, cfg.reps(full=5, quick=3), log=cfg.log)
    baseline = RUNNER_LABELS["uvloop"]
    section = Section(
        KEY,
        "Task throughput: create+await N tiny tasks, timed inside main (N=100k: fastest of 3 "
        "repetitions per child)",
        "throughput",
        "k tasks/s",
        higher_is_better=True,
        baseline=baseline if "uvloop" in runners else None,
        plot="ratios",
    )
    for n, mode in cases:
        for r in included[n, mode]:
            key = f"{RUNNER_LABELS[r]}|{n}|{mode}"
            section.add(
                f"N={n_label(n)} {mode}", RUNNER_LABELS[r], column(samples[key], "ktasks_per_s")
            )
    section.targets.append(_target(section))
    return [section]


def _target(section: Section) -> Target:
    variant = RUNNER_LABELS["aioboot"]
    text = f"{variant}: tracking costs < {MAX_COST:.0%} of throughput (ratio > {1 - MAX_COST:.2f})"
    worst = None
    for case in section.cases():
        series = section.find(case, variant)
        ratios = section.ratios(series) if series is not None else None
        if ratios:
            ratio = statistics.median(ratios)
            if worst is None or ratio < worst[1]:
                worst = (case, ratio)
    if worst is None:
        return Target(text, None, "uvloop.run not measured")
    case, ratio = worst
    return Target(text, ratio > 1 - MAX_COST, f"lowest median ratio {ratio:.3f} ({case})")
