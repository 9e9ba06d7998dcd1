"""Retention: max_entries with drop_oldest or error, in every store."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phyxius import Event
from phyxius.journal import (
    EntryNotFoundError,
    Journal,
    JournalOverflowError,
    SqliteStore,
    create_journal,
)
from pytest_phyxius._journal_fixtures import JournalFactory

MakeJournal = Callable[..., Journal]


def test_drop_oldest_keeps_the_newest_and_sequences_keep_counting(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=3, overflow="drop_oldest")

    for n in range(5):
        journal.append(n)

    assert [(entry.sequence, entry.data) for entry in journal] == [
        (2, 2),
        (3, 3),
        (4, 4),
    ]
    assert journal.first().sequence == 2  # type: ignore[union-attr]
    assert (journal.first_sequence, journal.next_sequence, len(journal)) == (2, 5, 3)


def test_drop_oldest_with_a_batch_larger_than_the_cap(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")

    created = journal.extend(["a", "b", "c", "d"])

    assert [entry.sequence for entry in created] == [0, 1, 2, 3]
    assert [entry.data for entry in journal] == ["c", "d"]


def test_a_dropped_entry_is_reported_as_dropped(make_journal: MakeJournal) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")
    journal.extend(["a", "b", "c"])

    with pytest.raises(
        EntryNotFoundError,
        match=r"^journal 'default' has no entry with sequence 0: it was dropped by "
        r"retention; the journal now starts at 1$",
    ):
        journal.get(0)
    assert journal.find(journal.get(1).id) is not None


def test_error_overflow_refuses_the_append_and_writes_nothing(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=2, overflow="error")
    journal.extend(["a", "b"])
    before = journal.get_all()

    with pytest.raises(
        JournalOverflowError,
        match=r"^journal 'default' holds 2 of max_entries=2 entries, so appending 1 "
        r"more would overflow it; nothing was written; raise max_entries or use "
        r"overflow='drop_oldest'$",
    ):
        journal.append("c")
    with pytest.raises(
        JournalOverflowError,
        match=r"^journal 'other' holds 0 of max_entries=1 entries, so appending 2 "
        r"more would overflow it; nothing was written; ",
    ):
        make_journal("other", max_entries=1, overflow="error").extend(["x", "y"])

    assert journal.get_all() == before
    assert journal.next_sequence == 2


def test_sequences_are_never_reused_after_retention_dropped_entries(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=1, overflow="drop_oldest")
    journal.extend(["a", "b", "c"])

    again = make_journal()

    assert again.append("d").sequence == 3
    assert [entry.sequence for entry in again] == [2, 3]


def test_sequences_are_never_reused_after_reopening_the_file(
    journal_factory: JournalFactory,
) -> None:
    path = journal_factory.sqlite_path
    with SqliteStore(path) as store:
        journal = create_journal(store, max_entries=1, overflow="drop_oldest")
        journal.extend(["a", "b", "c"])

    with SqliteStore(path) as store:
        reopened = create_journal(store)
        assert [entry.sequence for entry in reopened] == [2]
        assert reopened.append("d").sequence == 3


def test_retention_is_announced_with_a_journal_dropped_event(
    make_journal: MakeJournal,
) -> None:
    events: list[Event] = []
    journal = make_journal(max_entries=2, overflow="drop_oldest", emit=events.append)

    journal.extend(["a", "b"])
    journal.extend(["c", "d", "e"])

    assert [event.type for event in events] == ["journal.dropped"]
    assert events[0].data == {"journal": "default", "dropped": 3, "first_sequence": 3}


def test_drops_can_be_journaled_in_another_journal(make_journal: MakeJournal) -> None:
    audit = make_journal("audit")
    journal = make_journal(max_entries=2, overflow="drop_oldest", emit=audit.append)

    journal.extend(["a", "b", "c"])

    (entry,) = audit.get_all()
    assert isinstance(entry.data, Event)
    assert entry.data.type == "journal.dropped"
    assert entry.data.data == {"journal": "default", "dropped": 1, "first_sequence": 1}
