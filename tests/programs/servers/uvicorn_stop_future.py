"""uvicorn wired to aioboot's stop request: ``should_exit`` is set once the stop future resolves,
and main returns.

    python uvicorn_stop_future.py     or     python -m aioboot uvicorn_stop_future:main
"""

from __future__ import annotations

import asyncio

import uvicorn
from slow_asgi import asgi_app, listening_socket, mark_uvicorn_shutdown, port_of, say

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    sock = listening_socket()
    config = uvicorn.Config(asgi_app(port_of(sock)), lifespan="on", access_log=False)
    mark_uvicorn_shutdown()
    server = uvicorn.Server(config)

    async def exit_when_asked() -> None:
        await stop
        server.should_exit = True

    watcher = asyncio.create_task(exit_when_asked())
    await server.serve(sockets=[sock])
    watcher.cancel()


if __name__ == "__main__":
    say(f"RESULT {aioboot.run(main())}")
