"""The documentation's programs, run for real (the inline blocks of the pages run through sybil,
conftest.py at the root).

Each program of docs/examples/ that serves until it is stopped runs in a child process through
the launcher, as the pages run it: a real client's request is answered, then a real SIGTERM stops
it with the exit status the pages promise and the server's own shutdown.  The pytest plugin's
example runs under a real pytest.  Every file of docs/examples/ is included by a page and run here.
Every line of the launcher's error list is what the launcher prints for the command line it names.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
from conftest import (
    CHILD_TIMEOUT,
    PYTHON,
    ROOT,
    Child,
    Launch,
    Spawn,
    child_env,
    free_port,
    posix_only,
    run_env,
)
from test_activation import activate, needs_activate
from test_servers import http_request, skip_unless_installed, ws_message

pytest_plugins = ["pytester"]

DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"


@dataclass(frozen=True)
class Recipe:
    module: str
    needs: str
    client: Callable[[int], str]
    answer: str
    ready: str  # the line that says it listens, on stdout (or stderr, for the servers' own logs)
    ready_on_stderr: bool
    shutdown: Optional[str]  # printed by the server's own shutdown


RECIPES = [
    Recipe(
        "uvicorn_main", "uvicorn", http_request, "200 hello", "INFO:     Uvicorn running on",
        True, "app: lifespan shutdown",
    ),
    Recipe(
        "uvicorn_stop_future", "uvicorn", http_request, "200 hello",
        "INFO:     Uvicorn running on", True, "app: lifespan shutdown",
    ),
    Recipe(
        "hypercorn_serve", "hypercorn", http_request, "200 hello", "Running on http://", True,
        "app: lifespan shutdown",
    ),
    Recipe(
        "aiohttp_runner", "aiohttp", http_request, "200 hello", "serving on", False,
        "app: on_shutdown",
    ),
    Recipe(
        "websockets_serve", "websockets.asyncio.server", ws_message, "message 'answered'",
        "serving on", False, None,
    ),
    Recipe(
        "health_starlette", "starlette", http_request, "200 hello",
        "INFO:     Uvicorn running on", True, None,
    ),
]  # fmt: skip
# The recipes with a readiness route, /ready, for the drain.
HEALTH_RECIPES = [r for r in RECIPES if r.module in ("health_starlette", "aiohttp_runner")]


def launch(spawn: Spawn, *args: str, port: int) -> Child:
    return spawn([PYTHON, "-m", "aioboot", *args], env=child_env(PORT=str(port)), cwd=EXAMPLES)


@posix_only
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.module)
def test_a_server_recipe_answers_then_stops_on_sigterm(spawn: Spawn, recipe: Recipe) -> None:
    child, port = start_recipe(spawn, recipe)
    assert recipe.client(port) == recipe.answer, child.transcript()
    stop_as_the_page_says(child, recipe)


def start_recipe(spawn: Spawn, recipe: Recipe, *options: str) -> tuple[Child, int]:
    """The recipe through the launcher with ``options``, once it serves; and its port."""
    skip_unless_installed(recipe.needs)
    port = free_port()
    child = launch(spawn, *options, f"{recipe.module}:main", port=port)
    if recipe.ready_on_stderr:
        child.wait_for_stderr(recipe.ready)
    else:
        child.wait_for_line(recipe.ready)
    return child, port


def stop_as_the_page_says(child: Child, recipe: Recipe) -> None:
    """SIGTERM: the launcher ends by it however the recipe stops (cancelled, or through the stop
    future), as the pages promise; the server's own shutdown ran; no traceback."""
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()
    if recipe.shutdown is not None:
        assert recipe.shutdown in child.lines, child.transcript()
    assert "Traceback" not in child.stderr, child.transcript()


