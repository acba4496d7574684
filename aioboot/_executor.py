"""The run's default executor, and a shutdown of any executor that cannot hold the exit.

The stdlib pool's workers are joined at interpreter exit (and ``shutdown_default_executor`` ignores
its own timeout on CPython 3.12.1 and on uvloop), so a single job stuck in ``time.sleep`` keeps a
finished program alive with nothing said.  aioboot installs this pool as the loop's default
executor instead: same interface and thread names as asyncio's, but daemon workers, so after the
run has waited ``shutdown_timeout`` and named the job, the process is free to exit.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Callable, Optional, Tuple, TypeVar

T = TypeVar("T")

_Job = Tuple["Future[Any]", Callable[..., Any], Tuple[Any, ...], dict]  # type: ignore[type-arg]


class DaemonThreadPool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` (asyncio 3.11+ accepts no other) whose workers are daemon threads
    that the interpreter does not wait for at exit."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "asyncio") -> None:
        # The base class is only initialised for isinstance() and its attributes; it never gets a
        # job, so it never starts one of its own non-daemon threads.
        super().__init__(max_workers=1)
        self._limit = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._prefix = thread_name_prefix
        self._jobs: queue.SimpleQueue[Optional[_Job]] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._guard = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._current: dict[threading.Thread, Callable[..., Any]] = {}
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs.put((future, fn, args, kwargs))
            if not self._idle.acquire(timeout=0) and len(self._workers) < self._limit:
                self._start_worker()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._guard:
            self._closed = True
            if cancel_futures:
                self._cancel_queued()
            workers = list(self._workers)
            for _ in workers:
                self._jobs.put(None)
        if wait:
            for worker in workers:
                worker.join()

    def busy_workers(self) -> dict[threading.Thread, Callable[..., Any]]:
        """Workers still running a job, with the job's callable."""
        return {t: fn for t, fn in list(self._current.items()) if t.is_alive()}

    def _cancel_queued(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job[0].cancel()

    def _start_worker(self) -> None:
        name = f"{self._prefix}_{len(self._workers)}"
        worker = threading.Thread(target=self._work, name=name, daemon=True)
        self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args, kwargs = job
            if future.set_running_or_notify_cancel():
                self._current[me] = fn
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)
                finally:
                    del self._current[me]
                    del future, job  # a finished job's result must not live on in an idle worker
            self._idle.release()


def shutdown_in_background(executor: Executor) -> Future[None]:
    """Start ``executor.shutdown(wait=True)`` on a daemon thread; the future resolves when it ends.

    The caller bounds the wait; a shutdown that never ends costs one parked daemon thread.
    """
    done: Future[None] = Future()

    def shut() -> None:
        done.set_running_or_notify_cancel()  # from now on a caller giving up cannot cancel it
        try:
            executor.shutdown(wait=True)
        except BaseException as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)

    threading.Thread(target=shut, name="aioboot-executor-shutdown", daemon=True).start()
    return done
