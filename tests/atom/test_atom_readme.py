"""The README's Atom section runs as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_blocks import (
    README,
    blocks_with_tests,
    python_blocks,
    run_scripts,
    run_tests,
    scripts_of,
)

ATOM = python_blocks("Atom")


def test_the_section_shows_what_the_issue_asks_for() -> None:
    code = "\n".join(block.code for block in ATOM)

    # Counter, compare-and-set, history, watchers, derived state, waiting.
    for call in (".update(", ".compare_and_set(", ".get_history()", ".watch("):
        assert call in code
    assert "### Derived state" in README.read_text(encoding="utf-8")
    assert [name for b in blocks_with_tests(ATOM) for name in b.tests] == [
        "test_the_job_finishes"
    ]


def test_every_atom_example_runs(tmp_path: Path) -> None:
    run_scripts(scripts_of(ATOM), tmp_path, [])


def test_the_atom_fixture_example_passes_under_the_plugin_alone(
    pytester: pytest.Pytester,
) -> None:
    run_tests(pytester, ATOM, {})
