"""A package, for dotted target modules."""

import argparse


async def prog() -> None:
    print("PROG", argparse.ArgumentParser().prog)
