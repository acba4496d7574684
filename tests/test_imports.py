"""What a run imports.  Start-up is paid by every process (benchmarks/bench_startup.py), so a
trivial run imports only the modules every run needs; each of the others comes with the first use
of what it does."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROGRAMS

pytestmark = pytest.mark.timeout(60)

# The modules every run needs: the runner and its run state, the loop choice, the signals, the
# argument checks, the shutdown and the search for lost task exceptions (their report, _report,
# comes with the first thing to report).
EVERY_RUN = {
    "aioboot",
    "aioboot._arguments",
    "aioboot._loops",
    "aioboot._runner",
    "aioboot._shutdown",
    "aioboot._signals",
    "aioboot._stop",
    "aioboot._task_failures",
}


def aioboot_modules_after(main_body: str) -> set[str]:
    code = (
        "import sys, asyncio, aioboot\n"
        f"async def main():\n    {main_body}\n"
        "aioboot.run(main(), loop='asyncio')\n"
        "print(*sorted(sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=PROGRAMS,
    )
    return {name for name in out.stdout.split() if name.split(".")[0] == "aioboot"}


def test_a_trivial_run_imports_only_what_every_run_needs() -> None:
    assert aioboot_modules_after("return 0") == EVERY_RUN


# A task that fails with nobody looking, kept alive, so that the end of the run reports it.
LOST_TASK = "globals()['t'] = asyncio.ensure_future(asyncio.wait_for(asyncio.sleep(1), 0))"


@pytest.mark.parametrize(
    ("main_body", "modules"),
    [
        ("await asyncio.to_thread(int)", {"_executor"}),
        ("await asyncio.get_running_loop().getaddrinfo('127.0.0.1', 80)", {"_executor"}),
        (
            "await asyncio.create_subprocess_exec(sys.executable, '-c', 'import time; "
            "time.sleep(30)')",
            {"_children", "_report"},
        ),
        ("aioboot.on_reload(lambda: None)", {"_reload_callbacks", "_report"}),
        ("await aioboot.wait_any([asyncio.sleep(0)])", {"_wait_any"}),
        (f"{LOST_TASK}; await asyncio.sleep(0.01)", {"_report"}),
    ],
)
def test_a_module_comes_with_the_first_use_of_what_it_does(
    main_body: str, modules: set[str]
) -> None:
    assert aioboot_modules_after(main_body) == EVERY_RUN | {f"aioboot.{m}" for m in modules}
