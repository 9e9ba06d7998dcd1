"""Selecting one case of a parametrized test leaves the other cases' snapshots alone."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, check_selection, prepared_orders


@pytest.mark.parametrize("dist", DIST)
def test_one_parametrized_case_by_node_id_leaves_the_other_case_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    check_selection(
        project, before, ["test_beta[2].json"], "test_orders.py::test_beta[2]"
    )

    assert "test_removed.json" in project.files()


@pytest.mark.parametrize("dist", DIST)
def test_one_parametrized_case_by_keyword_leaves_the_other_case_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    check_selection(project, before, ["test_beta[1].json"], "-k", "beta and 1")

    assert "test_removed.json" in project.files()


@pytest.mark.parametrize("dist", DIST)
def test_a_removed_parametrized_case_leaves_an_unused_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", _CASES.format(cases="[1, 2, 3]"))
    project.run().assert_outcomes(passed=3)
    project.module("test_orders", _CASES.format(cases="[1, 3]"))

    report = project.run()
    update = project.run("--phyxius-update")

    report.assert_outcomes(passed=2)
    report.stdout.fnmatch_lines(
        ["  __snapshots__/test_orders/test_case[2].json: whole file (no such test)"]
    )
    assert "test_case[2].json" not in project.files()
    update.stdout.fnmatch_lines(["journal snapshots: 2 passed, 1 removed"])


_CASES = """
import pytest

@pytest.mark.parametrize("n", {cases})
def test_case(journal, journal_snapshot, n):
    journal.append({{"n": n}})
    assert journal == journal_snapshot
"""
