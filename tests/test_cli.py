"""The launcher, ``python -m aioboot module:func [args ...]``, run in real child processes.

The targets live in ``programs/cli_targets``, which each child runs in as its current directory:
they are importable only because the launcher makes the current directory importable.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Optional

import pytest
from conftest import LOOPS, PROGRAMS, PYTHON, SIGNALS, Child, Spawn, child_env, posix_only

import aioboot

TARGETS = PROGRAMS / "cli_targets"
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
    for internal in ("__main__.py", "_runner.py", "<frozen importlib", "importlib/__init__.py"):
        assert internal not in stderr, stderr


# -- the target and its command line ------------------------------------------------------------


def test_the_target_gets_the_rest_of_the_command_line_as_sys_argv(spawn: Spawn) -> None:
    child = launch(spawn, "argv_echo:main", "--port", "8080", "--", "--debug", "-x")
    assert child.finish() == 0, child.stderr
    assert json.loads(line_after("ARGV ", child)) == [
        "argv_echo:main",
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
        "argv_echo:main",
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
    ("target", "code", "printed"),
    [
        ("outcomes:App.start", 5, "APP STARTED"),
        ("cli_pkg.app:main", 0, "PKG APP RAN"),
    ],
)
def test_dotted_modules_and_attribute_paths(
    spawn: Spawn, target: str, code: int, printed: str
) -> None:
    child = launch(spawn, target)
    assert child.finish() == code, child.stderr
    assert printed in child.lines


# -- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "code", "printed"),
    [
        ("outcomes:return_int", 7, None),
        ("outcomes:return_none", 0, "RAN"),
        ("outcomes:plain_returning_coroutine", 7, "PLAIN CALLED"),
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

FORM = "must look like 'module:function', e.g. 'myapp.server:main'"


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("argv_echo", f"target 'argv_echo' {FORM}"),
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
            "module 'no_such_package.server' not found (target 'no_such_package.server:main')",
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
            "target 'outcomes:needs_args' is called with no arguments but its signature is "
            "(port: int) -> None; read options from sys.argv instead",
        ),
        (
            "outcomes:plain_returning_int",
            "target 'outcomes:plain_returning_int' returned 42, not an awaitable; "
            "expected an async function",
        ),
    ],
)
def test_a_bad_target_is_one_line_and_exit_2(spawn: Spawn, target: str, error: str) -> None:
    child = launch(spawn, target)
    assert child.finish() == 2
    assert child.stderr == f"aioboot: error: {error}"
    assert "Traceback" not in child.stderr


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
def test_a_signal_stops_the_target_with_128_plus_n(
    spawn: Spawn, loop_name: str, sig: signal.Signals
) -> None:
    child = launch(spawn, "--loop", loop_name, "signals:wait_forever")
    child.wait_for_line("READY")
    child.send(sig)
    assert child.finish() == 128 + sig, child.stderr
    assert "CLEANUP" in child.lines
    assert "Traceback" not in child.stderr


@posix_only
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_target_using_the_stop_future_exits_0_after_a_signal(
    spawn: Spawn, loop_name: str, sig: signal.Signals
) -> None:
    child = launch(spawn, "--loop", loop_name, "signals:with_stop_future")
    child.wait_for_line("READY")
    child.send(sig)
    assert child.finish() == 0, child.stderr
    assert line_after("STOPPED BY ", child) == str(int(sig))
    assert "CLEANUP" in child.lines
    assert "Traceback" not in child.stderr


@posix_only
def test_shutdown_timeout_is_honoured(spawn: Spawn) -> None:
    child = launch(spawn, "--shutdown-timeout", "0.2", "signals:slow_to_return")
    child.wait_for_line("READY")
    child.send(signal.SIGTERM)
    assert child.finish() == 128 + signal.SIGTERM, child.stderr
    assert "CLEANUP" in child.lines
    assert "main did not return within 0.2 s" in child.stderr


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_a_bad_shutdown_timeout_is_a_usage_error(spawn: Spawn, value: str) -> None:
    child = launch(spawn, "--shutdown-timeout", value, "outcomes:return_none")
    assert child.finish() == 2
    assert "aioboot: error: argument --shutdown-timeout:" in child.stderr
    assert "RAN" not in child.lines


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
    "unknown loop 'bogus': expected one of auto, asyncio, uvloop, winloop, "
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
    spawn: Spawn, args: list[str], env: dict[str, str], error: str
) -> None:
    # The target fails when imported: its traceback would show if it were imported first.
    child = launch(spawn, *args, "fails_at_import:main", env=child_env(**env))
    assert child.finish() == 2
    assert child.stderr == f"aioboot: error: {error}"


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


def test_an_unknown_log_level_is_a_usage_error(spawn: Spawn) -> None:
    child = launch(spawn, "--log-level", "loud", "outcomes:return_none")
    assert child.finish() == 2
    assert "aioboot: error: argument --log-level: invalid choice: 'LOUD'" in child.stderr
    assert "RAN" not in child.lines


# -- the launcher's own options -----------------------------------------------------------------


def test_version(spawn: Spawn) -> None:
    child = launch(spawn, "--version")
    assert child.finish() == 0
    assert child.lines == [f"aioboot {aioboot.__version__}"]


def test_help_has_options_and_an_example(spawn: Spawn) -> None:
    child = launch(spawn, "--help")
    assert child.finish() == 0
    assert child.lines[0] == "usage: aioboot [options] module:function [args ...]"
    for text in (
        "--loop",
        "--debug",
        "--shutdown-timeout SECONDS",
        "--log-level LEVEL",
        "--version",
        "python -m aioboot myapp.server:main --port 8080",
    ):
        assert text in child.stdout


def test_no_target_is_a_usage_error(spawn: Spawn) -> None:
    child = launch(spawn, "--debug")
    assert child.finish() == 2
    assert "aioboot: error: the following arguments are required: module:function" in child.stderr


def test_an_abbreviated_option_is_not_accepted(spawn: Spawn) -> None:
    child = launch(spawn, "--shutdown", "1", "outcomes:return_none")
    assert child.finish() == 2
    assert "aioboot: error: unrecognized arguments: --shutdown" in child.stderr


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
    assert json.loads(line_after("ARGV ", child)) == ["argv_echo:main", "x"]
    assert line_after("PATH0 ", child) == "True"


def test_console_script_exit_status_and_version(spawn: Spawn, script: str) -> None:
    child = spawn([script, "outcomes:return_int"], cwd=TARGETS)
    assert child.finish() == 7, child.stderr
    version = spawn([script, "--version"], cwd=TARGETS)
    assert version.finish() == 0
    assert version.lines == [f"aioboot {aioboot.__version__}"]
