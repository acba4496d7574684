"""A readiness endpoint for a load balancer, with Starlette (FastAPI's routes work the same way)
served by uvicorn.  From the SIGTERM on, ``/ready`` answers 503 while every other route is still
served for ``--drain-delay`` seconds; then uvicorn shuts down gracefully.

aioboot owns the signals here: uvicorn's ``Server.serve()`` would take SIGTERM for itself and
stop at once, so the server's ``capture_signals`` does nothing, and the stop request, which comes
after the drain, starts uvicorn's graceful shutdown (``serve_until_stopped``).

Needs ``pip install aioboot-runner uvicorn starlette``, and uvicorn_stop_future.py and hello.py
beside it.

    python -m aioboot --drain-delay 10 health_starlette:main
"""

import contextlib
import os
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn_stop_future import serve_until_stopped

import aioboot


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def ready(request: Request) -> PlainTextResponse:
    if aioboot.is_stopping():
        return PlainTextResponse("stopping", status_code=503)
    return PlainTextResponse("ready")


app = Starlette(routes=[Route("/", hello), Route("/ready", ready)])


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the signals stay aioboot's


async def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    # The stop future it awaits resolves once the drain is over.
    await serve_until_stopped(Server(uvicorn.Config(app, host="127.0.0.1", port=port)))


if __name__ == "__main__":
    aioboot.run(main(), drain_delay=10)
