"""Values and entries as snapshot documents."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pytest

from phyxius import Instant
from phyxius.journal import Entry
from pytest_phyxius._snapshot_codec import decode_entry, encode_entry
from pytest_phyxius._snapshot_instants import format_instant, parse_instant
from pytest_phyxius._snapshot_values import canonical, decode_value, encode_value
from pytest_phyxius.snapshot import SnapshotReplayError, SnapshotValueError


class Colour(enum.Enum):
    RED = 1


class Size(enum.IntEnum):
    LARGE = 3


class Kind(enum.StrEnum):
    BOOK = "book"


@dataclass(frozen=True)
class Point:
    x: int
    y: Any


class Stable:
    def __repr__(self) -> str:
        return "Stable()"


def test_plain_json_values_are_written_as_they_are_with_sorted_keys() -> None:
    value = {"b": [1, 2.5, None, True], "a": "text"}

    document = encode_value(value, None, "data")

    assert list(document) == ["a", "b"]
    assert document == value


def test_subclasses_of_json_scalars_are_written_as_the_plain_value() -> None:
    document = encode_value([Size.LARGE, Kind.BOOK], None, "data")

    assert document == [3, "book"]
    assert [type(item) for item in document] == [int, str]


def test_other_classes_are_tagged_by_kind() -> None:
    document = encode_value([Colour.RED, Point(1, {2}), Stable()], None, "data")

    assert document == [
        {"__phyxius__": "enum", "type": f"{__name__}.Colour", "name": "RED"},
        {
            "__phyxius__": "object",
            "type": f"{__name__}.Point",
            "fields": {"x": 1, "y": {"__phyxius__": "set", "items": [2]}},
        },
        {"__phyxius__": "repr", "type": f"{__name__}.Stable", "repr": "Stable()"},
    ]


def test_the_value_hook_writes_unknown_classes() -> None:
    seen: list[object] = []

    def hook(value: object) -> object:
        seen.append(value)
        return {"point": [value.x, value.y]} if isinstance(value, Point) else None

    document = encode_value({"p": Point(1, 2), "c": Colour.RED}, hook, "data")

    assert document["p"] == {"point": [1, 2]}
    assert document["c"]["__phyxius__"] == "enum"
    assert seen == [Colour.RED, Point(1, 2)]


def test_a_hook_returning_the_same_kind_of_value_is_refused() -> None:
    with pytest.raises(
        SnapshotValueError,
        match=r"^data\['p'\]: pytest_phyxius_snapshot_value returned a Point for a "
        r"Point; return plain values \(dict, list, str, \.\.\.\) instead$",
    ):
        encode_value({"p": Point(1, 2)}, lambda value: Point(0, 0), "data")


def test_a_value_whose_repr_shows_an_address_is_refused() -> None:
    with pytest.raises(
        SnapshotValueError,
        match=r"^data\['thing'\]\[1\]=<object object at 0x[0-9a-f]+> "
        r"\(type=object\) has no stable form: its repr shows a memory address",
    ):
        encode_value({"thing": [1, object()]}, None, "data")


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)

    with pytest.raises(
        SnapshotValueError,
        match=r"^data is nested too deeply or contains itself; flatten it, or leave "
        r"it out with exclude=\[\.\.\.\]$",
    ):
        encode_value(loop, None, "data")


def test_sets_sort_by_canonical_text_whatever_their_types() -> None:
    document = encode_value({3, "a", (1, 2), None, 2.5}, None, "data")

    assert document["items"] == sorted(document["items"], key=canonical)
    assert decode_value(document, "data") == {3, "a", (1, 2), None, 2.5}


class Token:
    """A key whose repr does not tell two instances apart."""

    def __repr__(self) -> str:
        return "Token()"


def test_keys_of_one_text_are_ordered_by_their_values_not_insertion() -> None:
    first, second = Token(), Token()

    forward = encode_value({first: "x", second: "y"}, None, "data")
    backward = encode_value({second: "y", first: "x"}, None, "data")

    assert forward == backward
    assert [value for _, value in forward["items"]] == ["x", "y"]


def test_canonical_text_tells_apart_what_equality_does_not() -> None:
    assert 1 == 1.0 == True
    assert len({canonical(1), canonical(1.0), canonical(True)}) == 3
    assert canonical(0.0) != canonical(-0.0)
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})


@pytest.mark.parametrize(
    ("wall_ns", "mono_ns", "text"),
    [
        (
            1_704_067_200_000_000_000,
            0,
            ("0.000000000", "2024-01-01T00:00:00.000000000Z"),
        ),
        (1, 1_500_000_000, ("1.500000000", "1970-01-01T00:00:00.000000001Z")),
        (-1, -5, ("-0.000000005", "1969-12-31T23:59:59.999999999Z")),
        (10**30, 0, ("0.000000000", f"{10**30}ns")),
    ],
)
def test_instants_are_readable_and_exact(
    wall_ns: int, mono_ns: int, text: tuple[str, str]
) -> None:
    instant = Instant(wall_ns=wall_ns, mono_ns=mono_ns)

    assert format_instant(instant) == {"mono": text[0], "wall": text[1]}
    assert parse_instant(format_instant(instant), "at") == instant


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("<at:1>", r"^at='<at:1>' is not a time written by the snapshot writer"),
        ({"mono": 1, "wall": "x"}, r"^at\.mono=1 is not monotonic seconds"),
        (
            {"mono": "1.000000000", "wall": "2024-13-01T00:00:00.000000000Z"},
            r"^at\.wall=",
        ),
    ],
)
def test_a_time_that_was_replaced_or_edited_cannot_be_replayed(
    value: object, message: str
) -> None:
    with pytest.raises(SnapshotReplayError, match=message):
        parse_instant(value, "at")


def test_an_entry_round_trips_through_its_document() -> None:
    entry = Entry("id-1", 4, Instant(wall_ns=5, mono_ns=6), {"n": (1,)}, {"by": "me"})

    document = encode_entry(entry, None, None)

    assert list(document) == ["sequence", "id", "at", "data", "metadata"]
    assert decode_entry(document, "entry") == entry


def test_the_entry_hook_edits_the_document() -> None:
    entry = Entry("id-1", 0, Instant(wall_ns=5, mono_ns=6), {"n": 1})

    def hook(seen: Entry, document: dict[str, Any]) -> None:
        assert seen is entry
        del document["at"]

    assert encode_entry(entry, None, hook) == {
        "sequence": 0,
        "id": "id-1",
        "data": {"n": 1},
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], r"^entry is not an object$"),
        ({"sequence": 0, "id": "a", "data": 1}, r"^entry has no 'at': it was excluded"),
        (
            {"sequence": -1, "id": "a", "at": {}, "data": 1},
            r"^entry\.sequence=-1 is not",
        ),
        ({"sequence": 0, "id": 5, "at": {}, "data": 1}, r"^entry\.id=5 is not a str$"),
        (
            {
                "sequence": 0,
                "id": "a",
                "at": {"mono": "0.000000000", "wall": "0ns"},
                "data": {"__phyxius__": "repr", "type": "x", "repr": "X()"},
            },
            r"^entry\.data=.* cannot be rebuilt for replay \(tag 'repr'\)",
        ),
        (
            {
                "sequence": 0,
                "id": "a",
                "at": {"mono": "0.000000000", "wall": "0ns"},
                "data": {"__phyxius__": "uuid", "value": "nope"},
            },
            r"^entry\.data: malformed 'uuid' value",
        ),
    ],
)
def test_an_entry_that_cannot_be_rebuilt_is_refused(
    document: object, message: str
) -> None:
    with pytest.raises(SnapshotReplayError, match=message):
        decode_entry(document, "entry")
