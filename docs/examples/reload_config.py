"""A TCP service whose greeting comes from a settings file, read again on SIGHUP
(``systemctl reload``, ``kill -HUP``) without a restart: ``printf 'Ada\\n' | nc 127.0.0.1 8888``.
A settings file that fails to load is reported, and the service goes on with the settings it had.
Needs nothing but aioboot (``pip install aioboot-runner``).

    python -m aioboot reload_config:main       # then, from another terminal: kill -HUP <pid>
"""

import asyncio
import json
import os

import aioboot

SETTINGS_FILE = os.environ.get("SETTINGS", "settings.json")
settings = {"greeting": "hello"}


def load_settings() -> None:
    with open(SETTINGS_FILE) as file:
        loaded = json.load(file)  # a broken file raises here, and changes nothing
    settings.update(loaded)
    print(f"settings loaded: greeting={settings['greeting']!r}", flush=True)


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    name = (await reader.readline()).decode().strip()
    writer.write(f"{settings['greeting']}, {name}\n".encode())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    stop = aioboot.stop_future()
    load_settings()
    aioboot.on_reload(load_settings)  # SIGHUP now reloads instead of stopping
    port = int(os.environ.get("PORT", "8888"))
    server = await asyncio.start_server(greet, "127.0.0.1", port)
    async with server:
        aioboot.ready()  # systemd: up; each reload's RELOADING=1 ... READY=1 is aioboot's
        print(f"serving on 127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    aioboot.run(main())
