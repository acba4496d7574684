"""What every measurement shares: the interpreter its child programs run on, one way to start and
time a child, one way to run trials interleaved, and the statistics the tables report.

Children are fresh interpreters started from ``benchmarks/programs`` with a watchdog: a child that
outlives its timeout is killed and the trial fails loudly instead of hanging the run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

BENCH_DIR = Path(__file__).resolve().parent
PROGRAMS = BENCH_DIR / "programs"

# One trial's measurements, by metric name.
Sample = Dict[str, float]
Trial = Callable[[], Sample]

# Runner name (as programs/_runners.py knows it) -> how the tables call it.
RUNNER_LABELS = {
    "asyncio": "asyncio.run",
    "uvloop": "uvloop.run",
    "aiorun": "aiorun.run (uvloop)",
    "aiorun-asyncio": "aiorun.run (asyncio loop)",
    "aioboot": "aioboot.run",
    "aioboot-stop-on-error": "aioboot.run(stop_on_error=True)",
    "aioboot-watched": "aioboot.run + stall warning + watchdog",
    "aioboot-eager": "aioboot.run(eager_tasks=True)",
    "aioboot-rloop": 'aioboot.run(loop="rloop")',
    "aioboot-rloop-eager": 'aioboot.run(loop="rloop", eager_tasks=True)',
}

# Runner name -> the modules it needs besides aioboot itself.
_RUNNER_NEEDS = {
    "uvloop": ("uvloop",),
    "aiorun": ("aiorun", "uvloop"),
    "aiorun-asyncio": ("aiorun",),
    "aioboot-rloop": ("rloop",),
    "aioboot-rloop-eager": ("rloop",),
}


class ChildFailed(RuntimeError):
    """A child program timed out, exited with an unexpected status or printed nonsense."""


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def runner_available(runner: str) -> bool:
    return all(installed(m) for m in _RUNNER_NEEDS.get(runner, ()))


def available_runners(runners: Sequence[str], log: Callable[[str], None]) -> List[str]:
    """The runners whose packages are installed; each one skipped is said once."""
    kept = []
    for runner in runners:
        if runner_available(runner):
            kept.append(runner)
        else:
            missing = [m for m in _RUNNER_NEEDS[runner] if not installed(m)]
            log(f"  skipping {RUNNER_LABELS[runner]}: {', '.join(missing)} not installed")
    return kept


@dataclass(frozen=True)
class Config:
    """The run's settings, and the interpreter command every child starts with."""

    quick: bool
    repeats: Optional[int]
    python: Tuple[str, ...]
    env: Mapping[str, str]
    log: Callable[[str], None] = print

    def reps(self, full: int, quick: int) -> int:
        if self.repeats is not None:
            return self.repeats
        return quick if self.quick else full

    def pick(self, full: int, quick: int) -> int:
        """A size parameter: ``quick`` under --quick."""
        return quick if self.quick else full

    def command(self, *args: str) -> List[str]:
        return [*self.python, *args]


