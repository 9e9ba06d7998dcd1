"""The README's Clock and Virtual time sections run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_blocks import (
    blocks_with_tests,
    modules_of,
    python_blocks,
    run_scripts,
    run_tests,
    scripts_of,
)

CLOCK = python_blocks("Clock")
VIRTUAL_TIME = python_blocks("Virtual time for asyncio")


def test_the_sections_have_the_examples_the_issue_asks_for() -> None:
    assert len(scripts_of(CLOCK)) >= 10
    assert set(modules_of(VIRTUAL_TIME)) == {"app"}
    tests = [name for block in blocks_with_tests(VIRTUAL_TIME) for name in block.tests]
    # An hour of sleep, with and without frozen wall time, and manual mode.
    assert {
        "test_beats_every_hour",
        "test_stamps_the_hour_it_finished",
        "test_step_by_step",
    } <= set(tests)


def test_every_clock_example_runs(tmp_path: Path) -> None:
    run_scripts(scripts_of(CLOCK), tmp_path, [])


def test_every_virtual_time_script_runs(tmp_path: Path) -> None:
    modules = modules_of(VIRTUAL_TIME)
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")

    run_scripts(scripts_of(VIRTUAL_TIME), tmp_path, list(modules))


def test_every_virtual_time_test_passes_under_the_plugin_alone(
    pytester: pytest.Pytester,
) -> None:
    run_tests(pytester, VIRTUAL_TIME, modules_of(VIRTUAL_TIME))
