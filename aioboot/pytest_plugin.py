"""aioboot's pytest plugin, loaded through the ``pytest11`` entry point and inert unless enabled.

Enabled by ``--aioboot`` or the ini option ``aioboot = true``; then a test fails when a task it
started failed with nobody retrieving its exception, tasks it leaves pending are reported, and
(with pytest-asyncio >= 1.4) async tests run on aioboot's loop choice, with eager tasks under
``--aioboot-eager-tasks``.  Disabled, this module only declares its options: it registers no
per-test hook and imports neither uvloop nor pytest-asyncio.
"""

from __future__ import annotations

import pytest

LEFTOVER_CHOICES = ("warn", "error")
MARKER = "aioboot"
# What @pytest.mark.aioboot(...) may set for a test, class or module; the first value is the
# default (for leftover_tasks, the ini option's value is).
MARKER_CHOICES = {
    "lost_exceptions": ("fail", "ignore"),
    "leftover_tasks": (*LEFTOVER_CHOICES, "ignore"),
}


class LeftoverTaskWarning(pytest.PytestWarning):
    """A task the test started was still pending when the test ended."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aioboot")
    group.addoption(
        "--aioboot",
        action="store_true",
        default=False,
        help="enable aioboot's checks: fail a test that loses a task's exception, report tasks "
        "it leaves pending, run async tests on aioboot's loop choice (same as ini aioboot = true)",
    )
    group.addoption(
        "--aioboot-eager-tasks",
        action="store_true",
        default=False,
        help="with the plugin enabled, run the suite with eager tasks (Python 3.12.5+): async "
        "tests' loops, and aioboot.run() through $AIOBOOT_EAGER_TASKS (same as ini "
        "aioboot_eager_tasks = true)",
    )
    parser.addini("aioboot", type="bool", default=False, help="enable aioboot's plugin")
    parser.addini(
        "aioboot_eager_tasks", type="bool", default=False, help="run the suite with eager tasks"
    )
    parser.addini(
        "aioboot_loop",
        type="args",
        default=[],
        help="loop(s) for async tests with pytest-asyncio >= 1.4: auto, asyncio, uvloop, winloop "
        "or module:factory; several run every async test on each (default: $AIOBOOT_LOOP, "
        "else auto)",
    )
    parser.addini(
        "aioboot_leftover_tasks",
        default="warn",
        help="tasks a test leaves pending: 'warn' (a LeftoverTaskWarning each) or 'error'",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Declared even when inert: a suite using --strict-markers must not break with it off.
    config.addinivalue_line(
        "markers",
        f"{MARKER}(lost_exceptions='fail'|'ignore', leftover_tasks='warn'|'error'|'ignore'): "
        "aioboot's checks for these tests, overriding the ini options (the closest mark wins)",
    )
    if not (config.getoption("aioboot") or config.getini("aioboot")):
        if eager_tasks_asked(config):
            raise pytest.UsageError(
                "aioboot_eager_tasks needs aioboot's plugin enabled: add --aioboot, or set the ini "
                "option aioboot = true"
            )
        return
    # Imported only now: a suite that does not enable the plugin pays nothing for it.
    from . import _pytest_verdicts

    _pytest_verdicts.enable(config)


def eager_tasks_asked(config: pytest.Config) -> bool:
    return bool(config.getoption("aioboot_eager_tasks") or config.getini("aioboot_eager_tasks"))
