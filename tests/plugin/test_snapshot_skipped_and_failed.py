"""Skipped, failed, errored and interrupted tests never mark snapshots unused."""

from __future__ import annotations

import pytest

from .snapshot_helpers import DIST, Project, unused_lines

# With BREAK=1 every test but test_passing stops short of completion in its
# own way; without it every test passes and writes its snapshot.
MODULE = """
import os
import pytest

BREAK = os.environ.get("BREAK") == "1"

def place(journal, what):
    journal.append({"type": "order.placed", "what": what})
    return journal

@pytest.mark.skipif(BREAK, reason="skipped by marker")
def test_skipped_by_marker(journal, journal_snapshot):
    assert place(journal, "a") == journal_snapshot

def test_skipped_inside(journal, journal_snapshot):
    assert place(journal, "b") == journal_snapshot
    if BREAK:
        pytest.skip("skipped halfway")

def test_failing(journal, journal_snapshot):
    assert place(journal, "c") == journal_snapshot
    assert not BREAK, "fails after its first snapshot"

@pytest.fixture
def setup_step():
    if BREAK:
        raise RuntimeError("setup fails")

def test_setup_error(setup_step, journal, journal_snapshot):
    assert place(journal, "d") == journal_snapshot

@pytest.fixture
def teardown_step():
    yield
    if BREAK:
        raise RuntimeError("teardown fails")

def test_teardown_error(teardown_step, journal, journal_snapshot):
    assert place(journal, "e") == journal_snapshot

@pytest.mark.xfail(BREAK, reason="known bug", strict=True)
def test_xfail(journal, journal_snapshot):
    assert place(journal, "f") == journal_snapshot
    assert not BREAK

def test_passing(journal, journal_snapshot):
    assert place(journal, "g") == journal_snapshot
"""

NAMES = [
    "test_failing.json",
    "test_passing.json",
    "test_setup_error.json",
    "test_skipped_by_marker.json",
    "test_skipped_inside.json",
    "test_teardown_error.json",
    "test_xfail.json",
]


def prepared(project: Project) -> dict[str, str]:
    project.module("test_orders", MODULE)
    project.monkeypatch.delenv("BREAK", raising=False)
    project.run("--phyxius-update").assert_outcomes(passed=7)
    assert sorted(project.files()) == NAMES
    for name in NAMES:
        project.add_snapshot(name)
    return project.files()


@pytest.mark.parametrize("dist", DIST)
def test_only_the_test_that_ran_to_completion_loses_its_unused_snapshot(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared(project)
    monkeypatch.setenv("BREAK", "1")

    result = project.run("--phyxius-update")

    result.assert_outcomes(passed=2, skipped=2, failed=1, errors=2, xfailed=1)
    assert unused_lines(result) == [
        "  __snapshots__/test_orders/test_passing.json: '99' of "
        "test_orders.py::test_passing"
    ]
    after = project.files()
    assert sorted(after) == NAMES
    assert list(project.snapshots("test_passing.json")) == ["1"]
    for name in NAMES:
        if name != "test_passing.json":
            assert after[name] == before[name], f"{name} changed"


@pytest.mark.parametrize("dist", DIST)
def test_an_interrupted_session_leaves_the_tests_that_did_not_run_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = prepared(project)
    project.add_orphan("test_removed.json")
    monkeypatch.setenv("BREAK", "1")

    # test_failing is the first to fail: -x stops the session there, before
    # test_passing runs. (Under xdist, --dist loadfile runs the module on one
    # worker in order, so that no other worker gets to test_passing first.)
    loadfile = ("--dist", "loadfile") if dist else ()
    result = project.run("--phyxius-update", "-x", *loadfile)

    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    assert "test_removed.json" in project.files()
    assert unused_lines(result) == []
    assert project.files()["test_passing.json"] == before["test_passing.json"]
