"""The package as it is released: one version everywhere, and release notes for it.

Not named test_package.py: the launcher's tests run with tests/ on sys.path, and its did-you-mean
would offer ``test_package`` for their missing ``no_such_package``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
from types import ModuleType

import pytest
from conftest import CHILD_TIMEOUT, PYTHON, ROOT

import aioboot

NOTES_SCRIPT = ROOT / ".github" / "changelog_section.py"

CHANGELOG = """\
# Changelog

## [Unreleased]

## [1.1.0] - 2027-01-02

### Fixed

- a fix

## [1.0.0] - 2026-12-24

### Added

- everything

[Unreleased]: https://example.invalid/compare/v1.1.0...HEAD
[1.1.0]: https://example.invalid/compare/v1.0.0...v1.1.0
"""


def notes_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("changelog_section", NOTES_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_installed_distribution_has_the_package_version() -> None:
    assert importlib.metadata.version("aioboot-runner") == aioboot.__version__


def test_the_changelog_has_dated_notes_for_the_package_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = re.escape(aioboot.__version__)
    assert re.search(rf"^## \[{version}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE)
    assert notes_script().section(changelog, aioboot.__version__)


@pytest.mark.parametrize(
    ("version", "notes"),
    [
        ("1.1.0", "### Fixed\n\n- a fix"),
        # The last section ends at the link definitions, not at the end of the file.
        ("1.0.0", "### Added\n\n- everything"),
    ],
)
def test_a_versions_notes_are_its_section_without_the_heading(version: str, notes: str) -> None:
    assert notes_script().section(CHANGELOG, version) == notes


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("Unreleased", "the changelog's section for version Unreleased is empty"),
        ("1.0", "no section for version 1.0 in the changelog"),
        ("1.1.0rc1", "no section for version 1.1.0rc1 in the changelog"),
    ],
)
def test_a_missing_or_empty_section_is_an_error(version: str, error: str) -> None:
    with pytest.raises(LookupError, match=f"^{error}$"):
        notes_script().section(CHANGELOG, version)


def test_the_notes_script_prints_the_section_or_one_line_error() -> None:
    changelog = ROOT / "CHANGELOG.md"
    found = subprocess.run(
        [PYTHON, str(NOTES_SCRIPT), aioboot.__version__, str(changelog)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert (found.returncode, found.stderr) == (0, "")
    assert found.stdout.strip() == notes_script().section(
        changelog.read_text(encoding="utf-8"), aioboot.__version__
    )
    missing = subprocess.run(
        [PYTHON, str(NOTES_SCRIPT), "0.0.0", str(changelog)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "changelog_section.py: no section for version 0.0.0 in the changelog\n"