def child_interpreter(site: bool) -> Tuple[Tuple[str, ...], Dict[str, str]]:
    """The command and environment of every child.

    By default ``python -S`` with aioboot, uvloop, aiorun and rloop on ``PYTHONPATH``: ``.pth``
    files (an editable install's finder, a sandbox's certificate hook) cost every interpreter
    several ms and pre-import modules that would hide what aioboot itself imports.
    ``site=True`` runs the interpreter as installed instead.  Bytecode writing is always allowed,
    so the warm-up round leaves ``.pyc`` files behind as an installed package has them.
    """
    env = dict(os.environ)
    for var in (
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONASYNCIODEBUG",
        "PYTHONDEVMODE",
        "AIOBOOT_LOOP",
        "AIOBOOT_EAGER_TASKS",
    ):
        env.pop(var, None)
    if site:
        return (sys.executable,), env
    paths: List[str] = []
    for module in ("aioboot", "uvloop", "aiorun", "rloop"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin is not None:
            root = str(Path(spec.origin).resolve().parent.parent)
            if root not in paths:
                paths.append(root)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return (sys.executable, "-S"), env


class Child:
    """One program from ``programs/`` in a fresh interpreter.

    stdout is a pipe read line by line; stderr goes to a temporary file and is quoted when the
    child fails.  A watchdog kills the child at ``timeout`` seconds, which also ends any read or
    wait on it, so no call here can block longer than that.
    """

    def __init__(
        self,
        cfg: Config,
        args: Sequence[str],
        *,
        timeout: float,
        extra_env: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.args = list(args)
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        env = dict(cfg.env)
        env.update(extra_env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            cfg.command(*args),
            cwd=PROGRAMS,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
        )
        self.timed_out = False
        self._timeout = timeout
        self._watchdog = threading.Timer(timeout, self._kill)
        self._watchdog.daemon = True
        self._watchdog.start()
        self._pending = b""

    def _kill(self) -> None:
        self.timed_out = True
        self.proc.kill()

    def read_line(self) -> str:
        """The next line of stdout; ChildFailed if the child exits (or is killed) first."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._pending:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise self.failure("exited before printing a line")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def rest(self) -> str:
        """Everything left on stdout, once the child has closed it (normally: exited)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self._pending += chunk
        text, self._pending = self._pending.decode(), b""
        return text

    def wait(self) -> float:
        """Wait for the exit (a blocking waitpid, no polling delay); time.monotonic() at exit,
        comparable with the child's own time.monotonic() stamps (one system-wide clock)."""
        self.proc.wait()
        exited = time.monotonic()
        if self.timed_out:
            raise self.failure(f"timed out after {self._timeout:g} s and was killed")
        return exited

    def check_status(self, expected: Sequence[int]) -> None:
        if self.proc.returncode not in expected:
            raise self.failure(f"exited with status {self.proc.returncode}, expected {expected}")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def failure(self, what: str) -> ChildFailed:
        tail = self.stderr()[-2000:].strip()
        return ChildFailed(f"{' '.join(self.args)}: {what}" + (f"\n{tail}" if tail else ""))

    def close(self) -> None:
        self._watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Finished:
    started_at: float  # time.monotonic() just before spawning the interpreter
    exited_at: float  # time.monotonic() once it has exited
    stdout: str
    stderr: str

    @property
    def seconds(self) -> float:
        return self.exited_at - self.started_at


def time_child(
    cfg: Config,
    args: Sequence[str],
    *,
    timeout: float,
    expected: Sequence[int] = (0,),
    extra_env: Optional[Mapping[str, str]] = None,
) -> Finished:
    """Run a child to completion: its wall time from spawn to exit, and its stdout."""
    with Child(cfg, args, timeout=timeout, extra_env=extra_env) as child:
        out = child.rest()
        exited = child.wait()
        child.check_status(expected)
        return Finished(child.started, exited, out, child.stderr())


def interleaved(
    groups: Sequence[Sequence[Tuple[str, Trial]]],
    repeats: int,
    *,
    log: Callable[[str], None],
    warmup: int = 1,
) -> Dict[str, List[Sample]]:
    """Run every variant once per round, ``warmup`` discarded rounds first (of the first group
    only), then ``repeats``.

    Variants compared with each other form a group (e.g. the runners at one N); each round runs
    every group in turn, its variants back to back, the order rotating from round to round
    (A B C, B C A, C A B, ...): a slow drift of the machine hits every variant alike, and no
    variant always runs first.  The i-th sample of every variant comes from round i, so the
    samples of one group are paired round by round, which is what paired ratios rely on.
    """
    samples: Dict[str, List[Sample]] = {name: [] for group in groups for name, _ in group}
    for round_ in range(-warmup, repeats):
        # A warm-up round runs the first group only: it exists to compile .pyc files and warm
        # caches, which one trial of each variant does.
        for group in groups[:1] if round_ < 0 else groups:
            shift = round_ % len(group)
            for name, trial in [*group[shift:], *group[:shift]]:
                sample = trial()
                if round_ >= 0:
                    samples[name].append(sample)
        what = "warm-up round" if round_ < 0 else f"round {round_ + 1}/{repeats}"
        log(f"    {what} done")
    return samples


def column(samples: Sequence[Sample], metric: str) -> List[float]:
    return [s[metric] for s in samples]


@dataclass(frozen=True)
class Spread:
    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int


def spread(values: Sequence[float]) -> Spread:
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return Spread(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], len(ordered))


@dataclass
class Series:
    """One variant's samples of one case; paired round by round with the case's baseline."""

    case: str
    variant: str
    values: List[float]


@dataclass(frozen=True)
class Target:
    text: str
    met: Optional[bool]  # None: could not be judged (a peer or the baseline is missing)
    detail: str


@dataclass
class Section:
    """One table of the report (and one plot)."""

    key: str
    title: str
    metric: str
    unit: str
    higher_is_better: bool
    baseline: Optional[str]  # the variant every other one is compared with, within each case
    series: List[Series] = field(default_factory=list)
    plot: str = "bars"  # bars | hbars | stacked | lines | ratios | none
    x_values: Dict[str, float] = field(default_factory=dict)  # case -> x, for "lines"
    targets: List[Target] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)  # markdown paragraphs after the table

    def add(self, case: str, variant: str, values: List[float]) -> None:
        self.series.append(Series(case, variant, values))

    def cases(self) -> List[str]:
        return list(dict.fromkeys(s.case for s in self.series))

    def find(self, case: str, variant: str) -> Optional[Series]:
        for s in self.series:
            if s.case == case and s.variant == variant:
                return s
        return None

    def paired(self, series: Series, how: Callable[[float, float], float]) -> Optional[List[float]]:
        """``how(value, baseline_value)`` round by round; None without a baseline to pair with."""
        if self.baseline is None or series.variant == self.baseline:
            return None
        base = self.find(series.case, self.baseline)
        if base is None or len(base.values) != len(series.values):
            return None
        return [how(v, b) for v, b in zip(series.values, base.values)]

    def ratios(self, series: Series) -> Optional[List[float]]:
        return self.paired(series, lambda v, b: v / b)

    def deltas(self, series: Series) -> Optional[List[float]]:
        return self.paired(series, lambda v, b: v - b)


