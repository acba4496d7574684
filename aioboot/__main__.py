"""The launcher: ``python -m aioboot package.module:func [args ...]`` (also the ``aioboot`` script).

Imports the target the way ``python -m`` imports a module (the current directory first on
``sys.path``), or a ``path/to/file.py:func`` target the way ``python path/to/file.py`` sets it up
(its directory first), hands it the rest of the command line as ``sys.argv``, runs it under
:func:`aioboot.run` and turns the outcome into an exit status the way Python does for a script.
``--reload`` runs all that in a child process instead, restarted when a source file changes.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import importlib.util
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
    from importlib.machinery import ModuleSpec

from . import __version__, run
from ._diagnose import checked_stall_warning
from ._loops import NAMES, choose_loop
from ._runner import DEFAULT_SHUTDOWN_TIMEOUT, checked_shutdown_timeout
from ._stop import SignalExit

# Launcher options that take a value: the command line is split at the first argument that is
# neither one of these options nor an option's value.
_VALUE_OPTIONS = ("--loop", "--shutdown-timeout", "--log-level", "--reload-dir", "--stall-warning")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_EXAMPLE = "myapp.server:main"

_DESCRIPTION = """\
Run an async function under aioboot.run(): the fastest loop, graceful SIGINT/SIGTERM
handling, bounded shutdown. Launcher options go before the target; everything after
it is the program's own (its sys.argv[1:])."""

_EPILOG = f"""\
examples:
  python -m aioboot {_EXAMPLE} --port 8080

  imports myapp.server (the current directory is importable), sets sys.argv to
  ['/path/to/myapp/server.py', '--port', '8080'] and runs aioboot.run(main()).

  python -m aioboot --reload src/app.py:main

  imports src/app.py as the module app (src/ is importable) and runs app.main(),
  in a child process that is restarted whenever a .py file under src/ changes.

exit status:
  what the function returns, as with sys.exit(): None is 0, an int is the status
  1      it raised (its traceback is printed), or its module failed to import
  2      usage error or bad target
  signal N stopped it: the launcher ends by signal N after the shutdown (a shell
         shows 128+N: 130 for Ctrl-C, 143 for SIGTERM); a function that awaits
         aioboot.stop_future() exits with what it returns instead
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
    reload: bool = False
    reload_dirs: Optional[list[str]] = None
    stall_warning: Optional[float] = None


class _Target:
    """A parsed ``module:attr.path`` or ``path/to/file.py:attr.path``.  A plain class: building a
    NamedTuple class costs the launcher's start-up a quarter of a millisecond."""

    __slots__ = ("attrs", "file", "module", "text")

    def __init__(
        self, text: str, module: str, attrs: tuple[str, ...], file: Optional[str] = None
    ) -> None:
        self.text = text
        self.module = module  # the dotted module name; for a file, the name it is imported as
        self.attrs = attrs
        self.file = file  # the path as given, for a file target

    @property
    def where(self) -> str:
        """What comes before the colon, as given."""
        return self.module if self.file is None else self.file

    @property
    def described(self) -> str:
        return f"module {self.module!r}" if self.file is None else f"file {self.file!r}"

    def with_attrs(self, attrs: Sequence[str]) -> str:
        return f"{self.where}:{'.'.join(attrs)}"


class _UsageError(Exception):
    """A launcher argument or target that is wrong: one line on stderr, exit status 2."""


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run the command line's target and exit with its status; ``argv`` defaults to sys.argv[1:]."""
    launcher_args, program_args = _split_argv(sys.argv[1:] if argv is None else argv)
    options = _parse(launcher_args)
    # Registered before the program is imported, so it runs after every atexit handler of the
    # program's (they run last registered, first).
    atexit.register(_die_of_stop_signal)
    _show_aioboot_warnings()
    if options.reload:
        raise SystemExit(_exit_status(lambda: _reload(options, launcher_args, program_args)))
    raise SystemExit(_exit_status(lambda: _launch(options, program_args)))


# The signal that stopped the run: the process ends by it once Python has shut down.
_stopped_by: Optional[int] = None


def _exit_by_signal(signum: int) -> int:
    """The launcher owns its process: it ends by the signal that stopped the run, as CPython ends
    by SIGINT after an uncaught KeyboardInterrupt, so that a shell stops its loop and a service
    manager counts a clean stop.  128 + N where no signal can end a process (Windows)."""
    global _stopped_by
    if sys.platform != "win32":
        _stopped_by = signum
    return 128 + signum


