"""Print one version's section of CHANGELOG.md (Keep a Changelog format): the release notes.

    python .github/changelog_section.py 0.1.0 [CHANGELOG.md]

The section is what lies between the version's ``## [0.1.0] - date`` heading and the next
``## `` heading or the link definitions at the end, without the heading itself.  A version with no
section, or an empty one, is an error: a release is not published without its notes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
_LINK_DEFINITION = re.compile(r"\[[^\]]+\]:\s")


def section(changelog: str, version: str) -> str:
    """The body of ``version``'s section, stripped; ``LookupError`` if it is missing or empty."""
    heading = re.compile(rf"## \[?{re.escape(version)}\]?(\s|$)")
    body: list[str] | None = None
    for line in changelog.splitlines():
        if body is None:
            if heading.match(line):
                body = []
        elif line.startswith("## ") or _LINK_DEFINITION.match(line):
            break
        else:
            body.append(line)
    if body is None:
        raise LookupError(f"no section for version {version} in the changelog")
    text = "\n".join(body).strip()
    if not text:
        raise LookupError(f"the changelog's section for version {version} is empty")
    return text


def main(args: list[str]) -> int:
    if len(args) not in (1, 2):
        print("usage: changelog_section.py VERSION [CHANGELOG.md]", file=sys.stderr)
        return 2
    path = Path(args[1]) if len(args) == 2 else CHANGELOG
    try:
        print(section(path.read_text(encoding="utf-8"), args[0]))
    except (OSError, LookupError) as exc:
        print(f"changelog_section.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
