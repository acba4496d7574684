"""aiohttp through an ``AppRunner`` (``web.run_app`` would run its own loop).  On the stop request
``runner.cleanup()`` stops accepting, runs ``on_shutdown``, lets requests in flight finish within
the runner's ``shutdown_timeout``, then runs ``on_cleanup``.  ``/ready`` is for a load balancer:
503 from the stop request on, through the drain (``--drain-delay``) while ``/`` is still served.

Needs ``pip install aioboot-runner aiohttp``.

    python -m aioboot aiohttp_runner:main      # or: python aiohttp_runner.py
"""

import os

from aiohttp import web

import aioboot


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def ready(request: web.Request) -> web.Response:
    if aioboot.is_stopping():
        return web.Response(status=503, text="stopping")
    return web.Response(text="ready")


async def say_goodbye(app: web.Application) -> None:
    print("app: on_shutdown", flush=True)


async def main() -> None:
    stop = aioboot.stop_future()
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/ready", ready)
    app.on_shutdown.append(say_goodbye)
    # Under aioboot's shutdown_timeout (5 s), which bounds main's return after the stop request.
    runner = web.AppRunner(app, shutdown_timeout=4.0)
    await runner.setup()
    port = int(os.environ.get("PORT", "8080"))
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"serving on http://127.0.0.1:{port}", flush=True)
    try:
        await stop
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    aioboot.run(main())
