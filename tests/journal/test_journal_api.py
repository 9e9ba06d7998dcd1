"""The Journal API on every store: writes, reads, ids, optimistic concurrency."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from phyxius import ControlledClock, Event, Instant, InvalidArgumentError
from phyxius.journal import (
    ConcurrencyError,
    DuplicateIdError,
    EncodeError,
    Entry,
    EntryNotFoundError,
    Journal,
    JournalClosedError,
    MemoryStore,
    SortableIds,
    create_journal,
)

MakeJournal = Callable[..., Journal]


def state(journal: Journal) -> tuple[int, int, list[Entry]]:
    """Everything a failed call must leave unchanged."""
    return journal.first_sequence, journal.next_sequence, journal.get_all()


# -- appending --------------------------------------------------------------------


def test_sequences_start_at_zero_and_count_up(make_journal: MakeJournal) -> None:
    journal = make_journal()

    entries = [journal.append({"n": n}) for n in range(3)]

    assert [entry.sequence for entry in entries] == [0, 1, 2]
    assert [entry.data for entry in journal] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert journal.next_sequence == 3


def test_an_entry_is_stamped_by_the_journal_clock(
    make_journal: MakeJournal, controlled_clock: ControlledClock
) -> None:
    journal = make_journal()
    controlled_clock.advance(1.5)

    entry = journal.append("x")

    assert entry.at == controlled_clock.now()
    assert entry.at.mono_ns == 1_500_000_000


def test_append_returns_what_the_store_reads_back(make_journal: MakeJournal) -> None:
    journal = make_journal()

    entry = journal.append({"t": (1, 2), "d": date(2024, 1, 2)}, metadata={"by": "me"})

    assert entry == journal.get(0)
    assert entry.data == {"t": [1, 2], "d": date(2024, 1, 2)}
    assert entry.metadata == {"by": "me"}


def test_an_event_can_be_journaled_through_emit(
    make_journal: MakeJournal, controlled_clock: ControlledClock
) -> None:
    journal = make_journal()
    emit = journal.append

    emit(Event("worker.started", controlled_clock.now(), {"name": "w1"}))

    (entry,) = journal.get_all()
    assert entry.data == Event("worker.started", controlled_clock.now(), {"name": "w1"})


def test_entries_are_frozen(make_journal: MakeJournal) -> None:
    entry = make_journal().append(1)

    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.sequence = 5  # type: ignore[misc]


def test_entries_hash_by_id_and_sequence(make_journal: MakeJournal) -> None:
    journal = make_journal()
    entry = journal.append({"unhashable": ["list"]})

    assert {entry: 1}[journal.get(0)] == 1


def test_extend_appends_all_with_consecutive_sequences(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.append("first")

    entries = journal.extend(["a", "b", "c"], metadata={"batch": 1})

    assert [entry.sequence for entry in entries] == [1, 2, 3]
    assert len({entry.at for entry in entries}) == 1
    assert len({entry.id for entry in entries}) == 3
    assert all(entry.metadata == {"batch": 1} for entry in entries)
    assert journal.get_all()[1:] == entries


def test_extend_with_nothing_writes_nothing(make_journal: MakeJournal) -> None:
    journal = make_journal()

    assert journal.extend([]) == []
    assert journal.next_sequence == 0


def test_extend_is_all_or_nothing_when_an_item_cannot_be_encoded(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.append("kept")
    before = state(journal)

    with pytest.raises(EncodeError, match=r'^items\[2\]\["tags"\]=\{.*\} \(type=set\)'):
        journal.extend(["a", "b", {"tags": {"x"}}, "d"])

    assert state(journal) == before


@pytest.mark.parametrize("items", ["abc", b"abc", {"a": 1}, 5])
def test_extend_refuses_a_value_that_is_not_a_list_of_items(
    make_journal: MakeJournal, items: Any
) -> None:
    journal = make_journal()

    with pytest.raises(InvalidArgumentError, match=r"^items=.* is not an iterable of"):
        journal.extend(items)

    assert journal.next_sequence == 0


def test_unencodable_data_writes_nothing(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.append("kept")
    before = state(journal)

    with pytest.raises(EncodeError, match=r'^data\["items"\]\[2\]=<object object'):
        journal.append({"items": [1, 2, object()]})
    with pytest.raises(EncodeError, match=r'^metadata\["who"\]=\{1\} \(type=set\)'):
        journal.append("x", metadata={"who": {1}})

    assert state(journal) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metadata": ["a"]}, r"^metadata=\['a'\] \(type=list\) is not a mapping"),
        ({"expected_sequence": -1}, r"^expected_sequence=-1 is negative; pass 0"),
        ({"expected_sequence": "1"}, r"^expected_sequence='1' \(type=str\) is not an"),
        ({"expected_sequence": True}, r"^expected_sequence=True \(type=bool\) is not"),
        ({"id": ""}, r"^id='' \(type=str\) is not an entry id; pass a non-empty str$"),
        ({"id": 7}, r"^id=7 \(type=int\) is not an entry id"),
        (
            {"id": "a\x00b"},
            r"^id='a\\x00b' contains a NUL character, which PostgreSQL cannot "
            r"keep in text; pass an id without it$",
        ),
        (
            {"id": "a\ud800"},
            r"^id='a\\ud800' contains the lone surrogate '\\ud800', which UTF-8 "
            r"cannot encode; pass an id without it$",
        ),
    ],
)
def test_bad_append_arguments_are_refused_and_change_nothing(
    make_journal: MakeJournal, options: dict[str, Any], message: str
) -> None:
    journal = make_journal()
    journal.append("kept")
    before = state(journal)

    with pytest.raises(InvalidArgumentError, match=message):
        journal.append("x", **options)

    assert state(journal) == before


# -- optimistic concurrency ---------------------------------------------------------


def test_expected_sequence_that_holds_appends(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.append("a")

    entry = journal.append("b", expected_sequence=1)

    assert entry.sequence == 1


def test_expected_sequence_that_no_longer_holds_raises_and_writes_nothing(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.extend(["a", "b"])
    before = state(journal)

    with pytest.raises(
        ConcurrencyError,
        match=r"^journal 'default': expected_sequence=1 but the next entry would be "
        r"2; another writer appended first, so nothing was written; read the "
        r"entries from 1, decide again and retry with expected_sequence=2$",
    ) as raised:
        journal.append("c", expected_sequence=1)

    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert state(journal) == before


def test_expected_sequence_ahead_of_the_journal_says_so_and_writes_nothing(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.extend(["a", "b"])
    before = state(journal)

    with pytest.raises(
        ConcurrencyError,
        match=r"^journal 'default': expected_sequence=5 but the next entry would be "
        r"2; no entry has reached that sequence yet, so nothing was written; pass "
        r"the journal's next_sequence as seen when deciding \(now 2\)$",
    ) as raised:
        journal.append("c", expected_sequence=5)

    assert (raised.value.expected, raised.value.actual) == (5, 2)
    assert state(journal) == before


def test_extend_checks_expected_sequence_for_its_first_entry(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()

    with pytest.raises(ConcurrencyError):
        journal.extend(["a", "b"], expected_sequence=1)
    assert journal.extend(["a", "b"], expected_sequence=0)[0].sequence == 0


def test_a_rejected_append_does_not_use_up_a_sequence(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.append("a")

    for _ in range(3):
        with pytest.raises(ConcurrencyError):
            journal.append("late", expected_sequence=0)

    assert journal.append("b").sequence == 1


# -- ids ------------------------------------------------------------------------------


def test_default_ids_are_unique_and_sort_in_sequence_order(
    make_journal: MakeJournal, controlled_clock: ControlledClock
) -> None:
    journal = make_journal()
    for step in range(50):
        journal.append(step)
        if step % 7 == 0:
            controlled_clock.advance(0.0005)

    ids = [entry.id for entry in journal]

    assert len(set(ids)) == 50
    assert ids == sorted(ids)


def test_ids_are_the_same_on_every_run_with_a_controlled_clock_and_a_seed() -> None:
    def run() -> list[str]:
        clock = ControlledClock()
        journal = create_journal(clock=clock, ids=SortableIds(seed=7))
        for n in range(5):
            journal.append(n)
            clock.advance(0.25)
        return [entry.id for entry in journal]

    assert run() == run()


def test_a_given_id_is_kept(make_journal: MakeJournal) -> None:
    journal = make_journal()

    entry = journal.append("x", id="order-1-created")

    assert journal.find("order-1-created") == entry
    assert journal.find("missing") is None


def test_appending_again_with_a_stored_id_and_the_same_data_is_a_safe_retry(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    first = journal.append({"n": 1}, id="once", metadata={"k": 1})
    journal.append("later")

    again = journal.append({"n": 1}, id="once", metadata={"k": 1}, expected_sequence=1)

    assert again == first
    assert journal.next_sequence == 2


def test_a_stored_id_with_other_data_is_refused(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.append({"n": 1}, id="once")
    before = state(journal)

    with pytest.raises(
        DuplicateIdError,
        match=r"^journal 'default' already holds id 'once' at sequence 0 with other "
        r"content; a retry must repeat the append exactly, so use a new id for new "
        r"content$",
    ):
        journal.append({"n": 2}, id="once")

    assert state(journal) == before


def test_an_id_generator_must_return_strings(make_journal: MakeJournal) -> None:
    journal = make_journal(ids=lambda at: at.wall_ns)

    with pytest.raises(
        InvalidArgumentError, match=r"^ids=.* returned \d+ \(type=int\)"
    ):
        journal.append("x")
    with pytest.raises(InvalidArgumentError, match=r"^ids=.* returned"):
        journal.extend(["x"])

    assert journal.next_sequence == 0


# -- reading ----------------------------------------------------------------------


def test_reading_by_sequence_range_and_limit(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.extend(range(10))

    assert [e.data for e in journal.read(3, 6)] == [3, 4, 5]
    assert [e.data for e in journal.read(8)] == [8, 9]
    assert [e.data for e in journal.read(2, limit=2)] == [2, 3]
    assert [e.data for e in journal.read(stop=2)] == [0, 1]
    assert journal.read(20) == []
    assert journal.read(5, 5) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"start": -1}, r"^start=-1 is negative"),
        ({"stop": 1.5}, r"^stop=1\.5 \(type=float\) is not an int"),
        ({"limit": -2}, r"^limit=-2 is negative"),
    ],
)
def test_bad_read_arguments_are_refused(
    make_journal: MakeJournal, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make_journal().read(**arguments)


def test_first_last_len_and_get(make_journal: MakeJournal) -> None:
    journal = make_journal()
    assert (journal.first(), journal.last(), len(journal)) == (None, None, 0)

    journal.extend(["a", "b", "c"])

    assert journal.first() == journal.get(0)
    assert journal.last() == journal.get(2)
    assert len(journal) == 3
    assert journal.get(1).data == "b"


def test_get_of_a_sequence_not_written_yet_says_so(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.append("a")

    with pytest.raises(
        EntryNotFoundError,
        match=r"^journal 'default' has no entry with sequence 4: it was not written "
        r"yet; the next sequence is 1$",
    ):
        journal.get(4)


def test_an_empty_journal_is_still_truthy(make_journal: MakeJournal) -> None:
    assert make_journal()


def test_filter_and_iteration_follow_sequence_order(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.extend(range(1200))

    evens = journal.filter(lambda entry: entry.data % 2 == 0)

    assert [entry.data for entry in evens] == list(range(0, 1200, 2))
    assert [entry.sequence for entry in journal] == list(range(1200))


def test_filter_needs_a_callable(make_journal: MakeJournal) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^predicate=3 \(type=int\)"):
        make_journal().filter(3)  # type: ignore[arg-type]


def test_iteration_sees_entries_appended_while_iterating(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal()
    journal.append(0)

    seen = []
    for entry in journal:
        seen.append(entry.data)
        if entry.data < 3:
            journal.append(entry.data + 1)

    assert seen == [0, 1, 2, 3]


def test_handles_on_one_name_share_the_journal(make_journal: MakeJournal) -> None:
    writer = make_journal("orders")
    reader = make_journal("orders")
    other = make_journal("audit")

    writer.append("placed")

    assert [entry.data for entry in reader] == ["placed"]
    assert len(other) == 0


# -- closing and arguments -------------------------------------------------------------


def test_a_closed_journal_refuses_writes(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.close()
    journal.close()

    with pytest.raises(
        JournalClosedError, match=r"^journal 'default' was closed; open a new handle"
    ):
        journal.append("x")
    with pytest.raises(JournalClosedError):
        journal.extend(["x"])
    with pytest.raises(JournalClosedError):
        journal.subscribe(print)
    assert journal.closed


def test_a_journal_given_a_path_owns_its_sqlite_store(tmp_path: Any) -> None:
    with create_journal(tmp_path / "owned.sqlite3", name="x") as journal:
        journal.append(1)
        store = journal.store

    assert store.closed
    with create_journal(tmp_path / "owned.sqlite3", name="x") as again:
        assert [entry.data for entry in again] == [1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": ""}, r"^name='' \(type=str\) is not a journal name"),
        ({"name": 3}, r"^name=3 \(type=int\) is not a journal name"),
        (
            {"name": "\udc80"},
            r"^name='\\udc80' contains the lone surrogate '\\udc80', which UTF-8 "
            r"cannot encode; pass a name without it$",
        ),
        ({"clock": object()}, r"^clock=<object .*> \(type=object\) is not a clock"),
        ({"ids": "ulid"}, r"^ids='ulid' \(type=str\) is not callable"),
        ({"emit": 1}, r"^emit=1 \(type=int\) is not callable"),
        ({"store": 5}, r"^store=5 \(type=int\) is not a store; pass a MemoryStore"),
        ({"overflow": "wrap"}, r"^overflow='wrap' is not an overflow policy"),
        ({"max_entries": 0, "overflow": "error"}, r"^max_entries=0 is less than 1"),
        ({"max_entries": 2.0, "overflow": "error"}, r"^max_entries=2\.0 \(type=float"),
        ({"max_entries": 3}, r"^max_entries=3 needs overflow='drop_oldest' \(keep"),
        ({"overflow": "error"}, r"^overflow='error' needs max_entries"),
        ({"codec": "xml"}, r"^codec='xml' \(type=str\) is not a codec"),
    ],
)
def test_bad_journal_arguments_are_refused(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        create_journal(**options)


def test_a_journal_on_a_memory_store_by_default() -> None:
    journal = create_journal()

    assert isinstance(journal.store, MemoryStore)
    assert journal.name == "default"
    assert repr(journal) == (
        "<Journal 'default' next_sequence=0 store=MemoryStore codec='json'>"
    )


def test_load_puts_entries_into_a_new_journal_exactly(
    make_journal: MakeJournal,
) -> None:
    source = make_journal("source")
    source.extend([{"a": 1}, {"b": 2}], metadata={"m": True})
    target = make_journal("target")

    target.load(source.get_all())

    assert target.get_all() == source.get_all()
    assert target.next_sequence == 2


def test_load_refuses_a_journal_that_was_written(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.append("x")
    entry = Entry("id", 0, Instant(wall_ns=0, mono_ns=0), "y")

    with pytest.raises(InvalidArgumentError, match=r"^journal 'default' has been writ"):
        journal.load([entry])
    with pytest.raises(InvalidArgumentError, match=r"^entries\[0\]='no' \(type=str\)"):
        make_journal("other").load(["no"])  # type: ignore[list-item]


def test_load_refuses_entries_with_a_gap(make_journal: MakeJournal) -> None:
    at = Instant(wall_ns=0, mono_ns=0)
    journal = make_journal()

    with pytest.raises(InvalidArgumentError, match=r"^entries to load must have cons"):
        journal.load([Entry("a", 0, at, 1), Entry("b", 2, at, 2)])

    assert journal.next_sequence == 0


def test_load_refuses_a_negative_start_and_shared_ids(
    make_journal: MakeJournal,
) -> None:
    at = Instant(wall_ns=0, mono_ns=0)
    journal = make_journal()

    with pytest.raises(
        InvalidArgumentError,
        match=r"^entries to load start at sequence -1; sequences are zero or more$",
    ):
        journal.load([Entry("a", -1, at, 1), Entry("b", 0, at, 2)])
    with pytest.raises(
        InvalidArgumentError,
        match=r"^entries to load share the id 'a'; ids must be unique within a "
        r"journal$",
    ):
        journal.load([Entry("a", 0, at, 1), Entry("a", 1, at, 2)])

    assert state(journal) == (0, 0, [])


def test_an_extend_whose_ids_collide_is_refused_and_writes_nothing(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(ids=lambda at: "always-the-same")

    with pytest.raises(
        DuplicateIdError,
        match=r"^journal 'default': the entries of one append share the id "
        r"'always-the-same'; give each entry its own id$",
    ):
        journal.extend(["a", "b"])

    assert state(journal) == (0, 0, [])


def test_repr_survives_a_closed_store(tmp_path: Any) -> None:
    from phyxius.journal import SqliteStore

    store = SqliteStore(tmp_path / "r.sqlite3")
    journal = create_journal(store, name="r")
    store.close()

    assert repr(journal) == "<Journal 'r' unreadable store=SqliteStore codec='json'>"
