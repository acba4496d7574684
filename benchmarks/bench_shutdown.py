"""3. Shutdown latency: N tasks asleep in ``asyncio.sleep(3600)``, then the runner's stop signal;
the parent times signal -> exit.  aioboot and aiorun get SIGTERM (their own handling),
asyncio.run and uvloop.run SIGINT (the only signal they handle).

The child also stamps the moment run() returned or raised, which splits the latency into the
runner's shutdown and the interpreter's teardown; one extra aioboot run is profiled with cProfile
from READY to the end of run().

Then what the shutdown's care for child processes and the delayed "Ctrl-C again" hint cost:
aioboot as it is against aioboot patched without them (``experiments/patched.py``), stopped with
K child processes left running, and what noting each child costs when it starts.
"""

from __future__ import annotations

import io
import os
import pstats
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from harness import (
    BENCH_DIR,
    RUNNER_LABELS,
    Child,
    ChildFailed,
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

KEY = "shutdown"
TARGET_MS = 500.0
TARGET_N = 100_000
TIMEOUT = 90.0

STOP_SIGNAL = {
    "aioboot": signal.SIGTERM,
    "aiorun": signal.SIGTERM,
    "aiorun-asyncio": signal.SIGTERM,
    "uvloop": signal.SIGINT,
    "asyncio": signal.SIGINT,
}
# aioboot: SystemExit(128 + SIGTERM); aiorun returns normally; asyncio.run and uvloop.run raise
# KeyboardInterrupt, and Python then ends itself with SIGINT.
STOPPED_STATUS = {
    "aioboot": (128 + signal.SIGTERM,),
    "aiorun": (0,),
    "aiorun-asyncio": (0,),
    "uvloop": (-signal.SIGINT, 128 + signal.SIGINT),
    "asyncio": (-signal.SIGINT, 128 + signal.SIGINT),
}


def label(runner: str) -> str:
    return f"{RUNNER_LABELS[runner]} + {STOP_SIGNAL[runner].name}"


@dataclass(frozen=True)
class PendingRun:
    """One run of programs/pending.py; times are time.monotonic(), sizes KiB."""

    ready_kib: int
    signalled_at: Optional[float]
    returned_at: float
    exited_at: float
    end_kib: int


def run_pending(
    cfg: Config,
    runner: str,
    n: int,
    mode: str,
    extra_env: Optional[Dict[str, str]] = None,
    wrapper: Sequence[str] = (),
) -> PendingRun:
    """Start N pending tasks under ``runner``; in mode ``wait`` stop it with its signal once it
    is READY, in mode ``return`` let main return.  ``wrapper``: arguments that come before the
    program's path (experiments/patched.py runs it with aioboot patched)."""
    args = [*wrapper, "pending.py", runner, str(n), mode]
    with Child(cfg, args, timeout=TIMEOUT, extra_env=extra_env) as child:
        ready = child.read_line().split()
        if ready[:1] != ["READY"]:
            raise child.failure(f"expected READY, got {' '.join(ready)!r}")
        signalled_at = None
        if mode == "wait":
            signalled_at = time.monotonic()
            os.kill(child.proc.pid, STOP_SIGNAL[runner])
        exited_at = child.wait()
        child.check_status(STOPPED_STATUS[runner] if mode == "wait" else (0,))
        returned = child.rest().split()
        if returned[:1] != ["RETURNED"]:
            raise child.failure(f"expected RETURNED, got {' '.join(returned)!r}")
        return PendingRun(
            int(ready[1]), signalled_at, float(returned[1]), exited_at, int(returned[2])
        )


def _latency(cfg: Config, runner: str, n: int) -> Trial:
    def trial() -> Dict[str, float]:
        run = run_pending(cfg, runner, n, "wait")
        assert run.signalled_at is not None
        return {
            "exit_ms": (run.exited_at - run.signalled_at) * 1000,
            "in_run_ms": (run.returned_at - run.signalled_at) * 1000,
            "teardown_ms": (run.exited_at - run.returned_at) * 1000,
        }

    return trial


def measure(cfg: Config) -> List[Section]:
    cfg.log("shutdown: signal -> exit with N pending tasks")
    runners = available_runners(
        ["aioboot", "aiorun", "aiorun-asyncio", "uvloop", "asyncio"], cfg.log
    )
    sizes = [1_000, 10_000, TARGET_N]
    groups = [[(f"{r}|{n}", _latency(cfg, r, n)) for r in runners] for n in sizes]
    samples = interleaved(groups, cfg.reps(full=5, quick=3), log=cfg.log)
    baseline = label("aiorun") if "aiorun" in runners else None
    latency = Section(
        KEY,
        "Shutdown latency: stop signal -> process exit, N tasks in asyncio.sleep(3600)",
        "signal -> exit",
        "ms",
        higher_is_better=False,
        baseline=baseline,
        plot="lines",
    )
    split = Section(
        "shutdown_split",
        f"Shutdown at N={n_label(TARGET_N)}: signal -> run() returned/raised, then -> exit "
        "(interpreter teardown)",
        "time",
        "ms",
        higher_is_better=False,
        baseline=baseline,
    )
    for n in sizes:
        case = f"N={n_label(n)}"
        latency.x_values[case] = n
        for r in runners:
            latency.add(case, label(r), column(samples[f"{r}|{n}"], "exit_ms"))
    for r in runners:
        runs = samples[f"{r}|{TARGET_N}"]
        split.add("signal -> run() returned", label(r), column(runs, "in_run_ms"))
        split.add("run() returned -> exit", label(r), column(runs, "teardown_ms"))
    latency.targets.extend(_targets(latency, runners))
    latency.notes.append(
        "Every run's exit status is checked: 143 for aioboot (SystemExit(128 + SIGTERM)), 0 for "
        "aiorun (run() returns), -2 (SIGINT, Python re-raising KeyboardInterrupt) for asyncio.run "
        "and uvloop.run."
    )
    if "aioboot" in runners:
        latency.notes.append(_profile(cfg))
    return [latency, split, *_measure_children(cfg)]


def _targets(latency: Section, runners: List[str]) -> List[Target]:
    case = f"N={n_label(TARGET_N)}"
    mine = latency.find(case, label("aioboot"))
    if mine is None:
        return [Target("aioboot.run measured", None, "aioboot not measured")]
    ms = statistics.median(mine.values)
    targets = [
        Target(
            f"aioboot.run: {n_label(TARGET_N)} pending tasks shut down in < {TARGET_MS:g} ms",
            ms < TARGET_MS,
            f"median {ms:.0f} ms",
        )
    ]
    for peer in ("aiorun", "aiorun-asyncio"):
        text = f"aioboot.run faster than {RUNNER_LABELS[peer]} at {case}"
        theirs = latency.find(case, label(peer)) if peer in runners else None
        if theirs is None:
            targets.append(Target(text, None, f"{RUNNER_LABELS[peer]} not measured"))
            continue
        ratio = statistics.median([a / b for a, b in zip(mine.values, theirs.values)])
        targets.append(Target(text, ratio < 1, f"median paired ratio {ratio:.2f}"))
    return targets


def _profile(cfg: Config) -> str:
    """One aioboot run at TARGET_N under cProfile, READY to the end of run()."""
    cfg.log("shutdown: one cProfile'd aioboot run")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "shutdown.prof")
        try:
            run = run_pending(cfg, "aioboot", TARGET_N, "wait", {"BENCH_PROFILE": path})
        except ChildFailed as exc:
            return f"cProfile run failed: {exc}"
        out = io.StringIO()
        stats = pstats.Stats(path, stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(14)
    assert run.signalled_at is not None
    body = out.getvalue()
    body = body[body.index("ncalls") :] if "ncalls" in body else body
    return (
        f"cProfile of one `aioboot.run` + SIGTERM at N={n_label(TARGET_N)}, from READY to the end "
        f"of run() (profiling inflates it: {1000 * (run.returned_at - run.signalled_at):.0f} ms "
        "here), top functions by own time:\n\n```text\n" + body.rstrip() + "\n```"
    )


# -- child processes and the force hint -----------------------------------------------------------

PATCHED = str(BENCH_DIR / "experiments" / "patched.py")
WITHOUT = "no-child-tracking,no-force-hint"
CHILDREN = 10  # sleep 3600, left running when the signal comes
SPAWNS = 20  # true, started and awaited one after the other
AIOBOOT = RUNNER_LABELS["aioboot"]
UNPATCHED = f"{AIOBOOT} (as it is)"
PATCHED_LABEL = f"{AIOBOOT} patched: no child tracking, no force hint"


def _stop_with_children(cfg: Config, changes: str, k: int, sig: signal.Signals) -> Trial:
    def trial() -> Dict[str, float]:
        args = [PATCHED, changes, "children.py", "aioboot", str(k), "wait"]
        with Child(cfg, args, timeout=TIMEOUT) as child:
            ready = child.read_line().split()
            if ready[:1] != ["READY"]:
                raise child.failure(f"expected READY, got {' '.join(ready)!r}")
            pids = [int(pid) for pid in ready[1:]]
            try:
                signalled_at = time.monotonic()
                os.kill(child.proc.pid, sig)
                exited_at = child.wait()
                child.check_status(STOPPED_STATUS["asyncio" if sig == signal.SIGINT else "aioboot"])
            finally:
                left = _kill(pids)
            if changes == "none" and left:
                raise child.failure(f"left {left} of its {k} children running")
            return {"exit_ms": (exited_at - signalled_at) * 1000}

    return trial


def _kill(pids: List[int]) -> int:
    """SIGKILL each pid still there; how many were."""
    left = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            left += 1
        except ProcessLookupError:
            pass
    return left


def _spawn(cfg: Config, runner: str, changes: str) -> Trial:
    def trial() -> Dict[str, float]:
        args = [PATCHED, changes, "children.py", runner, str(SPAWNS), "spawn"]
        out = time_child(cfg, args, timeout=TIMEOUT).stdout.split()
        return {"ms_per_child": float(out[out.index("SPAWNED") + 1]) * 1000 / SPAWNS}

    return trial


def _measure_children(cfg: Config) -> List[Section]:
    cfg.log("shutdown: child processes left running, the force hint, starting a child")
    cases = {
        f"K={CHILDREN} children, SIGTERM": (CHILDREN, signal.SIGTERM),
        "no child, SIGTERM": (0, signal.SIGTERM),
        "no child, SIGINT (the hint's timer)": (0, signal.SIGINT),
    }
    stop_groups = [
        [
            (f"{case}|{label}", _stop_with_children(cfg, changes, k, sig))
            for label, changes in ((UNPATCHED, "none"), (PATCHED_LABEL, WITHOUT))
        ]
        for case, (k, sig) in cases.items()
    ]
    spawners = [(RUNNER_LABELS["uvloop"], "uvloop", "none"), (UNPATCHED, "aioboot", "none")]
    spawners.append((f"{AIOBOOT} patched: no child tracking", "aioboot", "no-child-tracking"))
    spawn_group = [(f"spawn|{label}", _spawn(cfg, r, changes)) for label, r, changes in spawners]
    samples = interleaved([*stop_groups, spawn_group], cfg.reps(full=7, quick=3), log=cfg.log)
    stop = Section(
        "shutdown_children",
        f"Shutdown with child processes left running (sleep 3600): signal -> exit, aioboot as it "
        f"is against aioboot without child tracking and force hint (K={CHILDREN} children are "
        "then orphaned)",
        "signal -> exit",
        "ms",
        higher_is_better=False,
        baseline=PATCHED_LABEL,
    )
    for case in cases:
        for label in (UNPATCHED, PATCHED_LABEL):
            stop.add(case, label, column(samples[f"{case}|{label}"], "exit_ms"))
    spawn = Section(
        "spawn_child",
        f"Starting a child: {SPAWNS} `true` children started and awaited one after the other, "
        "timed inside main",
        "per child",
        "ms",
        higher_is_better=False,
        baseline=RUNNER_LABELS["uvloop"],
    )
    for label, _, _ in spawners:
        spawn.add(
            "create_subprocess_exec + wait",
            label,
            column(samples[f"spawn|{label}"], "ms_per_child"),
        )
    return [stop, spawn]
