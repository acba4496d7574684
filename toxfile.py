"""tox plugin of this project (tox 4 loads ``toxfile.py`` from the project root by itself), so
that the README's bare ``tox`` means it:

- every CPython 3.9-3.15 this machine has is used, pyenv's included without ``PYENV_VERSION``
  exported: pyenv's shims run only the versions it names, so for this tox run it becomes the
  current version(s) followed by the newest installed release of every other minor version;
- a ``py3X`` or ``pypy3.X`` whose Python this machine lacks is left out of the run and said in one
  line; every other env must run (tox.ini: ``skip_missing_interpreters = false``), so ``type``
  without Python 3.9 fails instead of being skipped;
- ``deprecations`` runs on the newest of them.

Pythons are looked for the way tox-uv will look for them: ``uv python find``, system ones only
(tox.ini's ``uv_python_preference``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet, EnvConfigSet
from tox.config.types import EnvList
from tox.plugin import impl
from tox.session.state import State

MINORS = range(9, 16)  # CPython 3.9-3.15, the versions the project supports
DEPRECATIONS_FROM = 14  # the event-loop policy deprecations start warning on 3.14

_newest: int | None = None


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    global _newest
    _make_pyenv_versions_visible()
    uv = _uv()
    if uv is None:
        return  # no tox-uv in this tox: it provisions one (tox.ini requires) and loads us again
    # tox loads env_list once and keeps this object: what is left in it is what a bare tox runs.
    env_list: EnvList = core_conf["env_list"]
    cli_envs = getattr(state.conf.options, "env", None)
    asked_for = [] if cli_envs is None or cli_envs.is_default_list else list(cli_envs)
    found = _pythons_found(uv, [*env_list.envs, *asked_for])
    _newest = max((_minor(python) for python in found if python.startswith("3.")), default=None)
    missing = [env for env in env_list.envs if _python_of(env) not in (None, *found)]
    env_list.envs = [env for env in env_list.envs if env not in missing]
    if not asked_for:
        selected = env_list.envs
        if missing:
            _say_missing(missing, "skipped")
    else:
        selected = asked_for
        asked = [env for env in selected if _python_of(env) not in (None, *found)]
        if asked:
            _say_missing(asked, "will fail")
    skip_env = getattr(state.conf.options, "skip_env", "").strip()
    runs_deprecations = "deprecations" in selected and not (
        skip_env and re.match(skip_env, "deprecations")
    )
    if runs_deprecations and _newest is not None and _newest < DEPRECATIONS_FROM:
        _say(
            f"deprecations runs on CPython 3.{_newest}, the newest here; the event-loop policy "
            f"deprecations only warn from 3.{DEPRECATIONS_FROM} on"
        )


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    if env_conf.name == "deprecations" and _newest is not None:
        env_conf.loaders.insert(0, MemoryLoader(base_python=[f"py3{_newest}"]))


def _make_pyenv_versions_visible() -> None:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    current = subprocess.run(
        [pyenv, "version-name"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    names = [name for name in current.split(":") if name]
    named = {_minor_of_version(name) for name in names}
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    newest: dict[int, tuple[int, str]] = {}
    for entry in (root / "versions").glob("3.*"):
        match = re.fullmatch(r"3\.(\d+)\.(\d+)", entry.name)
        if match and int(match[1]) in MINORS:
            minor, patch = int(match[1]), int(match[2])
            newest[minor] = max(newest.get(minor, (patch, entry.name)), (patch, entry.name))
    names += [name for minor, (_, name) in sorted(newest.items()) if minor not in named]
    if names:
        os.environ["PYENV_VERSION"] = ":".join(names)


def _uv() -> str | None:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _pythons_found(uv: str, envs: list[str]) -> list[str]:
    """Of CPython 3.9-3.15 and the PyPys that ``envs`` name, the ones uv finds (as
    :func:`_python_of` names them), asked all at once (each answer takes up to ~0.2 s)."""
    wanted = [f"3.{minor}" for minor in MINORS]
    wanted += sorted({p for p in map(_python_of, envs) if p and p.startswith("pypy")})
    queries = {
        python: subprocess.Popen(
            [uv, "python", "find", "--python-preference", "only-system", python],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for python in wanted
    }
    return [python for python, query in queries.items() if query.wait(timeout=60) == 0]


def _python_of(env_name: str) -> str | None:
    """The Python a ``py3X`` or ``pypy3.X`` env runs on, as uv is asked for it (``3.X``,
    ``pypy3.X``); None for the other envs."""
    match = re.fullmatch(r"py3(\d+)|(pypy3\.\d+)", env_name)
    if match is None:
        return None
    return match[2] or f"3.{match[1]}"


def _minor(python: str) -> int:
    return int(python.rpartition(".")[2])


def _say_missing(envs: list[str], outcome: str) -> None:
    pythons = ", ".join(_python_name(str(_python_of(env))) for env in envs)
    _say(f"no {pythons} on this machine (PATH, pyenv): {', '.join(envs)} {outcome}")


def _python_name(python: str) -> str:
    return python.replace("pypy", "PyPy ") if python.startswith("pypy") else f"CPython {python}"


def _minor_of_version(name: str) -> int | None:
    match = re.match(r"3\.(\d+)", name)
    return int(match[1]) if match else None


def _say(message: str) -> None:
    print(f"toxfile.py: {message}", file=sys.stderr)
