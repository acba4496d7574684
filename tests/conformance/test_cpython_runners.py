"""CPython's own tests of ``asyncio.run`` (and of ``asyncio.Runner``), run against aioboot.

The tests are the running interpreter's own ``test.test_asyncio.test_runners``, never a copy, so
each Python checks aioboot against its own asyncio.  For each test, ``asyncio.run`` is rebound to
``aioboot.run`` (``asyncio.Runner`` to ``aioboot.Runner``) and the asyncio loop is chosen: the
tests install an event-loop policy and inspect the loop it makes.  The tests that contradict a
documented design choice are skipped with their reason, from ``designed_differences``; every other
one must pass.

Where the interpreter has no ``test`` package (some distributions split it out), the module is
skipped, unless ``AIOBOOT_CONFORMANCE=required`` (the tox ``conformance`` env), where that is an
error.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import sysconfig
import unittest
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from designed_differences import DESIGNED_DIFFERENCES

import aioboot

_DEBIAN_TESTSUITE = (
    "pypy3-lib-testsuite" if sys.implementation.name == "pypy" else "libpython3.X-testsuite"
)


def _cpython_test_runners() -> ModuleType:
    name = "test.test_asyncio.test_runners"
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        why = (
            f"{sys.executable} (Python {sys.version.split()[0]}) cannot import {name}: {exc}; "
            f"its 'test' package is not installed (on Debian: {_DEBIAN_TESTSUITE})"
        )
    else:
        stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
        if stdlib in Path(str(module.__file__)).resolve().parents:
            return module
        why = f"{name} came from {module.__file__}, not from this Python's {stdlib}"
    if os.environ.get("AIOBOOT_CONFORMANCE") == "required":
        pytest.fail(f"conformance cannot run: {why}", pytrace=False)
    pytest.skip(why, allow_module_level=True)


def on_aioboot(cpython_class: type[unittest.TestCase], **rebound: Any) -> type[unittest.TestCase]:
    """``cpython_class`` with each ``asyncio.<name>`` in ``rebound`` replaced during every test,
    the asyncio loop chosen, and the designed differences skipped with their reason."""

    def setUp(self: unittest.TestCase) -> None:
        for patcher in (
            mock.patch.dict(os.environ, {"AIOBOOT_LOOP": "asyncio"}),
            *(mock.patch.object(asyncio, name, value) for name, value in rebound.items()),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)
        cpython_class.setUp(self)

    namespace: dict[str, Any] = {"setUp": setUp, "__module__": __name__}
    for key, reason in DESIGNED_DIFFERENCES.items():
        class_name, _, test_name = key.partition(".")
        if class_name == cpython_class.__name__ and hasattr(cpython_class, test_name):
            namespace[test_name] = unittest.skip(reason)(getattr(cpython_class, test_name))
    return type(cpython_class.__name__, (cpython_class,), namespace)


cpython = _cpython_test_runners()

RunTests = on_aioboot(cpython.RunTests, run=aioboot.run)

# asyncio.Runner and its tests exist since 3.11.
if hasattr(cpython, "RunnerTests"):
    if hasattr(aioboot, "Runner"):
        RunnerTests = on_aioboot(cpython.RunnerTests, Runner=aioboot.Runner)
    else:

        @pytest.mark.skip(reason="aioboot has no Runner yet: asyncio.Runner's tests wait for it")
        def test_runner_tests_need_aioboot_runner() -> None:
            raise AssertionError("unreachable: skipped")
