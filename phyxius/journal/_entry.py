"""The records a journal is made of: entries, drafts and what an append returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, TypeAlias, final

from phyxius._time import Instant

__all__ = [
    "EMPTY_METADATA",
    "Appended",
    "Bounds",
    "Draft",
    "Entry",
    "Overflow",
    "Retention",
    "new_entry",
]

EMPTY_METADATA: Final[Mapping[str, Any]] = MappingProxyType({})
"""The metadata of an entry appended without any (shared, read-only)."""

Overflow: TypeAlias = Literal["none", "drop_oldest", "error"]
"""What a journal with ``max_entries`` does when an append would pass it."""


@final
@dataclass(frozen=True, slots=True)
class Entry:
    """One committed entry of a journal.

    ``sequence`` is its position: the first entry of a journal is 0 and every
    append takes the next number, with no gap and no reuse. ``id`` is unique
    within the journal (by default sortable by time); ``at`` is the journal
    clock's reading when it was appended. ``data`` and ``metadata`` are the
    values as the codec reads them back (with the default JSON codec a tuple
    comes back as a list); treat them as read-only, since every reader of the
    entry shares them.

    Entries compare equal when every field is equal; they hash by ``id`` and
    ``sequence`` only, since ``data`` is usually a dict.
    """

    id: str
    """Unique within the journal; kept by snapshots and ``to_json``."""

    sequence: int
    """Position in the journal, from 0, gapless."""

    at: Instant = field(hash=False)
    """The journal clock's reading when the entry was appended."""

    data: Any = field(hash=False)
    """The appended value, as the codec reads it back."""

    metadata: Mapping[str, Any] = field(
        default_factory=lambda: EMPTY_METADATA, hash=False
    )
    """Optional key-value context given with the append (empty by default)."""

    def __repr__(self) -> str:
        extra = f", metadata={dict(self.metadata)!r}" if self.metadata else ""
        return (
            f"Entry(sequence={self.sequence}, id={self.id!r}, at={self.at!r}, "
            f"data={self.data!r}{extra})"
        )


_new = Entry.__new__
_set_id = Entry.__dict__["id"].__set__
_set_sequence = Entry.__dict__["sequence"].__set__
_set_at = Entry.__dict__["at"].__set__
_set_data = Entry.__dict__["data"].__set__
_set_metadata = Entry.__dict__["metadata"].__set__


def new_entry(
    entry_id: str, sequence: int, at: Instant, data: Any, metadata: Mapping[str, Any]
) -> Entry:
    """Build an `Entry` from trusted values, faster than its ``__init__``.

    Entry is frozen, so its ``__init__`` sets each field through
    ``object.__setattr__``; the slots' own descriptors do the same in less than
    half the time. Stores build one entry per append, so this matters.
    """
    entry = _new(Entry)
    _set_id(entry, entry_id)
    _set_sequence(entry, sequence)
    _set_at(entry, at)
    _set_data(entry, data)
    _set_metadata(entry, metadata)
    return entry


class Draft(NamedTuple):
    """An entry before a store gave it a sequence: what `Store.append` receives.

    ``data`` and ``metadata`` have been through the codec's ``prepare`` step,
    so they are known to encode. ``id`` travels with the draft so that a store
    can recognise a retried append and store it once.
    """

    id: str
    at: Instant
    data: Any
    metadata: Mapping[str, Any]


@final
@dataclass(frozen=True, slots=True)
class Bounds:
    """Which sequences a journal holds: ``first_sequence <= s < next_sequence``.

    ``next_sequence`` is the sequence the next append will receive; it never
    goes down, not even when retention removes entries. A journal that was
    never written has both at 0.
    """

    first_sequence: int
    next_sequence: int

    @property
    def count(self) -> int:
        """How many entries the journal holds."""
        return self.next_sequence - self.first_sequence


@final
@dataclass(frozen=True, slots=True)
class Retention:
    """A cap on how many entries a journal keeps, enforced by the store.

    ``overflow="drop_oldest"`` removes the oldest entries after an append
    that passes ``max_entries``; ``overflow="error"`` refuses the append with
    `JournalOverflowError`. Either way sequences keep counting.
    """

    max_entries: int
    overflow: Literal["drop_oldest", "error"]


class Appended(NamedTuple):
    """What `Store.append` did.

    ``created`` is False when every draft's id was stored already with the
    same content: the append was a retry, nothing was written and ``entries``
    are the stored ones. ``dropped`` counts the entries that retention removed.
    A tuple, because one is built for every append.
    """

    entries: tuple[Entry, ...]
    created: bool = True
    dropped: int = 0
