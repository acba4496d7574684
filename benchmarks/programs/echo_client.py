"""Echo client: ``python echo_client.py PORT CONNECTIONS MESSAGES SIZE MAX_SECONDS``.

Opens CONNECTIONS connections to 127.0.0.1:PORT, then each sends a SIZE-byte message, waits for
all of it to come back and sends the next, until MESSAGES round trips are done in all or
MAX_SECONDS have passed.  Prints ``{"messages": ..., "seconds": ...}``, timed from the first send
to the last echo.  The client is the same in every trial (uvloop when installed), so only the
server differs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Optional, cast


class Budget:
    """The round trips left to make, shared by every connection."""

    def __init__(self, total: int, seconds: float) -> None:
        self.total = total
        self.seconds = seconds
        self.deadline = float("inf")
        self.sent = 0
        self.received = 0
        self.closing = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(self) -> bool:
        if self.sent < self.total and time.monotonic() < self.deadline:
            self.sent += 1
            return True
        if self.received == self.sent and not self.done.done():
            self.done.set_result(None)
        return False


class Pinger(asyncio.Protocol):
    def __init__(self, budget: Budget, payload: bytes) -> None:
        self.budget = budget
        self.payload = payload
        self.pending = 0
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self) -> None:
        assert self.transport is not None
        if self.budget.take():
            self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        self.pending += len(data)
        while self.pending >= len(self.payload):
            self.pending -= len(self.payload)
            self.budget.received += 1
            self.send()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not (self.budget.done.done() or self.budget.closing):
            self.budget.done.set_exception(ConnectionError(f"server closed a connection: {exc}"))


async def main(port: int, connections: int, messages: int, size: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    budget = Budget(messages, seconds)
    payload = b"x" * size
    pingers = []
    for _ in range(connections):
        _, pinger = await loop.create_connection(lambda: Pinger(budget, payload), "127.0.0.1", port)
        pingers.append(pinger)
    started = time.monotonic()
    budget.deadline = started + seconds
    for pinger in pingers:
        pinger.send()
    try:
        await asyncio.wait_for(asyncio.shield(budget.done), seconds + 5)
    finally:
        elapsed = time.monotonic() - started
        budget.closing = True
        for pinger in pingers:
            if pinger.transport is not None:
                pinger.transport.abort()
    print(json.dumps({"messages": budget.received, "seconds": elapsed}), flush=True)


if __name__ == "__main__":
    port_, connections_, messages_, size_ = (int(a) for a in sys.argv[1:5])
    args = (port_, connections_, messages_, size_, float(sys.argv[5]))
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(*args))
    else:
        uvloop.run(main(*args))
