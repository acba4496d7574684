"""4. What the loop choice buys: a TCP echo server on 127.0.0.1 in its own process, under
aioboot.run (auto loop) and asyncio.run (and uvloop.run for reference), driven by a client in
another process; round trips per second."""

from __future__ import annotations

import json
from typing import Dict, List

from harness import (
    RUNNER_LABELS,
    Child,
    Config,
    Section,
    Target,
    Trial,
    available_runners,
    column,
    interleaved,
    time_child,
)

KEY = "echo"
CONNECTIONS = 10
SIZE = 1024
MAX_SECONDS = 10.0
MODES = ("protocol", "streams")


def _echo(cfg: Config, runner: str, mode: str, messages: int, loops: Dict[str, str]) -> Trial:
    def trial() -> Dict[str, float]:
        with Child(cfg, ["echo_server.py", runner, mode], timeout=MAX_SECONDS + 60) as server:
            ready = server.read_line().split()
            if ready[:1] != ["READY"]:
                raise server.failure(f"expected READY, got {' '.join(ready)!r}")
            loops[runner] = ready[2]
            args = [ready[1], str(CONNECTIONS), str(messages), str(SIZE), str(MAX_SECONDS)]
            out = time_child(cfg, ["echo_client.py", *args], timeout=MAX_SECONDS + 30).stdout
        result = json.loads(out)
        return {"msgs_per_s": result["messages"] / result["seconds"]}

    return trial


def measure(cfg: Config) -> List[Section]:
    cfg.log("echo: TCP echo server on 127.0.0.1, client in another process")
    runners = available_runners(["asyncio", "aioboot", "uvloop"], cfg.log)
    messages = cfg.pick(50_000, 10_000)
    loops: Dict[str, str] = {}
    groups = [[(f"{r}|{m}", _echo(cfg, r, m, messages, loops)) for r in runners] for m in MODES]
    samples = interleaved(groups, cfg.reps(full=5, quick=3), log=cfg.log)
    section = Section(
        KEY,
        f"TCP echo on 127.0.0.1: {messages // 1000}k round trips of {SIZE} B over "
        f"{CONNECTIONS} connections (at most {MAX_SECONDS:g} s)",
        "throughput",
        "msg/s",
        higher_is_better=True,
        baseline=RUNNER_LABELS["asyncio"],
    )
    for mode in MODES:
        for r in runners:
            section.add(
                f"server: {mode}", RUNNER_LABELS[r], column(samples[f"{r}|{mode}"], "msgs_per_s")
            )
    loop = loops.get("aioboot", "?")
    section.targets.append(
        Target("aioboot.run picked uvloop (loop='auto')", loop.startswith("uvloop"), loop)
    )
    section.notes.append(
        "Server loop classes: "
        + ", ".join(f"{RUNNER_LABELS[r]} -> `{c}`" for r, c in loops.items())
        + ". The client is the same program in every trial (uvloop when installed)."
    )
    return [section]
