"""Loop choice: turn ``loop=`` (or ``AIOBOOT_LOOP``) into a factory that makes a new event loop.

No event-loop policy is read or changed here on any Python version: the chosen factory is simply
called, which is what ``asyncio.Runner(loop_factory=...)`` does on 3.12+ and what keeps 3.14's
policy deprecations silent.  The only exception is the plain ``"asyncio"`` choice, which calls
``asyncio.new_event_loop()`` so that a policy the *program* installed on 3.9-3.13 is respected,
exactly as ``asyncio.run`` does.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Iterable, Mapping

from ._arguments import qualified_name

if TYPE_CHECKING:
    from ._types import LoopFactory, LoopSpec

ENV_VAR = "AIOBOOT_LOOP"
NAMES = ("auto", "asyncio", "uvloop", "winloop", "rloop")

_logger = logging.getLogger("aioboot")


class ChosenLoop:
    """The outcome of loop choice: a human-readable name and the factory to call.  (A plain
    class, not a NamedTuple: this module is imported by every run.)"""

    __slots__ = ("factory", "name")

    def __init__(self, name: str, factory: LoopFactory) -> None:
        self.name = name
        self.factory = factory


def choose_loop(spec: LoopSpec | None = None) -> ChosenLoop:
    """Resolve a loop specification to a factory, importing the loop's module only now.

    ``spec`` is ``None`` (use ``AIOBOOT_LOOP``, else ``"auto"``), one of :data:`NAMES`, an import
    string ``"module:factory"``, or a callable returning a new loop.  Raises ``ValueError`` for an
    unknown name, ``ImportError`` (with the install command) for a loop that was asked for by name
    but is not installed, and ``TypeError`` for anything that is neither a string nor a callable.
    """
    if spec is None:
        spec = os.environ.get(ENV_VAR, "").strip() or "auto"
    if callable(spec):
        return ChosenLoop(qualified_name(spec), spec)
    if not isinstance(spec, str):
        raise TypeError(
            f"loop must be one of {', '.join(NAMES)}, a 'module:factory' string or a callable "
            f"returning a new event loop; got {spec!r}"
        )
    name = spec.strip()
    if name == "auto":
        return _auto()
    if name == "asyncio":
        return ChosenLoop("asyncio", _new_asyncio_loop)
    if name in ("uvloop", "winloop", "rloop"):
        return _fast_loop(name)
    if ":" in name:
        return _import_factory(name)
    raise ValueError(
        f"unknown loop {spec!r}: expected one of {', '.join(NAMES)}, "
        "or a 'module:factory' import string"
    )


def _new_asyncio_loop() -> asyncio.AbstractEventLoop:
    # Looked up at call time: a policy (or a patched new_event_loop) the program set is respected.
    return asyncio.new_event_loop()


def _auto() -> ChosenLoop:
    chosen = ChosenLoop("asyncio", _new_asyncio_loop)
    preferred = _platform_fast_loop()
    if preferred is not None:
        try:
            chosen = _fast_loop(preferred)
        except ImportError as exc:
            _logger.debug("%s is not usable (%s); falling back to asyncio", preferred, exc)
    _logger.debug("auto loop choice -> %s", chosen.name)
    return chosen


def _platform_fast_loop() -> str | None:
    """The fast loop this platform would use, or None where only asyncio's loop fits.  rloop is
    never chosen here: only by name (docs/explanation/loop.md says why)."""
    if sys.implementation.name != "cpython":
        return None
    return "winloop" if sys.platform == "win32" else "uvloop"


def _fast_loop(module_name: str) -> ChosenLoop:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name != module_name:
            raise  # installed but broken: its own error says more than ours could
        raise ImportError(
            f"loop {module_name!r} was requested but {module_name} is not installed; "
            f"install it with 'pip install {module_name}', or choose loop='asyncio'",
            name=module_name,
        ) from None
    factory: LoopFactory = module.new_event_loop
    if module_name == "rloop":
        from ._rloop import new_event_loop as repaired  # where it breaks asyncio's contracts

        factory = repaired
    return ChosenLoop(module_name, factory)


def _import_factory(target: str) -> ChosenLoop:
    module_name, _, attr_path = target.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"loop {target!r} must look like 'module:factory'")
    module = importlib.import_module(module_name)
    obj: object = module
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ValueError(
                f"loop {target!r}: {module_name} has no attribute {attr_path!r}"
            ) from None
    if not callable(obj):
        raise ValueError(f"loop {target!r} is not callable; it must return a new event loop")
    return ChosenLoop(target, obj)


def make_loop(chosen: ChosenLoop) -> asyncio.AbstractEventLoop:
    """Call the factory and check that what it made is an event loop."""
    loop = chosen.factory()
    # Duck-typed, as asyncio.Runner accepts any loop-like object (its own tests pass a Mock).
    if not callable(getattr(loop, "run_forever", None)):
        raise TypeError(f"loop factory {chosen.name} returned {loop!r}, not an event loop")
    return loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, or None (``asyncio.get_running_loop`` raises instead)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def shadow_methods(loop: asyncio.AbstractEventLoop, replacements: Mapping[str, object]) -> bool:
    """Shadow some of the loop's methods with instance attributes: the one way aioboot hooks a
    loop of any class (asyncio's, uvloop's, a program's) without subclassing it.  False, with
    nothing changed, for a loop that has no instance dict."""
    try:
        for name, replacement in replacements.items():
            setattr(loop, name, replacement)
    except (AttributeError, TypeError):
        unshadow_methods(loop, replacements)
        return False
    return True


def unshadow_methods(loop: asyncio.AbstractEventLoop, names: Iterable[str]) -> None:
    """Give the loop back its own methods (those :func:`shadow_methods` shadowed)."""
    instance = getattr(loop, "__dict__", None)
    if instance is not None:
        for name in names:
            instance.pop(name, None)
