"""uvicorn's ``Server.serve()`` as main, nothing else: uvicorn handles the signals itself while it
serves, then gives them back and re-raises the one it caught.

    python uvicorn_main.py            or            python -m aioboot uvicorn_main:main
"""

from __future__ import annotations

import uvicorn
from slow_asgi import asgi_app, listening_socket, mark_uvicorn_shutdown, port_of, say

import aioboot


async def main() -> None:
    sock = listening_socket()
    config = uvicorn.Config(asgi_app(port_of(sock)), lifespan="on", access_log=False)
    mark_uvicorn_shutdown()
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    say(f"RESULT {aioboot.run(main())}")
