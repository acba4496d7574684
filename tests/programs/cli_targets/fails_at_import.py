"""A target module that raises while it is imported."""


def configure() -> None:
    raise RuntimeError("fails while importing")


configure()


async def main() -> None:
    raise AssertionError("never called")
