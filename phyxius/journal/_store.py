"""The `Store` protocol: where entries live, and the rules every store keeps.

A `Journal` is a thin handle: it validates and prepares data, stamps the time
and the id, and calls its store. Everything that must be atomic with respect
to *other* writers - other threads, other processes, other machines - is the
store's job, done in one step per call:

* **Sequences.** `Store.append` gives the drafts the next sequences of the
  journal, consecutively, starting at ``Bounds.next_sequence``. Sequences are
  gapless and never reused: the next sequence is kept on its own, so it does
  not go back when retention removes entries, and a rejected append does not
  use one up.
* **Optimistic concurrency.** With ``expected_sequence`` the store checks, in
  the same step, that the first draft would get exactly that sequence, and
  otherwise raises `ConcurrencyError` having written nothing.
* **Retention.** With a `Retention` the store enforces ``max_entries`` in the
  same step: ``"error"`` refuses with `JournalOverflowError`, having written
  nothing; ``"drop_oldest"`` removes the oldest entries beyond the cap.
* **Idempotent retries.** Drafts carry their ids. When every draft's id is
  stored already, in order, with the same data and metadata, the call is a
  retry of an append that succeeded: the store returns the stored entries with
  ``created=False`` and writes nothing. Any other collision of ids is a
  `DuplicateIdError`.
* **Codecs.** A store records the codec name of each journal on its first
  write and raises `CodecMismatchError` when another codec is used later.

Reads never block writers for long and see only committed entries. A store
whose journals can be written from outside this process (by another process
or machine) says so with ``poll_interval``, the period at which
`Journal.follow` looks for such entries. Such a store may also offer
``watch(journal, callback) -> unwatch``: it calls ``callback()``, from any
thread, when entries may have been appended elsewhere, and `Journal.follow`
then reads at once instead of at its next poll. ``watch`` is optional and not
part of the protocol's required methods; ``unwatch()`` stops the calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from phyxius._errors import InvalidArgumentError
from phyxius.journal._codec import Codec
from phyxius.journal._entry import Appended, Bounds, Draft, Entry, Retention
from phyxius.journal._errors import (
    CodecMismatchError,
    ConcurrencyError,
    DuplicateIdError,
    JournalOverflowError,
)

__all__ = [
    "Store",
    "check_codec",
    "check_load",
    "concurrency_error",
    "overflow_error",
    "resolve_retry",
]


@runtime_checkable
class Store(Protocol):
    """Storage for named journals; see the module documentation for its rules.

    `MemoryStore` and `SqliteStore` implement it; a store for another
    database implements the same methods with the same guarantees.
    """

    @property
    def poll_interval(self) -> float | None:
        """Seconds between looks for entries written from outside this process.

        None when every write goes through this process (an in-memory store),
        so `Journal.follow` only waits to be woken by local appends.
        """
        ...

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        ...

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """Store ``drafts`` at the next sequences, atomically, or nothing at all."""
        ...

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        """Store ``entries`` as they are (ids, sequences, times) in a new journal.

        The journal must never have been written; the entries' sequences must
        be consecutive. Afterwards its bounds are ``entries[0].sequence`` to
        ``entries[-1].sequence + 1``.
        """
        ...

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        """Entries with ``start <= sequence < stop``, in order, at most ``limit``."""
        ...

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        """The retained entry with id ``entry_id``, or None."""
        ...

    def bounds(self, journal: str) -> Bounds:
        """The first retained and the next sequence; ``(0, 0)`` for a new journal."""
        ...

    def journals(self) -> list[str]:
        """Names of the journals that have been written, sorted."""
        ...

    def close(self) -> None:
        """Release the store's resources; later calls raise `JournalClosedError`."""
        ...


# -- rules shared by the stores, so that every store words them alike ----------


def concurrency_error(journal: str, expected: int, actual: int) -> ConcurrencyError:
    """The error for an append whose ``expected_sequence`` no longer holds."""
    if expected > actual:
        # Sequences are never reused, so no other writer can explain this:
        # the caller's number is ahead of the journal.
        return ConcurrencyError(
            f"journal {journal!r}: expected_sequence={expected} but the next entry "
            f"would be {actual}; no entry has reached that sequence yet, so "
            "nothing was written; pass the journal's next_sequence as seen when "
            f"deciding (now {actual})",
            expected=expected,
            actual=actual,
        )
    return ConcurrencyError(
        f"journal {journal!r}: expected_sequence={expected} but the next entry "
        f"would be {actual}; another writer appended first, so nothing was "
        f"written; read the entries from {min(expected, actual)}, decide again "
        f"and retry with expected_sequence={actual}",
        expected=expected,
        actual=actual,
    )


