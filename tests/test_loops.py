"""Loop choice: names, AIOBOOT_LOOP, callables and import strings, and the errors for each."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import types
from subprocess import PIPE

import pytest
from conftest import needs_uvloop

import aioboot
from aioboot._loops import choose_loop


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_by_name_runs_on_the_stock_loop() -> None:
    assert aioboot.run(loop_module(), loop="asyncio").startswith("asyncio")


@needs_uvloop
def test_auto_prefers_uvloop_on_posix_cpython() -> None:
    assert choose_loop("auto").name == "uvloop"
    assert aioboot.run(loop_module()).startswith("uvloop")


def test_auto_falls_back_to_asyncio_when_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert choose_loop("auto").name == "asyncio"
    assert aioboot.run(loop_module()).startswith("asyncio")


def test_asking_for_a_missing_loop_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(ImportError, match=r"pip install uvloop"):
        aioboot.run(loop_module(), loop="uvloop")


def test_environment_variable_supplies_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBOOT_LOOP", "asyncio")
    assert aioboot.run(loop_module()).startswith("asyncio")
    monkeypatch.setenv("AIOBOOT_LOOP", "bogus")
    with pytest.raises(ValueError, match="unknown loop 'bogus'"):
        aioboot.run(loop_module())


def test_the_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBOOT_LOOP", "bogus")
    assert aioboot.run(loop_module(), loop="asyncio").startswith("asyncio")


def test_an_import_string_names_a_custom_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[asyncio.AbstractEventLoop] = []
    module = types.ModuleType("custom_loops")

    class Factories:
        @staticmethod
        def make() -> asyncio.AbstractEventLoop:
            made.append(asyncio.new_event_loop())
            return made[-1]

    module.Factories = Factories  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "custom_loops", module)

    async def main() -> bool:
        return asyncio.get_running_loop() is made[0]

    assert aioboot.run(main(), loop="custom_loops:Factories.make") is True


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("custom_loops:", "must look like 'module:factory'"),
        ("custom_loops:nothing", "has no attribute 'nothing'"),
        ("custom_loops:value", "is not callable"),
    ],
)
def test_bad_import_strings_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, spec: str, message: str
) -> None:
    module = types.ModuleType("custom_loops")
    module.value = 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "custom_loops", module)
    with pytest.raises(ValueError, match=message):
        choose_loop(spec)


def test_a_missing_module_in_an_import_string_is_an_import_error() -> None:
    with pytest.raises(ImportError, match="no_such_module_here"):
        choose_loop("no_such_module_here:factory")


def test_the_chosen_loop_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="aioboot")
    aioboot.run(loop_module(), loop="asyncio")
    assert any("running on asyncio" in r.getMessage() for r in caplog.records)


def test_importing_aioboot_imports_no_loop() -> None:
    import subprocess

    code = "import sys, aioboot; print('uvloop' in sys.modules, 'websockets' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_a_loop_that_ignores_debug_mode_is_said_to(caplog: pytest.LogCaptureFixture) -> None:
    class NoDebugMode(asyncio.SelectorEventLoop):
        def set_debug(self, enabled: bool) -> None:
            super().set_debug(False)  # as rloop's: never in debug mode

    async def debug() -> bool:
        return asyncio.get_running_loop().get_debug()

    caplog.set_level(logging.WARNING, logger="aioboot")
    assert aioboot.run(debug(), loop=NoDebugMode, debug=True) is False
    assert [r.getMessage() for r in caplog.records if r.name == "aioboot"] == [
        "debug=True is not applied: "
        "test_a_loop_that_ignores_debug_mode_is_said_to.<locals>.NoDebugMode ignores set_debug()"
    ]


# -- rloop: only by name, and held to asyncio's contracts where aioboot relies on them ----------


def test_rloop_is_never_chosen_automatically() -> None:
    pytest.importorskip("rloop")
    assert choose_loop("auto").name != "rloop"
    assert choose_loop("rloop").name == "rloop"


def test_asking_for_rloop_when_missing_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rloop", None)
    with pytest.raises(ImportError, match=r"pip install rloop"):
        choose_loop("rloop")


def test_on_rloop_handlers_are_called_as_asyncio_calls_them_and_systemexit_ends_the_run() -> None:
    pytest.importorskip("rloop")
    handled: list[tuple[object, str]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: handled.append((loop, context["message"])))
        loop.call_exception_handler({"message": "to the program's handler"})
        loop.call_soon(sys.exit, 3)  # from a callback: asyncio's loop lets it out of run_forever()
        await asyncio.sleep(30)

    with pytest.raises(SystemExit):
        aioboot.run(main(), loop="rloop")
    assert [message for _, message in handled] == ["to the program's handler"]
    assert type(handled[0][0]).__module__.startswith("rloop")


def test_on_rloop_a_library_can_give_a_signal_handler_back() -> None:
    pytest.importorskip("rloop")

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR2, lambda: None)
        return loop.remove_signal_handler(signal.SIGUSR2)

    assert aioboot.run(main(), loop="rloop") is True


def test_subprocesses_executors_and_name_resolution_work_on_the_loop(loop_name: str) -> None:
    # What docs/explanation/loop.md says works on each loop, rloop included.
    async def main() -> tuple[bytes, int, int, bool]:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "print('child'); raise SystemExit(3)", stdout=PIPE
        )
        out, _ = await asyncio.wait_for(child.communicate(), 20)
        in_thread = await asyncio.to_thread(lambda: 6 * 7)
        resolved = await asyncio.get_running_loop().getaddrinfo("127.0.0.1", 80)
        return out.strip(), child.returncode or 0, in_thread, bool(resolved)

    assert aioboot.run(main(), loop=loop_name) == (b"child", 3, 42, True)
