"""Task tracking: finding failed tasks whose exception nobody retrieved.

The default costs nothing per task: no task factory and no callback on the success path.  A
failed task that is garbage-collected during the run is reported by asyncio itself, through the
loop's exception handler; the rest (held in a global, a list, a reference cycle) are found among
the live tasks once, when the run ends.  Only ``stop_on_error=True``, which must notice a failure
the moment it happens, adds a callback to every task (through the task factory, ``_task_factory``).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import weakref
from typing import Any, Iterator, Optional


def is_unretrieved_failure(task: asyncio.Task[Any]) -> bool:
    """Failed, and nobody called ``result()``/``exception()`` or awaited it.

    ``_log_traceback`` is the flag asyncio itself uses to decide the same thing (C and Python
    tasks alike, on every loop, since 3.4); it is cleared by any retrieval.
    """
    return task.done() and bool(getattr(task, "_log_traceback", False))


def unretrieved_failures(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    """Every task of ``loop`` still alive that failed with nobody looking.

    ``asyncio.all_tasks()`` lists only pending tasks, so :func:`live_tasks` is the one place that
    has the failed ones; this runs once per run, after the loop has stopped.
    """
    registry = task_registry()
    if registry is None:
        registry = _complete_registry(loop)
    tasks = list(registry) if registry is not None else heap_tasks()
    return [task for task in tasks if task.get_loop() is loop and is_unretrieved_failure(task)]


def _complete_registry(loop: asyncio.AbstractEventLoop) -> Optional[weakref.WeakSet[Any]]:
    """On CPython up to 3.13, asyncio's weak set of the tasks it created, done ones included while
    they live, when it is sure to hold every task of ``loop``: a few hundred tasks read instead of
    a walk of the whole heap, a millisecond of every run's end for a small program.  Only while the
    loop has no task factory: a task that finishes during an eager start (3.12+) never joins the
    set, and a factory may start tasks eagerly.  From 3.14 on, asyncio keeps its own tasks
    elsewhere, and only pending ones can be listed."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 14):
        return None
    # The class's method: a run's task-factory slot shadows the instance's with the program's.
    if type(loop).get_task_factory(loop) is not None:
        return None
    registry = getattr(asyncio.tasks, "_scheduled_tasks", None)  # 3.12 and 3.13
    if registry is None:
        registry = getattr(asyncio.tasks, "_all_tasks", None)  # up to 3.11
    return registry if isinstance(registry, weakref.WeakSet) else None


def live_tasks() -> list[asyncio.Task[Any]]:
    """Every task alive (of any loop), done ones included: asyncio's registry of them where
    :func:`task_registry` has it, else the tasks on the heap."""
    registry = task_registry()
    return list(registry) if registry is not None else heap_tasks()


def task_registry() -> Optional[weakref.WeakSet[asyncio.Task[Any]]]:
    """asyncio's weak set of every live task of every loop, which each task joins when it is
    created (``asyncio.tasks._all_tasks``, up to Python 3.11), where reading it beats a walk of
    the heap: on PyPy, whose ``gc.get_objects()`` takes 50-130 ms where CPython's takes 1 ms."""
    if sys.implementation.name == "cpython":
        return None
    registry = getattr(asyncio.tasks, "_all_tasks", None)
    return registry if isinstance(registry, weakref.WeakSet) else None


def heap_tasks() -> list[asyncio.Task[Any]]:
    return list(tasks_among(gc.get_objects()))


def tasks_among(objects: list[Any]) -> Iterator[asyncio.Task[Any]]:
    """The tasks (of any loop) in ``objects``, typically ``gc.get_objects()``."""
    # Picked by a set lookup on type(obj), looped over in C: a heap can hold millions of
    # objects.  Unlike isinstance(), type() never reads __class__, which raises on a dead
    # weakref.proxy (websockets leaves one per connection).
    return itertools.compress(objects, map(_task_types().__contains__, map(type, objects)))


def _task_types() -> set[type]:
    """asyncio.Task (C and Python) and every subclass defined so far."""
    found: set[type] = set()
    unseen: list[type] = [asyncio.Task, getattr(asyncio.tasks, "_PyTask", asyncio.Task)]
    while unseen:
        cls = unseen.pop()
        if cls not in found:
            found.add(cls)
            unseen.extend(cls.__subclasses__())
    return found
