"""The ASGI app the uvicorn and hypercorn recipes serve: ``GET /`` answers ``hello``, and the
lifespan protocol is handled, as a framework's app (FastAPI, Starlette) handles it.  Any ASGI app
can take its place.  Needs nothing but Python.
"""

from typing import Any, Awaitable, Callable

Message = dict[str, Any]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                print("app: lifespan shutdown", flush=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})