def _die_of_stop_signal() -> None:
    if _stopped_by is None:
        return
    logging.shutdown()  # registered before this handler, so it would run after it: never
    for stream in (sys.stdout, sys.stderr):
        # Closed or replaced by the program: nothing left to flush.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    signal.signal(_stopped_by, signal.SIG_DFL)
    os.kill(os.getpid(), _stopped_by)


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
        help=f"the async function to run, called with no arguments (e.g. {_EXAMPLE}, "
        "or path/to/app.py:main)",
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
        type=_seconds_type(checked_shutdown_timeout),
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
        "--reload",
        action="store_true",
        help="development: run the program in a child process and restart it (gracefully) "
        "whenever a .py file changes; needs pip install 'aioboot-runner[reload]'",
    )
    parser.add_argument(
        "--reload-dir",
        action="append",
        dest="reload_dirs",
        metavar="DIR",
        help="with --reload, watch DIR (repeatable) instead of the current directory, or of "
        "the target file's directory for a path/to/app.py target",
    )
    parser.add_argument(
        "--stall-warning",
        type=_seconds_type(checked_stall_warning),
        metavar="SECONDS",
        help="log a warning, with the blocking line, when the event loop has not turned for "
        "SECONDS (default: $AIOBOOT_STALL_WARNING, else off; 0 is off)",
    )
    parser.add_argument("--version", action="version", version=f"aioboot {__version__}")
    return parser


def _seconds_type(check: Callable[[float], Optional[float]]) -> Callable[[str], float]:
    """An argparse type that applies run()'s own check now: a bad value is a usage error, not a
    failure at start-up.  A check's None (off) is 0."""

    def parse(text: str) -> float:
        import argparse  # already imported by _parser(), the only user

        try:
            return check(float(text)) or 0.0
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _launch(options: _LaunchOptions, program_args: list[str]) -> object:
    """Everything after parsing; returns what the target returned."""
    if options.reload_dirs is not None:
        raise _UsageError("--reload-dir is only used with --reload")
    target = _parse_target(options.target)
    _make_cwd_importable()
    _check_loop(options.loop)
    _check_stall_warning(options.stall_warning)
    func = _import_target(target, program_args)
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


def _reload(options: _LaunchOptions, launcher_args: list[str], program_args: list[str]) -> int:
    """``--reload``: check what can be checked without importing the program, then supervise a
    child launcher running the same command line without the reload options."""
    target = _parse_target(options.target)
    directories = options.reload_dirs or [
        os.getcwd() if target.file is None else os.path.dirname(os.path.abspath(target.file))
    ]
    for directory in directories:
        if not os.path.isdir(directory):
            raise _UsageError(f"--reload-dir: {directory!r} is not a directory")
    try:
        from ._reload import run_reloading
    except ImportError as exc:
        if exc.name != "watchfiles":
            raise
        raise _UsageError(
            "--reload needs watchfiles: pip install 'aioboot-runner[reload]'"
        ) from None
    command = [sys.executable, "-m", "aioboot", *_without_reload_options(launcher_args)]
    status = run_reloading([*command, *program_args], directories, _say)
    return _exit_by_signal(-status) if status < 0 else status


def _without_reload_options(launcher_args: list[str]) -> list[str]:
    kept: list[str] = []
    args = iter(launcher_args)
    for arg in args:
        if arg == "--reload-dir":
            next(args, None)
        elif arg != "--reload" and not arg.startswith("--reload-dir="):
            kept.append(arg)
    return kept


def _say(message: str) -> None:
    print(f"aioboot: {message}", file=sys.stderr, flush=True)


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


# -- what the target names ------------------------------------------------------------------------


def _parse_target(text: str) -> _Target:
    """Split and check the target's form; a file target's file must exist.  Imports nothing."""
    # The last colon: a Windows path has one of its own (C:\app.py:main).
    where, colon, attr_path = text.rpartition(":")
    attrs = tuple(attr_path.split("."))
    if _is_path(where) and all(name.isidentifier() for name in attrs):
        return _file_target(text, where, attrs)
    if not colon or not all(where.split(".")) or not all(name.isidentifier() for name in attrs):
        hint = "" if colon else _did_you_mean([f"{text}:main"])
        raise _UsageError(
            f"target {text!r} must look like 'module:function' or 'path/to/file.py:function', "
            f"e.g. '{_EXAMPLE}'{hint}"
        )
    return _Target(text, where, attrs)


def _is_path(where: str) -> bool:
    return where.endswith(".py") or any(sep and sep in where for sep in (os.sep, os.altsep, "/"))


