"""The sdist tests itself (tox env sdist): run the suite from the sdist tox built and installed.

    python .ci/sdist_suite.py DIRECTORY [pytest arguments...]

tox has built the sdist, installed it with the test extra into this environment and named it in
$TOX_PACKAGE.  It is unpacked into DIRECTORY (emptied first) and pytest runs from there, so a file
the suite needs that the sdist lacks fails the run instead of being read from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path


def unpack(sdist: Path, directory: Path) -> Path:
    """The sdist's top directory, unpacked under ``directory``."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # 3.12+, and security releases of 3.9-3.11
            archive.extractall(directory, filter="data")
        else:
            archive.extractall(directory)  # our own archive, just built
    (top,) = directory.iterdir()
    return top


def main(args: list[str]) -> int:
    package = os.environ.get("TOX_PACKAGE", "")
    if not args or not package.endswith(".tar.gz"):
        print(
            f"sdist_suite.py: needs tox's sdist in $TOX_PACKAGE (got {package!r}; tox -e sdist "
            "without --installpkg) and a directory to unpack it into",
            file=sys.stderr,
        )
        return 2
    source = unpack(Path(package), Path(args[0]))
    # The environment's pytest script, not `python -m pytest`: that would put the unpacked copy
    # first on sys.path, and the suite would import aioboot from it instead of the installed one.
    pytest = shutil.which("pytest", path=str(Path(sys.executable).parent))
    return subprocess.call([pytest or "pytest", *args[1:]], cwd=source)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
