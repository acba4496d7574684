"""A target that configures logging itself when imported: --log-level must not override it."""

import logging

logging.basicConfig(format="PROGRAM-FORMAT %(levelname)s %(message)s")
log = logging.getLogger("target")


async def main() -> None:
    log.info("INFO-LINE")
    log.warning("WARNING-LINE")
