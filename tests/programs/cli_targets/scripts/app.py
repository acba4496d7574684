"""A file target, run as ``scripts/app.py:main`` from cli_targets/: imported as the module ``app``
with scripts/ first on sys.path, as ``python scripts/app.py`` would have it."""

import argparse
import json
import os
import sys

import helper  # importable only because scripts/ is first on sys.path

print("TOP LEVEL", __name__, flush=True)
HERE = os.path.dirname(os.path.abspath(__file__))


async def main() -> None:
    print("ARGV", json.dumps(sys.argv))
    print("PATH0", sys.path[0] == HERE)
    print("CWD ON PATH", os.getcwd() in sys.path)
    print("SAME MODULE", helper.imported_app() is sys.modules[__name__])


async def prog() -> None:
    print("PROG", argparse.ArgumentParser().prog)


if __name__ == "__main__":
    print("MAIN BLOCK RAN")
