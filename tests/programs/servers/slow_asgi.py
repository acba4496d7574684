"""What the server programs share: a listening socket, an ASGI app whose one endpoint is slow, and
the markers the tests wait for.

Markers on stdout: ``READY <port>`` once requests are served, ``IN FLIGHT`` when a request's
handler starts (it answers 200 after ``SLOW_SECONDS``), ``LIFESPAN SHUTDOWN`` when the server runs
the app's lifespan shutdown, ``STOPPING`` when the server's graceful shutdown begins.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Awaitable, Callable

# Long enough for the test to send its signals while the request is being handled; the tests
# synchronise on the printed lines, never on this duration.
SLOW_SECONDS = 1.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def say(line: str) -> None:
    print(line, flush=True)


def listening_socket() -> socket.socket:
    """Bound and listening before the server starts, so the port is known up front."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def slow_answer() -> bytes:
    say("IN FLIGHT")
    await asyncio.sleep(SLOW_SECONDS)
    return b"answered"


def asgi_app(port: int) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The app: READY once the server has run the lifespan startup, one slow endpoint."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "http":
            body = await slow_answer()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                say(f"READY {port}")
            elif message["type"] == "lifespan.shutdown":
                say("LIFESPAN SHUTDOWN")
                await send({"type": "lifespan.shutdown.complete"})
                return

    return app


class _SayWhenShuttingDown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() == "Shutting down":
            say("STOPPING")
        return True


def mark_uvicorn_shutdown() -> None:
    """Print STOPPING when uvicorn logs that its graceful shutdown begins (after its Config, which
    configures uvicorn's loggers)."""
    logging.getLogger("uvicorn.error").addFilter(_SayWhenShuttingDown())
