"""The ``CI`` variable: a missing snapshot fails in CI instead of being written."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project

# Every spelling is checked in one process; the first of each list also
# under pytest-xdist (workers inherit the variable from the controller).
SERIAL, XDIST = (param.values[0] for param in DIST)

MODULE = """
def test_orders(journal, journal_snapshot):
    journal.append({"type": "order.placed"})
    assert journal == journal_snapshot
"""


@pytest.mark.parametrize(
    ("value", "dist"),
    [
        pytest.param("true", SERIAL, id="true-serial"),
        pytest.param("true", XDIST, id="true-xdist"),
        pytest.param("1", SERIAL, id="1-serial"),
        pytest.param("yes", SERIAL, id="yes-serial"),
        pytest.param("GitLab", SERIAL, id="word-serial"),
    ],
)
def test_a_missing_snapshot_fails_in_ci_and_nothing_is_written(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    value: str,
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)

    result = project.run(ci=value)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *assert journal snapshot '1' does not exist in "
            "__snapshots__/test_orders/test_orders.json",
            f"E     The CI environment variable is set (CI='{value}'), so a missing "
            "snapshot fails instead of being written. Run the test without CI set, "
            "or with --phyxius-update, on a development machine and commit the file.",
            "journal snapshots: 1 failed",
        ]
    )
    assert project.files() == {}


@pytest.mark.parametrize(
    ("value", "dist"),
    [
        pytest.param(None, SERIAL, id="unset-serial"),
        pytest.param(None, XDIST, id="unset-xdist"),
        pytest.param("false", XDIST, id="false-xdist"),
        pytest.param("", SERIAL, id="empty-serial"),
        pytest.param("0", SERIAL, id="0-serial"),
        pytest.param("false", SERIAL, id="false-serial"),
        pytest.param("No", SERIAL, id="no-serial"),
        pytest.param("off", SERIAL, id="off-serial"),
    ],
)
def test_without_ci_a_missing_snapshot_is_written(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    value: str | None,
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)

    result = project.run(ci=value)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["journal snapshots: 1 written"])
    assert list(project.files()) == ["test_orders.json"]


@pytest.mark.parametrize("dist", DIST)
def test_in_ci_stored_snapshots_compare_and_update_still_writes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)

    written = project.run("--phyxius-update", ci="true")
    compared = project.run(ci="true")

    written.assert_outcomes(passed=1)
    written.stdout.fnmatch_lines(["journal snapshots: 1 written"])
    compared.assert_outcomes(passed=1)
    compared.stdout.fnmatch_lines(["journal snapshots: 1 passed"])