def overflow_error(
    journal: str, retention: Retention, count: int, adding: int
) -> JournalOverflowError:
    """The error for an append past ``max_entries`` with ``overflow="error"``."""
    return JournalOverflowError(
        f"journal {journal!r} holds {count} of max_entries={retention.max_entries} "
        f"entries, so appending {adding} more would overflow it; nothing was "
        "written; raise max_entries or use overflow='drop_oldest'"
    )


def check_codec(journal: str, recorded: str, codec: Codec) -> None:
    """Refuse to use a journal with a codec other than the one it was written with."""
    if recorded != codec.name:
        raise CodecMismatchError(
            f"journal {journal!r} was written with codec {recorded!r} and is now "
            f"used with codec {codec.name!r}; open it with codec={recorded!r}"
        )


def check_load(journal: str, entries: Sequence[Entry], bounds: Bounds) -> None:
    """Refuse a load into a written journal, or of entries that are not consecutive."""
    if bounds.next_sequence != 0:
        raise InvalidArgumentError(
            f"journal {journal!r} has been written already (next sequence "
            f"{bounds.next_sequence}); load entries into a new journal only"
        )
    for previous, entry in itertools.pairwise(entries):
        if entry.sequence != previous.sequence + 1:
            raise InvalidArgumentError(
                f"entries to load must have consecutive sequences, but "
                f"{previous.sequence} is followed by {entry.sequence}"
            )
    if entries and entries[0].sequence < 0:
        raise InvalidArgumentError(
            f"entries to load start at sequence {entries[0].sequence}; sequences "
            "are zero or more"
        )
    ids = [entry.id for entry in entries]
    if len(set(ids)) != len(ids):
        raise InvalidArgumentError(
            f"entries to load share the id {_first_duplicate(ids)!r}; ids must "
            "be unique within a journal"
        )


def resolve_retry(
    journal: str,
    drafts: Sequence[Draft],
    found: Sequence[Entry | None],
    same: Callable[[Draft, Entry], bool],
) -> Appended | None:
    """Decide what an append whose ids may be stored already amounts to.

    ``found[i]`` is the stored entry with ``drafts[i].id``, or None. Returns
    None when no id is stored (a plain append), the stored entries when the
    append is a complete retry, and raises `DuplicateIdError` otherwise.
    ``same(draft, entry)`` compares content.
    """
    ids = [draft.id for draft in drafts]
    if len(set(ids)) != len(ids):
        raise DuplicateIdError(
            f"journal {journal!r}: the entries of one append share the id "
            f"{_first_duplicate(ids)!r}; give each entry its own id"
        )
    stored = [entry for entry in found if entry is not None]
    if not stored:
        return None
    consecutive = len(stored) == len(drafts) and all(
        entry.sequence == stored[0].sequence + index
        for index, entry in enumerate(stored)
    )
    if consecutive and all(
        same(draft, entry) for draft, entry in zip(drafts, stored, strict=True)
    ):
        return Appended(tuple(stored), created=False)
    if not consecutive:
        raise DuplicateIdError(
            f"journal {journal!r}: {len(stored)} of the {len(drafts)} ids of this "
            f"append are stored already (the first, {stored[0].id!r}, at sequence "
            f"{stored[0].sequence}), but not as one earlier append; a retry must "
            "repeat an append exactly, and new entries need new ids"
        )
    draft, entry = next(
        (draft, entry)
        for draft, entry in zip(drafts, stored, strict=True)
        if not same(draft, entry)
    )
    raise DuplicateIdError(
        f"journal {journal!r} already holds id {draft.id!r} at sequence "
        f"{entry.sequence} with other content; a retry must repeat the append "
        "exactly, so use a new id for new content"
    )


def _first_duplicate(ids: Sequence[str]) -> str:
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            return entry_id
        seen.add(entry_id)
    return ids[0]
