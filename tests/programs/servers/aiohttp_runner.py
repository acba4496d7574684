"""An aiohttp ``AppRunner`` site serving until aioboot's stop request, then ``runner.cleanup()``:
no new connections, in-flight requests finish (bounded by ``shutdown_timeout``), then the app's
``on_shutdown`` and ``on_cleanup`` run.

    python aiohttp_runner.py          or          python -m aioboot aiohttp_runner:main
"""

from __future__ import annotations

from aiohttp import web
from slow_asgi import listening_socket, port_of, say, slow_answer

import aioboot


async def slow(request: web.Request) -> web.Response:
    return web.Response(body=await slow_answer())


async def on_shutdown(app: web.Application) -> None:
    say("APP SHUTDOWN")


async def main() -> None:
    stop = aioboot.stop_future()
    app = web.Application()
    app.router.add_get("/", slow)
    app.on_shutdown.append(on_shutdown)
    runner = web.AppRunner(app, shutdown_timeout=5.0)
    await runner.setup()
    sock = listening_socket()
    await web.SockSite(runner, sock).start()
    say(f"READY {port_of(sock)}")
    try:
        await stop
        say("STOPPING")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    say(f"RESULT {aioboot.run(main())}")
