"""Imports a sibling that does not exist: its name shares the target's package, yet it is not
the target or one of its parents."""

import cli_pkg.missing_sibling  # noqa: F401


async def main() -> None:
    raise AssertionError("never called")