def _file_target(text: str, path: str, attrs: tuple[str, ...]) -> _Target:
    if not path.endswith(".py"):
        raise _UsageError(
            f"target {text!r} names a path, which must be a .py file"
            + _did_you_mean(_targets_for_path(path, attrs))
        )
    if not os.path.isfile(path):
        raise _UsageError(
            f"file {path!r} not found (target {text!r})"
            + _did_you_mean(_targets_for_missing_file(path, attrs))
        )
    return _Target(text, os.path.basename(path)[: -len(".py")], attrs, path)


def _targets_for_path(path: str, attrs: tuple[str, ...]) -> list[str]:
    """What a path without .py may have meant: that file, or a package by its module name."""
    attr_path = ".".join(attrs)
    stripped = path.rstrip("/" + os.sep)
    if os.path.isfile(stripped + ".py"):
        return [f"{stripped}.py:{attr_path}"]
    module = _module_name_under_cwd(stripped)
    if module is not None and os.path.isfile(os.path.join(stripped, "__init__.py")):
        return [f"{module}:{attr_path}"]
    return []


def _targets_for_missing_file(path: str, attrs: tuple[str, ...]) -> list[str]:
    """The .py files next to where the missing one was looked for, with close names; or, for a
    dotted name ending in .py, the module it names."""
    import difflib

    attr_path = ".".join(attrs)
    directory, name = os.path.split(path)
    stem = name[: -len(".py")]
    if not directory and "." in stem and os.path.isfile(stem.replace(".", os.sep) + ".py"):
        return [f"{stem}:{attr_path}"]
    try:
        files = [f for f in os.listdir(directory or os.curdir) if f.endswith(".py")]
    except OSError:
        return []
    return [
        f"{os.path.join(directory, close)}:{attr_path}"
        for close in difflib.get_close_matches(name, files)
    ]


def _module_name_under_cwd(path: str) -> Optional[str]:
    """The dotted module name of a relative path inside the current directory, if it has one."""
    parts = os.path.normpath(path).split(os.sep)
    return ".".join(parts) if all(part.isidentifier() for part in parts) else None


def _did_you_mean(candidates: Sequence[str]) -> str:
    if not candidates:
        return ""
    quoted = [repr(candidate) for candidate in candidates]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {listed}?"


# -- importing it -------------------------------------------------------------------------------


def _import_target(target: _Target, program_args: list[str]) -> Callable[[], object]:
    """Import the target's module with ``sys.argv`` handed over, find the attribute, and check
    that calling it with no arguments gives an awaitable, without calling it."""
    # Until the module's file is known (a dotted name imports its parent packages to find it),
    # the program's parsers see the target as given.
    sys.argv = [target.text, *program_args]
    module = _import_module(target) if target.file is None else _import_file(target)
    obj: object = module
    for depth, name in enumerate(target.attrs, 1):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            missing = target.attrs[:depth]
            raise _UsageError(
                f"{target.described} has no attribute {'.'.join(missing)!r} "
                f"(target {target.text!r})" + _did_you_mean(_close_attributes(obj, target, missing))
            ) from None
    if not callable(obj):
        raise _UsageError(
            f"target {target.text!r} is not callable ({type(obj).__name__}); "
            "expected an async function"
        )
    _check_no_arguments(obj, target.text)
    _check_async(obj, target.text)
    return obj


def _import_module(target: _Target) -> ModuleType:
    name = target.module
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        # Only a package above the target is "not found"; a module that a package's __init__
        # fails to import is the program's error, shown with its traceback.
        missing = exc.name or ""
        if missing != name and not name.startswith(missing + "."):
            raise
        raise _not_found(target, missing) from None
    if spec is None:
        raise _not_found(target, name)
    sys.argv[0] = _argv0(spec, target)
    return importlib.import_module(name)


def _argv0(spec: ModuleSpec, target: _Target) -> str:
    """What ``python -m`` sets: the module's file; for a package, its directory, so that the
    program's parser reads ``usage: myapp`` rather than ``usage: __init__.py``."""
    if not spec.has_location or spec.origin is None:
        return target.text
    if spec.submodule_search_locations is not None:
        return os.path.dirname(spec.origin)
    return spec.origin


def _not_found(target: _Target, missing: str) -> _UsageError:
    return _UsageError(
        f"module {missing!r} not found (target {target.text!r})"
        + _did_you_mean(_close_modules(target, missing))
    )


