"""aioboot: ``asyncio.run()``, done right.

``aioboot.run(main())`` picks the fastest loop for the platform, turns SIGINT/SIGTERM into a
graceful stop, shuts down in a fixed order with every wait bounded, and reports every task
exception that nobody retrieved.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, TypeVar

from ._arguments import close_unawaited
from ._runner import Runner, any_run_stopping, current_run, run, run_for_this_thread

__version__ = "0.1.0"

__all__ = [
    "Runner",
    "ScheduledCall",
    "__version__",
    "call_at",
    "call_later",
    "dump_tasks",
    "is_stopping",
    "listen_sockets",
    "on_reload",
    "on_shutdown",
    "ready",
    "request_stop",
    "run",
    "shutdown_waits_for",
    "stop_future",
    "wait_any",
]

if TYPE_CHECKING:
    from ._activation import listen_sockets
    from ._diagnose import dump_tasks
    from ._notify import ready
    from ._scheduled import ScheduledCall, call_at, call_later
    from ._wait_any import wait_any

HookT = TypeVar("HookT", bound=Callable[[], object])
T = TypeVar("T")

# Imported when first used: a program pays at start-up only for what every run needs.
_LAZY = {
    "ScheduledCall": "._scheduled",
    "call_at": "._scheduled",
    "call_later": "._scheduled",
    "dump_tasks": "._diagnose",
    "listen_sockets": "._activation",
    "ready": "._notify",
    "wait_any": "._wait_any",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aioboot' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def stop_future() -> asyncio.Future[Optional[int]]:
    """The current run's stop request, as a future to await.

    Resolves to the signal number that asked the program to stop, or ``None`` for
    :func:`request_stop` (or a task failure under ``stop_on_error=True``); with ``drain_delay=``,
    a SIGTERM's once the drain is over.  Calling it tells the run that the program handles
    stopping itself: the first signal then only resolves this future, and main gets
    ``shutdown_timeout`` seconds to return before it is cancelled.  A program that never
    calls it has its main task cancelled on the first signal instead.

    Each call returns a shielded view of the same request, so cancelling one awaiter does not
    cancel it for the others.  Raises ``RuntimeError`` outside :func:`run`'s loop thread.
    """
    return current_run("stop_future()").stop_future()


def request_stop() -> None:
    """Ask the current run to stop, exactly as a signal would (the stop future resolves to None).

    Safe from any thread: inside a run it stops that run; from another thread it stops the one
    active run.  It never drains: ``drain_delay=`` is for the stop an orchestrator asks for.
    Idempotent: a second request while stopping (a drain included) does nothing (only a second
    *signal* forces the exit).  Raises ``RuntimeError`` when no run is active, or when several
    are active and the call is made from outside all of them.
    """
    run_for_this_thread("request_stop()").request_stop()


def is_stopping() -> bool:
    """Whether the program has been asked to stop: the answer a readiness check gives a load
    balancer (not ready once it is true).

    True from the stop request on (a signal, :func:`request_stop`, a task failure under
    ``stop_on_error=True``) until the end of the shutdown, with or without a drain: with
    ``drain_delay=``, it is true for the whole drain, while main still runs untouched.  False
    before, and when no aioboot run is active (nothing to stop; it never raises, so library code
    can call it unconditionally).  With :class:`Runner`, each ``run()`` call starts with it
    false again, and ``close()`` is stopping.

    Safe and cheap from any thread (it reads flags, no lock on the loop): in a thread that runs
    an aioboot loop it answers for that run; in any other thread (a health server of its own,
    another loop), for the active runs: true if one of them is stopping.
    """
    return any_run_stopping()


def on_shutdown(callback: HookT) -> HookT:
    """Register ``callback`` (sync, or async) to run when the current run shuts down.

    Hooks run after main has returned or been cancelled and *before* the remaining tasks are
    cancelled, so they can still use open connections: flush buffers, say goodbye to clients.
    They run last-registered first, one at a time; an async hook is bounded by
    ``shutdown_timeout`` (then cancelled and reported); a failing hook is reported through the
    loop's exception handler and the others still run.  A sync hook runs inline, so keep it short.

    Returns ``callback``, so it works as a decorator.  Raises ``RuntimeError`` outside
    :func:`run`'s loop thread or once the hooks have run, ``TypeError`` for a non-callable.
    """
    current_run("on_shutdown()").add_shutdown_hook(callback)
    return callback


def on_reload(callback: HookT) -> HookT:
    """Register ``callback`` (sync, or async) to run when the program receives SIGHUP: re-read
    the configuration, reopen the log files.

    With at least one registered, SIGHUP (at its default disposition, taken as the stop signals
    are) reloads instead of stopping: the callbacks run in the order they were registered, one
    at a time, in a task of the run's, while the program goes on.  An async callback is bounded
    by ``shutdown_timeout`` (then cancelled and reported); a failing one is reported through the
    loop's exception handler, the others still run, and the program keeps running.  A SIGHUP
    during a reload is coalesced into one more reload after it.  Under systemd the reload is
    announced as ``Type=notify-reload`` expects: ``RELOADING=1`` with ``MONOTONIC_USEC=`` before
    the callbacks, ``READY=1`` after them.  Once the program is stopping, SIGHUP does nothing.
    With none registered, SIGHUP stops the program as SIGTERM does (and decides the exit the
    same way).  Windows has no SIGHUP: the callbacks never run there.

    Callbacks belong to the runner, as shutdown hooks do.  Returns ``callback``, so it works as
    a decorator.  Raises ``RuntimeError`` outside :func:`run`'s loop thread, ``TypeError`` for a
    non-callable.
    """
    current_run("on_reload()").add_reload_callback(callback)
    return callback


def shutdown_waits_for(aw: Awaitable[T]) -> asyncio.Future[T]:
    """Run ``aw`` (a coroutine, task or future) as work the stop does not cancel: a commit or a
    flush that must complete even when the program is told to stop.

    Returns a future of its outcome: await it for its result or exception.  Cancelling that
    future, or a task awaiting it (as the stop cancels main), does not cancel ``aw``, which goes on
    as a task of its own; a failure that comes once nobody awaits the future any more is reported
    like any task exception nobody retrieved.

    The shutdown waits for it first, before the shutdown hooks and the cancellation of the
    remaining tasks, at most ``shutdown_timeout`` seconds (``None``: as long as it takes; a forced
    exit: not at all); then it is cancelled and named, with where it is suspended, as a task that
    refused to stop.  Work handed over once that wait is over (from a hook, or from a task being
    cancelled) is still not cancelled with its awaiter, but the shutdown waits for it only as long
    as for the task awaiting it.

    Raises ``RuntimeError`` outside :func:`run`'s loop thread (``aw``, a coroutine, is closed).
    """
    try:
        control = current_run("shutdown_waits_for()")
    except RuntimeError:
        close_unawaited(aw)
        raise
    return control.shutdown_waits_for(aw)
