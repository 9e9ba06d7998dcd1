"""``-m`` deselection never marks a deselected test's snapshots unused."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, check_selection, prepared_orders


@pytest.mark.parametrize("dist", DIST)
def test_marker_selection_leaves_deselected_tests_snapshots_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    check_selection(project, before, ["test_delta.json"], "-m", "slow")

    assert "test_removed.json" in project.files()


@pytest.mark.parametrize("dist", DIST)
def test_negated_marker_selection_leaves_the_marked_tests_snapshots_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    selected = [
        "TestGroup.test_gamma.json",
        "test_alpha.json",
        "test_beta[1].json",
        "test_beta[2].json",
    ]
    check_selection(project, before, selected, "-m", "not slow")

    assert "test_removed.json" in project.files()
