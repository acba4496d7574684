"""The tests of CPython's own ``test_asyncio/test_runners.py`` that aioboot does not pass, each
because it contradicts a design choice the README documents ("Where aioboot differs from
``asyncio.run``, on purpose").  This is the only list: the conformance suite skips exactly these,
with the reason shown, and runs every other test of the running Python's file.

Keys are ``Class.test_name``; a key that the running Python's file lacks is simply not used.
"""

from __future__ import annotations

DESIGNED_DIFFERENCES: dict[str, str] = {}
