"""A websockets (13 or later) echo server on the socket systemd passed: ``serve(..., sock=...)``.

Needs ``pip install aioboot-runner websockets``, and activation.py beside it.

    systemd-socket-activate -l 127.0.0.1:8765 python -m aioboot activated_websockets:main
"""

from activation import listening_socket
from websockets.asyncio.server import ServerConnection, serve

import aioboot


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main() -> None:
    stop = aioboot.stop_future()
    async with serve(echo, sock=listening_socket(8765)):
        print("serving", flush=True)
        await stop
