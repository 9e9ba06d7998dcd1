"""The README's Deterministic simulation section runs as written and shows what runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.readme_blocks import (
    INNER_RUN_ARGS,
    blocks_with_tests,
    python_blocks,
    run_scripts,
    run_tests,
    scripts_of,
)

SECTION = python_blocks("Deterministic simulation")


def test_the_section_walks_from_a_failing_test_to_its_fix() -> None:
    tests = [name for block in blocks_with_tests(SECTION) for name in block.tests]

    assert tests == [
        "test_three_customers_pay_at_once",
        "test_no_schedule_and_no_plan_double_charges",
    ]
    assert len(scripts_of(SECTION)) == 4


def test_the_sections_scripts_print_what_it_shows(tmp_path: Path) -> None:
    run_scripts(scripts_of(SECTION), tmp_path, [])


def test_the_sections_tests_pass_run_once(pytester: pytest.Pytester) -> None:
    run_tests(pytester, SECTION, {})


def test_exploring_the_failing_test_reports_what_the_section_shows(
    pytester: pytest.Pytester,
) -> None:
    (block,) = [b for b in SECTION if "test_three_customers_pay_at_once" in b.tests]
    pytester.makepyfile(test_checkout=block.code)

    result = pytester.runpytest(*INNER_RUN_ARGS, "--phyxius-runs=50")

    result.assert_outcomes(failed=7, passed=43)
    result.stdout.fnmatch_lines(
        [
            "seed: 3101875931 (run 5 of 50, --phyxius-runs)",
            "faults: duplicate(to='payments', message=3)",
            "replay: pytest 'test_checkout.py::test_three_customers_pay_at_once' "
            "--phyxius-seed=3101875931",
        ]
    )
    replays = re.findall(
        r"^pytest '.*' --phyxius-seed=(\d+)$", result.stdout.str(), re.M
    )
    assert len(set(replays)) == 7

    replayed = pytester.runpytest(*INNER_RUN_ARGS, "--phyxius-seed=3101875931")
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines(["*charged more than once: {'c': 2}*"])
