"""The store's rules on PostgreSQL: sequences, retries by id, codecs, retention, load.

The shared suite (test_postgres_shared_suite.py) checks the Journal API on
this store; these tests check what is particular to it, and compare it with
`MemoryStore`, the reference, on random programs.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phyxius import ControlledClock, InvalidArgumentError
from phyxius.journal import (
    CodecMismatchError,
    ConcurrencyError,
    DuplicateIdError,
    Entry,
    Journal,
    JournalError,
    JournalOverflowError,
    MemoryStore,
    PostgresStore,
    SortableIds,
    create_journal,
)
from phyxius.journal._entry import Draft
from phyxius.journal._json import JSON_CODEC
from tests.journal.postgres._pg_harness import Postgres

pytestmark = pytest.mark.postgres


def state(journal: Journal) -> tuple[int, int, list[Entry]]:
    """Everything a refused call must leave unchanged."""
    return journal.first_sequence, journal.next_sequence, journal.get_all()


def test_a_rejected_append_uses_up_no_sequence(pg: Postgres) -> None:
    journal = pg.journal()
    journal.extend(["a", "b"])
    before = state(journal)

    with pytest.raises(ConcurrencyError):
        journal.append("late", expected_sequence=1)

    assert state(journal) == before
    assert journal.append("c").sequence == 2
    assert [sequence for sequence, _ in pg.stored()] == [0, 1, 2]


def test_retrying_an_append_by_id_stores_it_once(pg: Postgres) -> None:
    journal = pg.journal()
    first = journal.append({"order": 7}, metadata={"by": "api"}, id="order-7")
    journal.append("other")

    again = journal.append({"order": 7}, metadata={"by": "api"}, id="order-7")

    assert again == first
    assert pg.stored() == [(0, "order-7"), (1, journal.get(1).id)]


def test_a_retry_whose_expected_sequence_is_now_stale_returns_the_entry(
    pg: Postgres,
) -> None:
    journal = pg.journal()
    first = journal.append("x", expected_sequence=0, id="once")
    journal.append("y")

    # The first try committed but its answer was lost; the retry repeats it.
    again = journal.append("x", expected_sequence=0, id="once")

    assert again == first
    assert journal.next_sequence == 2


def test_a_retry_on_a_full_journal_returns_the_entry(pg: Postgres) -> None:
    journal = pg.journal(max_entries=1, overflow="error")
    first = journal.append("x", id="only")

    assert journal.append("x", id="only") == first
    with pytest.raises(JournalOverflowError):
        journal.append("y", id="another")


def test_reusing_an_id_for_other_data_is_refused_and_writes_nothing(
    pg: Postgres,
) -> None:
    journal = pg.journal()
    journal.append("x", id="taken")
    before = state(journal)

    with pytest.raises(
        DuplicateIdError,
        match=r"^journal 'default' already holds id 'taken' at sequence 0 with other "
        r"content; a retry must repeat the append exactly, so use a new id for new "
        r"content$",
    ):
        journal.append("y", id="taken")

    assert state(journal) == before


def test_a_batch_that_repeats_part_of_an_earlier_one_is_refused(pg: Postgres) -> None:
    store = pg.store()
    journal = pg.journal(store=store)
    entry = journal.append("x", id="a")
    before = state(journal)
    drafts = [
        Draft("a", entry.at, "x", entry.metadata),
        Draft("b", entry.at, "y", entry.metadata),
    ]

    with pytest.raises(DuplicateIdError, match=r"^journal 'default': 1 of the 2 ids "):
        store.append("default", drafts, codec=JSON_CODEC)

    assert state(journal) == before


def test_the_codec_is_recorded_per_journal(pg: Postgres) -> None:
    store = pg.store()
    pg.journal("pickled", store=store, codec="pickle").append({1, 2})
    as_json = pg.journal("pickled", store=store)

    with pytest.raises(
        CodecMismatchError,
        match=r"^journal 'pickled' was written with codec 'pickle' and is now used "
        r"with codec 'json'; open it with codec='pickle'$",
    ):
        as_json.get_all()
    with pytest.raises(CodecMismatchError):
        as_json.append("x")

    other = pg.store()  # a fresh process would see the same
    with pytest.raises(CodecMismatchError):
        pg.journal("pickled", store=other).append("x")
    assert pg.journal("pickled", store=other, codec="pickle").get(0).data == {1, 2}


def test_drop_oldest_keeps_counting_and_drops_within_a_batch(pg: Postgres) -> None:
    journal = pg.journal(max_entries=3, overflow="drop_oldest")
    journal.append(0)

    journal.extend(range(1, 6))  # five more: 0, 1 and 2 go

    assert (journal.first_sequence, journal.next_sequence) == (3, 6)
    assert [entry.data for entry in journal] == [3, 4, 5]
    assert [sequence for sequence, _ in pg.stored()] == [3, 4, 5]
    assert journal.append(6).sequence == 6


def test_a_batch_larger_than_the_cap_keeps_its_newest_entries(pg: Postgres) -> None:
    journal = pg.journal(max_entries=2, overflow="drop_oldest")

    entries = journal.extend(["a", "b", "c", "d"])

    assert [entry.sequence for entry in entries] == [0, 1, 2, 3]
    assert [entry.data for entry in journal] == ["c", "d"]
    assert journal.first_sequence == 2


def test_journal_names_are_data_not_sql(pg: Postgres) -> None:
    store = pg.store()
    names = ["orders", "Orders", "ü-päckchen", "'; DROP TABLE x; --", "z" * 10_000, "é"]

    for name in names:
        pg.journal(name, store=store).append(name[:20])

    assert store.journals() == sorted(names)
    for name in names:
        assert [entry.data for entry in pg.journal(name, store=store)] == [name[:20]]


def test_entries_read_back_exactly(pg: Postgres) -> None:
    journal = pg.journal()
    data: list[Any] = [
        None,
        True,
        -(2**63),
        2**70,
        1.5,
        "snow ☃ \x00 nul",
        [1, [2, {"k": None}]],
        {"nested": {"list": [1.25, "x"]}},
    ]

    written = journal.extend(data, metadata={"trace": "t-1"})

    assert journal.get_all() == written
    assert [entry.data for entry in journal.get_all()] == data
    assert journal.get(3).metadata == {"trace": "t-1"}


def test_from_json_loads_a_history_into_postgres(
    pg: Postgres, controlled_clock: ControlledClock
) -> None:
    source = create_journal(
        name="audit", clock=controlled_clock, max_entries=2, overflow="drop_oldest"
    )
    source.extend(["a", "b", "c"])
    store = pg.store()

    loaded = Journal.from_json(source.to_json(), store, clock=controlled_clock)

    assert loaded.get_all() == source.get_all()
    assert (loaded.first_sequence, loaded.next_sequence) == (1, 3)
    assert loaded.append("d").sequence == 3


def test_loading_into_a_written_journal_is_refused_and_changes_nothing(
    pg: Postgres, controlled_clock: ControlledClock
) -> None:
    journal = pg.journal("audit")
    journal.append("kept")
    before = state(journal)
    snapshot = create_journal(name="audit", clock=controlled_clock)
    snapshot.append("other")

    with pytest.raises(
        InvalidArgumentError,
        match=r"^journal 'audit' has been written already \(next sequence 1\); load "
        r"entries into a new journal only$",
    ):
        journal.load(snapshot.get_all())

    assert state(journal) == before


# -- the same programs on MemoryStore and PostgresStore ---------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("append"), st.integers(0, 99), st.none() | st.integers(0, 12)
        ),
        st.tuples(
            st.just("extend"), st.lists(st.integers(0, 99), max_size=4), st.none()
        ),
        st.tuples(st.just("read"), st.integers(0, 14), st.none() | st.integers(0, 16)),
        st.tuples(st.just("get"), st.integers(0, 14), st.none()),
        st.tuples(st.just("retry"), st.integers(0, 14), st.none()),
    ),
    max_size=14,
)
retentions = st.sampled_from(
    [(None, "none"), (3, "drop_oldest"), (4, "error"), (1, "drop_oldest")]
)


def run(journal: Journal, program: list[tuple[str, Any, Any]]) -> list[object]:
    """What each step returned or raised (type and message)."""
    outcomes: list[object] = []
    for operation, argument, extra in program:
        try:
            if operation == "append":
                outcomes.append(journal.append(argument, expected_sequence=extra))
            elif operation == "extend":
                outcomes.append(journal.extend(argument))
            elif operation == "read":
                outcomes.append(journal.read(argument, extra))
            elif operation == "get":
                outcomes.append(journal.get(argument))
            else:
                entry = journal.get(argument)
                outcomes.append(journal.append(entry.data, id=entry.id))
        except JournalError as error:
            outcomes.append((type(error).__name__, str(error)))
    outcomes.append((journal.first_sequence, journal.next_sequence, journal.get_all()))
    return outcomes


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(program=operations, retention=retentions)
def test_postgres_behaves_like_the_memory_store(
    pg_store: PostgresStore,
    program: list[tuple[str, Any, Any]],
    retention: tuple[int | None, str],
) -> None:
    name = f"j-{uuid.uuid4().hex}"
    max_entries, overflow = retention
    results = []
    for store in (MemoryStore(), pg_store):
        clock = ControlledClock(start=1_700_000_000)
        journal = create_journal(
            store,
            name=name,
            clock=clock,
            ids=SortableIds(seed=7),
            max_entries=max_entries,
            overflow=overflow,  # type: ignore[arg-type]
        )
        results.append(run(journal, program))

    assert results[1] == results[0]


@pytest.fixture
def pg_store(pg: Postgres) -> PostgresStore:
    """One store for every example of a hypothesis test (journals are per example)."""
    return pg.store()
