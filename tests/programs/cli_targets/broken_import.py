"""A target whose own import of something else fails: not "target not found"."""

import cli_targets_missing_dependency  # noqa: F401


async def main() -> None:
    raise AssertionError("never called")
