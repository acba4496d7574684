"""hypercorn on the socket systemd passed, as a ``fd://`` bind.  hypercorn makes a socket object
of its own from the descriptor, closes it at its shutdown and makes it inheritable (for its
worker processes): it gets a copy of the descriptor, so that ours stays ours.

Needs ``pip install aioboot-runner hypercorn``, and hello.py and activation.py beside it.

    systemd-socket-activate -l 127.0.0.1:8000 python -m aioboot activated_hypercorn:main
"""

import os

from activation import listening_socket
from hello import app
from hypercorn.asyncio import serve
from hypercorn.config import Config

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    config = Config()
    config.bind = [f"fd://{os.dup(listening_socket(8000).fileno())}"]
    await serve(app, config, shutdown_trigger=lambda: stop)
