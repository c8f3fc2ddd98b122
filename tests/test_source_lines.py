"""The sources keep to the project's line length, so they read without side-scrolling beside another file."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LONGEST = 120  # characters
FOLDERS = ("hdl_native", "pyx", "benchmarks", "tests", "tools", "docs")


def sources():
    """Every .py, .pyx and .pxd file of the checkout's own folders, and setup.py."""
    found = [REPO / "setup.py"] if (REPO / "setup.py").exists() else []
    for folder in FOLDERS:
        for suffix in ("*.py", "*.pyx", "*.pxd"):
            found += sorted(path for path in (REPO / folder).rglob(suffix) if "build" not in path.parts)
    return found


def test_no_source_line_is_longer_than_the_project_allows():
    files = sources()
    if not any(path.suffix == ".pyx" for path in files):
        pytest.skip(f"no kernel sources under {REPO} (an installed package without its checkout)")
    long_lines = [f"{path.relative_to(REPO)}:{number}: {len(line)} characters"
                  for path in files
                  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if len(line) > LONGEST]
    assert not long_lines, "\n".join(long_lines)
