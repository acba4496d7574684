"""5. Memory: peak RSS (VmHWM) of a program holding N pending tasks, under aioboot.run and bare
uvloop.run (asyncio.run for scale); tracking must not add more than ~5 %."""

from __future__ import annotations

import statistics
from typing import Dict, List

from bench_shutdown import run_pending
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
)

KEY = "memory"
N = 100_000
MAX_EXTRA = 0.05


def _peaks(cfg: Config, runner: str, n: int) -> Trial:
    def trial() -> Dict[str, float]:
        run = run_pending(cfg, runner, n, "return")
        return {"ready_mib": run.ready_kib / 1024, "end_mib": run.end_kib / 1024}

    return trial


def measure(cfg: Config) -> List[Section]:
    cfg.log("memory: peak RSS with N pending tasks")
    runners = available_runners(["uvloop", "aioboot", "asyncio"], cfg.log)
    sizes = [0, N]
    groups = [[(f"{r}|{n}", _peaks(cfg, r, n)) for r in runners] for n in sizes]
    samples = interleaved(groups, cfg.reps(full=5, quick=3), log=cfg.log)
    baseline = RUNNER_LABELS["uvloop"]
    section = Section(
        KEY,
        "Peak RSS (VmHWM): N tasks in asyncio.sleep(3600), then main returns",
        "peak RSS",
        "MiB",
        higher_is_better=False,
        baseline=baseline if "uvloop" in runners else None,
    )
    cases = [
        ("no tasks, whole run", 0, "end_mib"),
        (f"N={n_label(N)}, once created", N, "ready_mib"),
        (f"N={n_label(N)}, whole run (incl. shutdown)", N, "end_mib"),
    ]
    for case, n, metric in cases:
        for r in runners:
            section.add(case, RUNNER_LABELS[r], column(samples[f"{r}|{n}"], metric))
    section.targets.append(_target(section, [c for c, n, _ in cases if n]))
    return [section]


def _target(section: Section, cases: List[str]) -> Target:
    text = f"aioboot.run: peak RSS at most {MAX_EXTRA:.0%} over uvloop.run with {n_label(N)} tasks"
    worst = None
    for case in cases:
        series = section.find(case, RUNNER_LABELS["aioboot"])
        ratios = section.ratios(series) if series is not None else None
        if ratios:
            ratio = statistics.median(ratios)
            worst = max(worst or ratio, ratio)
    if worst is None:
        return Target(text, None, "uvloop.run or aioboot.run not measured")
    return Target(text, worst <= 1 + MAX_EXTRA, f"highest median ratio {worst:.3f}")
