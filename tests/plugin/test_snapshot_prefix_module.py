"""A module whose name shares a prefix with the one run keeps its snapshots."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, ORDERS, Project, prepared_orders, unused_lines


@pytest.mark.parametrize("dist", DIST)
@pytest.mark.parametrize("other", ["test_orders_extra", "test_order"])
def test_running_one_module_leaves_a_module_sharing_its_prefix_alone(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    other: str,
) -> None:
    project = Project(pytester, monkeypatch, dist)
    prepared_orders(project)
    project.module(other, ORDERS)
    project.run("--phyxius-update", f"{other}.py").assert_outcomes(passed=5)
    for name in project.files(other):
        project.add_snapshot(name, module=other)
    project.add_orphan("test_removed.json", module=other)
    others_before = project.files(other)

    result = project.run("--phyxius-update", "test_orders.py")

    result.assert_outcomes(passed=5)
    removed = unused_lines(result)
    assert len(removed) == 6
    assert all(line.startswith("  __snapshots__/test_orders/") for line in removed)
    assert project.files(other) == others_before