def get(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CHILD_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return f"{response.status} {response.read().decode()}"
    finally:
        connection.close()


@posix_only
@pytest.mark.parametrize("recipe", HEALTH_RECIPES, ids=lambda r: r.module)
def test_a_health_recipe_is_not_ready_during_the_drain_while_it_still_serves(
    spawn: Spawn, recipe: Recipe
) -> None:
    child, port = start_recipe(spawn, recipe, "--drain-delay", "60")
    assert get(port, "/ready") == "200 ready"
    child.send(signal.SIGTERM)
    child.wait_for_stderr("aioboot: received SIGTERM: draining for 60 s")
    assert get(port, "/ready") == "503 stopping"
    assert get(port, "/") == "200 hello"  # still served: the load balancer is moving traffic away
    child.send(signal.SIGINT)  # ends the drain at once; main returns after its graceful stop
    assert child.finish() == -signal.SIGINT, child.transcript()  # the stop is the Ctrl-C's
    assert "Traceback" not in child.stderr, child.transcript()


def test_the_kubernetes_grace_period_covers_the_drain_and_the_shutdown() -> None:
    yaml = pytest.importorskip("yaml")
    from aioboot._cli_options import parse_options, split_argv

    page = (DOCS / "howto" / "kubernetes.md").read_text()
    spec = yaml.safe_load(page.split("```yaml\n", 1)[1].split("```", 1)[0])["spec"]
    [container] = spec["containers"]
    options = parse_options(split_argv(container["args"])[0])
    assert options.target == "myapp.server:main"
    assert options.drain_delay is not None
    assert (
        options.drain_delay
        >= container["readinessProbe"]["periodSeconds"]
        * (container["readinessProbe"]["failureThreshold"])
    )
    shutdown_budget = 7 * options.shutdown_timeout  # docs/explanation/shutdown.md
    assert spec["terminationGracePeriodSeconds"] > options.drain_delay + shutdown_budget
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"  # as the recipes serve it


def greet(port: int, name: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=CHILD_TIMEOUT) as sock:
        sock.sendall(f"{name}\n".encode())
        return sock.makefile("rb").readline()


# Each socket-activated recipe is the recipe above it serves the same way, on a passed socket.
_BY_MODULE = {recipe.module: recipe for recipe in RECIPES}
ACTIVATED = {
    "activated_uvicorn": _BY_MODULE["uvicorn_main"],
    "activated_hypercorn": _BY_MODULE["hypercorn_serve"],
    "activated_aiohttp": _BY_MODULE["aiohttp_runner"],
    "activated_websockets": _BY_MODULE["websockets_serve"],
    "activated_asyncio": Recipe(
        "greeter", "asyncio", lambda port: greet(port, "Ada").decode(), "hello, Ada\n",
        "serving", False, None,
    ),
}  # fmt: skip


@needs_activate
@pytest.mark.parametrize("module", ACTIVATED)
def test_a_socket_activated_recipe_answers_on_the_passed_socket_then_stops_on_sigterm(
    spawn: Spawn, module: str, loop_name: str
) -> None:
    recipe = ACTIVATED[module]
    skip_unless_installed(recipe.needs)
    port = free_port()
    command = [PYTHON, "-m", "aioboot", f"{module}:main"]
    child = activate(spawn, [f"127.0.0.1:{port}"], command, run_env(loop_name))
    # The program starts at this first connection, which waits in the socket's queue meanwhile.
    assert recipe.client(port) == recipe.answer, child.transcript()
    stop_as_the_page_says(child, recipe)


@posix_only
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_the_tutorial_server_greets_and_stops_gracefully(spawn: Spawn, stop: int) -> None:
    port = free_port()
    child = spawn([PYTHON, "greeter.py"], env=child_env(PORT=str(port)), cwd=EXAMPLES)
    child.wait_for_line(f"serving on 127.0.0.1:{port}")
    assert greet(port, "Ada") == b"hello, Ada\n"
    child.send(stop)
    assert child.finish() == 0, child.transcript()
    assert child.lines[-2:] == [
        f"stopping (signal {stop})",
        "shutdown hook: runs before the remaining tasks are cancelled",
    ]


@posix_only
def test_the_reload_recipe_reads_its_settings_again_on_sighup_and_keeps_them_if_broken(
    spawn: Spawn, tmp_path: Path
) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text('{"greeting": "hello"}')
    port = free_port()
    env = child_env(PORT=str(port), SETTINGS=str(settings))
    child = spawn([PYTHON, "-m", "aioboot", "reload_config:main"], env=env, cwd=EXAMPLES)
    child.wait_for_line(f"serving on 127.0.0.1:{port}")
    assert greet(port, "Ada") == b"hello, Ada\n"
    settings.write_text('{"greeting": "bonjour"}')
    child.send(signal.SIGHUP)
    child.wait_for_line("settings loaded: greeting='bonjour'")
    assert greet(port, "Ada") == b"bonjour, Ada\n"
    settings.write_text('{"greeting": ')
    child.send(signal.SIGHUP)
    child.wait_for_stderr("aioboot: reload callback reload_config:load_settings failed")
    assert greet(port, "Ada") == b"bonjour, Ada\n"  # the settings it had
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()
    assert "json.decoder.JSONDecodeError" in child.stderr


def source_line_of(path: Path, text: str) -> int:
    """The number of the one line of ``path`` that contains ``text``."""
    numbers = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(numbers) == 1, (path, text, numbers)
    return numbers[0]


@posix_only
def test_the_tutorial_server_in_production_dumps_its_tasks_on_sigusr1(spawn: Spawn) -> None:
    port = free_port()
    child = launch(spawn, "--stall-warning", "1", "greeter:main", port=port)
    child.wait_for_line("serving on")
    child.send(signal.SIGUSR1)
    child.wait_for_stderr("--- end of aioboot dump ---")
    assert greet(port, "Grace") == b"hello, Grace\n"  # the program went on
    child.send(signal.SIGTERM)
    assert child.finish() == -signal.SIGTERM, child.transcript()
    assert "task 'Task-1' running main() [pending]" in child.stderr
    # Main's chain ends on the line it waits on; 3.14+ shows it as asyncio's call graph does, with
    # no source text (docs/howto/diagnose.md).
    line = source_line_of(EXAMPLES / "greeter.py", "signum = await stop")
    assert re.search(rf"greeter\.py['\"], line {line}, in (async )?main\b", child.stderr)


def test_the_pytest_example_fails_only_with_the_plugin(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_asyncio")
    pytester.makepyfile(test_poller=(EXAMPLES / "pytest_poller.py").read_text())
    pytester.makepyprojecttoml((EXAMPLES / "pytest_pyproject.toml").read_text())
    without = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "aioboot=false")
    assert without.ret == pytest.ExitCode.OK, without.stdout.str()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "task 'poller' running poll() (started by the test) failed and nobody retrieved its"
            " exception:",
            "ConnectionError: http://127.0.0.1:9 refused the connection",
        ]
    )


