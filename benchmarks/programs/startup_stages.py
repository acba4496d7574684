"""Start-up, stage by stage, in one interpreter: ``python startup_stages.py RUNNER`` prints one
JSON object, milliseconds per stage, and the time.monotonic() of its first and last line (the
parent turns them into "spawn -> first line" and "last line -> exit").

RUNNER is ``uvloop`` (uvloop.run), ``aioboot`` (aioboot.run) or ``launcher`` (the launcher's
``main()``, as ``python -m aioboot startup:main`` calls it).  uvloop is imported explicitly before
aioboot so that the run() stage does not include it (aioboot would import it lazily there).
"""

from __future__ import annotations

import time

BEGIN = time.monotonic()

import importlib  # noqa: E402  (after the first stamp, on purpose)
import importlib.util  # noqa: E402
import sys  # noqa: E402

from startup import main  # noqa: E402

stages: dict[str, float] = {}


def stage(name: str, step: object) -> object:
    started = time.perf_counter()
    result = step() if callable(step) else None
    stages[name] = (time.perf_counter() - started) * 1000
    return result


def launch() -> None:
    launcher = importlib.import_module("aioboot.__main__")
    try:
        launcher.main(["startup:main"])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


if __name__ == "__main__":
    runner = sys.argv[1]
    stage("import asyncio", lambda: importlib.import_module("asyncio"))
    if importlib.util.find_spec("uvloop") is not None:  # absent: aioboot runs on asyncio's loop
        uvloop = stage("import uvloop", lambda: importlib.import_module("uvloop"))
    if runner == "uvloop":
        stage("run()", lambda: uvloop.run(main()))  # type: ignore[attr-defined]
    else:
        aioboot = stage("import aioboot", lambda: importlib.import_module("aioboot"))
        if runner == "aioboot":
            stage("run()", lambda: aioboot.run(main()))  # type: ignore[attr-defined]
        else:
            stage("import aioboot.__main__", lambda: importlib.import_module("aioboot.__main__"))
            stage("launcher main()", launch)
    end = time.monotonic()
    import json

    print(json.dumps({"stages": stages, "begin": BEGIN, "end": end}))
