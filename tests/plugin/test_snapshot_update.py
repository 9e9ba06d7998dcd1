"""``--phyxius-update``: write new and changed snapshots, remove unused ones."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, unused_lines

MODULE = """
import os

STEPS = int(os.environ.get("STEPS", "2"))

def test_orders(journal, journal_snapshot):
    for step in range(STEPS):
        journal.append({"step": step})
    assert journal == journal_snapshot
    if os.environ.get("SECOND") == "1":
        journal_snapshot.assert_match(journal, name="second")

def test_stable(journal, journal_snapshot):
    journal.append({"stable": True})
    assert journal == journal_snapshot
"""


@pytest.mark.parametrize("dist", DIST)
def test_update_rewrites_changed_snapshots_and_writes_new_ones(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)
    project.run().assert_outcomes(passed=2)
    stable = project.files()["test_stable.json"]
    monkeypatch.setenv("STEPS", "3")
    monkeypatch.setenv("SECOND", "1")

    failing = project.run()
    update = project.run("--phyxius-update", ci="true")
    after = project.run(ci="true")

    failing.assert_outcomes(passed=1, failed=1)
    update.assert_outcomes(passed=2)
    update.stdout.fnmatch_lines(
        [
            "journal snapshots: 1 passed, 1 written, 1 updated",
            "Written:",
            "  __snapshots__/test_orders/test_orders.json: second",
            "Updated:",
            "  __snapshots__/test_orders/test_orders.json: 1",
        ]
    )
    snapshots = project.snapshots("test_orders.json")
    assert list(snapshots) == ["1", "second"]
    assert [e["data"]["step"] for e in snapshots["1"]["entries"]] == [0, 1, 2]
    assert project.files()["test_stable.json"] == stable
    after.assert_outcomes(passed=2)
    after.stdout.fnmatch_lines(["journal snapshots: 3 passed"])


@pytest.mark.parametrize("dist", DIST)
def test_update_removes_unused_snapshots_and_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)
    monkeypatch.setenv("SECOND", "1")
    project.run().assert_outcomes(passed=2)
    monkeypatch.delenv("SECOND")
    project.add_orphan("test_renamed_away.json")

    result = project.run("--phyxius-update")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["journal snapshots: 2 passed, 2 removed", "Removed unused snapshots:"]
    )
    assert unused_lines(result) == [
        "  __snapshots__/test_orders/test_orders.json: 'second' of "
        "test_orders.py::test_orders",
        "  __snapshots__/test_orders/test_renamed_away.json: whole file (no such test)",
    ]
    assert sorted(project.files()) == ["test_orders.json", "test_stable.json"]
    assert list(project.snapshots("test_orders.json")) == ["1"]

    again = project.run("--phyxius-update")
    again.stdout.fnmatch_lines(["journal snapshots: 2 passed"])
    assert unused_lines(again) == []


@pytest.mark.parametrize("dist", DIST)
def test_update_removes_the_file_of_a_test_that_stopped_using_snapshots(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)
    project.run().assert_outcomes(passed=2)
    project.module(
        "test_orders",
        MODULE.replace("assert journal == journal_snapshot\n    if", "if"),
    )

    result = project.run("--phyxius-update")

    result.assert_outcomes(passed=2)
    assert unused_lines(result) == [
        "  __snapshots__/test_orders/test_orders.json: '1' of "
        "test_orders.py::test_orders"
    ]
    assert sorted(project.files()) == ["test_stable.json"]


@pytest.mark.parametrize("dist", DIST)
def test_update_removes_the_folder_when_no_snapshot_is_left(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_orders", MODULE)
    project.run().assert_outcomes(passed=2)
    project.module("test_orders", "def test_nothing():\n    pass\n")

    result = project.run("--phyxius-update")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["journal snapshots: 2 removed"])
    assert not (project.root / "__snapshots__").exists()