def included_files() -> set[str]:
    """The files of docs/examples/ that some page includes."""
    pattern = re.compile(r"```\{literalinclude\} (?:\.\./)*examples/(\S+)")
    return {name for page in DOCS.rglob("*.md") for name in pattern.findall(page.read_text())}


def test_every_docs_example_is_shown_and_run() -> None:
    examples = {path.name for path in EXAMPLES.iterdir() if path.suffix in (".py", ".toml")}
    run_here = (
        {r.module + ".py" for r in RECIPES}
        | {m + ".py" for m in ACTIVATED}
        | {
            "hello.py",  # the recipes' app
            "activation.py",  # the socket-activated recipes' socket
            "greeter.py",
            "reload_config.py",
            "pytest_poller.py",
            "pytest_pyproject.toml",
        }
    )
    assert examples == run_here
    assert included_files() == examples


def test_the_readme_links_only_to_pages_that_exist() -> None:
    site = "https://aioboot-runner.readthedocs.io/en/latest/"
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(re.escape(site) + r"([\w/.-]*?)(?:\.html)?(?:#[\w-]+)?\)", readme)
    assert linked, "README.md links into the documentation"
    missing = [page for page in linked if not (DOCS / f"{page or 'index'}.md").is_file()]
    assert not missing, missing


