"""The tutorial's server: a TCP service that greets each client by the name it sends, and stops
gracefully on Ctrl-C or SIGTERM.  Needs nothing but aioboot (``pip install aioboot-runner``).

    python greeter.py                          # then: printf 'Ada\n' | nc 127.0.0.1 8888
    python -m aioboot greeter:main             # the same, through the launcher
"""

import asyncio
import os

import aioboot


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    name = (await reader.readline()).decode().strip()
    writer.write(f"hello, {name}\n".encode())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def say_goodbye() -> None:
    print("shutdown hook: runs before the remaining tasks are cancelled", flush=True)


async def main() -> None:
    stop = aioboot.stop_future()  # from now on a signal resolves this instead of cancelling main
    aioboot.on_shutdown(say_goodbye)
    port = int(os.environ.get("PORT", "8888"))
    server = await asyncio.start_server(greet, "127.0.0.1", port)
    async with server:  # leaving it closes the listening socket
        aioboot.ready()  # tells systemd the service is up; does nothing elsewhere
        print(f"serving on 127.0.0.1:{port}", flush=True)
        signum = await stop
        print(f"stopping (signal {signum})", flush=True)


if __name__ == "__main__":
    aioboot.run(main())
