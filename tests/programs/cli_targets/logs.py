"""A target that logs at every level and configures nothing."""

import logging

log = logging.getLogger("target")


async def main() -> None:
    log.debug("DEBUG-LINE")
    log.info("INFO-LINE")
    log.warning("WARNING-LINE")
