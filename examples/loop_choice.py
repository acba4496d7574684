"""Which event loop aioboot picked: uvloop on POSIX, winloop on Windows, asyncio's own otherwise.

python examples/loop_choice.py                       # loop: uvloop.Loop
AIOBOOT_LOOP=asyncio python examples/loop_choice.py  # loop: asyncio.unix_events._Unix...

Needs only aioboot: ``pip install aioboot-runner``.
"""

import asyncio

import aioboot


async def main() -> str:
    cls = type(asyncio.get_running_loop())
    return f"{cls.__module__}.{cls.__qualname__}"


if __name__ == "__main__":
    print(f"loop: {aioboot.run(main())}")
