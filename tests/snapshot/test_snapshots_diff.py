"""The diff between a stored snapshot and a journal."""

from __future__ import annotations

from typing import Any

from pytest_phyxius._snapshot_diff import describe_difference


def entry(sequence: int, data: Any, entry_id: str | None = None) -> dict[str, Any]:
    return {"sequence": sequence, "id": entry_id or f"id-{sequence}", "data": data}


def test_a_changed_field_is_named_by_its_path() -> None:
    stored = {"journal": "default", "entries": [entry(0, {"a": {"b": [1, 2]}})]}
    actual = {"journal": "default", "entries": [entry(0, {"a": {"b": [1, 3, 4]}})]}

    assert describe_difference(stored, actual) == [
        "entries: 1 changed (snapshot 1, journal 1)",
        "entry sequence 0 differs from the snapshot's entry sequence 0:",
        "    data.a.b.1: 2 in the snapshot, 3 now",
        "    data.a.b.2: added 4",
    ]


def test_added_and_removed_keys_are_listed() -> None:
    stored = {"entries": [entry(0, {"gone": 1, "kept": 2})]}
    actual = {"entries": [entry(0, {"kept": 2, "new": 3})]}

    assert describe_difference(stored, actual)[2:] == [
        "    data.gone: removed (snapshot: 1)",
        "    data.new: added 3",
    ]


def test_an_inserted_entry_shows_as_added_and_the_rest_as_moved() -> None:
    stored = {"entries": [entry(0, "a"), entry(1, "b"), entry(2, "c")]}
    actual = {
        "entries": [
            entry(0, "a"),
            entry(1, "new"),
            entry(2, "b", "id-1"),
            entry(3, "c"),
        ]
    }

    assert describe_difference(stored, actual) == [
        "entries: 2 moved, 1 added (snapshot 3, journal 4)",
        "entry sequence 1 was added (not in the snapshot): "
        '{"id": "id-1", "data": "new"}',
        "entry sequence 2 moved from sequence 1",
        "entry sequence 3 moved from sequence 2 (id changed with it)",
    ]


def test_a_sequence_that_is_not_a_number_shows_as_changed_not_moved() -> None:
    stored = {"entries": [{"sequence": "x", "id": "id-0", "data": "a"}]}
    actual = {"entries": [entry(0, "a")]}

    assert describe_difference(stored, actual) == [
        "entries: 1 changed (snapshot 1, journal 1)",
        "entry sequence 0 differs from the snapshot's entry #0:",
        '    sequence: "x" in the snapshot, 0 now',
    ]


def test_a_removed_entry_shows_as_missing() -> None:
    stored = {"entries": [entry(0, "a"), entry(1, "b")]}
    actual = {"entries": [entry(0, "a")]}

    assert describe_difference(stored, actual) == [
        "entries: 1 missing (snapshot 2, journal 1)",
        "entry sequence 1 is missing (in the snapshot only): "
        '{"id": "id-1", "data": "b"}',
    ]


def test_fields_of_the_snapshot_itself_are_compared() -> None:
    stored = {"journal": "orders", "entries": []}
    actual = {"journal": "audit", "first_sequence": 5, "entries": []}

    assert describe_difference(stored, actual) == [
        "entries: none changed (snapshot 0, journal 0)",
        'journal: "orders" in the snapshot, "audit" now',
        "first_sequence: absent in the snapshot, 5 now",
    ]


def test_long_values_and_many_differences_are_cut_short() -> None:
    stored = {"entries": [entry(0, {f"k{n}": n for n in range(20)} | {"t": "x" * 300})]}
    actual = {"entries": [entry(0, {f"k{n}": -n for n in range(1, 20)} | {"t": "y"})]}

    lines = describe_difference(stored, actual)

    assert lines[-1] == "    ... and 9 more differences"
    assert len(lines) == 2 + 12 + 1
    assert all(len(line) < 250 for line in lines)
