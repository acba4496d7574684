"""1. Start-up: a trivial program (``async def main(): return 0``) from a fresh interpreter to its
exit, per runner; then where aioboot's share of it goes (``-X importtime``, stage timings, and
cProfile of the launcher when a target is missed)."""

from __future__ import annotations

import io
import json
import pstats
import re
import statistics
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from harness import (
    RUNNER_LABELS,
    Config,
    Section,
    Target,
    Trial,
    available_runners,
    column,
    installed,
    interleaved,
    time_child,
)

KEY = "startup"
TARGET_MS = 10.0
BASELINE = RUNNER_LABELS["uvloop"]
LAUNCHER = "python -m aioboot startup:main"
BARE = "bare interpreter (-c pass)"
TIMEOUT = 30.0
# programs/startup_stages.py's stages, in the order they happen.
STAGES = (
    "spawn -> first line",
    "import asyncio",
    "import uvloop",
    "import aioboot",
    "import aioboot.__main__",
    "run()",
    "launcher main()",
    "unstaged (the script's own lines)",
    "last line -> exit",
    "total (wall)",
)

# Nothing here may be imported by `import aioboot`: run() imports the loop it needs, when needed.
HEAVY = ("uvloop", "winloop", "websockets", "aiorun", "aiohttp", "anyio", "trio")


def _wall_ms(cfg: Config, args: Sequence[str]) -> Trial:
    def trial() -> Dict[str, float]:
        return {"ms": time_child(cfg, args, timeout=TIMEOUT).seconds * 1000}

    return trial


def _programs(cfg: Config) -> List[Tuple[str, List[str]]]:
    runners = available_runners(
        ["asyncio", "uvloop", "aiorun", "aiorun-asyncio", "aioboot"], cfg.log
    )
    programs = [(BARE, ["-c", "pass"])]
    programs += [(RUNNER_LABELS[r], ["startup.py", r]) for r in runners]
    programs.append((LAUNCHER, ["-m", "aioboot", "startup:main"]))
    return programs


def measure(cfg: Config) -> List[Section]:
    cfg.log("startup: trivial program, one fresh interpreter per run")
    programs = _programs(cfg)
    repeats = cfg.reps(full=40, quick=10)
    samples = interleaved(
        [[(name, _wall_ms(cfg, args)) for name, args in programs]], repeats, log=cfg.log
    )
    wall = Section(
        KEY,
        "Start-up: trivial program, spawn to exit",
        "wall time",
        "ms",
        higher_is_better=False,
        baseline=BASELINE if BASELINE in samples else None,
    )
    for name, _ in programs:
        wall.add("async def main(): return 0", name, column(samples[name], "ms"))
    for variant in (RUNNER_LABELS["aioboot"], LAUNCHER):
        wall.targets.append(_delta_target(wall, variant))
    sections = [wall, _stages(cfg, repeats), *_importtime(cfg)]
    wall.notes.append(_launcher_profile(cfg))
    return sections


def _delta_target(wall: Section, variant: str) -> Target:
    text = f"{variant}: at most {TARGET_MS:g} ms over {BASELINE}"
    series = wall.find(wall.cases()[0], variant)
    deltas = wall.deltas(series) if series is not None else None
    if not deltas:
        return Target(text, None, f"{BASELINE} or {variant} not measured")
    delta = statistics.median(deltas)
    return Target(text, delta <= TARGET_MS, f"median paired difference {delta:+.1f} ms")


def _stages(cfg: Config, repeats: int) -> Section:
    cfg.log("startup: stage timings inside one interpreter")
    names = {"uvloop": BASELINE, "aioboot": RUNNER_LABELS["aioboot"], "launcher": LAUNCHER}
    if not installed("uvloop"):
        names.pop("uvloop")

    def stages(runner: str) -> Trial:
        def trial() -> Dict[str, float]:
            done = time_child(cfg, ["startup_stages.py", runner], timeout=TIMEOUT)
            out = json.loads(done.stdout)
            stage_ms: Dict[str, float] = {
                "spawn -> first line": (out["begin"] - done.started_at) * 1000
            }
            stage_ms.update(out["stages"])
            script_ms = (out["end"] - out["begin"]) * 1000
            stage_ms["unstaged (the script's own lines)"] = script_ms - sum(out["stages"].values())
            stage_ms["last line -> exit"] = (done.exited_at - out["end"]) * 1000
            stage_ms["total (wall)"] = done.seconds * 1000
            return stage_ms

        return trial

    samples = interleaved(
        [[(label, stages(runner)) for runner, label in names.items()]], repeats, log=cfg.log
    )
    section = Section(
        "startup_stages",
        "Start-up, stage by stage (uvloop imported before aioboot, so that run() excludes it)",
        "time",
        "ms",
        higher_is_better=False,
        baseline=None,
        plot="stacked",
    )
    for stage in STAGES:
        for label in names.values():
            if stage in samples[label][0]:
                section.add(stage, label, column(samples[label], stage))
    return section


