"""uvicorn's ``Server.serve()`` as main.  uvicorn takes SIGINT and SIGTERM itself while it serves,
shuts down gracefully, gives the signals back and re-raises the one it caught: aioboot's first.

Needs ``pip install aioboot-runner uvicorn`` and hello.py (the app) beside it.

    python -m aioboot uvicorn_main:main      # or: python uvicorn_main.py
"""

import os

import uvicorn
from hello import app

import aioboot


async def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    config = uvicorn.Config(app, host="127.0.0.1", port=port)
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    aioboot.run(main())
