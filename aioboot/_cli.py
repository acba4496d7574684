"""The launcher: ``python -m aioboot [options] package.module:func [args ...]`` (also the
``aioboot`` script).

Imports the target the way ``python -m`` imports a module (the current directory first on
``sys.path``), or a ``path/to/file.py:func`` target the way ``python path/to/file.py`` sets it up
(its directory first), hands it the rest of the command line as ``sys.argv``, runs it under
:func:`aioboot.run` and turns the outcome into an exit status the way Python does for a script.
``--reload`` runs all that in a child process instead, restarted when a source file changes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import NoReturn, Optional

from ._arguments import (
    as_coroutine,
    checked_drain_delay,
    checked_eager_tasks,
    checked_heartbeat_file,
    checked_stall_warning,
)
from ._cli_exit import UsageError, exit_status, register_ending_by_signal, say
from ._cli_options import LaunchOptions, child_launcher_args, parse_options, split_argv
from ._cli_target import import_target, make_cwd_importable, parse_target
from ._loops import choose_loop
from ._runner import run_program
from ._stop import SignalExit


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run the command line's target and exit with its status; ``argv`` defaults to sys.argv[1:]."""
    launcher_args, program_args = split_argv(sys.argv[1:] if argv is None else argv)
    options = parse_options(launcher_args)
    register_ending_by_signal()
    _show_aioboot_warnings()
    if options.reload:
        raise SystemExit(exit_status(lambda: _reload(options, launcher_args, program_args)))
    raise SystemExit(exit_status(lambda: _launch(options, program_args)))


def _launch(options: LaunchOptions, program_args: list[str]) -> object:
    """Everything after parsing; returns what the target returned."""
    if options.reload_dirs is not None:
        raise UsageError("--reload-dir is only used with --reload")
    target = parse_target(options.target)
    make_cwd_importable()
    _check_loop(options.loop)
    _check_run_options(options)
    _check_heartbeat_file(options.heartbeat_file)
    func = import_target(target, program_args)
    # Only now: a program that configures logging when imported keeps its own configuration
    # (basicConfig does nothing once the root logger has a handler).
    if options.log_level is not None:
        logging.basicConfig(level=options.log_level)
    return run_program(
        as_coroutine(func(), func),
        loop=options.loop,
        debug=options.debug,
        shutdown_timeout=options.shutdown_timeout,
        stall_warning=options.stall_warning,
        heartbeat_file=options.heartbeat_file,
        drain_delay=options.drain_delay,
        eager_tasks=options.eager_tasks,
    )


def _reload(options: LaunchOptions, launcher_args: list[str], program_args: list[str]) -> int:
    """``--reload``: a child launcher runs the same command line without the reload options;
    the launcher ends as the program's last run ended."""
    target = parse_target(options.target)  # its form, before anything else: nothing is imported
    from ._reload import run_with_reload

    command = [sys.executable, "-m", "aioboot", *child_launcher_args(launcher_args), *program_args]
    status = run_with_reload(command, target.file, options.reload_dirs, say)
    if status < 0:
        raise SignalExit(-status)  # ended by signal N: the launcher ends by it too
    return status


def _check_loop(spec: Optional[str]) -> None:
    """Fail before importing the program, not after it has started."""
    try:
        choose_loop(spec)
    except (ValueError, ImportError, TypeError) as exc:
        source = "$AIOBOOT_LOOP" if spec is None else "--loop"
        raise UsageError(f"{source}: {exc}") from None


def _check_run_options(options: LaunchOptions) -> None:
    """$AIOBOOT_STALL_WARNING, $AIOBOOT_DRAIN_DELAY and $AIOBOOT_EAGER_TASKS (and eager tasks on a
    Python without them) are checked before the program is imported, as $AIOBOOT_LOOP is."""
    try:
        checked_stall_warning(options.stall_warning)
        checked_drain_delay(options.drain_delay)
        checked_eager_tasks(options.eager_tasks)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_heartbeat_file(path: Optional[str]) -> None:
    """A heartbeat file that cannot be written is refused before the program is imported, which
    may still fail: the run creates the file."""
    source = "--heartbeat-file" if path is not None else "$AIOBOOT_HEARTBEAT_FILE"
    try:
        checked = checked_heartbeat_file(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if checked is None:
        return
    from ._heartbeat import check_writable

    try:
        check_writable(checked, source, keep=False)
    except OSError as exc:
        raise UsageError(str(exc)) from None


class _StderrUnlessConfigured(logging.StreamHandler):  # type: ignore[type-arg]
    """aioboot's warnings and errors on stderr, for a program that has not configured logging;
    one that has (even later, inside main) gets them through its own root handlers instead."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            self.stream = sys.stderr  # the one in place now: the program may have replaced it
            super().emit(record)


def _show_aioboot_warnings() -> None:
    handler = _StderrUnlessConfigured()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("aioboot: %(message)s"))
    logging.getLogger("aioboot").addHandler(handler)
