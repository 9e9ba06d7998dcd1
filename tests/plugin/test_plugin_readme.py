"""The README's pytest plugin section runs as written."""

from __future__ import annotations

import pytest

from tests.readme_blocks import blocks_with_tests, python_blocks, run_tests

PLUGIN = python_blocks("The pytest plugin")


def session_module() -> str:
    """The Clock tour's ``Session``, which the section's first test imports."""
    (tour,) = [b for b in python_blocks("Clock") if "class Session" in b.code]
    return tour.code


def test_the_section_tests_the_fixture_the_marker_and_callback_errors() -> None:
    tests = [name for block in blocks_with_tests(PLUGIN) for name in block.tests]

    assert tests == [
        "test_session_expires_after_thirty_idle_seconds",
        "test_midsummer",
        "test_renewal_survives_a_gateway_outage",
    ]


def test_every_plugin_example_passes_under_the_plugin_alone(
    pytester: pytest.Pytester,
) -> None:
    run_tests(pytester, PLUGIN, {"session": session_module()})
