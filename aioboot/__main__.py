"""The launcher: ``python -m aioboot package.module:func [args ...]`` (also the ``aioboot`` script).

Imports the target the way ``python -m`` imports a module (the current directory first on
``sys.path``), hands it the rest of the command line as ``sys.argv``, runs it under
:func:`aioboot.run` and turns the outcome into an exit status the way Python does for a script.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Sequence
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Callable, NamedTuple, NoReturn, Optional

if TYPE_CHECKING:
    import argparse

from . import __version__, run
from ._diagnose import checked_stall_warning
from ._loops import NAMES, choose_loop
from ._runner import DEFAULT_SHUTDOWN_TIMEOUT, checked_shutdown_timeout

# Launcher options that take a value: the command line is split at the first argument that is
# neither one of these options nor an option's value.
_VALUE_OPTIONS = ("--loop", "--shutdown-timeout", "--log-level", "--stall-warning")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_EXAMPLE = "myapp.server:main"

_DESCRIPTION = """\
Run an async function under aioboot.run(): the fastest loop, graceful SIGINT/SIGTERM
handling, bounded shutdown. Launcher options go before the target; everything after
it is the program's own (its sys.argv[1:])."""

_EPILOG = f"""\
example:
  python -m aioboot {_EXAMPLE} --port 8080

  imports myapp.server (the current directory is importable), sets sys.argv to
  ['{_EXAMPLE}', '--port', '8080'] and runs aioboot.run(main()).

exit status:
  what the function returns, as with sys.exit(): None is 0, an int is the status
  1      it raised (its traceback is printed), or its module failed to import
  2      usage error or bad target
  128+N  signal N stopped it (130 for Ctrl-C, 143 for SIGTERM); a function that
         awaits aioboot.stop_future() exits with what it returns instead
"""

# Frames a traceback starts with before it reaches the user's code: shown to nobody.
_LAUNCHER_DIRS = frozenset(
    os.path.dirname(os.path.abspath(path)) for path in (__file__, importlib.__file__)
)


class _LaunchOptions(NamedTuple):
    target: str
    loop: Optional[str] = None
    debug: Optional[bool] = None
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    log_level: Optional[str] = None
    stall_warning: Optional[float] = None


class _UsageError(Exception):
    """A launcher argument or target that is wrong: one line on stderr, exit status 2."""


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run the command line's target and exit with its status; ``argv`` defaults to sys.argv[1:]."""
    launcher_args, program_args = _split_argv(sys.argv[1:] if argv is None else argv)
    options = _parse(launcher_args)
    raise SystemExit(_exit_status(lambda: _launch(options, program_args)))


def _parse(launcher_args: list[str]) -> _LaunchOptions:
    if len(launcher_args) == 1 and not launcher_args[0].startswith("-"):
        # Just a target, the common case: importing argparse and building the parser would be
        # half of what the launcher adds to start-up.
        return _LaunchOptions(launcher_args[0])
    return _LaunchOptions(**vars(_parser().parse_args(launcher_args)))


def _split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split the command line after the target: the launcher's arguments (target included) and
    the program's own, verbatim.  argparse's REMAINDER would drop a ``--`` right after the target,
    which the program's own parser may need."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        i += 2 if arg in _VALUE_OPTIONS else 1
    return list(argv[: i + 1]), list(argv[i + 1 :])


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="aioboot",
        usage="%(prog)s [options] module:function [args ...]",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # An abbreviated option taking a value would make _split_argv() split in the wrong place.
        allow_abbrev=False,
    )
    parser.add_argument(
        "target",
        metavar="module:function",
        help=f"the async function to run, called with no arguments (e.g. {_EXAMPLE})",
    )
    parser.add_argument(
        "--loop",
        metavar="{" + ",".join(NAMES) + ",module:factory}",
        help="event loop to run on (default: $AIOBOOT_LOOP, else auto)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=None,  # not False: without --debug, PYTHONASYNCIODEBUG and -X dev still apply
        help="run the loop in asyncio debug mode",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        metavar="SECONDS",
        help="how long each shutdown step may wait, and how long a program awaiting "
        "aioboot.stop_future() has to return after the stop request (default: %(default)g)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LOG_LEVELS,
        metavar="LEVEL",
        help="log to stderr at LEVEL (" + ", ".join(_LOG_LEVELS) + "), unless the program "
        "configures logging itself when imported",
    )
    parser.add_argument(
        "--stall-warning",
        type=_stall_seconds,
        metavar="SECONDS",
        help="log a warning, with the blocking line, when the event loop has not turned for "
        "SECONDS (default: $AIOBOOT_STALL_WARNING, else off; 0 is off)",
    )
    parser.add_argument("--version", action="version", version=f"aioboot {__version__}")
    return parser


