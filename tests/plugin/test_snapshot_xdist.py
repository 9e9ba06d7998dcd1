"""pytest-xdist: many workers writing, updating and cleaning up snapshots at once."""

from __future__ import annotations

import json

import pytest

from .snapshot_helpers import Project, check_selection, prepared_orders, unused_lines

MANY = """
import os
import pytest

CASES = int(os.environ.get("CASES", "300"))
VERSION = os.environ.get("VERSION", "1")

def scenario(journal, n):
    for step in range(5):
        journal.append({"case": n, "step": step, "version": VERSION})
    return journal

@pytest.mark.parametrize("n", range(CASES))
def test_case(journal, journal_snapshot, n):
    assert scenario(journal, n) == journal_snapshot
    journal_snapshot.assert_match(journal.read(3), name="tail")

class TestMore:
    @pytest.mark.parametrize("n", range(150))
    def test_more(self, journal, journal_snapshot, n):
        assert scenario(journal, 1000 + n) == journal_snapshot
"""


def check_files(project: Project, cases: int, version: str) -> None:
    files = project.files("test_many")
    assert len(files) == cases + 150
    for n in range(cases):
        stored = json.loads(files[f"test_case[{n}].json"])
        assert stored["test"] == f"test_case[{n}]"
        assert list(stored["snapshots"]) == ["1", "tail"]
        entries = stored["snapshots"]["1"]["entries"]
        assert [e["data"] for e in entries] == [
            {"case": n, "step": step, "version": version} for step in range(5)
        ]
        assert stored["snapshots"]["tail"]["entries"] == entries[3:]
    for n in range(150):
        stored = json.loads(files[f"TestMore.test_more[{n}].json"])
        assert [e["data"]["case"] for e in stored["snapshots"]["1"]["entries"]] == [
            1000 + n
        ] * 5


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["2", "4"])
def test_workers_update_and_clean_up_hundreds_of_cases(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    # Every file is written by the worker that ran its test, and the unused
    # ones are decided by the controller from all the workers' records.
    project = Project(pytester, monkeypatch, ("-n", workers))
    project.module("test_many", MANY)

    written = project.run("--phyxius-update")
    written.assert_outcomes(passed=450)
    written.stdout.fnmatch_lines(["journal snapshots: 750 written"])
    check_files(project, 300, "1")

    monkeypatch.setenv("VERSION", "2")
    updated = project.run("--phyxius-update")
    updated.assert_outcomes(passed=450)
    updated.stdout.fnmatch_lines(["journal snapshots: 750 updated"])
    check_files(project, 300, "2")

    compared = project.run(ci="true")
    compared.assert_outcomes(passed=450)
    compared.stdout.fnmatch_lines(["journal snapshots: 750 passed"])
    assert unused_lines(compared) == []

    monkeypatch.setenv("CASES", "250")
    reported = project.run()
    reported.assert_outcomes(passed=400)
    assert unused_lines(reported) == sorted(
        f"  __snapshots__/test_many/test_case[{n}].json: whole file (no such test)"
        for n in range(250, 300)
    )
    assert len(project.files("test_many")) == 450

    cleaned = project.run("--phyxius-update")
    cleaned.assert_outcomes(passed=400)
    cleaned.stdout.fnmatch_lines(["journal snapshots: 650 passed, 50 removed"])
    check_files(project, 250, "2")


@pytest.mark.slow
def test_four_workers_leave_deselected_tests_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ("-n", "4"))
    before = prepared_orders(project)

    check_selection(
        project,
        before,
        ["test_alpha.json", "test_beta[2].json"],
        "-k",
        "alpha or beta and 2",
    )


def test_a_crashed_workers_tests_leave_their_snapshots_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ("-n", "2"))
    before = prepared_orders(project)
    # Every test of the module runs on one worker, in order; the worker dies
    # after test_alpha completed, so its record of test_alpha never arrives.
    project.module(
        "test_orders",
        (project.root / "test_orders.py")
        .read_text()
        .replace(
            "@pytest.mark.parametrize",
            "def test_crash():\n    os._exit(1)\n\n@pytest.mark.parametrize",
            1,
        )
        .replace("import pytest", "import os\nimport pytest", 1),
    )

    result = project.run("--phyxius-update", "--dist", "loadfile")

    result.stdout.fnmatch_lines(["*worker 'gw?' crashed while running*test_crash*"])
    after = project.files()
    assert after["test_alpha.json"] == before["test_alpha.json"]
    assert "test_removed.json" in after
