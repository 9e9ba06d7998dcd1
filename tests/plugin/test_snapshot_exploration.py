"""Journal snapshots under ``--phyxius-runs`` and ``--phyxius-seed``.

A run of ``--phyxius-runs`` (``test_x[phyxius-run-2]``) and a
``--phyxius-seed`` replay are the test under another schedule: they compare
with the test's own snapshot file and never write, update or remove it.
"""

from __future__ import annotations

import re

import pytest

from .snapshot_helpers import DIST, Project

FLOW = """
import asyncio


async def write(journal, who):
    await asyncio.sleep(0)
    journal.append({"who": who})


async def test_steady(controlled_clock, journal, journal_snapshot):
    # One writer after the other: the same journal under every schedule.
    await write(journal, "a")
    await write(journal, "b")
    assert journal == journal_snapshot


async def test_racy(controlled_clock, journal, journal_snapshot):
    # Two writers at once: their order is the schedule's.
    await asyncio.gather(write(journal, "a"), write(journal, "b"))
    assert journal == journal_snapshot
"""

FILES = ["test_racy.json", "test_steady.json"]


def recorded(project: Project) -> dict[str, str]:
    """Write FLOW and record its snapshots with a plain run; return the files."""
    project.module("test_flow", FLOW)
    project.run().assert_outcomes(passed=2)
    files = project.files("test_flow")
    assert sorted(files) == FILES
    return files


def failed_ids(result: pytest.RunResult) -> set[str]:
    """The node ids of the failed tests, from the short summary."""
    return set(re.findall(r"^FAILED (\S+)", result.stdout.str(), re.M))


@pytest.mark.parametrize("dist", DIST)
def test_runs_compare_with_the_test_s_file_and_pass_when_the_schedule_is_moot(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)

    result = project.run("--phyxius-runs=3", "-k", "steady")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["journal snapshots: 3 passed"])
    result.stdout.no_fnmatch_line("Unused snapshots*")
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
def test_a_run_whose_journal_depends_on_the_schedule_fails_with_the_diff_and_its_seed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)

    result = project.run("--phyxius-runs=3", "-k", "racy")

    failed = failed_ids(result)
    assert failed, "no run of three reordered the two writers"
    assert failed <= {f"test_flow.py::test_racy[phyxius-run-{k}]" for k in (1, 2, 3)}
    result.assert_outcomes(passed=3 - len(failed), failed=len(failed))
    result.stdout.fnmatch_lines(
        [
            "E   *assert journal differs from snapshot '1' in "
            "__snapshots__/test_flow/test_racy.json",
            "E     This run follows seed * (run * of 3, --phyxius-runs), and the "
            "snapshot holds the journal of the test run as it is: the journal "
            "depends on the schedule.*",
            "*phyxius simulation*",
            "seed: * (run * of 3, --phyxius-runs)",
            "*",
            "replay: pytest 'test_flow.py::test_racy' --phyxius-seed=*",
        ]
    )
    result.stdout.fnmatch_lines([f"journal snapshots: *{len(failed)} failed"])
    result.stdout.no_fnmatch_line("Unused snapshots*")
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
def test_the_replay_of_a_failing_run_fails_the_same_way_and_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)
    explored = project.run("--phyxius-runs=3", "-k", "racy")
    seed = re.findall(r"--phyxius-seed=(\d+)", explored.stdout.str())[0]

    result = project.run(f"--phyxius-seed={seed}", "test_flow.py::test_racy")

    # A replay keeps the test's own id: no run part to strip.
    assert failed_ids(result) == {"test_flow.py::test_racy"}
    result.stdout.fnmatch_lines(
        [
            "E   *assert journal differs from snapshot '1' in "
            "__snapshots__/test_flow/test_racy.json",
            f"E     This run follows seed {seed} (--phyxius-seed), and the snapshot*",
        ]
    )
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
def test_runs_leave_the_test_s_unused_snapshots_and_files_unreported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    recorded(project)
    project.add_snapshot("test_steady.json", module="test_flow")
    before = project.files("test_flow")

    explored = project.run("--phyxius-runs=3", "-k", "steady")
    plain = project.run("-k", "steady")

    explored.assert_outcomes(passed=3)
    explored.stdout.no_fnmatch_line("Unused snapshots*")
    explored.stdout.no_fnmatch_line("*no such test*")
    # The test run as it is does decide, as always.
    plain.stdout.fnmatch_lines(
        [
            "Unused snapshots (pytest --phyxius-update removes them):",
            "  __snapshots__/test_flow/test_steady.json: '99' of "
            "test_flow.py::test_steady",
        ]
    )
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
@pytest.mark.parametrize("ci", [None, "1"], ids=["local", "ci"])
def test_a_missing_snapshot_fails_every_run_and_nothing_is_written(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    ci: str | None,
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_flow", FLOW)

    result = project.run("--phyxius-runs=3", "-k", "steady", ci=ci)

    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "E   *assert journal snapshot '1' does not exist in "
            "__snapshots__/test_flow/test_steady.json",
            "E     This run follows seed * (run * of 3, --phyxius-runs): it compares "
            "with the snapshots of test test_steady and never records them. Run "
            "the test once without --phyxius-runs (pytest "
            "'test_flow.py::test_steady') to record the snapshot, and commit the "
            "file.",
        ]
    )
    result.stdout.fnmatch_lines(["journal snapshots: 3 failed"])
    assert project.files("test_flow") == {}