def _seconds(text: str) -> float:
    import argparse  # already imported by _parser(), the only caller

    try:
        # run()'s own check, made now: a bad value is a usage error, not a failure at start-up.
        seconds = checked_shutdown_timeout(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert seconds is not None
    return seconds


def _stall_seconds(text: str) -> float:
    import argparse  # already imported by _parser(), the only caller

    try:
        return checked_stall_warning(float(text)) or 0.0
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _launch(options: _LaunchOptions, program_args: list[str]) -> object:
    """Everything after parsing; returns what the target returned."""
    target = options.target
    _make_cwd_importable()
    _check_loop(options.loop)
    _check_stall_warning(options.stall_warning)
    _hand_off_argv(target, program_args)
    func = _import_target(target)
    # Only now: a program that configures logging when imported keeps its own configuration
    # (basicConfig does nothing once the root logger has a handler).
    if options.log_level is not None:
        logging.basicConfig(level=options.log_level)
    return run(
        _call_target(func, target),
        loop=options.loop,
        debug=options.debug,
        shutdown_timeout=options.shutdown_timeout,
        stall_warning=options.stall_warning,
    )


def _make_cwd_importable() -> None:
    # `python -m` already does this; the console script's sys.path[0] is its bin directory.
    cwd = os.getcwd()
    if sys.path[:1] != [cwd]:
        sys.path.insert(0, cwd)


def _check_loop(spec: Optional[str]) -> None:
    """Fail before importing the program, not after it has started."""
    try:
        choose_loop(spec)
    except (ValueError, ImportError, TypeError) as exc:
        source = "$AIOBOOT_LOOP" if spec is None else "--loop"
        raise _UsageError(f"{source}: {exc}") from None


def _check_stall_warning(seconds: Optional[float]) -> None:
    """$AIOBOOT_STALL_WARNING is checked before the program is imported, as $AIOBOOT_LOOP is."""
    try:
        checked_stall_warning(seconds)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _hand_off_argv(target: str, program_args: list[str]) -> None:
    """Give the program the command line it would see had it been started as a script."""
    sys.argv = [target, *program_args]


def _import_target(target: str) -> Callable[[], object]:
    """Import ``module:attr.path`` and check that it can be called with no arguments."""
    module_name, _, attr_path = target.partition(":")
    names = attr_path.split(".")
    if not all(module_name.split(".")) or not all(names):
        raise _UsageError(f"target {target!r} must look like 'module:function', e.g. '{_EXAMPLE}'")
    obj: object = _import_module(module_name, target)
    for depth, name in enumerate(names, 1):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            missing = ".".join(names[:depth])
            raise _UsageError(
                f"module {module_name!r} has no attribute {missing!r} (target {target!r})"
            ) from None
    if not callable(obj):
        raise _UsageError(
            f"target {target!r} is not callable ({type(obj).__name__}); expected an async function"
        )
    _check_no_arguments(obj, target)
    return obj


def _import_module(module_name: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the target module or a package above it is "not found"; a module that the target
        # itself fails to import is the program's error, shown with its traceback.
        missing = exc.name or ""
        if missing != module_name and not module_name.startswith(missing + "."):
            raise
        raise _UsageError(f"module {module_name!r} not found (target {target!r})") from None


def _check_no_arguments(func: Callable[..., object], target: str) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # no signature to inspect (some builtins): the call itself will tell
    try:
        signature.bind()
    except TypeError:
        raise _UsageError(
            f"target {target!r} is called with no arguments but its signature is {signature}; "
            "read options from sys.argv instead"
        ) from None


def _call_target(func: Callable[[], object], target: str) -> Awaitable[object]:
    """Call the target: an async function gives a coroutine; a plain callable is called too (its
    body runs now) and must return an awaitable."""
    result = func()
    if not inspect.isawaitable(result):
        import reprlib

        raise _UsageError(
            f"target {target!r} returned {reprlib.repr(result)}, not an awaitable; "
            "expected an async function"
        )
    return result


def _exit_status(launch: Callable[[], object]) -> object:
    """The exit status for the launch's outcome, as Python gives one for a script: what the
    target returned (``SystemExit`` interprets it), 2 for a usage error, 1 with the traceback when
    it raised, 130 for Ctrl-C.  ``SystemExit`` itself (the program's ``sys.exit()``, or run()'s
    128+N for signal N) passes through."""
    try:
        return launch()
    except _UsageError as exc:
        print(f"aioboot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # aioboot.run raises it when SIGINT stopped the program: an exit status, not an error.
        return 128 + signal.SIGINT
    except Exception as exc:
        # On the exception itself: the default hook ignores its tb argument when it has one.
        exc = exc.with_traceback(_user_traceback(exc.__traceback__))
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1


def _user_traceback(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """The traceback from its first frame outside the launcher, aioboot and the import machinery:
    what Python would print had the program been run as a script.  None when no frame is left,
    as for a SyntaxError, whose location is in the exception itself."""
    while tb is not None and _is_launcher_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _is_launcher_file(filename: str) -> bool:
    return filename.startswith("<frozen importlib") or os.path.dirname(filename) in _LAUNCHER_DIRS


if __name__ == "__main__":
    main()
