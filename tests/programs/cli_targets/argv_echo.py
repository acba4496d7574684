"""Targets that show what the launcher handed them: argv, sys.path, loop, debug, eager tasks."""

import argparse
import asyncio
import json
import os
import sys


async def main() -> None:
    print("ARGV", json.dumps(sys.argv))
    print("PATH0", sys.path[0] == os.getcwd())


async def serve() -> None:
    """A program with its own argparse options, as a user's server would have."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("rest", nargs="*")
    options = parser.parse_args()
    print("PORT", options.port, "REST", json.dumps(options.rest))


async def loop_info() -> None:
    loop = asyncio.get_running_loop()
    print("LOOP", type(loop).__module__)
    print("DEBUG", loop.get_debug())


async def task_start() -> None:
    async def returns_at_once() -> None:
        pass

    # An eager task has run to its end inside create_task().
    print("EAGER", asyncio.create_task(returns_at_once()).done())


async def prog() -> None:
    """What the program's own parser calls itself (from sys.argv[0])."""
    print("PROG", argparse.ArgumentParser().prog)
