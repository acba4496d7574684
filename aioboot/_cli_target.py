"""The launcher's target, ``module:attr.path`` or ``path/to/file.py:attr.path``: its form, its
import (as ``python -m`` or ``python path/to/file.py`` would set it up), and the check that it is
an async callable taking no arguments, made without calling it.  What is missing is named with
the closest existing names ("did you mean").
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Optional

from ._arguments import arguments_refusal, gives_awaitable, qualified_name, why_not_async
from ._cli_exit import UsageError

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

EXAMPLE = "myapp.server:main"


class Target:
    """A parsed target.  A plain class: building a NamedTuple class costs the launcher's start-up
    a quarter of a millisecond."""

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


def make_cwd_importable() -> None:
    # `python -m` already does this; the console script's sys.path[0] is its bin directory.
    cwd = os.getcwd()
    if sys.path[:1] != [cwd]:
        sys.path.insert(0, cwd)


# -- what the target names ------------------------------------------------------------------------


def parse_target(text: str) -> Target:
    """Split and check the target's form; a file target's file must exist.  Imports nothing."""
    # The last colon: a Windows path has one of its own (C:\app.py:main).
    where, colon, attr_path = text.rpartition(":")
    attrs = tuple(attr_path.split("."))
    if _is_path(where) and all(name.isidentifier() for name in attrs):
        return _file_target(text, where, attrs)
    if not colon or not all(where.split(".")) or not all(name.isidentifier() for name in attrs):
        hint = "" if colon else _did_you_mean([f"{text}:main"])
        raise UsageError(
            f"target {text!r} must look like 'module:function' or 'path/to/file.py:function', "
            f"e.g. '{EXAMPLE}'{hint}"
        )
    return Target(text, where, attrs)


def _is_path(where: str) -> bool:
    return where.endswith(".py") or any(sep and sep in where for sep in (os.sep, os.altsep, "/"))


def _file_target(text: str, path: str, attrs: tuple[str, ...]) -> Target:
    if not path.endswith(".py"):
        raise UsageError(
            f"target {text!r} names a path, which must be a .py file"
            + _did_you_mean(_targets_for_path(path, attrs))
        )
    if not os.path.isfile(path):
        raise UsageError(
            f"file {path!r} not found (target {text!r})"
            + _did_you_mean(_targets_for_missing_file(path, attrs))
        )
    return Target(text, os.path.basename(path)[: -len(".py")], attrs, path)


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
    typed_directory = path[: len(path) - len(name)]  # with the separator the user typed
    return [
        f"{typed_directory}{close}:{attr_path}" for close in difflib.get_close_matches(name, files)
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


def import_target(target: Target, program_args: list[str]) -> Callable[[], object]:
    """Import the target's module with ``sys.argv`` handed over, find the attribute, and check
    that calling it with no arguments gives an awaitable, without calling it."""
    # Until the module's file is known (a dotted name imports its parent packages to find it),
    # the program's parsers see the target as given.
    sys.argv = [target.text, *program_args]
    module = _import_module(target) if target.file is None else _import_file(target)
    owner: object = module
    for depth, name in enumerate(target.attrs, 1):
        try:
            found = getattr(owner, name)
        except AttributeError:
            missing = target.attrs[:depth]
            close = _close_attributes(owner, target, missing)
            raise UsageError(
                f"{target.described} has no attribute {'.'.join(missing)!r} "
                f"(target {target.text!r})" + _did_you_mean(close)
            ) from None
        if depth < len(target.attrs):
            owner = found
    return _runnable(found, target, owner, module)


def _import_module(target: Target) -> ModuleType:
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


def _argv0(spec: ModuleSpec, target: Target) -> str:
    """What ``python -m`` sets: the module's file; for a package, its directory, so that the
    program's parser reads ``usage: myapp`` rather than ``usage: __init__.py``."""
    if not spec.has_location or spec.origin is None:
        return target.text
    if spec.submodule_search_locations is not None:
        return os.path.dirname(spec.origin)
    return spec.origin


def _not_found(target: Target, missing: str) -> UsageError:
    return UsageError(
        f"module {missing!r} not found (target {target.text!r})"
        + _did_you_mean(_close_modules(target, missing))
    )


def _close_modules(target: Target, missing: str) -> list[str]:
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


def _close_attributes(obj: object, target: Target, missing: tuple[str, ...]) -> list[str]:
    import difflib

    public = [name for name in dir(obj) if not name.startswith("_")]
    return [
        target.with_attrs([*missing[:-1], close])
        for close in difflib.get_close_matches(missing[-1], public)
    ]


def _import_file(target: Target) -> ModuleType:
    """Import ``path/to/app.py`` as the module ``app`` with its directory first on sys.path, as
    ``python path/to/app.py`` would set things up, but by its name rather than as ``__main__``:
    its ``if __name__ == "__main__":`` block does not run, and a later ``import app`` is this same
    module, not a second copy that runs the top level again."""
    path = target.file
    assert path is not None
    # In place of the current directory that make_cwd_importable() put first.
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    sys.argv[0] = path
    name = target.module
    loaded = sys.modules.get(name)
    if loaded is not None:
        if _is_same_file(getattr(loaded, "__file__", None), path):
            return loaded  # already imported by name, e.g. as the --loop factory's module
        origin = getattr(loaded, "__file__", None) or "built-in"
        raise UsageError(
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


# -- whether it can be run ----------------------------------------------------------------------


def _runnable(
    found: object, target: Target, owner: object, module: ModuleType
) -> Callable[[], object]:
    """``found`` (the target's attribute of ``owner``) if it is visibly an async callable taking
    no arguments; refused before it is called otherwise, in run()'s words (``_arguments``): a
    synchronous body would run outside aioboot.run(), without the loop, signal handling and
    shutdown the launcher is for."""
    if not callable(found):
        raise UsageError(
            f"target {target.text!r} is not callable ({type(found).__name__}); "
            "expected an async function"
        )
    if not gives_awaitable(found):
        raise UsageError(f"target {target.text!r}: {why_not_async(found)}")
    if isinstance(owner, type) and _is_plain_method(owner, target.attrs[-1]):
        raise UsageError(_instance_method_refusal(target, owner, module))
    refusal = arguments_refusal(found)
    if refusal is not None:
        raise UsageError(
            f"target {target.text!r} is called with no arguments, but {refusal}; "
            "read options from sys.argv instead"
        )
    return found


def _is_plain_method(cls: type, name: str) -> bool:
    """Whether ``cls.name`` is a function defined in the class, which needs an instance: not a
    staticmethod, nor a classmethod (bound to the class when looked up)."""
    return inspect.isfunction(inspect.getattr_static(cls, name, None))


def _instance_method_refusal(target: Target, owner: type, module: ModuleType) -> str:
    """What to target instead of a class's method: an instance of the class that the module
    already has, else how to make one."""
    method = target.attrs[-1]
    start = (
        f"target {target.text!r} is a method of class {qualified_name(owner)}, which needs an "
        "instance"
    )
    instances = [
        target.with_attrs([name, method])
        for name, value in sorted(vars(module).items())
        if isinstance(value, owner) and not name.startswith("_")
    ]
    if instances:
        return start + _did_you_mean(instances)
    instance = owner.__name__.lower()
    return (
        f"{start}: create one in the module ({instance} = {owner.__name__}()) and target "
        f"'{target.with_attrs([instance, method])}', or make {method} a staticmethod or "
        "classmethod"
    )
