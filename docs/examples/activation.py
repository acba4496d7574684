"""The socket for the socket-activation recipes: the first one the service manager passed
(systemd's ``.socket`` unit, ``systemd-socket-activate``), else one bound to 127.0.0.1:$PORT, so
that the same program also runs without a manager.  Needs nothing but aioboot.
"""

import os
import socket

import aioboot


def listening_socket(default_port: int) -> socket.socket:
    passed = aioboot.listen_sockets()
    if passed:
        return passed[0]
    port = int(os.environ.get("PORT", default_port))
    return socket.create_server(("127.0.0.1", port))
