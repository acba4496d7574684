"""The launcher, ``python -m aioboot module:func [args ...]``, run in real child processes, or in
this process (``launch_here``) where it refuses its command line before anything of the program
runs: no signal, no exit by signal, no logging set-up.

The targets live in ``programs/cli_targets``, which each launch runs in as its current directory:
they are importable only because the launcher makes the current directory importable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Optional

import pytest
from conftest import (
    CLI_TARGETS,
    LOOPS,
    PYTHON,
    SIGNALS,
    Child,
    Launch,
    Spawn,
    child_env,
    posix_only,
)

import aioboot

TARGETS = CLI_TARGETS
SCRIPT = Path(PYTHON).parent / "aioboot"


def launch(
    spawn: Spawn, *args: str, cwd: Path = TARGETS, env: Optional[dict[str, str]] = None
) -> Child:
    return spawn([PYTHON, "-m", "aioboot", *args], cwd=cwd, env=env)


def line_after(prefix: str, child: Child) -> str:
    found = [line[len(prefix) :] for line in child.lines if line.startswith(prefix)]
    assert len(found) == 1, (
        f"expected one {prefix!r} line in {child.lines!r}; stderr: {child.stderr}"
    )
    return found[0]


def assert_no_launcher_frames(stderr: str) -> None:
    aioboot_files = os.path.dirname(aioboot.__file__) + os.sep
    for internal in (aioboot_files, "<frozen importlib", "importlib/__init__.py"):
        assert internal not in stderr, stderr


# -- the target and its command line ------------------------------------------------------------


def test_the_target_gets_the_rest_of_the_command_line_as_sys_argv(spawn: Spawn) -> None:
    child = launch(spawn, "argv_echo:main", "--port", "8080", "--", "--debug", "-x")
    assert child.finish() == 0, child.stderr
    assert json.loads(line_after("ARGV ", child)) == [
        str(TARGETS / "argv_echo.py"),  # the module's file, as `python -m argv_echo` sets it
        "--port",
        "8080",
        "--",
        "--debug",
        "-x",
    ]
    assert line_after("PATH0 ", child) == "True"


def test_launcher_options_after_the_target_belong_to_the_program(spawn: Spawn) -> None:
    child = launch(spawn, "--debug", "argv_echo:main", "--help", "--version", "--loop", "bogus")
    assert child.finish() == 0, child.stderr
    assert json.loads(line_after("ARGV ", child)) == [
        str(TARGETS / "argv_echo.py"),
        "--help",
        "--version",
        "--loop",
        "bogus",
    ]


def test_the_target_can_parse_its_own_options_with_argparse(spawn: Spawn) -> None:
    child = launch(spawn, "--loop", "asyncio", "argv_echo:serve", "--port", "8080", "--", "--x")
    assert child.finish() == 0, child.stderr
    assert line_after("PORT ", child) == '8080 REST ["--x"]'


@pytest.mark.parametrize(
    ("target", "prog"),
    [
        ("argv_echo:prog", "argv_echo.py"),
        ("cli_pkg:prog", "cli_pkg"),
        ("scripts/app.py:prog", "app.py"),
    ],
)
def test_the_program_s_own_parser_is_named_after_its_file(
    spawn: Spawn, target: str, prog: str
) -> None:
    # sys.argv[0] is the module's file as `python -m` sets it (a package's directory, not its
    # __init__.py), or the path as given as `python path/to/app.py` sets it.
    child = launch(spawn, target)
    assert child.finish() == 0, child.stderr
    assert line_after("PROG ", child) == prog


@pytest.mark.parametrize(
    ("target", "code", "printed"),
    [
        ("outcomes:App.start", 5, "APP STARTED"),  # a staticmethod
        ("outcomes:App.create", 6, "APP CREATED BY App"),  # a classmethod
        ("outcomes:app.serve", 13, "APP SERVED BY App"),  # a method of an instance
        ("cli_pkg.app:main", 0, "PKG APP RAN"),
    ],
)
def test_dotted_modules_and_attribute_paths(
    spawn: Spawn, target: str, code: int, printed: str
) -> None:
    child = launch(spawn, target)
    assert child.finish() == code, child.stderr
    assert printed in child.lines


# -- file-path targets --------------------------------------------------------------------------


def test_a_file_target_runs_with_its_directory_first_on_sys_path(spawn: Spawn) -> None:
    child = launch(spawn, "scripts/app.py:main", "--port", "1")
    assert child.finish() == 0, child.stderr
    # Imported once, by its own name (so not its `if __name__ == "__main__":` block), and the
    # program's own `import app` gets that same module.
    assert child.lines == [
        "TOP LEVEL app",
        'ARGV ["scripts/app.py", "--port", "1"]',
        "PATH0 True",
        "CWD ON PATH False",
        "SAME MODULE True",
    ]


def test_a_file_target_in_the_current_directory(spawn: Spawn) -> None:
    child = launch(spawn, "app.py:main", cwd=TARGETS / "scripts")
    assert child.finish() == 0, child.stderr
    assert child.lines[0] == "TOP LEVEL app"
    assert "SAME MODULE True" in child.lines


def test_a_file_target_by_absolute_path(spawn: Spawn, tmp_path: Path) -> None:
    child = launch(spawn, f"{TARGETS / 'scripts' / 'app.py'}:main", cwd=tmp_path)
    assert child.finish() == 0, child.stderr
    assert "PATH0 True" in child.lines


def test_a_file_already_imported_by_name_is_not_run_twice(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "both.py").write_text(
        "import asyncio\n"
        "print('TOP LEVEL')\n"
        "def new_loop() -> asyncio.AbstractEventLoop:\n"
        "    return asyncio.new_event_loop()\n"
        "async def main() -> None:\n"
        "    print('MAIN')\n"
    )
    # --loop imports the module `both` first, from the current directory.
    child = launch(spawn, "--loop", "both:new_loop", "both.py:main", cwd=tmp_path)
    assert child.finish() == 0, child.stderr
    assert child.lines == ["TOP LEVEL", "MAIN"]


def test_a_file_whose_module_name_is_taken_is_refused_before_it_runs(
    launch_here: Launch, tmp_path: Path
) -> None:
    import asyncio

    # Not in the current directory, which `python -m` puts first: it would shadow asyncio itself.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "asyncio.py").write_text("print('TOP LEVEL')\nasync def main(): pass\n")
    assert launch_here("src/asyncio.py:main", cwd=tmp_path) == (
        2,
        "",
        "aioboot: error: file 'src/asyncio.py' cannot be imported as module 'asyncio', which is "
        f"already loaded ({asyncio.__file__}); rename the file",
    )


def test_a_file_target_failing_at_import_shows_its_own_traceback(
    spawn: Spawn, tmp_path: Path
) -> None:
    (tmp_path / "broken.py").write_text(
        "def fail():\n    raise RuntimeError('at import')\nfail()\n"
    )
    child = launch(spawn, "broken.py:main", cwd=tmp_path)
    assert child.finish() == 1
    stderr = child.stderr
    assert stderr.startswith("Traceback (most recent call last):\n"), stderr
    assert 'broken.py", line 3' in stderr
    assert stderr.endswith("RuntimeError: at import"), stderr
    assert_no_launcher_frames(stderr)


# -- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "code", "printed"),
    [
        ("outcomes:return_int", 7, None),
        ("outcomes:return_none", 0, "RAN"),
    ],
)
def test_what_the_target_returns_is_the_exit_status(
    spawn: Spawn, target: str, code: int, printed: Optional[str]
) -> None:
    child = launch(spawn, target)
    assert child.finish() == code, child.stderr
    assert child.stderr == ""
    if printed is not None:
        assert printed in child.lines


@pytest.mark.parametrize(
    ("target", "code", "printed"),
    [
        ("outcomes:partial_of_async", 9, None),
        ("outcomes:async_callable", 11, None),
        ("outcomes:AwaitableApp", 12, "APP CONSTRUCTED"),
        ("outcomes:decorated", 8, "WRAPPER CALLED"),
    ],
)
def test_targets_that_visibly_give_an_awaitable_are_run(
    spawn: Spawn, target: str, code: int, printed: Optional[str]
) -> None:
    # A partial of an async function, an object with an async __call__, a class whose instances
    # are awaitable, a functools.wraps wrapper of an async function.
    child = launch(spawn, target)
    assert child.finish() == code, child.stderr
    assert child.stderr == ""
    assert child.lines == ([] if printed is None else [printed])


SYNCHRONOUS_FUNCTION = "is a synchronous function, not an async function: define it with async def"


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("outcomes:entry", f"outcomes:entry {SYNCHRONOUS_FUNCTION}"),  # would run asyncio.run()
        (  # no functools.wraps
            "outcomes:plain_returning_coroutine",
            f"outcomes:plain_returning_coroutine {SYNCHRONOUS_FUNCTION}",
        ),
        ("outcomes:plain_returning_int", f"outcomes:plain_returning_int {SYNCHRONOUS_FUNCTION}"),
        (
            "outcomes:sync_callable",
            "an instance of outcomes:SyncCallable is a synchronous callable, not an async "
            "function: define its __call__ with async def",
        ),
        (
            "outcomes:NotAwaitable",
            "outcomes:NotAwaitable is a class whose instances are not awaitable, not an async "
            "function",
        ),
        (
            "outcomes:async_generator",
            "outcomes:async_generator is an async generator function, not an async function: "
            "iterate it with async for inside one",
        ),
    ],
)
def test_a_synchronous_target_is_refused_before_it_is_called(
    launch_here: Launch, target: str, refusal: str
) -> None:
    # In run()'s words (tests/test_async_callables.py); its body never ran (nothing printed).
    assert launch_here(target) == (2, "", f"aioboot: error: target {target!r}: {refusal}")


def test_a_wrapper_that_claims_to_be_async_and_is_not_fails_as_the_program(spawn: Spawn) -> None:
    # Its __wrapped__ is an async function, so it is called; what it returned is its own error.
    child = launch(spawn, "outcomes:lying_wrapper")
    assert child.finish() == 1
    assert child.lines == ["LYING WRAPPER CALLED"]
    assert child.stderr == "TypeError: outcomes:lying_wrapper returned 42, not an awaitable"


def test_a_returned_string_exits_1_and_is_printed_as_sys_exit_does(spawn: Spawn) -> None:
    child = launch(spawn, "outcomes:return_text")
    assert child.finish() == 1
    assert child.stderr == "goodbye from the target"


def test_a_raising_target_exits_1_with_its_own_traceback(spawn: Spawn) -> None:
    child = launch(spawn, "outcomes:raise_error")
    assert child.finish() == 1
    stderr = child.stderr
    assert stderr.endswith("ValueError: boom from the target"), stderr
    last_traceback = stderr.split("Traceback (most recent call last):\n")[-1]
    first_frame = last_traceback.splitlines()[0]
    assert "outcomes.py" in first_frame, stderr
    assert "in raise_error" in first_frame, stderr
    assert "in fail_deeper" in last_traceback, stderr
    assert_no_launcher_frames(stderr)


def test_a_raising_target_s_traceback_is_printed_once(spawn: Spawn) -> None:
    child = launch(spawn, "outcomes:raise_error")
    assert child.finish() == 1
    # Not also reported as a task exception nobody retrieved: run() raised it.
    assert child.stderr.count("ValueError: boom from the target") == 1, child.stderr


# -- bad targets --------------------------------------------------------------------------------

FORM = "must look like 'module:function' or 'path/to/file.py:function', e.g. 'myapp.server:main'"


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("argv_echo", f"target 'argv_echo' {FORM}; did you mean 'argv_echo:main'?"),
        (":main", f"target ':main' {FORM}"),
        ("argv_echo:", f"target 'argv_echo:' {FORM}"),
        ("outcomes:App.", f"target 'outcomes:App.' {FORM}"),
        (".argv_echo:main", f"target '.argv_echo:main' {FORM}"),
        (
            "no_such_module:main",
            "module 'no_such_module' not found (target 'no_such_module:main')",
        ),
        (
            "no_such_package.server:main",
            "module 'no_such_package' not found (target 'no_such_package.server:main')",
        ),
        ("cli_pkg.nope:main", "module 'cli_pkg.nope' not found (target 'cli_pkg.nope:main')"),
        ("outcomes:nope", "module 'outcomes' has no attribute 'nope' (target 'outcomes:nope')"),
        (
            "outcomes:App.nope",
            "module 'outcomes' has no attribute 'App.nope' (target 'outcomes:App.nope')",
        ),
        (
            "outcomes:VALUE",
            "target 'outcomes:VALUE' is not callable (int); expected an async function",
        ),
        (
            "outcomes:needs_args",
            "target 'outcomes:needs_args' is called with no arguments, but its signature is "
            "(port: int) -> None: missing a required argument: 'port'; read options from "
            "sys.argv instead",
        ),
        (
            "outcomes:App.serve",
            "target 'outcomes:App.serve' is a method of class outcomes:App, which needs an "
            "instance; did you mean 'outcomes:app.serve'?",
        ),
        (
            "outcomes:Service.run",
            "target 'outcomes:Service.run' is a method of class outcomes:Service, which needs an "
            "instance: create one in the module (service = Service()) and target "
            "'outcomes:service.run', or make run a staticmethod or classmethod",
        ),
        ("outcomes:App.start.", f"target 'outcomes:App.start.' {FORM}"),
        ("outcomes:App-start", f"target 'outcomes:App-start' {FORM}"),
    ],
)
def test_a_bad_target_is_one_line_and_exit_2(launch_here: Launch, target: str, error: str) -> None:
    assert launch_here(target) == (2, "", f"aioboot: error: {error}")


@pytest.mark.parametrize(
    ("target", "error"),
    [
        (
            "argv_ecoh:main",
            "module 'argv_ecoh' not found (target 'argv_ecoh:main'); "
            "did you mean 'argv_echo:main'?",
        ),
        (
            "cli_pkg.ap:main",
            "module 'cli_pkg.ap' not found (target 'cli_pkg.ap:main'); "
            "did you mean 'cli_pkg.app:main'?",
        ),
        (
            "outcomes:retrun_int",
            "module 'outcomes' has no attribute 'retrun_int' (target 'outcomes:retrun_int'); "
            "did you mean 'outcomes:return_int', 'outcomes:return_text' or 'outcomes:return_none'?",
        ),
        (
            "outcomes:App.strat",
            "module 'outcomes' has no attribute 'App.strat' (target 'outcomes:App.strat'); "
            "did you mean 'outcomes:App.start'?",
        ),
        (
            "scripts/ap.py:main",
            "file 'scripts/ap.py' not found (target 'scripts/ap.py:main'); "
            "did you mean 'scripts/app.py:main'?",
        ),
        (
            "scripts/app:main",
            "target 'scripts/app:main' names a path, which must be a .py file; "
            "did you mean 'scripts/app.py:main'?",
        ),
        (
            "./cli_pkg:main",
            "target './cli_pkg:main' names a path, which must be a .py file; "
            "did you mean 'cli_pkg:main'?",
        ),
        (
            "cli_pkg.app.py:main",
            "file 'cli_pkg.app.py' not found (target 'cli_pkg.app.py:main'); "
            "did you mean 'cli_pkg.app:main'?",
        ),
        ("nowhere/app:main", "target 'nowhere/app:main' names a path, which must be a .py file"),
        ("nowhere.py:main", "file 'nowhere.py' not found (target 'nowhere.py:main')"),
    ],
)
def test_a_missing_name_suggests_the_closest_existing_ones(
    launch_here: Launch, target: str, error: str
) -> None:
    assert launch_here(target) == (2, "", f"aioboot: error: {error}")


def test_a_missing_top_level_package_suggests_the_closest_first(launch_here: Launch) -> None:
    launched = launch_here("cli_pkgg.app:main")
    assert launched.status == 2
    # Whatever else is installed may follow (click, say): the closest comes first.
    assert launched.stderr.startswith(
        "aioboot: error: module 'cli_pkgg' not found (target 'cli_pkgg.app:main'); "
        "did you mean 'cli_pkg.app:main'"
    )
    assert "\n" not in launched.stderr
    assert launched.stdout == ""


def test_a_missing_attribute_of_a_file_target_suggests_the_closest(launch_here: Launch) -> None:
    assert launch_here("scripts/app.py:mian") == (
        2,
        "TOP LEVEL app",  # the module ran, as it must to be searched
        "aioboot: error: file 'scripts/app.py' has no attribute 'mian' "
        "(target 'scripts/app.py:mian'); did you mean 'scripts/app.py:main'?",
    )


@pytest.mark.parametrize(
    ("target", "where", "error"),
    [
        (
            "broken_import:main",
            "import cli_targets_missing_dependency",
            "ModuleNotFoundError: No module named 'cli_targets_missing_dependency'",
        ),
        (
            "cli_pkg.broken_sibling:main",
            "import cli_pkg.missing_sibling",
            "ModuleNotFoundError: No module named 'cli_pkg.missing_sibling'",
        ),
        ("fails_at_import:main", "in configure", "RuntimeError: fails while importing"),
    ],
)
def test_a_module_failing_to_import_shows_its_own_traceback_and_exits_1(
    spawn: Spawn, target: str, where: str, error: str
) -> None:
    # What Python itself prints last for the same import, which may add to the error (3.15:
    # "Did you mean: ...?"): the launcher must end with exactly that.
    python_itself = spawn([PYTHON, "-c", f"import {target.partition(':')[0]}"], cwd=TARGETS)
    assert python_itself.finish() == 1
    pythons_last_line = python_itself.stderr.splitlines()[-1]
    assert pythons_last_line.startswith(error), pythons_last_line
    child = launch(spawn, target)
    assert child.finish() == 1
    stderr = child.stderr
    assert stderr.startswith("Traceback (most recent call last):\n"), stderr
    assert where in stderr
    assert stderr.endswith(f"\n{pythons_last_line}"), stderr
    assert "aioboot: error" not in stderr
    assert_no_launcher_frames(stderr)


def test_a_syntax_error_is_shown_as_python_shows_it(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "syntax_error.py").write_text("async def main():\n    return (\n")
    child = launch(spawn, "syntax_error:main", cwd=tmp_path)
    assert child.finish() == 1
    stderr = child.stderr
    assert 'syntax_error.py", line 2' in stderr, stderr
    assert "SyntaxError" in stderr.splitlines()[-1]
    assert "Traceback" not in stderr  # no frame of the program ran, as with `python file.py`
    assert_no_launcher_frames(stderr)


# -- signals ------------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_that_stops_the_target_ends_the_launcher_by_that_signal(
    spawn: Spawn, loop_name: str, sig: signal.Signals
) -> None:
    child = launch(spawn, "--loop", loop_name, "signals:wait_forever")
    child.wait_for_line("READY")
    child.send(sig)
    # As CPython ends after an uncaught KeyboardInterrupt: a shell stops its loop, systemd
    # counts a clean stop; and only after the complete shutdown, with the output flushed.
    assert child.finish() == -sig, child.stderr
    assert "CLEANUP" in child.lines
    assert "Traceback" not in child.stderr
    assert f"aioboot: received {sig.name}: stopping" in child.stderr


@posix_only
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_target_that_awaited_the_stop_future_and_returned_ends_by_the_signal_too(
    spawn: Spawn, loop_name: str, sig: signal.Signals
) -> None:
    # One exit policy, however main was written: a shell loop around it stops on one Ctrl-C.
    child = launch(spawn, "--loop", loop_name, "signals:with_stop_future")
    child.wait_for_line("READY")
    child.send(sig)
    assert child.finish() == -sig, child.stderr
    assert line_after("STOPPED BY ", child) == str(int(sig))
    assert "CLEANUP" in child.lines
    assert "Traceback" not in child.stderr


@posix_only
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_an_int_that_a_stopped_target_returns_is_its_exit_status(
    spawn: Spawn, sig: signal.Signals
) -> None:
    child = launch(spawn, "signals:stops_with_status_3")
    child.wait_for_line("READY")
    child.send(sig)
    assert child.finish() == 3, child.stderr
    assert "CLEANUP" in child.lines


@posix_only
def test_shutdown_timeout_is_honoured(spawn: Spawn) -> None:
    child = launch(spawn, "--shutdown-timeout", "0.2", "signals:slow_to_return")
    child.wait_for_line("READY")
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.stderr
    assert "CLEANUP" in child.lines
    assert "main did not return within 0.2 s" in child.stderr


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_a_bad_shutdown_timeout_is_a_usage_error(launch_here: Launch, value: str) -> None:
    launched = launch_here("--shutdown-timeout", value, "outcomes:return_none")
    assert launched.status == 2
    assert "aioboot: error: argument --shutdown-timeout:" in launched.stderr
    assert launched.stdout == ""  # not RAN


# -- loop choice, debug -------------------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
def test_loop_option_is_honoured_over_the_environment(spawn: Spawn, loop: str) -> None:
    child = launch(
        spawn, "--loop", loop, "argv_echo:loop_info", env=child_env(AIOBOOT_LOOP="bogus")
    )
    assert child.finish() == 0, child.stderr
    assert line_after("LOOP ", child).split(".")[0] == loop


def test_without_loop_option_the_environment_decides(spawn: Spawn) -> None:
    child = launch(spawn, "argv_echo:loop_info", env=child_env(AIOBOOT_LOOP="asyncio"))
    assert child.finish() == 0, child.stderr
    assert line_after("LOOP ", child).split(".")[0] == "asyncio"


def test_a_loop_factory_from_the_current_directory(spawn: Spawn) -> None:
    child = launch(spawn, "--loop=custom_loop:new_loop", "argv_echo:loop_info")
    assert child.finish() == 0, child.stderr
    assert "CUSTOM LOOP" in child.lines
    assert line_after("LOOP ", child).split(".")[0] == "asyncio"


UNKNOWN_LOOP = (
    "unknown loop 'bogus': expected one of auto, asyncio, uvloop, winloop, rloop, "
    "or a 'module:factory' import string"
)


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        (["--loop", "bogus"], {}, f"--loop: {UNKNOWN_LOOP}"),
        ([], {"AIOBOOT_LOOP": "bogus"}, f"$AIOBOOT_LOOP: {UNKNOWN_LOOP}"),
        (["--loop", "no_such_loop_module:f"], {}, "--loop: No module named 'no_such_loop_module'"),
        (
            ["--loop", "custom_loop:"],
            {},
            "--loop: loop 'custom_loop:' must look like 'module:factory'",
        ),
    ],
)
def test_a_bad_loop_is_one_line_and_exit_2_before_the_target_is_imported(
    launch_here: Launch,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    error: str,
) -> None:
    monkeypatch.delenv("AIOBOOT_LOOP", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The target fails when imported: its traceback would show if it were imported first.
    assert launch_here(*args, "fails_at_import:main") == (2, "", f"aioboot: error: {error}")


@pytest.mark.skipif(sys.version_info < (3, 12, 5), reason="eager tasks need Python 3.12.5+")
@pytest.mark.parametrize(
    ("args", "env", "eager"),
    [(["--eager-tasks"], "0", "True"), ([], "1", "True"), ([], "0", "False")],
)
def test_eager_tasks_option_and_environment(
    launch_here: Launch, monkeypatch: pytest.MonkeyPatch, args: list[str], env: str, eager: str
) -> None:
    monkeypatch.setenv("AIOBOOT_EAGER_TASKS", env)
    assert launch_here(*args, "argv_echo:task_start") == (None, f"EAGER {eager}", "")


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        ([], "yes", "aioboot.run(): $AIOBOOT_EAGER_TASKS must be 0 or 1, not 'yes'"),
        *(
            [
                (
                    ["--eager-tasks"],
                    "0",
                    "aioboot.run(): eager_tasks=True needs Python 3.12.5 or later",
                )
            ]
            if sys.version_info < (3, 12, 5)
            else []
        ),
    ],
)
def test_a_bad_eager_tasks_setting_is_one_line_and_exit_2_before_the_target_is_imported(
    launch_here: Launch, monkeypatch: pytest.MonkeyPatch, args: list[str], env: str, error: str
) -> None:
    monkeypatch.setenv("AIOBOOT_EAGER_TASKS", env)
    status, out, err = launch_here(*args, "fails_at_import:main")
    assert (status, out) == (2, "")
    assert err.startswith(f"aioboot: error: {error}")
    assert "\n" not in err


@pytest.mark.parametrize(("args", "debug"), [(["--debug"], "True"), ([], "False")])
def test_debug_option(spawn: Spawn, args: list[str], debug: str) -> None:
    env = child_env()
    env.pop("PYTHONASYNCIODEBUG", None)
    env.pop("PYTHONDEVMODE", None)
    child = launch(spawn, *args, "argv_echo:loop_info", env=env)
    assert child.finish() == 0, child.stderr
    assert line_after("DEBUG ", child) == debug


# -- logging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "shown", "hidden"),
    [
        (
            ["--log-level", "info"],
            ["INFO:target:INFO-LINE", "WARNING:target:WARNING-LINE"],
            ["DEBUG-LINE"],
        ),
        (["--log-level", "DEBUG"], ["DEBUG:target:DEBUG-LINE", "INFO:target:INFO-LINE"], []),
        ([], ["WARNING-LINE"], ["INFO-LINE", "DEBUG-LINE"]),
    ],
)
def test_log_level_configures_logging(
    spawn: Spawn, args: list[str], shown: list[str], hidden: list[str]
) -> None:
    child = launch(spawn, *args, "logs:main")
    assert child.finish() == 0, child.stderr
    for text in shown:
        assert text in child.stderr
    for text in hidden:
        assert text not in child.stderr


def test_log_level_leaves_a_program_s_own_logging_configuration_alone(spawn: Spawn) -> None:
    child = launch(spawn, "--log-level", "debug", "configures_logging:main")
    assert child.finish() == 0, child.stderr
    assert child.stderr == "PROGRAM-FORMAT WARNING WARNING-LINE"


def test_an_unknown_log_level_is_a_usage_error(launch_here: Launch) -> None:
    launched = launch_here("--log-level", "loud", "outcomes:return_none")
    assert launched.status == 2
    assert "aioboot: error: argument --log-level: invalid choice: 'LOUD'" in launched.stderr
    assert launched.stdout == ""  # not RAN


# -- the launcher's own options -----------------------------------------------------------------


def test_version(launch_here: Launch) -> None:
    assert launch_here("--version") == (0, f"aioboot {aioboot.__version__}", "")


def test_help_has_options_and_an_example(launch_here: Launch) -> None:
    launched = launch_here("--help")
    assert launched.status == 0
    assert launched.stdout.splitlines()[0] == "usage: aioboot [options] module:function [args ...]"
    for text in (
        "--loop",
        "--debug",
        "--shutdown-timeout SECONDS",
        "--log-level LEVEL",
        "--reload",
        "--reload-dir DIR",
        "--stall-warning SECONDS",
        "--drain-delay SECONDS",
        "--eager-tasks",
        "--version",
        "python -m aioboot myapp.server:main --port 8080",
    ):
        assert text in launched.stdout


def test_no_target_is_a_usage_error(launch_here: Launch) -> None:
    launched = launch_here("--debug")
    assert launched.status == 2
    assert "aioboot: error: the following arguments are required: module:function" in (
        launched.stderr
    )


def test_an_abbreviated_option_is_not_accepted(launch_here: Launch) -> None:
    launched = launch_here("--shutdown", "1", "outcomes:return_none")
    assert launched.status == 2
    assert "aioboot: error: unrecognized arguments: --shutdown" in launched.stderr


# -- the console script -------------------------------------------------------------------------


@pytest.fixture
def script() -> str:
    found = shutil.which("aioboot", path=str(SCRIPT.parent))
    if found is None:
        pytest.skip(
            f"the aioboot console script is not installed next to {PYTHON} (pip install -e .)"
        )
    return found


def test_console_script_runs_a_target_from_the_current_directory(spawn: Spawn, script: str) -> None:
    # The script's own sys.path[0] is its bin directory: the target is importable only because
    # the launcher puts the current directory first.
    env = child_env()
    assert str(TARGETS) not in env["PYTHONPATH"].split(os.pathsep)
    child = spawn([script, "argv_echo:main", "x"], cwd=TARGETS, env=env)
    assert child.finish() == 0, child.stderr
    assert json.loads(line_after("ARGV ", child)) == [str(TARGETS / "argv_echo.py"), "x"]
    assert line_after("PATH0 ", child) == "True"


def test_console_script_exit_status_and_version(spawn: Spawn, script: str) -> None:
    child = spawn([script, "outcomes:return_int"], cwd=TARGETS)
    assert child.finish() == 7, child.stderr
    version = spawn([script, "--version"], cwd=TARGETS)
    assert version.finish() == 0
    assert version.lines == [f"aioboot {aioboot.__version__}"]


# -- --reload -----------------------------------------------------------------------------------

# Each version a different length: a .pyc is reused when the source's size and mtime (in whole
# seconds) both match, and these rewrites come within a second.
RELOADED_APP = """\
import json
import os
import sys

