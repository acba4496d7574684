"""hypercorn's ``serve()`` with aioboot's stop request as its ``shutdown_trigger`` (without one,
hypercorn installs its own handlers with ``loop.add_signal_handler``).

    python hypercorn_serve.py         or         python -m aioboot hypercorn_serve:main
"""

from __future__ import annotations

from hypercorn.asyncio import serve
from hypercorn.config import Config
from slow_asgi import asgi_app, listening_socket, port_of, say

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    sock = listening_socket()
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    stop.add_done_callback(lambda _: say("STOPPING"))
    await serve(asgi_app(port_of(sock)), config, shutdown_trigger=lambda: stop)


if __name__ == "__main__":
    say(f"RESULT {aioboot.run(main())}")
