"""``python -m aioboot``: the launcher (``aioboot._cli``); also the ``aioboot`` script's entry."""

from ._cli import main as main

if __name__ == "__main__":
    main()
