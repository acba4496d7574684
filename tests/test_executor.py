"""The run's default executor: aioboot's pool of daemon threads, made when the program first gives
the loop's default executor a job (``run_in_executor(None, ...)``, ``asyncio.to_thread``,
asyncio's ``getaddrinfo``), on every loop; a default executor the program sets itself is kept.
What a stuck job does to the shutdown is in test_report.py."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import aioboot

pytestmark = pytest.mark.timeout(60)


def current_thread() -> tuple[str, bool]:
    thread = threading.current_thread()
    return thread.name, thread.daemon


def test_the_first_job_makes_the_pool_of_daemon_threads_asyncio_names(loop_name: str) -> None:
    async def main() -> list[tuple[str, bool]]:
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(None, current_thread)
        return [first, await asyncio.to_thread(current_thread)]

    threads = aioboot.run(main(), loop=loop_name)
    assert all(name.startswith("asyncio_") and daemon for name, daemon in threads), threads


def test_a_job_for_an_explicit_executor_leaves_the_default_to_come(loop_name: str) -> None:
    async def main() -> tuple[str, tuple[str, bool]]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(thread_name_prefix="explicit") as pool:
            explicit, _ = await loop.run_in_executor(pool, current_thread)
        return explicit, await loop.run_in_executor(None, current_thread)

    explicit, default = aioboot.run(main(), loop=loop_name)
    assert explicit.startswith("explicit")
    assert default[0].startswith("asyncio_")
    assert default[1]


def test_a_default_executor_the_program_sets_is_kept(loop_name: str) -> None:
    pool = ThreadPoolExecutor(thread_name_prefix="the-programs")

    async def main() -> tuple[str, bool]:
        asyncio.get_running_loop().set_default_executor(pool)
        return await asyncio.to_thread(current_thread)

    try:
        name, daemon = aioboot.run(main(), loop=loop_name)
    finally:
        pool.shutdown(wait=True)
    assert name.startswith("the-programs")
    assert not daemon


def test_the_loop_is_given_back_its_own_methods_when_the_runner_closes(loop_name: str) -> None:
    with aioboot.Runner(loop=loop_name) as runner:
        loop = runner.get_loop()
        assert "run_in_executor" in vars(loop)  # the shadow that makes the pool on the first job
    assert "run_in_executor" not in vars(loop)
    assert "set_default_executor" not in vars(loop)
