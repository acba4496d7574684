"""The verdict on a ``.ci/run``: what really ran, from tox's result files and each env's JUnit file.

It fails (exit 1) if an env of tox's ``env_list`` did not run, was skipped or failed; if py314,
py315 or pypy3.11 did not run and pass where newer-pythons works; if fewer CPython versions ran and
passed than $CI_MIN_PYTHONS (default 7 with newer-pythons, 5 without); if no test ran.  It prints
each env's test counts (and its conformance results), then the problems, then ``OK``/``FAILED``,
and last the total: ``N passed, N failed, N skipped``.

    python3 .ci/check_results.py --env-list "$(tox list -d --no-desc)" [options] \\
        RESULT_JSON TOX_WORKDIR [RESULT_JSON TOX_WORKDIR ...]

One RESULT_JSON (``tox --result-json``) and TOX_WORKDIR (where that run kept its envs) per tox run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TestCase = tuple[str, str]  # (test id, outcome: "passed", "failed" or "skipped")


@dataclass(frozen=True)
class Env:
    name: str
    record: dict[str, Any]  # the env's entry in tox's result file
    workdir: Path  # the tox workdir of the run it was part of

    @property
    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = self.record["result"]
        return result

    @property
    def python(self) -> str:
        """Its Python's version, e.g. ``3.12``."""
        return ".".join(str(part) for part in self.record["python"]["version_info"][:2])

    @property
    def skipped(self) -> bool:
        return bool(self.result.get("skipped"))

    @property
    def passed(self) -> bool:
        result = self.result
        return not self.skipped and bool(result.get("success")) and result.get("exit_code") == 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    envs = load_envs(args.runs)
    problems = run_problems(envs, args)
    versions = python_versions(envs)
    min_pythons = int(os.environ.get("CI_MIN_PYTHONS", 7 if args.newer == "yes" else 5))
    if len(versions) < min_pythons:
        problems.append(
            f"only {len(versions)} Python versions ran and passed, {min_pythons} needed"
        )
    if args.tox_status and not problems:
        problems.append(f"tox exited with status {args.tox_status}")
    print()
    totals = print_test_counts(envs)
    if totals["passed"] + totals["failed"] == 0:
        problems.append("no test ran")
    print(f".ci/run: Python versions that ran and passed: {', '.join(versions) or 'none'}")
    for problem in problems:
        print(f".ci/run: FAILED: {problem}")
    print(f".ci/run: {'FAILED' if problems else 'OK'} in {args.elapsed} s")
    print(described(totals))
    return 1 if problems else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--env-list",
        required=True,
        type=str.split,
        help="the envs that must run: tox's env_list, as `tox list -d --no-desc` prints it",
    )
    parser.add_argument("--tox-status", type=int, default=0, help="the tox runs' exit status")
    parser.add_argument("--elapsed", default="?", help="seconds the whole run took")
    parser.add_argument(
        "--newer",
        default="no",
        help="'yes' if newer-pythons ran --newer-envs, 'failed: why' if it could not, else why not",
    )
    parser.add_argument(
        "--newer-envs",
        type=lambda text: text.split(","),
        default=[],
        help="the envs run on newer-pythons, comma-separated",
    )
    parser.add_argument(
        "runs",
        nargs="+",
        metavar="RESULT_JSON TOX_WORKDIR",
        help="a tox run's --result-json file and its workdir, for each tox run",
    )
    return parser


def load_envs(runs: list[str]) -> dict[str, Env]:
    """Every env that ran (the package env left out), from each ``(result file, workdir)``."""
    if len(runs) % 2:
        sys.exit(f"check_results.py: {runs[-1]!r} has no tox workdir after it")
    envs = {}
    for results, workdir in zip(runs[::2], runs[1::2]):
        for name, record in _tox_results(results).items():
            if not name.startswith(".") and record.get("result") is not None:
                envs[name] = Env(name, record, Path(workdir))
    return envs


def _tox_results(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path) as file:
            testenvs: dict[str, dict[str, Any]] = json.load(file)["testenvs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # tox was stopped before it wrote its results, or did not run
    return testenvs


def run_problems(envs: dict[str, Env], args: argparse.Namespace) -> list[str]:
    """What is wrong with which envs ran and how they ended."""
    problems = [f"{name} did not run" for name in args.env_list if name not in envs]
    for name, env in sorted(envs.items()):
        if env.skipped:
            problems.append(f"{name} was skipped (its interpreter is missing)")
        elif not env.passed:
            problems.append(f"{name} failed (exit code {env.result.get('exit_code')})")
    if args.newer == "yes":
        problems += [
            f"{name} did not run and pass on newer-pythons"
            for name in args.newer_envs
            if _is_suite(name) and not (name in envs and envs[name].passed)
        ]
    elif args.newer.startswith("failed"):
        problems.append(f"newer-pythons {args.newer}")
    return problems


def python_versions(envs: dict[str, Env]) -> list[str]:
    """The CPython versions whose ``py3X`` env ran and passed, oldest first."""
    versions = {env.python for env in envs.values() if env.name.startswith("py3") and env.passed}
    return sorted(versions, key=lambda version: tuple(map(int, version.split("."))))


def _is_suite(name: str) -> bool:
    """A ``py3X`` or ``pypy3.X`` env: the test suite on one Python."""
    return re.fullmatch(r"py3\d+|pypy3\.\d+", name) is not None


def print_test_counts(envs: dict[str, Env]) -> Counter[str]:
    """A line of test counts per env that wrote a JUnit file; the counts of them all."""
    totals: Counter[str] = Counter()
    for name, env in sorted(envs.items()):
        cases = junit_cases(env.workdir / name / "junit.xml")
        if not cases:
            continue
        totals += Counter(outcome for _, outcome in cases)
        line = f".ci/run: {name} (Python {env.python}): {described(tally(cases))}"
        conformance = [case for case in cases if ".conformance." in case[0]]
        # CPython's own test names, e.g. RunTests.test_asyncio_run_without_uncancel
        skipped = [
            test.split("test_cpython_runners.")[-1] for test, o in conformance if o == "skipped"
        ]
        skips = f"skipped: {', '.join(skipped) or 'none'}"
        if conformance == cases:  # the conformance env itself
            print(f"{line}; {skips}")
            continue
        print(line)
        if conformance:
            print(f".ci/run:     conformance: {described(tally(conformance))}; {skips}")
    return totals


def junit_cases(path: Path) -> list[TestCase]:
    """Every test in a JUnit file, none if there is no such file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    cases = []
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        outcome = "skipped" if "skipped" in tags else "passed"
        if tags & {"failure", "error"}:
            outcome = "failed"
        cases.append((f"{case.get('classname', '')}.{case.get('name', '')}", outcome))
    return cases


def tally(cases: list[TestCase]) -> Counter[str]:
    return Counter(outcome for _, outcome in cases)


def described(counts: Counter[str]) -> str:
    return f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