_IMPORTTIME = re.compile(r"import time:\s*(\d+) \|\s*(\d+) \|( +)(\S+)")


def _import_times(cfg: Config, args: Sequence[str]) -> Trial:
    """Self time (µs) of every module the program imports; ``cum:NAME`` for cumulative."""

    def trial() -> Dict[str, float]:
        stderr = time_child(cfg, ["-X", "importtime", *args], timeout=TIMEOUT).stderr
        times: Dict[str, float] = {}
        for self_us, cumulative_us, _, name in _IMPORTTIME.findall(stderr):
            times[name] = float(self_us)
            times[f"cum:{name}"] = float(cumulative_us)
        return times

    return trial


def _importtime(cfg: Config) -> List[Section]:
    cfg.log("startup: -X importtime")
    programs = {
        "import uvloop": ["-c", "import uvloop"],
        "import aioboot": ["-c", "import aioboot"],
        LAUNCHER: ["-m", "aioboot", "startup:main"],
    }
    if not installed("uvloop"):
        programs.pop("import uvloop")
    repeats = cfg.reps(full=7, quick=3)
    samples = interleaved(
        [[(name, _import_times(cfg, args)) for name, args in programs.items()]],
        repeats,
        log=cfg.log,
    )
    reference = set(samples["import uvloop"][0]) if "import uvloop" in samples else set()
    section = Section(
        "importtime",
        "Import time beyond `import uvloop`: self time of each module `import uvloop` does not "
        "import (-X importtime)",
        "self time",
        "ms",
        higher_is_better=False,
        baseline=None,
        plot="hbars",
    )
    for name in ("import aioboot", LAUNCHER):
        extra = [m for m in samples[name][0] if not m.startswith("cum:") and m not in reference]
        totals = [sum(s.get(m, 0.0) for m in extra) / 1000 for s in samples[name]]
        section.add("total", name, totals)
        ranked = sorted(extra, key=lambda m: -statistics.median(column(samples[name], m)))
        for module in ranked[:10]:
            section.add(module, name, [v / 1000 for v in column(samples[name], module)])
    imported = set(samples["import aioboot"][0])
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    section.targets.append(
        Target(
            "`import aioboot` imports no loop or peer package (" + ", ".join(HEAVY) + ")",
            not heavy,
            "imports " + ", ".join(heavy) if heavy else "none of them imported",
        )
    )
    section.notes.append(_cumulative_note(samples))
    return [section]


def _cumulative_note(samples: Dict[str, List[Dict[str, float]]]) -> str:
    lines = ["Cumulative import times (median, ms):", ""]
    for program, module in (
        ("import uvloop", "uvloop"),
        ("import uvloop", "asyncio"),
        ("import aioboot", "aioboot"),
        ("import aioboot", "asyncio"),
        (LAUNCHER, "aioboot.__main__"),
        (LAUNCHER, "argparse"),
        (LAUNCHER, "runpy"),
    ):
        runs = samples.get(program)
        if runs and f"cum:{module}" in runs[0]:
            ms = statistics.median(column(runs, f"cum:{module}")) / 1000
            lines.append(f"- `{module}` in `{program}`: {ms:.1f}")
    return "\n".join(lines)


def _launcher_profile(cfg: Config) -> str:
    """cProfile of the launcher: aioboot's own functions, by cumulative time."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "launcher.prof")
        args = ["-m", "cProfile", "-o", path, "-m", "aioboot", "startup:main"]
        time_child(cfg, args, timeout=TIMEOUT)
        out = io.StringIO()
        stats = pstats.Stats(path, stream=out).sort_stats("cumulative")
        stats.print_stats(r"aioboot[/\\]", 22)
    body = out.getvalue()
    body = body[body.index("ncalls") :] if "ncalls" in body else body
    return (
        f"cProfile of `{LAUNCHER}`, functions in aioboot/ by cumulative time (profiling inflates "
        f"every figure):\n\n```text\n{body.rstrip()}\n```"
    )
