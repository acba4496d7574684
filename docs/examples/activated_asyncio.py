"""The tutorial's greeter on the socket systemd passed: ``asyncio.start_server(sock=...)``.
Needs nothing but aioboot, and activation.py and greeter.py beside it.

    systemd-socket-activate -l 127.0.0.1:8888 python -m aioboot activated_asyncio:main
    printf 'Ada\n' | nc 127.0.0.1 8888      # the first connection starts the program
"""

import asyncio

from activation import listening_socket
from greeter import greet

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    server = await asyncio.start_server(greet, sock=listening_socket(8888))
    async with server:  # leaving it closes the program's socket; systemd keeps its own open
        aioboot.ready()
        print("serving", flush=True)
        await stop
