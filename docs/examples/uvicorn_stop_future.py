"""uvicorn wired to aioboot's stop request, for a main that has more to do around the server.
uvicorn still takes the signals while it serves; the stop future also resolves on
``aioboot.request_stop()``.

Needs ``pip install aioboot-runner uvicorn`` and hello.py (the app) beside it.

    python -m aioboot uvicorn_stop_future:main      # or: python uvicorn_stop_future.py
"""

import asyncio
import os

import uvicorn
from hello import app

import aioboot


async def serve_until_stopped(server: uvicorn.Server) -> None:
    """Serve until aioboot's stop request, then shut down as uvicorn does on a signal."""
    stop = aioboot.stop_future()

    async def exit_when_asked() -> None:
        await stop
        server.should_exit = True  # uvicorn's graceful shutdown

    watcher = asyncio.create_task(exit_when_asked())
    await server.serve()
    watcher.cancel()


async def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    await serve_until_stopped(uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port)))


if __name__ == "__main__":
    aioboot.run(main())