def test_the_readme_server_is_the_recipe_the_suite_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    marker = 'docs/examples/websockets_serve.py" -->\n\n```python\n'
    shown = readme[readme.index(marker) + len(marker) :].split("```", 1)[0]
    recipe = (EXAMPLES / "websockets_serve.py").read_text()
    assert shown == recipe.split('"""\n\n', 1)[1]


# -- the launcher's error list (docs/reference/launcher.md) ----------------------------------------

ERROR = "aioboot: error: "

# The program the error list is about, as the reader's project would have it.
MYAPP = {
    "myapp/__init__.py": "",
    "myapp/server.py": """\
VERSION = "1.0"


async def main() -> None: ...


async def serve(port: int) -> None: ...


def entry() -> None: ...


async def events():
    yield


class App:
    async def start(self) -> None: ...


class Handler:
    def __call__(self) -> None: ...


handler = Handler()
""",
    "myapp/jobs.py": """\
class Worker:
    async def run(self) -> None: ...


worker = Worker()
""",
    "src/asyncio.py": "async def main() -> None: ...\n",
}

# The command line of each error that does not quote its target, by how the error starts; every
# other error's command line is the target it quotes.
COMMAND_LINES = {
    "file 'src/asyncio.py' cannot be imported": ["src/asyncio.py:main"],
    "--loop: unknown loop 'bogus'": ["--loop", "bogus", "myapp.server:main"],
    "--reload needs watchfiles": ["--reload", "myapp.server:main"],
    "--reload-dir: 'nowhere'": ["--reload", "--reload-dir", "nowhere", "myapp.server:main"],
    "--reload-dir is only used": ["--reload-dir", "myapp", "myapp.server:main"],
}

# The one part of an error that depends on the machine, asyncio's file, as the list shows it.
ASYNCIO_AS_SHOWN = "/usr/lib/python3.12/asyncio/__init__.py"


def documented_errors() -> list[str]:
    page = (DOCS / "reference" / "launcher.md").read_text()
    block = page.split("\n## Errors\n", 1)[1].split("\n```text\n", 1)[1].split("\n```", 1)[0]
    return block.splitlines()


def command_line(error: str) -> list[str]:
    message = error[len(ERROR) :]
    for start, argv in COMMAND_LINES.items():
        if message.startswith(start):
            return argv
    quoted = re.search(r"target '([^']+)'", message)
    assert quoted, f"{error!r} quotes no target: give its command line in COMMAND_LINES"
    return [quoted.group(1)]


def standard_library_path() -> list[str]:
    """sys.path without site-packages and the test suite's directories: the modules a missing
    top-level one is compared with are then the standard library's on any machine, not whatever
    else this one has installed."""
    bases = {Path(sys.base_prefix), Path(sys.base_exec_prefix)}
    return [
        entry
        for entry in sys.path
        if entry
        and any(Path(entry).is_relative_to(base) for base in bases)
        and not {"site-packages", "dist-packages"} & set(Path(entry).parts)
    ]


@pytest.mark.parametrize(
    "error", documented_errors(), ids=lambda error: " ".join(command_line(error))
)
def test_each_documented_launcher_error_is_what_the_launcher_prints(
    launch_here: Launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    for name, source in MYAPP.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    monkeypatch.setattr(sys, "path", standard_library_path())
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # the reload extra is not installed
    launched = launch_here(*command_line(error), cwd=tmp_path)
    printed = launched.stderr.replace(asyncio.__file__, ASYNCIO_AS_SHOWN)
    assert (launched.status, launched.stdout, printed) == (2, "", error)


def test_every_explicit_command_line_belongs_to_a_documented_error() -> None:
    messages = [error[len(ERROR) :] for error in documented_errors()]
    unused = [start for start in COMMAND_LINES if not any(m.startswith(start) for m in messages)]
    assert unused == []
