"""`SnapshotMatcher`: one comparison with a stored snapshot, and what it compares.

A comparison takes a `Journal` (compared as its `snapshot`), a
`JournalSnapshot`, or a list of `Entry` (``journal.read(...)``,
``journal.filter(...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, final

from phyxius import InvalidArgumentError
from phyxius.journal import Entry, Journal, JournalSnapshot, JsonCodec
from pytest_phyxius._snapshot_volatile import Paths

if TYPE_CHECKING:
    from pytest_phyxius._snapshot_fixture import JournalSnapshotFixture

__all__ = ["Compared", "SnapshotMatcher", "check_name", "entries_of", "wrong_type"]


def check_name(name: object) -> str | None:
    """Check a snapshot name given with ``name=``.

    Raises:
        InvalidArgumentError: it is not a non-empty str, or only digits.
    """
    if name is None:
        return None
    if isinstance(name, str) and name and not (name.isdigit() and name.isascii()):
        return name
    raise InvalidArgumentError(
        f"name={name!r} (type={type(name).__name__}) is not a snapshot name; pass "
        'a non-empty str that is not only digits (such as "after-restart"): '
        "numbers are for the unnamed snapshots"
    )


class Compared(NamedTuple):
    """The entries a comparison is about, and where they came from."""

    journal: str | None
    first_sequence: int
    entries: Sequence[Entry]
    json_codec: bool


def entries_of(other: object) -> Compared | None:
    """What ``other`` holds to compare, or None when it is not comparable."""
    if isinstance(other, Journal):
        other = other.snapshot()
    if isinstance(other, JournalSnapshot):
        json_codec = other.codec_name == "json" and isinstance(other.codec, JsonCodec)
        return Compared(other.name, other.first_sequence, other.entries, json_codec)
    if isinstance(other, list | tuple) and all(isinstance(e, Entry) for e in other):
        return Compared(None, 0, other, False)
    return None


def wrong_type(other: object) -> str:
    """The explanation for a comparison with something else."""
    return (
        "journal_snapshot compares with a Journal, a JournalSnapshot or a list of "
        f"Entry, not {type(other).__qualname__}"
    )


@final
class SnapshotMatcher:
    """One comparison with a stored snapshot, with its own options.

    ``journal_snapshot(name=..., exclude=..., replace=...)`` returns one, for
    ``assert journal == journal_snapshot(replace=["id"])``. It compares once:
    each ``==`` is a comparison of its own, with the next number when it has
    no name.
    """

    __slots__ = ("_exclude", "_explanation", "_fixture", "_name", "_replace")

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        fixture: JournalSnapshotFixture,
        name: str | None,
        exclude: Paths,
        replace: Paths,
    ) -> None:
        self._fixture = fixture
        self._name = name
        self._exclude = exclude
        self._replace = replace
        self._explanation: list[str] | None = None

    def __eq__(self, other: object) -> bool:
        entries = entries_of(other)
        if entries is None:
            self._explanation = [wrong_type(other)]
            return NotImplemented
        ok, self._explanation = self._fixture._compare(
            entries, self._name, self._exclude, self._replace
        )
        return ok

    def _phyxius_snapshot_explanation(self) -> list[str] | None:
        return self._explanation

    def __repr__(self) -> str:
        name = "" if self._name is None else f" {self._name!r}"
        return f"<journal_snapshot{name} of {self._fixture.test_name}>"
