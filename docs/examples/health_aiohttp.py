"""A readiness endpoint for a load balancer, with aiohttp.  From the SIGTERM on, ``/ready``
answers 503 while every other route is still served for ``--drain-delay`` seconds; then the
runner's cleanup stops accepting, lets requests in flight finish, and runs ``on_shutdown``.

Needs ``pip install aioboot-runner aiohttp``.

    python -m aioboot --drain-delay 10 health_aiohttp:main
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


async def main() -> None:
    stop = aioboot.stop_future()  # resolves once the drain is over
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/ready", ready)
    runner = web.AppRunner(app, shutdown_timeout=4.0)  # under aioboot's shutdown_timeout (5 s)
    await runner.setup()
    port = int(os.environ.get("PORT", "8080"))
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"serving on http://127.0.0.1:{port}", flush=True)
    try:
        await stop
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    aioboot.run(main(), drain_delay=10)
