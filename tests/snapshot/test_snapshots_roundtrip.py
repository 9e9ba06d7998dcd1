"""Writing then reading a snapshot gives the journal back unchanged."""

from __future__ import annotations

import json
import math
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from phyxius import Event, Instant
from phyxius.clock import ControlledClock
from phyxius.journal import JournalSnapshot, SortableIds, create_journal
from pytest_phyxius._snapshot_codec import encode_entry, plain_document, raw_entry
from pytest_phyxius._snapshot_files import render_file, write_atomic
from pytest_phyxius._snapshot_fixture import snapshot_document
from pytest_phyxius._snapshot_matcher import entries_of
from pytest_phyxius._snapshot_values import canonical, decode_value, encode_value
from pytest_phyxius.snapshot import read_journal_snapshot

# Text with what trips up snapshot files more often than chance would pick
# it: line ends of every platform, Unicode line separators, control and
# format characters, quotes and backslashes.
TRICKY_CHARACTERS = '\r\n\x00\x0b\x0c\x1b\x1c\x7f\x85\u00a0\u200b\u2028\u2029\ufeff"\\'
texts = st.text(
    st.characters(codec="utf-8") | st.sampled_from(TRICKY_CHARACTERS), max_size=12
) | st.sampled_from(["\r\n", "a\rb", "\u2028\u2029", "\U0001f600\u0301"])
keys = texts.filter(lambda key: key != "__phyxius__")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=12,
)

steps = st.lists(
    st.tuples(
        json_values,
        st.dictionaries(keys, json_values, max_size=2),
        st.integers(min_value=0, max_value=10**12),
    ),
    max_size=6,
)


def write_and_read(snapshot: JournalSnapshot) -> JournalSnapshot:
    """Write ``snapshot`` as the fixture does, then read it back for replay."""
    compared = entries_of(snapshot)
    assert compared is not None
    document, raw = snapshot_document(compared, (), (), None, None)
    if raw:
        document = plain_document(document)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "test_x.json"
        write_atomic(path, render_file("test_x", {"1": document}, "../../test.py"))
        assert b"\r" not in path.read_bytes()
        return read_journal_snapshot(path)


@given(steps, st.integers(min_value=-(2**40), max_value=2**40), st.booleans())
def test_any_journal_of_json_data_reads_back_unchanged(
    appends: list[tuple[Any, dict[str, Any], int]], start: int, pickled: bool
) -> None:
    # The JSON codec takes the fixture's fast path; the pickle codec the full
    # conversion of every value.
    clock = ControlledClock(start)
    journal = create_journal(
        clock=clock, ids=SortableIds(seed=7), codec="pickle" if pickled else None
    )
    for data, metadata, pause_ns in appends:
        journal.append(data, metadata=metadata or None)
        clock.advance(timedelta(microseconds=pause_ns // 1000))

    original = journal.snapshot()
    restored = write_and_read(original)

    assert [
        (entry.id, entry.sequence, entry.at, entry.data, entry.metadata)
        for entry in restored
    ] == [
        (entry.id, entry.sequence, entry.at, entry.data, entry.metadata)
        for entry in original
    ]
    assert canonical([entry.data for entry in restored]) == canonical(
        [entry.data for entry in original]
    )
    replayed = create_journal(clock=clock)
    replayed.load(restored.entries)
    assert replayed.snapshot() == restored


@given(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=2**70),
)
def test_any_instant_reads_back_to_the_nanosecond(wall_ns: int, mono_ns: int) -> None:
    instant = Instant(wall_ns=wall_ns, mono_ns=mono_ns)

    assert decode_value(encode_value(instant, None, "x"), "x") == instant


OTHER_VALUES = [
    (1, "a"),
    {3, 1, 2},
    frozenset({"b", "a"}),
    {1: "one", (2, 3): "pair"},
    {"__phyxius__": "not a tag"},
    datetime(2024, 5, 1, 12, 30, 15, 123456),
    datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5))),
    date(2024, 2, 29),
    time(23, 59, 59, 999999),
    timedelta(days=-3, seconds=5, microseconds=7),
    Decimal("1.10"),
    Decimal("-0E+3"),
    uuid.UUID(int=12345),
    b"\x00\xffbytes",
    bytearray(b"mutable"),
    Instant(wall_ns=-1, mono_ns=5),
    Event("order.placed", Instant(wall_ns=10, mono_ns=2), {"n": [1, {2}]}),
    float("inf"),
    float("-inf"),
    -0.0,
    [(), set(), {}],
    datetime(2024, 5, 1, tzinfo=UTC),
]


@given(st.sampled_from(OTHER_VALUES))
def test_values_json_has_no_type_for_read_back_equal(value: object) -> None:
    restored = decode_value(encode_value(value, None, "data"), "data")

    assert restored == value
    assert type(restored) is (bytes if isinstance(value, bytearray) else type(value))


def test_nan_reads_back_as_nan() -> None:
    restored = decode_value(encode_value(float("nan"), None, "data"), "data")

    assert math.isnan(restored)


codec_values = st.recursive(
    json_values
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.uuids()
    | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=4).filter(lambda k: k != "__phyxius__"),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@given(st.lists(codec_values, max_size=4))
def test_the_fast_and_the_full_conversion_write_the_same_document(
    values: list[Any],
) -> None:
    journal = create_journal(clock=ControlledClock(0), ids=SortableIds(seed=1))
    for value in values:
        journal.append({"value": value}, metadata={"m": value})

    raw = {"entries": [raw_entry(entry) for entry in journal]}
    full = {"entries": [encode_entry(entry, None, None) for entry in journal]}

    assert canonical(raw) == canonical(full)
    assert plain_document(raw) == full
    assert json.dumps(plain_document(raw)) == json.dumps(full)
