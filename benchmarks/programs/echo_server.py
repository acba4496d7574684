"""TCP echo server on 127.0.0.1: ``python echo_server.py RUNNER MODE``.

MODE ``streams`` serves with ``asyncio.start_server`` (reader/writer), ``protocol`` with a bare
``asyncio.Protocol``.  Prints ``READY <port> <loop class>`` once listening, then serves until the
parent kills it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Optional, cast

from _runners import run


class Echo(asyncio.Protocol):
    transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(mode: str) -> None:
    loop = asyncio.get_running_loop()
    if mode == "protocol":
        server = await loop.create_server(Echo, "127.0.0.1", 0)
    else:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port} {type(loop).__module__}.{type(loop).__name__}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    runner, how = sys.argv[1], sys.argv[2]
    run(runner, lambda: main(how))
