"""A program with a heartbeat file, for tests/test_heartbeat.py:
``python -m aioboot [--heartbeat-file PATH] heartbeat:main [hang]`` or
``python heartbeat.py PATH [hang]`` (``run(heartbeat_file=PATH)``).

main says TURNING and lets its loop turn until the test writes a line on stdin; then says
BLOCKING and blocks its loop reading the next line; then says UNBLOCKED and waits for the stop
request.  With ``hang``, its shutdown hook says HOOK and never returns: only a forced exit ends
the run.
"""

import asyncio
import sys

import aioboot


def say(*words: object) -> None:
    print(*words, flush=True)


async def hang() -> None:
    say("HOOK")
    await asyncio.get_running_loop().create_future()


async def main() -> None:
    stop = aioboot.stop_future()
    if "hang" in sys.argv[1:]:
        aioboot.on_shutdown(hang)
    say("TURNING")
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    say("BLOCKING")
    sys.stdin.readline()  # blocks the loop: nothing else runs on it until the test writes
    say("UNBLOCKED")
    await stop


if __name__ == "__main__":
    aioboot.run(main(), heartbeat_file=sys.argv[1])
