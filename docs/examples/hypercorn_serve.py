"""hypercorn with aioboot's stop request as its ``shutdown_trigger`` (without one, hypercorn
installs its own signal handlers).  Requests in flight get ``config.graceful_timeout`` seconds (3
by default) to finish.

Needs ``pip install aioboot-runner hypercorn`` and hello.py (the app) beside it.

    python -m aioboot hypercorn_serve:main      # or: python hypercorn_serve.py
"""

import os

from hello import app
from hypercorn.asyncio import serve
from hypercorn.config import Config

import aioboot


async def main() -> None:
    stop = aioboot.stop_future()
    config = Config()
    config.bind = [f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
    await serve(app, config, shutdown_trigger=lambda: stop)


if __name__ == "__main__":
    aioboot.run(main())