def n_label(n: int) -> str:
    """100000 -> '100k', 1000000 -> '1M'."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def callgrind_instructions(
    cfg: Config, args: Sequence[str], extra_env: Optional[Mapping[str, str]] = None
) -> Tuple[int, str]:
    """Instructions of a whole child run under valgrind's callgrind, and its stdout."""
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={directory}/out",
            *cfg.command(*args),
        ]
        done = subprocess.run(
            command,
            cwd=PROGRAMS,
            env={**cfg.env, **(extra_env or {}), "PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"},
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise ChildFailed(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(match.group(1)), done.stdout


def print_sections(sections: Sequence[Section], digits: int = 1) -> None:
    """A measurement module run alone: its series, ratios, notes and targets, as plain text."""
    for section in sections:
        print(f"\n{section.title}")
        for series in section.series:
            ratios = section.ratios(series)
            ratio = f"  ratio {statistics.median(ratios):.3f}" if ratios else ""
            values = ", ".join(f"{v:.{digits}f}" for v in series.values)
            print(f"  {series.case:<18} {series.variant:<42} [{values}]{ratio}")
        for note in section.notes:
            print(f"  {note}")
        for target in section.targets:
            verdict = {True: "met", False: "MISSED", None: "n/a"}[target.met]
            print(f"  target: {target.text}: {verdict} ({target.detail})")
