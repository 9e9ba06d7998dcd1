"""``-k`` deselection never marks a deselected test's snapshots unused."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, check_selection, prepared_orders


@pytest.mark.parametrize("dist", DIST)
@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        pytest.param(
            "not beta",
            ["test_alpha.json", "TestGroup.test_gamma.json", "test_delta.json"],
            id="not",
        ),
        pytest.param("alpha and not gamma", ["test_alpha.json"], id="and"),
        pytest.param(
            "alpha or gamma",
            ["test_alpha.json", "TestGroup.test_gamma.json"],
            id="or",
        ),
    ],
)
def test_keyword_selection_reports_and_removes_only_selected_tests_snapshots(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    expression: str,
    selected: list[str],
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    check_selection(project, before, selected, "-k", expression)

    # The orphan file survived: the module was not selected in full.
    assert "test_removed.json" in project.files()