def _close_modules(target: _Target, missing: str) -> list[str]:
    """Targets with the missing module replaced by the closest existing ones: top-level modules
    on sys.path, or the submodules of the package above it."""
    import difflib
    import pkgutil

    parent, _, last = missing.rpartition(".")
    if parent:
        path = getattr(sys.modules.get(parent), "__path__", None)
        if path is None:
            return []
        names = {found.name for found in pkgutil.iter_modules(path)}
    else:
        names = {found.name for found in pkgutil.iter_modules()}
    prefix = f"{parent}." if parent else ""
    rest = target.module[len(missing) :]
    return [
        f"{prefix}{close}{rest}:{'.'.join(target.attrs)}"
        for close in difflib.get_close_matches(last, sorted(names))
    ]


def _close_attributes(obj: object, target: _Target, missing: tuple[str, ...]) -> list[str]:
    import difflib

    public = [name for name in dir(obj) if not name.startswith("_")]
    return [
        target.with_attrs([*missing[:-1], close])
        for close in difflib.get_close_matches(missing[-1], public)
    ]


def _import_file(target: _Target) -> ModuleType:
    """Import ``path/to/app.py`` as the module ``app`` with its directory first on sys.path, as
    ``python path/to/app.py`` would set things up, but by its name rather than as ``__main__``:
    its ``if __name__ == "__main__":`` block does not run, and a later ``import app`` is this same
    module, not a second copy that runs the top level again."""
    path = target.file
    assert path is not None
    # In place of the current directory that _make_cwd_importable() put first.
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    sys.argv[0] = path
    name = target.module
    loaded = sys.modules.get(name)
    if loaded is not None:
        if _is_same_file(getattr(loaded, "__file__", None), path):
            return loaded  # already imported by name, e.g. as the --loop factory's module
        origin = getattr(loaded, "__file__", None) or "built-in"
        raise _UsageError(
            f"file {path!r} cannot be imported as module {name!r}, which is already loaded "
            f"({origin}); rename the file"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    # A .py file always has both.
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # as a failed import leaves it
        raise
    return module


def _is_same_file(origin: Optional[str], path: str) -> bool:
    try:
        return origin is not None and os.path.samefile(origin, path)
    except OSError:
        return False


# -- calling it ---------------------------------------------------------------------------------


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


def _check_async(func: Callable[..., object], target: str) -> None:
    """Refuse a target that visibly is not async, before calling it: its body would run outside
    aioboot.run(), without the loop, signal handling and shutdown the launcher is for."""
    if _gives_awaitable(func):
        return
    if inspect.isclass(func):
        kind = "a class whose instances are not awaitable"
    elif inspect.isasyncgenfunction(func):
        kind = "an async generator function"
    elif inspect.isroutine(func):
        kind = "a synchronous function"
    else:
        kind = f"a synchronous callable ({type(func).__name__})"
    raise _UsageError(f"target {target!r} is {kind}; expected an async function")


def _gives_awaitable(func: object) -> bool:
    """Whether calling ``func`` gives an awaitable, as far as can be seen without calling it: an
    async function (also behind functools.partial or a functools.wraps wrapper, or marked with
    inspect.markcoroutinefunction), an object whose ``__call__`` is one, or a class whose
    instances are awaitable."""
    if inspect.iscoroutinefunction(func):
        return True
    if isinstance(func, functools.partial):
        return _gives_awaitable(func.func)
    if inspect.isclass(func):
        return callable(getattr(func, "__await__", None))
    try:
        unwrapped = inspect.unwrap(func)  # type: ignore[arg-type]
    except ValueError:  # a __wrapped__ cycle
        return False
    if unwrapped is not func:
        return _gives_awaitable(unwrapped)
    if not inspect.isroutine(func):
        return inspect.iscoroutinefunction(type(func).__call__)
    return False


def _call_target(func: Callable[[], object], target: _Target) -> Awaitable[object]:
    result = func()
    if not inspect.isawaitable(result):
        import reprlib

        # It looked async (a wrapper claiming to wrap an async function) and its body has run:
        # the program's error, not a usage error.
        raise TypeError(f"target {target.text!r} returned {reprlib.repr(result)}, not an awaitable")
    return result


def _exit_status(launch: Callable[[], object]) -> object:
    """The exit status for the launch's outcome, as Python gives one for a script: what the
    target returned (``SystemExit`` interprets it), 2 for a usage error, 1 with the traceback when
    it raised; 128 + N, and the process ending by signal N, when that signal stopped the run.
    The program's own ``sys.exit()`` passes through."""
    try:
        return launch()
    except _UsageError as exc:
        print(f"aioboot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # aioboot.run raises it when SIGINT stopped the program: an exit status, not an error.
        return _exit_by_signal(signal.SIGINT)
    except SignalExit as exc:
        return _exit_by_signal(exc.signum)
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
