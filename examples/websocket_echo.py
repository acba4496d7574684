"""A websockets echo server that stops gracefully: on SIGTERM or Ctrl-C, leaving ``async with
serve(...)`` closes every client connection with close code 1001 (going away), then main returns
and the process exits 0.

    python examples/websocket_echo.py [PORT]   # no PORT (or 0): an ephemeral one, printed

Needs aioboot and websockets >= 13: ``pip install aioboot-runner websockets``.
"""

import signal
import sys
from typing import Optional

from websockets.asyncio.server import ServerConnection, serve

import aioboot


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


def describe(signum: Optional[int]) -> str:
    return "a stop request" if signum is None else signal.Signals(signum).name


async def main(port: int) -> None:
    stop = aioboot.stop_future()
    async with serve(echo, "127.0.0.1", port) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"READY {bound}", flush=True)
        signum = await stop
        print(f"received {describe(signum)}: closing client connections (1001 going away)")
    print("server closed; exiting 0")


if __name__ == "__main__":
    aioboot.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
