"""``exclude=`` and ``replace=`` paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from phyxius import InvalidArgumentError
from pytest_phyxius._snapshot_volatile import apply_volatile, parse_paths

AT = {"mono": "0.000000000", "wall": "2024-01-01T00:00:00.000000000Z"}


def entries() -> list[dict[str, Any]]:
    return [
        {
            "sequence": 0,
            "id": "A",
            "at": AT,
            "data": {
                "order": "o-1",
                "items": [{"sku": "x", "token": "t1"}, {"sku": "y", "token": "t2"}],
            },
        },
        {
            "sequence": 1,
            "id": "B",
            "at": AT,
            "data": {"order": "o-1", "parent": "A"},
            "metadata": {"request": "r-9", "a.b": 1},
        },
    ]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, ()),
        ("id", (("id",),)),
        ("data.items.*.sku", (("data", "items", "*", "sku"),)),
        (["id", "at.wall"], (("id",), ("at", "wall"))),
        (("id", "at"), (("id",), ("at",))),
        (["id", ("metadata", "a.b")], (("id",), ("metadata", "a.b"))),
    ],
)
def test_paths_are_dotted_strings_or_tuples_of_segments(
    value: object, parsed: tuple[tuple[str, ...], ...]
) -> None:
    assert parse_paths(value, "exclude") == parsed


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", r"holds the path '', which has an empty segment"),
        ("data..x", r"holds the path 'data\.\.x', which has an empty segment"),
        (["id", 5], r"holds 5, which is not a str or tuple of str"),
        ([("data", 1)], r"holds \('data', 1\), which is not a str or tuple of str"),
        (5, r"is not a path or a list of paths"),
        (b"id", r"is not a path or a list of paths"),
        ({"id": 1}, r"is not a path or a list of paths"),
    ],
)
def test_a_malformed_path_is_refused(value: object, problem: str) -> None:
    with pytest.raises(
        InvalidArgumentError, match=rf"^replace=.* \(type=\w+\) {problem};"
    ):
        parse_paths(value, "replace")


def test_exclude_removes_keys_list_items_and_wildcard_matches() -> None:
    documents = entries()

    apply_volatile(
        documents,
        parse_paths(
            ["at", "data.items.*.token", "data.items.0", ("metadata", "a.b")], "x"
        ),
        (),
    )

    assert documents[0] == {
        "sequence": 0,
        "id": "A",
        "data": {"order": "o-1", "items": [{"sku": "y"}]},
    }
    assert documents[1]["metadata"] == {"request": "r-9"}
    assert "at" not in documents[1]


def test_replace_gives_equal_values_the_same_placeholder_across_paths() -> None:
    documents = entries()

    apply_volatile(documents, (), parse_paths(["id", "data.parent", "data.order"], "x"))

    assert [d["id"] for d in documents] == ["<id:1>", "<id:3>"]
    assert documents[0]["data"]["order"] == "<order:2>"
    assert documents[1]["data"] == {"order": "<order:2>", "parent": "<id:1>"}


def test_replacing_a_whole_value_numbers_it_by_its_content() -> None:
    documents = entries()

    apply_volatile(documents, (), parse_paths(["at", "data.items.*"], "x"))

    assert [d["at"] for d in documents] == ["<at:1>", "<at:1>"]
    assert documents[0]["data"]["items"] == ["<items:2>", "<items:3>"]


def test_a_path_that_matches_nothing_is_refused_and_changes_nothing() -> None:
    documents = entries()
    before = copy.deepcopy(documents)

    with pytest.raises(
        InvalidArgumentError,
        match=r"^exclude/replace path 'data\.oder' matched no value in any of the 2 "
        r"entries; check the spelling against the snapshot file",
    ):
        apply_volatile(documents, (), parse_paths(["data.oder"], "x"))

    assert documents == before


def test_paths_need_no_match_in_an_empty_journal() -> None:
    apply_volatile([], parse_paths("data.anything", "x"), parse_paths("id", "x"))
