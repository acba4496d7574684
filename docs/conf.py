"""Sphinx configuration of aioboot's documentation (``tox -e docs``; Read the Docs runs the same).

Sphinx with MyST-Parser (the pages are Markdown) and the furo theme: Sphinx is maintained and is
what anyio, trio and pytest-asyncio document themselves with, so autodoc renders the reference from
the docstrings; MkDocs 1.x has had no release since 2024-08.

The build is nitpicky and ``tox -e docs`` turns every warning into an error: a cross-reference to
an aioboot name that does not resolve fails the build.  It runs offline (no intersphinx: CI
reaches no documentation site), so references to the standard library and to the servers' and
pytest's APIs render as code without a link; ``_external_reference`` accepts exactly those.
"""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's aioboot, also where it is not installed

import aioboot  # noqa: E402
from aioboot import _types  # noqa: E402

project = "aioboot"
author = "aioboot developers"
copyright = "aioboot developers"
release = version = aioboot.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

nitpicky = True
autodoc_member_order = "bysource"
autodoc_typehints_format = "short"

html_theme = "furo"
html_title = f"aioboot {release}"
pygments_style = "friendly"
pygments_dark_style = "monokai"

# Modules outside aioboot whose names the docstrings and pages refer to.
_EXTERNAL = {*getattr(sys, "stdlib_module_names", ()), "pytest", "uvloop", "winloop"}
_EXTERNAL |= {"typing_extensions", "_pytest", "uvicorn", "hypercorn", "aiohttp", "websockets"}


def _public_name(target: str) -> str | None:
    """``aioboot._module.Name`` as the public ``aioboot.Name`` it is exported as, if it is."""
    parts = target.split(".")
    if len(parts) >= 3 and parts[0] == "aioboot" and parts[1].startswith("_"):
        name = ".".join(parts[2:])
        if parts[2] in aioboot.__all__:
            return f"aioboot.{name}"
    return None


def _external_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Node | None:
    """Resolve a type hint that names a private module to the public name; accept a reference to
    the standard library or a builtin, unlinked (see the module docstring)."""
    target = str(node.get("reftarget", ""))
    public = _public_name(target)
    if public is not None:
        domain = env.get_domain("py")
        return domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
        )
    top = target.split(".")[0]
    if node.get("refdomain") == "py" and (
        top in _EXTERNAL or _is_builtin(top) or _is_type_variable(target)
    ):
        return contnode
    return None


def _is_type_variable(target: str) -> bool:
    """A type variable of a signature (``T``, ``aioboot._runner.T``) has no page to link to."""
    module_name, _, name = target.rpartition(".")
    modules = [sys.modules.get(module_name)] if module_name else _aioboot_modules()
    for module in modules:
        if isinstance(getattr(module, name, None), TypeVar):
            return True
    # Only defined for the type checker (typing_extensions' TypeVarTuple, for call_later's args).
    return target == "Ts"


def _aioboot_modules() -> list[ModuleType]:
    return [module for name, module in sys.modules.items() if name.split(".")[0] == "aioboot"]


def _is_builtin(name: str) -> bool:
    return hasattr(builtins, name) or name in {"None", "True", "False"}


def _give_type_aliases(app: Sphinx, obj: Any, bound_method: bool) -> None:
    """The aliases of aioboot/_types.py exist only for type checkers, so autodoc could not
    evaluate a signature that uses them: each aioboot module it documents gets them first."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is not None and module.__name__.split(".")[0] == "aioboot":
        for name in _types.__all__:
            vars(module).setdefault(name, getattr(_types, name))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _external_reference)
    app.connect("autodoc-before-process-signature", _give_type_aliases)
    return {"parallel_read_safe": True}
