"""snapshot(), to_json() and Journal.from_json(): copies and exact round trips."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phyxius import ControlledClock, Event, Instant, InvalidArgumentError
from phyxius.journal import (
    DecodeError,
    EntryNotFoundError,
    Journal,
    JournalSnapshot,
    MemoryStore,
    SortableIds,
    create_journal,
)

MakeJournal = Callable[..., Journal]


def test_a_snapshot_is_an_immutable_copy(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.extend(["a", "b"])

    snapshot = journal.snapshot()
    journal.append("c")

    assert snapshot.data == ["a", "b"]
    assert len(snapshot) == 2
    assert (snapshot.first_sequence, snapshot.next_sequence) == (0, 2)
    assert snapshot.get(1).data == "b"
    assert [entry.sequence for entry in snapshot] == [0, 1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.name = "other"  # type: ignore[misc]
    with pytest.raises(EntryNotFoundError, match=r"^snapshot of journal 'default' h"):
        snapshot.get(2)


def test_snapshots_of_equal_journals_are_equal(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.extend([1, 2])

    assert journal.snapshot() == journal.snapshot()
    assert journal.snapshot() != make_journal("other").snapshot()


def test_a_snapshot_after_retention_keeps_its_bounds(make_journal: MakeJournal) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")
    journal.extend(range(5))

    snapshot = journal.snapshot()

    assert (snapshot.first_sequence, snapshot.next_sequence) == (3, 5)


def test_to_json_then_from_json_is_exact(make_journal: MakeJournal) -> None:
    journal = make_journal(max_entries=3, overflow="drop_oldest")
    journal.extend(
        [
            {"when": datetime(2024, 1, 1, tzinfo=UTC), "price": Decimal("9.90")},
            Event("stock.moved", Instant(wall_ns=5, mono_ns=1), {"by": [1, 2]}),
            "text with \r\n and \u2028",
            None,
        ],
        metadata={"source": "test"},
    )

    copy = Journal.from_json(journal.to_json(indent=2))

    assert copy.snapshot() == journal.snapshot()
    assert copy.name == "default"
    assert copy.next_sequence == journal.next_sequence == 4
    assert copy.append("next").sequence == 4


def test_from_json_into_a_store_under_another_name(journal: Journal) -> None:
    journal.extend(["a", "b"])
    store = MemoryStore()

    copy = Journal.from_json(journal.to_json(), store, name="copy")

    assert store.journals() == ["copy"]
    assert copy.get_all() == journal.get_all()


def test_the_document_is_plain_readable_json(journal: Journal) -> None:
    journal.append({"n": 1}, metadata={"m": 2})

    document = json.loads(journal.to_json())

    assert document["format"] == "phyxius.journal"
    assert document["version"] == 1
    assert document["codec"] == "json"
    assert document["entries"][0]["data"] == {"n": 1}
    assert document["entries"][0]["metadata"] == {"m": 2}


def test_a_pickle_journal_is_read_back_only_with_the_codec_named() -> None:
    journal = create_journal(codec="pickle")
    journal.append({"set": {1, 2}})
    text = journal.to_json()

    with pytest.raises(
        DecodeError,
        match=r"^journal document was written with codec 'pickle'; pass "
        r"codec='pickle' to read it \(for pickle, only if you trust the document",
    ):
        Journal.from_json(text)
    with pytest.raises(
        DecodeError,
        match=r"^journal document was written with codec 'pickle', not 'json'; "
        r"pass codec='pickle'$",
    ):
        Journal.from_json(text, codec="json")

    copy = Journal.from_json(text, codec="pickle")
    assert copy.snapshot() == journal.snapshot()
    assert copy.get(0).data == {"set": {1, 2}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", r"^journal document is not JSON: "),
        ("[1, 2]", r'^text is not a journal document: it has no "format": '),
        (
            '{"format": "phyxius.journal", "version": 2}',
            r"^journal document has version 2; this Phyxius reads version 1: upgrade",
        ),
        (
            '{"format": "phyxius.journal", "version": 1, "codec": "json", "name": "x",'
            ' "first_sequence": 0, "next_sequence": 1, "entries": [{"sequence": 0}]}',
            r"^journal document: entries\[0\] needs 'at' as dict, got None",
        ),
        (
            '{"format": "phyxius.journal", "version": 1, "codec": "json", "name": "x",'
            ' "first_sequence": 0, "next_sequence": 5, "entries": []}',
            r"^journal document 'x' is inconsistent: first_sequence=0, next_sequence=5",
        ),
        (
            '{"format": "phyxius.journal", "version": 1, "codec": "json", "name": 3}',
            r"^journal document: the document needs 'name' as str, got 3",
        ),
    ],
)
def test_a_malformed_document_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        JournalSnapshot.from_json(text)


def test_from_json_refuses_a_journal_that_exists_already(journal: Journal) -> None:
    journal.append("a")
    store = journal.store

    with pytest.raises(InvalidArgumentError, match=r"^journal 'default' has been wri"):
        Journal.from_json(journal.to_json(), store)


json_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
).filter(lambda value: "__phyxius__" not in json.dumps(value))


@settings(max_examples=50)
@given(
    st.lists(json_data, max_size=8),
    st.integers(min_value=0, max_value=3),
    st.dictionaries(st.text(max_size=4), json_data, max_size=2),
)
def test_any_journal_of_json_data_round_trips_exactly(
    items: list[Any], advance: int, metadata: dict[str, Any]
) -> None:
    clock = ControlledClock()
    journal = create_journal(clock=clock, ids=SortableIds(seed=1))
    for item in items:
        journal.append(item, metadata=metadata)
        clock.advance(advance)

    copy = Journal.from_json(journal.to_json())

    assert copy.snapshot() == journal.snapshot()
    assert copy.to_json() == journal.to_json()
