"""A socket-activated program for tests/test_activation.py:
``systemd-socket-activate -l ADDRESS ... python -m aioboot activated:main``.

It takes its sockets at import, outside the run, and serves each of them.  A client that
connects gets one JSON line: the sockets' names, whether a second call and a call by name give
the same socket objects, the LISTEN_* variables left in its environment, and what a child
process it starts sees: the LISTEN_* variables and which of the passed sockets it holds.  The
child is started with close_fds=False, so that only close-on-exec keeps a descriptor from it.
"""

import asyncio
import json
import os
import subprocess
import sys

import aioboot

SOCKETS = aioboot.listen_sockets()

# Lists the LISTEN_* variables it has, and which of the sockets (by inode) its descriptors are.
CHILD = """
import json, os, sys
wanted = {f"socket:[{inode}]" for inode in sys.argv[1:]}
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        if os.readlink(f"/proc/self/fd/{fd}") in wanted:
            held.append(int(fd))
    except OSError:
        pass  # the directory listing's own descriptor, closed by now
env = {k: v for k, v in os.environ.items() if k.startswith("LISTEN_")}
print(json.dumps({"env": env, "held": held}))
"""


def listen_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("LISTEN_")}


def what_a_child_sees() -> object:
    inodes = [str(os.fstat(sock.fileno()).st_ino) for sock in SOCKETS]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *inodes],
        close_fds=False,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


async def report(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    again = aioboot.listen_sockets()
    named = {name: aioboot.listen_sockets(name) for name in ("web", "admin", "unknown")}
    answer = {
        "count": len(SOCKETS),
        "same_again": len(again) == len(SOCKETS) and all(a is b for a, b in zip(again, SOCKETS)),
        "by_name": {name: [SOCKETS.index(s) for s in found] for name, found in named.items()},
        "env": listen_env(),
        "child": await asyncio.get_running_loop().run_in_executor(None, what_a_child_sees),
    }
    writer.write(json.dumps(answer).encode() + b"\n")
    await writer.drain()
    writer.close()


async def main() -> None:
    stop = aioboot.stop_future()
    servers = [await asyncio.start_server(report, sock=sock) for sock in SOCKETS]
    print("SERVING", len(servers), flush=True)
    await stop
    for server in servers:
        server.close()
        await server.wait_closed()
