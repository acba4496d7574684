"""A test that loses a task: it passes under plain pytest, and fails under ``pytest --aioboot``.

Needs pytest-asyncio (for ``@pytest.mark.asyncio``) and aioboot: ``pip install pytest-asyncio
aioboot-runner``.  Save it as ``tests/test_poller.py`` and run ``pytest --aioboot``.
"""

import asyncio

import pytest

pollers = []


async def poll(url: str) -> None:
    await asyncio.sleep(0)
    raise ConnectionError(f"{url} refused the connection")


@pytest.mark.asyncio
async def test_starts_a_poller() -> None:
    pollers.append(asyncio.create_task(poll("http://127.0.0.1:9"), name="poller"))
    await asyncio.sleep(0.01)
    assert not pollers[0].cancelled()  # done() and cancelled() never look at the exception
