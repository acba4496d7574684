"""Which tasks a test created, for the pytest plugin: without a task factory or any per-task cost,
so on every loop, including the ones a sync test creates with ``asyncio.run()``.

The cheapest way this Python allows is chosen once per session:

- **freeze** (CPython's default build): ``gc.freeze()`` when the test starts moves every object
  that exists to the collector's permanent generation, which ``gc.get_objects()`` leaves out, so a
  scan sees only what the test created; ``gc.unfreeze()`` when the test ends.
- **registry** (PyPy, which has no ``gc.freeze()``): asyncio's own weak set of every task alive
  (``_task_failures.task_registry``), less the tasks that existed when the test started.
- **heap** (the free-threaded build, whose ``gc.freeze()`` hides nothing): every task on the heap,
  less those that existed when the test started: a scan of the whole heap at each phase boundary.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any, Callable

from ._task_failures import heap_tasks, live_tasks, task_registry

Tasks = list["asyncio.Task[Any]"]


class Census:
    """Lists the tasks created since :meth:`start`: ``listing`` returns every task that exists
    (of any loop); with ``freezes``, the ones that existed at :meth:`start` are hidden from it by
    ``gc.freeze()``, else they are remembered (weakly) and left out."""

    def __init__(self, name: str, listing: Callable[[], Tasks], freezes: bool) -> None:
        self.name = name
        self._listing = listing
        self._freezes = freezes
        self._frozen = False
        self._before: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def start(self) -> None:
        """The test starts: no task that exists now is its."""
        if self._freezes:
            gc.freeze()
            self._frozen = True
        else:
            self._before = weakref.WeakSet(self._listing())

    def new_tasks(self) -> Tasks:
        return [task for task in self._listing() if task not in self._before]

    def stop(self) -> None:
        """The test has ended: what :meth:`start` froze goes back to the oldest generation."""
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
        self._before = weakref.WeakSet()


def census() -> Census:
    """The cheapest census this Python allows (the module's docstring)."""
    if _freeze_hides_objects():
        return Census("freeze", heap_tasks, freezes=True)
    if task_registry() is not None:
        return Census("registry", live_tasks, freezes=False)
    return Census("heap", heap_tasks, freezes=False)


def _freeze_hides_objects() -> bool:
    """Whether ``gc.get_objects()`` leaves frozen objects out, as CPython's default build does
    (the free-threaded build's does not; PyPy has no ``gc.freeze()``)."""
    if not hasattr(gc, "freeze"):
        return False
    probe: list[object] = []
    gc.freeze()
    try:
        return all(obj is not probe for obj in gc.get_objects())
    finally:
        gc.unfreeze()
