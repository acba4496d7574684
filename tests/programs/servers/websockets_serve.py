"""A websockets server serving until aioboot's stop request. Leaving ``async with serve(...)``
closes every connection with code 1001 (going away) and waits for the handlers to return.

    python websockets_serve.py        or        python -m aioboot websockets_serve:main
"""

from __future__ import annotations

import asyncio

from slow_asgi import SLOW_SECONDS, listening_socket, port_of, say
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedOK

import aioboot


async def slow_echo(connection: ServerConnection) -> None:
    async for message in connection:
        say("IN FLIGHT")
        await asyncio.sleep(SLOW_SECONDS)
        try:
            await connection.send(message)
        except ConnectionClosedOK:
            return  # the server closed the connection (1001) while this message was handled


async def main() -> None:
    stop = aioboot.stop_future()
    sock = listening_socket()
    async with serve(slow_echo, sock=sock):
        say(f"READY {port_of(sock)}")
        await stop
        say("STOPPING")
    say("SERVER CLOSED")


if __name__ == "__main__":
    say(f"RESULT {aioboot.run(main())}")
