"""The examples of README.md and of the documentation (docs/**/*.md) are tests: sybil collects
every ``python`` code block and runs it, the blocks of one page in one namespace, in order.

A block that cannot run alone is marked just before it with ``<!-- skip: next "why" -->``,
which shows as a skipped test with that reason.  Programs that serve until stopped are not inline
blocks: they live in docs/examples/, the pages include them, and tests/test_docs.py runs each in
a child process and stops it with a real signal.
"""

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md", "docs/*/*.md"],
    excludes=["docs/_build/*"],
).pytest()
