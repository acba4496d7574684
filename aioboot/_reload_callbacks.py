"""SIGHUP's reload: the callbacks registered with ``aioboot.on_reload()``, run in order, one reload
at a time, announced to the service manager (``RELOADING=1`` ... ``READY=1``, as systemd's
``Type=notify-reload`` expects).  Imported by the first ``on_reload()``: a program that never
reloads does not pay for it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _report
from ._arguments import qualified_name

if TYPE_CHECKING:
    from ._notify import Notifier

logger = logging.getLogger("aioboot")

_KIND = "reload callback"


class ReloadCallbacks:
    """A runner's reload callbacks, and the reloads SIGHUP asks for: a SIGHUP during a reload is
    coalesced into one more reload after it, however many come."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: Optional[float],
        notifier: Optional[Notifier],
    ) -> None:
        self._loop = loop
        self._timeout = timeout  # each async callback's bound (None: unbounded)
        self._notifier = notifier
        self._callbacks: list[Callable[[], object]] = []
        self._reloading: Optional[asyncio.Task[None]] = None
        self._again = False

    def add(self, callback: Callable[[], object]) -> None:
        if not callable(callback):
            raise TypeError(f"aioboot.on_reload() needs a callable, not {callback!r}")
        self._callbacks.append(callback)

    def reload(self) -> None:
        """Start a reload, or ask for one more after the reload under way."""
        if self._reloading is not None:
            self._again = True
            logger.info("received SIGHUP during a reload: reloading again after it")
            return
        logger.info("received SIGHUP: reloading")
        self._reloading = self._loop.create_task(self._reload_until_settled())

    async def _reload_until_settled(self) -> None:
        try:
            while True:
                self._again = False
                await self._reload_once()
                if not self._again:
                    return
        finally:
            self._reloading = None

    async def _reload_once(self) -> None:
        if self._notifier is not None:
            self._notifier.reloading()
        for callback in list(self._callbacks):
            await self._run(callback)
        if self._notifier is not None:
            self._notifier.ready()
        logger.debug("reloaded")

    async def _run(self, callback: Callable[[], object]) -> None:
        """Run one callback; a failure, or an async one that overruns the timeout (then
        cancelled), is reported and the reload goes on."""
        try:
            result = callback()
        except (Exception, asyncio.CancelledError) as exc:
            _report.report_hook_failure(self._loop, callback, exc, _KIND)
            return
        if not inspect.isawaitable(result):
            return
        task: asyncio.Future[Any] = asyncio.ensure_future(result)
        try:
            await asyncio.wait([task], timeout=self._timeout)
        finally:
            if not task.done():  # it overran, or the reload itself is cancelled (the shutdown)
                task.cancel()
        if not task.done():
            name = f"{_KIND} {qualified_name(callback)}"
            _report.report_step_timeout(name, self._timeout)
            return
        failure = asyncio.CancelledError() if task.cancelled() else task.exception()
        if failure is not None:
            _report.report_hook_failure(self._loop, callback, failure, _KIND)
