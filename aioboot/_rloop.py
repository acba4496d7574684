"""``loop="rloop"``: rloop's loop, repaired where it breaks a contract of asyncio's that aioboot's
guarantees rest on (measured against rloop 0.5; docs/explanation/loop.md lists what works).

Each repair is an attribute of the loop instance, and each is made only where the defect is
there, so a later rloop that fixes one makes its repair a no-op:

- an exception handler is called ``handler(context)``, not ``handler(loop, context)``, and
  ``default_exception_handler()`` is missing: every report (a lost task exception, a failed
  shutdown hook) would be lost in a ``TypeError``;
- a ``SystemExit`` or ``KeyboardInterrupt`` raised by a task or a callback goes to the exception
  handler and the loop runs on: it now stops the loop and leaves ``run_forever()``, as asyncio's
  loop does, so the run ends with it;
- ``remove_signal_handler()`` fails with ``AttributeError`` (``_is_main_thread`` is missing), so
  a library could never give a stop signal back.

Imported only by a run on rloop.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Callable, Optional

import rloop

Context = dict[str, Any]
# rloop's own way to call a handler, with the context alone: (context, handler or None).
_RloopCall = Callable[[Context, Optional[Callable[[Context], object]]], object]


def new_event_loop() -> asyncio.AbstractEventLoop:
    loop: Any = rloop.new_event_loop()
    rloop_call: Optional[_RloopCall] = getattr(loop, "_exc_handler", None)
    if rloop_call is not None and _calls_handlers_with_the_context_alone(loop):
        _Exceptions(loop, rloop_call).install()
    if not hasattr(loop, "_is_main_thread"):
        loop._is_main_thread = _is_main_thread
    result: asyncio.AbstractEventLoop = loop
    return result


def _calls_handlers_with_the_context_alone(loop: asyncio.AbstractEventLoop) -> bool:
    called_with: list[tuple[object, ...]] = []
    loop.set_exception_handler(lambda *args: called_with.append(args))
    try:
        loop.call_exception_handler({"message": "aioboot: how are handlers called?"})
    finally:
        loop.set_exception_handler(None)
    return len(called_with) == 1 and len(called_with[0]) == 1


def _is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Exceptions:
    """The loop's exception handling as asyncio's: ``handler(loop, context)``, a default
    handler, and a ``SystemExit``/``KeyboardInterrupt`` that ends ``run_forever()``."""

    def __init__(self, loop: Any, rloop_call: _RloopCall) -> None:
        self._loop = loop
        self._rloop_call = rloop_call
        self._run_forever: Callable[[], None] = loop.run_forever
        self._escaped: Optional[BaseException] = None

    def install(self) -> None:
        self._loop._exc_handler = self._call
        self._loop.default_exception_handler = self._default
        self._loop.run_forever = self._run_forever_then_raise

    def _call(self, context: Context, handler: Optional[Callable[..., object]]) -> object:
        exc = context.get("exception")
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            # asyncio's loop lets these out of run_forever(); rloop's would only log them.
            self._escaped = exc
            self._loop.stop()
            return None
        bound = None if handler is None else functools.partial(handler, self._loop)
        return self._rloop_call(context, bound)

    def _default(self, context: Context) -> None:
        self._rloop_call(context, None)

    def _run_forever_then_raise(self) -> None:
        self._run_forever()
        escaped, self._escaped = self._escaped, None
        if escaped is not None:
            raise escaped
