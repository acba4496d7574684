"""A websockets (13 or later) echo server.  Leaving ``async with serve(...)`` closes every
connection with code 1001 (going away) and waits for the handlers to return; a handler busy with a
message then gets ``ConnectionClosedOK`` from its ``send``.

Needs ``pip install aioboot-runner websockets``.

    python -m aioboot websockets_serve:main      # or: python websockets_serve.py
"""

import os

from websockets.asyncio.server import ServerConnection, serve

import aioboot


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main() -> None:
    stop = aioboot.stop_future()
    port = int(os.environ.get("PORT", "8765"))
    async with serve(echo, "127.0.0.1", port):
        print(f"serving on ws://127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    aioboot.run(main())
