"""The loop's task factory, for a run that needs one: ``eager_tasks=True`` (a task starts running
when it is created) and ``stop_on_error=True`` (a callback on each task's completion).

One object owns the loop's factory slot for the run, so the two compose with each other and with
a factory the program sets: ``loop.set_task_factory(f)`` during the run makes ``f`` the factory
that builds the tasks (called with ``eager_start=True`` when it takes that argument), and
``loop.get_task_factory()`` returns ``f``.  Imported only by a run that uses one of them: a run
without costs nothing per task.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Optional

from ._loops import shadow_methods, unshadow_methods
from ._task_failures import is_unretrieved_failure

Factory = Callable[..., "asyncio.Future[Any]"]


class TaskFactorySlot:
    """Installs the composed factory on ``loop`` and keeps it composed when the program sets its
    own; :meth:`uninstall` leaves the loop with the program's factory (or the one it had before).

    The program's factory, when it has one, builds every task: with ``eager=True`` it is called
    with ``eager_start=True`` if its signature takes it (or ``**kwargs``, which it is then expected
    to pass on to the task class, as 3.14's ``create_task(eager_start=...)`` expects of a factory);
    one that does not is called as it is, and its tasks start however it makes them
    (``asyncio.create_eager_task_factory(MyTask)`` makes eager ones).  Without a program factory,
    :func:`_eager_task` builds them, or the loop an ``asyncio.Task``.  ``on_done``, when given, is
    added to every task as a done callback.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        eager: bool,
        on_done: Optional[Callable[[asyncio.Future[Any]], object]] = None,
    ) -> None:
        self._loop = loop
        self._eager = eager
        self._on_done = on_done
        self._program: Optional[Factory] = loop.get_task_factory()  # a loop factory's, say
        self._set_on_loop = loop.set_task_factory  # bound now: install() shadows it
        self._make: Optional[Factory] = None

    def install(self) -> None:
        self._set_on_loop(self._composed())
        # Instance attributes shadow the loop's methods, so a factory set inside main is composed
        # instead of silently replacing ours.
        shadows = {"set_task_factory": self._set_program, "get_task_factory": self._get_program}
        shadow_methods(self._loop, shadows)

    def uninstall(self) -> None:
        unshadow_methods(self._loop, ["set_task_factory", "get_task_factory"])
        self._loop.set_task_factory(self._program)

    def _set_program(self, factory: Optional[Factory]) -> None:
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._program = factory
        self._set_on_loop(self._composed())

    def _get_program(self) -> Optional[Factory]:
        return self._program

    def _composed(self) -> Optional[Factory]:
        self._make = self._maker()
        return self._make if self._on_done is None else self._create_watched

    def _maker(self) -> Optional[Factory]:
        """What builds a task: the program's factory (eager if it can be told so), else the eager
        factory, else nothing (the loop builds an ``asyncio.Task``)."""
        if not self._eager:
            return self._program
        if self._program is None:
            return _eager_task
        return _EagerThrough(self._program)

    def _create_watched(
        self, loop: asyncio.AbstractEventLoop, coro: Any, /, **kwargs: Any
    ) -> asyncio.Future[Any]:
        if self._make is not None:
            task = self._make(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        assert self._on_done is not None
        task.add_done_callback(self._on_done)
        return task


def _eager_task(
    loop: asyncio.AbstractEventLoop,
    coro: Any,
    /,
    *,
    eager_start: Optional[bool] = None,
    **kwargs: Any,
) -> asyncio.Future[Any]:
    """``asyncio.eager_task_factory``, for every loop: uvloop 0.23 on Python 3.13 passes
    ``eager_start=None`` to a task factory, which asyncio's own refuses there.  None is "the
    loop's default", here eager; an explicit False (3.14's ``create_task(eager_start=False)``) is
    kept."""
    eager = True if eager_start is None else eager_start
    return asyncio.Task(coro, loop=loop, eager_start=eager, **kwargs)  # type: ignore[call-arg,unused-ignore]


class _EagerThrough:
    """The program's factory, asked for eager tasks when its signature can take it."""

    def __init__(self, factory: Factory) -> None:
        self._factory = factory
        self._takes_eager_start = _takes_eager_start(factory)

    def __call__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Any,
        /,
        *,
        eager_start: Optional[bool] = None,
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        if self._takes_eager_start:
            kwargs["eager_start"] = True if eager_start is None else eager_start
        return self._factory(loop, coro, **kwargs)


def _takes_eager_start(factory: Factory) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): call it as it is
        return False
    return any(p.name == "eager_start" or p.kind is p.VAR_KEYWORD for p in parameters)


class FailureWatch:
    """With ``stop_on_error``: calls ``on_failure(task)`` for a task that failed and whose
    exception is still unretrieved once the callbacks its completion scheduled have run (so an
    awaiting task or a ``gather`` gets to look first).  :meth:`on_done` is the done callback the
    run's task factory (``_task_factory.TaskFactorySlot``) adds to every task.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_failure: Callable[[asyncio.Task[Any]], None]
    ) -> None:
        self._loop = loop
        self._on_failure = on_failure

    def on_done(self, task: asyncio.Future[Any]) -> None:
        if isinstance(task, asyncio.Task) and is_unretrieved_failure(task):
            self._loop.call_soon(self._check_still_unretrieved, task)

    def _check_still_unretrieved(self, task: asyncio.Task[Any]) -> None:
        if is_unretrieved_failure(task):
            self._on_failure(task)
