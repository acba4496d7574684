"""uvicorn on the socket systemd passed: ``Server.serve(sockets=[...])``.  As in uvicorn_main.py,
uvicorn takes SIGINT and SIGTERM while it serves and re-raises the one it caught.

Needs ``pip install aioboot-runner uvicorn``, and hello.py and activation.py beside it.

    systemd-socket-activate -l 127.0.0.1:8000 python -m aioboot activated_uvicorn:main
"""

import uvicorn
from activation import listening_socket
from hello import app


async def main() -> None:
    server = uvicorn.Server(uvicorn.Config(app))
    await server.serve(sockets=[listening_socket(8000)])
