"""The start-up benchmark's trivial program.

``python startup.py RUNNER`` runs ``main()`` under that runner (see ``_runners.py``);
``python -m aioboot startup:main`` runs it through aioboot's launcher.
"""

from __future__ import annotations


async def main() -> int:
    return 0


if __name__ == "__main__":
    import sys

    from _runners import run

    run(sys.argv[1], main)
