"""``--last-failed`` never marks the snapshots of the tests it leaves out unused."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, ORDERS, Project, check_selection, prepared_orders


@pytest.mark.parametrize("dist", DIST)
def test_last_failed_leaves_the_tests_that_passed_last_time_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared_orders(project)
    project.module("test_other", "def test_fine():\n    pass\n")
    broken = ORDERS.replace(
        "def test_alpha(journal, journal_snapshot):\n",
        "def test_alpha(journal, journal_snapshot):\n"
        "    import os\n    assert os.environ.get('FIXED')\n",
    )
    project.module("test_orders", broken)
    project.run(cache=True).assert_outcomes(passed=5, failed=1)
    monkeypatch.setenv("FIXED", "1")

    check_selection(project, before, ["test_alpha.json"], "--lf", cache=True)

    assert "test_removed.json" in project.files()
