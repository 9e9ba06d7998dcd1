"""The README's Effect section runs as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_blocks import (
    blocks_with_tests,
    python_blocks,
    run_scripts,
    run_tests,
    scripts_of,
)

EFFECT = python_blocks("Effect")


def test_the_section_shows_what_the_issue_asks_for() -> None:
    code = "\n".join(block.code for block in EFFECT)

    # Context through a request, a timeout, a retry, a resource and its release.
    for name in ("run_effect", ".timeout(", "RetryPolicy(", "acquire_use_release("):
        assert name in code
    assert [name for b in blocks_with_tests(EFFECT) for name in b.tests] == [
        "test_retries_until_the_service_is_back"
    ]


def test_every_effect_example_runs(tmp_path: Path) -> None:
    run_scripts(scripts_of(EFFECT), tmp_path, [])


def test_the_effect_test_example_passes_under_the_plugin_alone(
    pytester: pytest.Pytester,
) -> None:
    run_tests(pytester, EFFECT, {})
