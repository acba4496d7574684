"""The launcher's command line, ``[options] target [args ...]``: every launcher option is one
entry of ``_OPTIONS``, from which the parser, the split of the command line at the target and the
``--reload`` child's command line are all derived.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

if TYPE_CHECKING:
    import argparse

from . import __version__
from ._arguments import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    checked_drain_delay,
    checked_shutdown_timeout,
    checked_stall_warning,
)
from ._cli_target import EXAMPLE
from ._loops import NAMES

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_DESCRIPTION = """\
Run an async function under aioboot.run(): the fastest loop, graceful SIGINT/SIGTERM
handling, bounded shutdown. Launcher options go before the target; everything after
it is the program's own (its sys.argv[1:])."""

_EPILOG = f"""\
examples:
  python -m aioboot {EXAMPLE} --port 8080

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


class _Option:
    """One launcher option: ``spec`` is what argparse's ``add_argument`` takes, its ``default``
    included (the value when the option is not given, on the path without argparse too);
    ``for_child`` says whether the ``--reload`` child's command line keeps it."""

    __slots__ = ("flag", "for_child", "spec")

    def __init__(self, flag: str, *, for_child: bool = True, **spec: Any) -> None:
        self.flag = flag
        self.for_child = for_child
        self.spec = spec

    @property
    def takes_value(self) -> bool:
        return self.spec.get("action", "store") in ("store", "append")

    @property
    def dest(self) -> Optional[str]:
        """The LaunchOptions field it sets; None for one that only prints (--version)."""
        if self.spec.get("action") == "version":
            return None
        return str(self.spec.get("dest", self.flag[2:].replace("-", "_")))


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


_OPTIONS = (
    _Option(
        "--loop",
        metavar="{" + ",".join(NAMES) + ",module:factory}",
        help="event loop to run on (default: $AIOBOOT_LOOP, else auto)",
    ),
    _Option(
        "--debug",
        action="store_true",
        default=None,  # not False: without --debug, PYTHONASYNCIODEBUG and -X dev still apply
        help="run the loop in asyncio debug mode",
    ),
    _Option(
        "--shutdown-timeout",
        type=_seconds_type(checked_shutdown_timeout),
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        metavar="SECONDS",
        help="how long each shutdown step may wait, and how long a program awaiting "
        "aioboot.stop_future() has to return after the stop request (default: %(default)g)",
    ),
    _Option(
        "--log-level",
        type=str.upper,
        choices=_LOG_LEVELS,
        metavar="LEVEL",
        help="log to stderr at LEVEL (" + ", ".join(_LOG_LEVELS) + "), unless the program "
        "configures logging itself when imported",
    ),
    _Option(
        "--reload",
        for_child=False,
        action="store_true",
        default=False,
        help="development: run the program in a child process and restart it (gracefully) "
        "whenever a .py file changes; needs pip install 'aioboot-runner[reload]'",
    ),
    _Option(
        "--reload-dir",
        for_child=False,
        action="append",
        dest="reload_dirs",
        metavar="DIR",
        help="with --reload, watch DIR (repeatable) instead of the current directory, or of "
        "the target file's directory for a path/to/app.py target",
    ),
    _Option(
        "--stall-warning",
        type=_seconds_type(checked_stall_warning),
        metavar="SECONDS",
        help="log a warning, with the blocking line, when the event loop has not turned for "
        "SECONDS (default: $AIOBOOT_STALL_WARNING, else off; 0 is off)",
    ),
    _Option(
        "--heartbeat-file",
        metavar="PATH",
        help="for a liveness probe: the loop sets PATH's modification time to now every 0.5 s "
        "while it turns; removed at exit. Check it with python -m aioboot.probe PATH "
        "(default: $AIOBOOT_HEARTBEAT_FILE, else none)",
    ),
    _Option(
        "--drain-delay",
        type=_seconds_type(checked_drain_delay),
        metavar="SECONDS",
        help="on SIGTERM, aioboot.is_stopping() is true at once and the program is only stopped "
        "SECONDS later, while a health check reports it not ready (default: "
        "$AIOBOOT_DRAIN_DELAY, else none; 0 is none)",
    ),
    _Option(
        "--eager-tasks",
        action="store_true",
        default=None,  # not False: without --eager-tasks, $AIOBOOT_EAGER_TASKS still applies
        help="start each task eagerly: it runs from its creation to its first suspension "
        "(Python 3.12.5+; default: $AIOBOOT_EAGER_TASKS, 1 for on)",
    ),
    _Option("--version", action="version", version=f"aioboot {__version__}"),
)

# Where the command line is split: at the first argument that is neither one of these options
# nor an option's value.
_VALUE_FLAGS = frozenset(option.flag for option in _OPTIONS if option.takes_value)


class LaunchOptions(NamedTuple):
    """The parsed command line: the target, then one field per ``_OPTIONS`` dest."""

    target: str
    loop: Optional[str]
    debug: Optional[bool]
    shutdown_timeout: float
    log_level: Optional[str]
    reload: bool
    reload_dirs: Optional[list[str]]
    stall_warning: Optional[float]
    heartbeat_file: Optional[str]
    drain_delay: Optional[float]
    eager_tasks: Optional[bool]


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split the command line after the target: the launcher's arguments (target included) and
    the program's own, verbatim.  argparse's REMAINDER would drop a ``--`` right after the target,
    which the program's own parser may need."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        i += 2 if arg in _VALUE_FLAGS else 1
    return list(argv[: i + 1]), list(argv[i + 1 :])


def parse_options(launcher_args: list[str]) -> LaunchOptions:
    if len(launcher_args) == 1 and not launcher_args[0].startswith("-"):
        # Just a target, the common case: importing argparse and building the parser would be
        # half of what the launcher adds to start-up.
        defaults: dict[str, Any] = {
            option.dest: option.spec.get("default") for option in _OPTIONS if option.dest
        }
        return LaunchOptions(launcher_args[0], **defaults)
    return LaunchOptions(**vars(_parser().parse_args(launcher_args)))


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="aioboot",
        usage="%(prog)s [options] module:function [args ...]",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # An abbreviated option taking a value would make split_argv() split in the wrong place.
        allow_abbrev=False,
    )
    parser.add_argument(
        "target",
        metavar="module:function",
        help=f"the async function to run, called with no arguments (e.g. {EXAMPLE}, "
        "or path/to/app.py:main)",
    )
    for option in _OPTIONS:
        parser.add_argument(option.flag, **option.spec)
    return parser


def child_launcher_args(launcher_args: list[str]) -> list[str]:
    """The launcher's arguments (target included) without the options the ``--reload`` child
    must not get, each option's value kept or dropped with it."""
    options = {option.flag: option for option in _OPTIONS}
    kept: list[str] = []
    args = iter(launcher_args)
    for arg in args:
        flag, equals, _ = arg.partition("=")
        option = options.get(flag)
        words = [arg]
        if option is not None and option.takes_value and not equals:
            words.extend(itertools.islice(args, 1))
        if option is None or option.for_child:
            kept.extend(words)
    return kept
