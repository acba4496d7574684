"""aiohttp on the socket systemd passed: a ``SockSite`` where aiohttp_runner.py has a
``TCPSite``; the same handlers and the same graceful ``runner.cleanup()``.

Needs ``pip install aioboot-runner aiohttp``, and activation.py and aiohttp_runner.py beside it.

    systemd-socket-activate -l 127.0.0.1:8080 python -m aioboot activated_aiohttp:main
"""

from activation import listening_socket
from aiohttp import web
from aiohttp_runner import hello, say_goodbye

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    app = web.Application()
    app.router.add_get("/", hello)
    app.on_shutdown.append(say_goodbye)
    runner = web.AppRunner(app, shutdown_timeout=4.0)  # under aioboot's 5 s
    await runner.setup()
    await web.SockSite(runner, listening_socket(8080)).start()
    print("serving", flush=True)
    try:
        await stop
    finally:
        await runner.cleanup()
