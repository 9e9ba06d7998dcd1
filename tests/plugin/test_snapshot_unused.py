"""The unused-snapshot report at the end of a session (without ``--phyxius-update``)."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, ORDERS, Project, prepared_orders, unused_lines


@pytest.mark.parametrize("dist", DIST)
def test_unused_snapshots_are_reported_and_left_in_place(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    result = project.run()

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "*= phyxius journal snapshots =*",
            "journal snapshots: 5 passed, 6 unused",
            "Unused snapshots (pytest --phyxius-update removes them):",
        ]
    )
    assert unused_lines(result) == sorted(
        [
            "  __snapshots__/test_orders/TestGroup.test_gamma.json: '99' of "
            "test_orders.py::TestGroup::test_gamma",
            "  __snapshots__/test_orders/test_alpha.json: '99' of "
            "test_orders.py::test_alpha",
            "  __snapshots__/test_orders/test_beta[1].json: '99' of "
            "test_orders.py::test_beta[1]",
            "  __snapshots__/test_orders/test_beta[2].json: '99' of "
            "test_orders.py::test_beta[2]",
            "  __snapshots__/test_orders/test_delta.json: '99' of "
            "test_orders.py::test_delta",
            "  __snapshots__/test_orders/test_removed.json: whole file (no such test)",
        ]
    )
    assert project.files() == before


@pytest.mark.parametrize("dist", DIST)
def test_a_test_that_no_longer_uses_snapshots_has_its_file_reported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", ORDERS)
    project.run().assert_outcomes(passed=5)
    project.module(
        "test_orders",
        ORDERS.replace(
            'assert place(journal, "alpha") == journal_snapshot',
            'place(journal, "alpha")',
        ),
    )

    result = project.run()

    result.assert_outcomes(passed=5)
    assert unused_lines(result) == [
        "  __snapshots__/test_orders/test_alpha.json: '1' of test_orders.py::test_alpha"
    ]


@pytest.mark.parametrize("dist", DIST)
def test_a_session_without_unused_snapshots_reports_only_counts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", ORDERS)
    project.run().assert_outcomes(passed=5)

    result = project.run()

    result.stdout.fnmatch_lines(["journal snapshots: 5 passed"])
    assert unused_lines(result) == []
    result.stdout.no_fnmatch_line("*nused snapshots*")


@pytest.mark.parametrize("dist", DIST)
def test_a_session_without_snapshots_prints_no_section(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_plain", "def test_plain():\n    pass\n")

    result = project.run()

    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*journal snapshots*")
