"""Test names map to snapshot file names injectively and safely."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_phyxius._snapshot_files import check_filename, default_filename
from pytest_phyxius.snapshot import SnapshotNameError


def unescape(filename: str) -> str:
    """The inverse of the escape, for names short enough to keep whole."""
    stem = filename.removesuffix(".json").replace(".", "::")
    data = re.sub(
        rb"%([0-9A-F]{2})",
        lambda match: bytes([int(match[1], 16)]),
        stem.encode("ascii"),
    )
    return data.decode("utf-8", "surrogatepass")


names = st.text(min_size=1, max_size=60)


@given(names)
def test_the_escape_is_reversible_so_no_two_names_share_a_file(name: str) -> None:
    filename = default_filename(name)
    assume("~" not in filename)  # cut short, with a hash: see the test below

    assert unescape(filename) == name


@given(st.text(min_size=1, max_size=600))
def test_a_file_name_never_leaves_its_folder(name: str) -> None:
    filename = default_filename(name)

    assert filename.endswith(".json")
    assert re.fullmatch(r"[A-Za-z0-9_\-\[\].%~]+", filename)
    assert filename not in (".json", "..json")
    assert not filename.startswith(".")
    assert len(filename) <= 160


@given(st.lists(st.text(min_size=1, max_size=400), min_size=2, max_size=2, unique=True))
def test_distinct_names_get_distinct_files(pair: list[str]) -> None:
    first, second = pair

    assert default_filename(first) != default_filename(second)


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("test_plain", "test_plain.json"),
        ("TestCart::test_add", "TestCart.test_add.json"),
        ("test_x[a/b]", "test_x[a%2Fb].json"),
        ("test_x[..]", "test_x[%2E%2E].json"),
        ("test_x[a::b]", "test_x[a.b].json"),
        ("test_x[a.b]", "test_x[a%2Eb].json"),
        ("test_x[a:b]", "test_x[a%3Ab].json"),
        ("test_x[%]", "test_x[%25].json"),
        ("test_x[\u00e9]", "test_x[%C3%A9].json"),
        ("test_x[\ud800]", "test_x[%ED%A0%80].json"),
        ("CON", "%43ON.json"),
        ("nul::test_x", "%6Eul.test_x.json"),
        ("COM1", "%43OM1.json"),
        ("CONTROL", "CONTROL.json"),
    ],
)
def test_file_names_are_readable_escapes(name: str, filename: str) -> None:
    assert default_filename(name) == filename


def test_long_names_keep_a_readable_prefix_and_a_hash() -> None:
    first = default_filename("test_x[" + "a" * 300 + "]")
    second = default_filename("test_x[" + "a" * 299 + "b]")

    assert first.startswith("test_x[" + "a" * 93 + "~")
    assert re.fullmatch(r"test_x\[a{93}~[0-9a-f]{20}\.json", first)
    assert first != second


@pytest.mark.parametrize(
    "name",
    [
        "../x.json",
        "a/b.json",
        "a\\b.json",
        ".hidden.json",
        "x.txt",
        ".json",
        "a\x00.json",
    ],
)
def test_a_bad_name_from_the_hook_is_refused(name: str) -> None:
    with pytest.raises(
        SnapshotNameError,
        match=r"^pytest_phyxius_snapshot_filename returned name=.* \(type=str\) for "
        r"test 'test_x'; return one file name ending in \"\.json\"",
    ):
        check_filename(name, "test_x")


def test_a_name_that_is_not_text_is_refused() -> None:
    with pytest.raises(
        SnapshotNameError, match=r"^.* returned name=None \(type=NoneType\)"
    ):
        check_filename(None, "test_x")


def test_a_name_longer_than_a_file_system_allows_is_refused() -> None:
    with pytest.raises(SnapshotNameError, match=r"at most 255 bytes long$"):
        check_filename("\u00e9" * 130 + ".json", "test_x")

    assert check_filename("golden-test_x.json", "test_x") == "golden-test_x.json"
