"""Selecting tests by node id (or ``--deselect``) leaves the others' snapshots alone."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, check_selection, prepared_orders


@pytest.mark.parametrize("dist", DIST)
@pytest.mark.parametrize(
    ("node_ids", "selected"),
    [
        pytest.param(
            ["test_orders.py::test_alpha"], ["test_alpha.json"], id="function"
        ),
        pytest.param(
            ["test_orders.py::TestGroup"], ["TestGroup.test_gamma.json"], id="class"
        ),
        pytest.param(
            ["test_orders.py::test_alpha", "test_orders.py::TestGroup::test_gamma"],
            ["test_alpha.json", "TestGroup.test_gamma.json"],
            id="two",
        ),
    ],
)
def test_node_id_selection_reports_and_removes_only_selected_tests_snapshots(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    node_ids: list[str],
    selected: list[str],
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    check_selection(project, before, selected, *node_ids)

    assert "test_removed.json" in project.files()


@pytest.mark.parametrize("dist", DIST)
def test_deselect_option_leaves_the_deselected_tests_snapshots_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)

    selected = ["TestGroup.test_gamma.json", "test_alpha.json", "test_delta.json"]
    check_selection(
        project,
        before,
        selected,
        "--deselect",
        "test_orders.py::test_beta[1]",
        "--deselect",
        "test_orders.py::test_beta[2]",
    )

    assert "test_removed.json" in project.files()


@pytest.mark.parametrize("dist", DIST)
def test_the_whole_module_selected_removes_the_orphan_file_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    # The control for the cases above: with nothing deselected, every unused
    # snapshot goes, and so does the file of the removed test.
    project = Project(pytester, monkeypatch, dist)
    prepared_orders(project)

    result = project.run("--phyxius-update", "test_orders.py")

    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "journal snapshots: 5 passed, 6 removed",
            "  __snapshots__/test_orders/test_removed.json: whole file (no such test)",
        ]
    )
    assert "test_removed.json" not in project.files()
    assert all(list(project.snapshots(name)) == ["1"] for name in project.files())
