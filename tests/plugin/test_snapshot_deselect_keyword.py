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


DOCTESTED = '''
def place(journal, what):
    """Append an order to the journal.

    >>> place([], "x") is None
    False
    """
    if isinstance(journal, list):
        return journal
    journal.append({"type": "order.placed", "what": what})
    return journal

def test_alpha(journal, journal_snapshot):
    assert place(journal, "alpha") == journal_snapshot

def test_beta(journal, journal_snapshot):
    assert place(journal, "beta") == journal_snapshot
'''


@pytest.mark.parametrize("dist", DIST)
def test_keyword_selection_with_doctests_leaves_deselected_tests_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    # Under --doctest-modules a module is collected twice, as tests and as
    # doctests, under one node id.
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", DOCTESTED)
    project.run("--doctest-modules").assert_outcomes(passed=3)
    project.add_orphan("test_removed.json")
    before = project.files()

    result = project.run("--doctest-modules", "--phyxius-update", "-k", "not beta")

    result.assert_outcomes(passed=2)
    assert project.files() == before