@pytest.mark.parametrize("dist", DIST)
def test_runs_in_ci_compare_with_the_committed_snapshot(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)

    result = project.run("--phyxius-runs=3", "-k", "steady", ci="1")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["journal snapshots: 3 passed"])
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        pytest.param(
            "--phyxius-runs=3",
            r"^ERROR: --phyxius-update with --phyxius-runs=3: journal snapshots "
            r"record a test's own schedule, and these runs follow other seeds, so "
            r"they only compare; run pytest --phyxius-update without "
            r"--phyxius-runs to record or update snapshots$",
            id="runs",
        ),
        pytest.param(
            "--phyxius-seed=7",
            r"^ERROR: --phyxius-update with --phyxius-seed=7: journal snapshots "
            r"record a test's own schedule, and these runs follow other seeds, so "
            r"they only compare; run pytest --phyxius-update without "
            r"--phyxius-seed to record or update snapshots$",
            id="seed",
        ),
    ],
)
def test_update_with_a_seed_option_is_refused_and_changes_nothing(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    dist: tuple[str, ...],
    option: str,
    message: str,
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)
    project.add_snapshot("test_steady.json", module="test_flow")
    project.add_orphan("test_removed.json", module="test_flow")
    changed = project.files("test_flow")
    assert changed != before

    result = project.run("--phyxius-update", option)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert re.search(message, result.stderr.str(), re.M)
    assert project.files("test_flow") == changed


@pytest.mark.parametrize("dist", DIST)
def test_a_seed_replay_compares_with_the_test_s_file_and_never_writes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    before = recorded(project)

    replayed = project.run("--phyxius-seed=7", "-k", "steady")
    (project.folder("test_flow") / "test_steady.json").unlink()
    missing = project.run("--phyxius-seed=7", "-k", "steady")

    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["journal snapshots: 1 passed"])
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(
        [
            "E     This run follows seed 7 (--phyxius-seed): it compares with the "
            "snapshots of test test_steady and never records them. Run the test "
            "once without --phyxius-seed (pytest 'test_flow.py::test_steady') to "
            "record the snapshot, and commit the file.",
        ]
    )
    assert project.files("test_flow") == {"test_racy.json": before["test_racy.json"]}


PARAMETRIZED = """
import asyncio

import pytest


@pytest.mark.parametrize("n", [1, 2])
async def test_count(controlled_clock, journal, journal_snapshot, n):
    await asyncio.sleep(0)
    journal.append({"n": n})
    assert journal == journal_snapshot


def test_plain(journal, journal_snapshot):
    journal.append({"plain": True})
    assert journal == journal_snapshot
"""


@pytest.mark.parametrize("dist", DIST)
def test_the_runs_of_a_parametrized_test_use_the_file_of_its_own_parameters(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_flow", PARAMETRIZED)
    project.run("-k", "count").assert_outcomes(passed=2)
    before = project.files("test_flow")

    result = project.run("--phyxius-runs=2", "-k", "count")

    assert sorted(before) == ["test_count[1].json", "test_count[2].json"]
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["journal snapshots: 4 passed"])
    assert project.files("test_flow") == before


@pytest.mark.parametrize("dist", DIST)
def test_a_plain_test_under_the_seed_option_records_its_snapshot_as_always(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_flow", PARAMETRIZED)

    written = project.run("--phyxius-seed=7", "-k", "plain")
    compared = project.run("-k", "plain")

    # The option concerns simulated tests only: this one keeps its own ids.
    written.assert_outcomes(passed=1)
    written.stdout.fnmatch_lines(["journal snapshots: 1 written"])
    compared.assert_outcomes(passed=1)
    compared.stdout.fnmatch_lines(["journal snapshots: 1 passed"])
    assert sorted(project.files("test_flow")) == ["test_plain.json"]