import aioboot

VERSION = {version!r}


async def main() -> None:
    stop = aioboot.stop_future()
    print("ARGS", json.dumps(sys.argv[1:]), flush=True)
    print("VERSION", VERSION, os.getpid(), flush=True)
    print("STOPPED BY", await stop, flush=True)
"""

BROKEN_APP = """\
print("BROKEN", flush=True)
raise RuntimeError("broken on purpose")
"""

# pyproject.toml's test extra leaves watchfiles out there; anywhere else, missing, it fails.
needs_watchfiles = pytest.mark.skipif(
    importlib.util.find_spec("watchfiles") is None
    and sys.implementation.name == "pypy"
    and sys.implementation.version >= (8,),
    reason="watchfiles cannot be installed on PyPy 8: no wheel for its ABI (pp80), and building "
    "one needs a Rust toolchain and crates.io",
)


# A session of its own, so that SIGINT to its process group reaches the reloader and its child,
# as a terminal's Ctrl-C does, and not pytest.  exec keeps the pid: the group's id.
def reloading(spawn: Spawn, *args: str, cwd: Path) -> Child:
    # Its own process group, as a terminal's foreground job: a test signals the whole group, and
    # a failing test's teardown kills the program the reloader started along with it.
    return spawn([PYTHON, "-m", "aioboot", "--reload", *args], cwd=cwd, new_session=True)


def started(child: Child, version: str) -> int:
    """Wait for that version of the program to start; its pid."""
    return int(child.wait_for_line(f"VERSION {version} ").split()[-1])


def assert_gone(pids: list[int]) -> None:
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@posix_only
@needs_watchfiles
def test_reload_restarts_the_program_gracefully_when_a_file_changes(
    spawn: Spawn, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(RELOADED_APP.format(version="one"))
    child = reloading(spawn, "app:main", cwd=tmp_path)
    pids = [started(child, "one")]

    app.write_text(RELOADED_APP.format(version="second"))
    # Stopped as any stop signal stops it: the stop future resolves, main returns.
    assert child.wait_for_line("STOPPED BY") == f"STOPPED BY {int(signal.SIGTERM)}"
    pids.append(started(child, "second"))

    # A version that fails to import: its error is shown, and the next change starts it again.
    app.write_text(BROKEN_APP)
    assert child.wait_for_line("STOPPED BY") == f"STOPPED BY {int(signal.SIGTERM)}"
    child.wait_for_line("BROKEN")
    app.write_text(RELOADED_APP.format(version="third!"))
    pids.append(started(child, "third!"))

    # Ctrl-C: the whole process group gets SIGINT; the program stops once, gracefully, and ends
    # by SIGINT, and so does the reloader.
    os.killpg(child.proc.pid, signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.stderr
    assert child.lines[-1] == f"STOPPED BY {int(signal.SIGINT)}"
    assert len(set(pids)) == 3
    assert_gone(pids)
    stderr = child.stderr
    assert f"aioboot: watching {tmp_path} for changes to .py files (--reload)" in stderr
    assert stderr.count("aioboot: app.py changed; restarting") == 3, stderr
    assert "RuntimeError: broken on purpose" in stderr


@posix_only
@needs_watchfiles
def test_reload_ignores_virtual_environments_and_caches(spawn: Spawn, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(RELOADED_APP.format(version="one"))
    child = reloading(spawn, "app:main", cwd=tmp_path)
    pids = [started(child, "one")]
    for ignored in (".venv", "venv", ".tox", "__pycache__"):
        (tmp_path / ignored).mkdir(exist_ok=True)  # __pycache__: the child may have made it
        (tmp_path / ignored / "module.py").write_text("VALUE = 1\n")
    app.write_text(RELOADED_APP.format(version="second"))
    pids.append(started(child, "second"))
    os.killpg(child.proc.pid, signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.stderr
    assert_gone(pids)
    # Written before app.py: had any of them counted, it would be named in this line or in an
    # earlier restart's.
    restarts = [line for line in child.stderr.splitlines() if "restarting" in line]
    assert restarts == ["aioboot: app.py changed; restarting"]


@posix_only
@needs_watchfiles
def test_reload_of_a_file_target_watches_its_directory_and_sigterm_is_passed_on(
    spawn: Spawn, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(RELOADED_APP.format(version="one"))
    child = reloading(spawn, "src/app.py:main", cwd=tmp_path)
    pids = [started(child, "one")]
    (src / "helper.py").write_text("VALUE = 1\n")  # any .py file in the watched directory
    assert child.wait_for_line("STOPPED BY") == f"STOPPED BY {int(signal.SIGTERM)}"
    pids.append(started(child, "one"))
    # A supervisor's SIGTERM goes to the reloader alone: it passes it on and waits.
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.stderr
    assert child.lines[-1] == f"STOPPED BY {int(signal.SIGTERM)}"
    assert_gone(pids)
    assert "aioboot: src/helper.py changed; restarting" in child.stderr


@posix_only
@needs_watchfiles
def test_reload_exits_with_the_status_of_the_program_s_last_run(
    spawn: Spawn, tmp_path: Path
) -> None:
    # No stop future: Ctrl-C cancels main and the program ends by SIGINT, and so does the
    # reloader, so that a shell loop around it stops too.
    (tmp_path / "app.py").write_text(
        "import asyncio\n"
        "async def main() -> None:\n"
        "    print('READY', flush=True)\n"
        "    await asyncio.Event().wait()\n"
    )
    child = reloading(spawn, "app:main", cwd=tmp_path)
    child.wait_for_line("READY")
    os.killpg(child.proc.pid, signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.stderr
    assert "Traceback" not in child.stderr


@posix_only
@needs_watchfiles
def test_reload_dir_chooses_what_is_watched(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(RELOADED_APP.format(version="one"))
    conf = tmp_path / "conf"
    conf.mkdir()
    # The reload options after the target are the program's own, passed on untouched.
    child = reloading(
        spawn, "--reload-dir", "conf", "app:main", "--reload", "--reload-dir", "x", cwd=tmp_path
    )
    pids = [started(child, "one")]
    (conf / "settings.py").write_text("DEBUG = True\n")
    pids.append(started(child, "one"))
    os.killpg(child.proc.pid, signal.SIGINT)
    assert child.finish() == -signal.SIGINT, child.stderr
    assert_gone(pids)
    assert [line for line in child.lines if line.startswith("ARGS ")] == [
        'ARGS ["--reload", "--reload-dir", "x"]'
    ] * 2
    assert "aioboot: watching conf for changes to .py files (--reload)" in child.stderr


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--reload", "--reload-dir", "nowhere", "argv_echo:main"],
            "--reload-dir: 'nowhere' is not a directory",
        ),
        (["--reload-dir", "cli_pkg", "argv_echo:main"], "--reload-dir is only used with --reload"),
        (["--reload", "argv_echo"], f"target 'argv_echo' {FORM}; did you mean 'argv_echo:main'?"),
        (["--reload", "nowhere.py:main"], "file 'nowhere.py' not found (target 'nowhere.py:main')"),
    ],
)
def test_a_bad_reload_command_line_is_one_line_and_exit_2(
    launch_here: Launch, args: list[str], error: str
) -> None:
    assert launch_here(*args) == (2, "", f"aioboot: error: {error}")


def test_reload_without_watchfiles_names_the_extra_to_install(spawn: Spawn) -> None:
    # -S: no site-packages, so no watchfiles (aioboot itself is on PYTHONPATH).
    child = spawn([PYTHON, "-S", "-m", "aioboot", "--reload", "argv_echo:main"], cwd=TARGETS)
    assert child.finish() == 2
    assert child.stderr == (
        "aioboot: error: --reload needs watchfiles: pip install 'aioboot-runner[reload]'"
    )
    assert child.lines == []
