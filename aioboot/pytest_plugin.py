"""aioboot's pytest plugin, loaded through the ``pytest11`` entry point and inert unless enabled.

Enabled by ``--aioboot`` or the ini option ``aioboot = true``; then a test fails when a task it
started failed with nobody retrieving its exception, tasks it leaves pending are reported, and
(with pytest-asyncio >= 1.4) async tests run on aioboot's loop choice.  Disabled, this module only
declares its options: it registers no per-test hook and imports neither uvloop nor pytest-asyncio.
"""

from __future__ import annotations

import pytest

LEFTOVER_CHOICES = ("warn", "error")


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
    parser.addini("aioboot", type="bool", default=False, help="enable aioboot's plugin")
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
    if not (config.getoption("aioboot") or config.getini("aioboot")):
        return
    # Imported only now: a suite that does not enable the plugin pays nothing for it.
    from . import _pytest_checks

    _pytest_checks.enable(config)
