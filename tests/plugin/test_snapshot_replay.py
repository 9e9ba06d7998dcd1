"""Replay: a stored snapshot seeds a fresh journal with a known history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_phyxius.snapshot import SnapshotNotFoundError, read_journal_snapshot

from .snapshot_helpers import DIST, Project

HISTORY = """
import os

from pytest_phyxius.snapshot import SnapshotNotFoundError, read_journal_snapshot

def record(journal):
    journal.append({"type": "account.opened", "owner": "ada"})
    journal.append({"type": "money.deposited", "amount": 100}, metadata={"by": "atm"})
    journal.append({"type": "money.withdrawn", "amount": 30})
    return journal

def balance(journal):
    total = 0
    for entry in journal:
        if entry.data["type"] == "money.deposited":
            total += entry.data["amount"]
        elif entry.data["type"] == "money.withdrawn":
            total -= entry.data["amount"]
    return total

def test_record(journal, journal_snapshot):
    record(journal)
    if os.environ.get("RECORD", "1") == "1":
        journal_snapshot.assert_match(journal, name="history")

def test_replay(journal, journal_factory, journal_snapshot):
    fresh = journal_snapshot.replay(
        journal_factory("replayed"), "history", test="test_record"
    )

    assert balance(fresh) == 70
    # Ids, sequences, times, data and metadata all come back as recorded.
    stored = journal_snapshot.read("history", test="test_record")
    assert fresh.get_all() == list(stored.entries)
    assert [(e.sequence, e.at, e.data, e.metadata) for e in fresh] == [
        (e.sequence, e.at, e.data, e.metadata) for e in record(journal)
    ]
    fresh.append({"type": "money.withdrawn", "amount": 20})
    assert balance(fresh) == 50
    assert fresh.last().sequence == 3

def test_outside_a_test(request):
    path = request.path.parent / "__snapshots__" / "test_bank" / "test_record.json"
    snapshot = read_journal_snapshot(path, "history")
    assert [entry.data["type"] for entry in snapshot] == [
        "account.opened", "money.deposited", "money.withdrawn"
    ]
    assert snapshot.entries[1].metadata == {"by": "atm"}
    assert (snapshot.first_sequence, snapshot.next_sequence) == (0, 3)
"""


@pytest.mark.parametrize("dist", DIST)
def test_a_stored_snapshot_seeds_a_fresh_journal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_bank", HISTORY)
    project.run("test_bank.py::test_record").assert_outcomes(passed=1)

    result = project.run()

    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("dist", DIST)
def test_a_snapshot_read_for_replay_stays_in_use(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dist: tuple[str, ...]
) -> None:
    project = Project(pytester, monkeypatch, dist)
    project.module("test_bank", HISTORY)
    project.run("test_bank.py::test_record").assert_outcomes(passed=1)
    monkeypatch.setenv("RECORD", "0")

    result = project.run("--phyxius-update", "-k", "record or replay")

    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*removed*")
    assert list(project.snapshots("test_record.json", "test_bank")) == ["history"]


def test_replay_errors_name_the_snapshot_and_what_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    project.module(
        "test_bank",
        """
        import pytest
        from pytest_phyxius.snapshot import SnapshotNotFoundError, SnapshotReplayError

        def test_record(journal, journal_snapshot):
            journal.append({"n": 1})
            journal_snapshot.assert_match(journal, name="timeless", exclude="at")

        def test_replay_missing(journal, journal_snapshot):
            with pytest.raises(SnapshotNotFoundError) as missing:
                journal_snapshot.read("nothing", test="test_record")
            print("MISSING:", missing.value)

        def test_replay_timeless(journal, journal_snapshot):
            with pytest.raises(SnapshotReplayError) as timeless:
                journal_snapshot.replay(journal, "timeless", test="test_record")
            print("TIMELESS:", timeless.value)
            assert len(journal) == 0
        """,
    )

    result = project.run("-s")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*MISSING: no snapshot 'nothing' of test 'test_record' in "
            "*/__snapshots__/test_bank/test_record.json; run that test first to "
            "write it",
            "*TIMELESS: snapshot 'timeless' in */test_record.json entries[[]0[]] has "
            "no 'at': it was excluded when the snapshot was written, so the snapshot "
            "cannot seed a journal",
        ]
    )


def test_reading_a_file_that_does_not_exist_says_how_to_record_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "__snapshots__" / "test_bank" / "test_record.json"

    with pytest.raises(
        SnapshotNotFoundError,
        match=rf"^no snapshot file at {re.escape(str(missing))}; run the test that "
        r"records it once to write it, or pass the path of an existing file$",
    ):
        read_journal_snapshot(missing)

    assert not missing.parent.exists()


def test_reading_an_unknown_name_lists_the_names_the_file_holds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    project.module("test_bank", HISTORY)
    project.run("-k", "test_record").assert_outcomes(passed=1)
    path = project.folder("test_bank") / "test_record.json"
    before = path.read_bytes()

    with pytest.raises(
        SnapshotNotFoundError,
        match=rf"^no snapshot 'histroy' in {re.escape(str(path))} \(it holds: "
        r"'history'\); pass one of those names$",
    ):
        read_journal_snapshot(path, "histroy")

    assert path.read_bytes() == before
