"""A loop factory for ``--loop custom_loop:new_loop``, importable from the current directory."""

import asyncio


def new_loop() -> asyncio.AbstractEventLoop:
    print("CUSTOM LOOP")
    return asyncio.new_event_loop()
