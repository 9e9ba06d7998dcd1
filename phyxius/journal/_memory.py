"""`MemoryStore`: journals held in this process's memory.

The default store, and the one tests use. It keeps the entries themselves, so
reading one back costs no decoding; the journal's codec still checks and
normalises every value on append, so an in-memory journal returns exactly
what a durable one would (a tuple comes back as a list in both).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final, final

from phyxius._time import Instant
from phyxius.journal._codec import Codec
from phyxius.journal._entry import (
    Appended,
    Bounds,
    Draft,
    Entry,
    Retention,
    new_entry,
)
from phyxius.journal._errors import JournalClosedError
from phyxius.journal._store import (
    check_codec,
    check_load,
    concurrency_error,
    overflow_error,
    resolve_retry,
)

__all__ = ["MemoryStore"]

# Dropped entries stay at the front of the list until they are this many and
# more than half of it; then the list is cut. Appends stay O(1) amortised.
_COMPACT_AT: Final = 1024

_new_entry = Entry.__new__
_set_id = Entry.__dict__["id"].__set__
_set_sequence = Entry.__dict__["sequence"].__set__
_set_at = Entry.__dict__["at"].__set__
_set_data = Entry.__dict__["data"].__set__
_set_metadata = Entry.__dict__["metadata"].__set__
_new_tuple = tuple.__new__


class _Log:
    """One journal. Invariant: ``entries[head:]`` holds sequences ``first..next-1``."""

    __slots__ = ("codec", "entries", "first", "head", "ids", "next")

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.entries: list[Entry] = []
        self.head = 0
        self.first = 0
        self.next = 0
        self.ids: dict[str, int] = {}

    def at(self, sequence: int) -> Entry:
        return self.entries[self.head + sequence - self.first]

    def drop_before(self, sequence: int) -> int:
        dropped = sequence - self.first
        if dropped <= 0:
            return 0
        ids = self.ids
        for index in range(self.head, self.head + dropped):
            del ids[self.entries[index].id]
        self.head += dropped
        self.first = sequence
        if self.head >= _COMPACT_AT and self.head * 2 > len(self.entries):
            del self.entries[: self.head]
            self.head = 0
        return dropped


@final
class MemoryStore:
    """Journals in memory: fast, shared by every `Journal` given this store.

    Thread-safe. Nothing survives the process; use `SqliteStore` for that.
    """

    __slots__ = ("__weakref__", "_closed", "_lock", "_logs")

    def __init__(self) -> None:
        # Re-entrant: the journals on this store hold it around a whole append
        # (see `hub_for`), and the store takes it again inside.
        self._lock = threading.RLock()
        self._logs: dict[str, _Log] = {}
        self._closed = False

    @property
    def poll_interval(self) -> float | None:
        """None: every write to a memory store goes through this process."""
        return None

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._closed

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """Store ``drafts`` at the next sequences, atomically (see `Store.append`)."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            log = self._logs.get(journal)
            if log is None:
                log = self._logs[journal] = _Log(codec.name)
            elif log.codec != codec.name:
                check_codec(journal, log.codec, codec)

            ids = log.ids
            if len(drafts) == 1:
                if drafts[0].id in ids:
                    return self._retry(journal, log, drafts)
            elif any(draft.id in ids for draft in drafts) or len(
                {draft.id for draft in drafts}
            ) != len(drafts):
                return self._retry(journal, log, drafts)

            sequence = log.next
            if expected_sequence is not None and expected_sequence != sequence:
                raise concurrency_error(journal, expected_sequence, sequence)
            if retention is not None and retention.overflow == "error":
                count = sequence - log.first
                if count + len(drafts) > retention.max_entries:
                    raise overflow_error(journal, retention, count, len(drafts))

            entries = log.entries
            created = []
            for draft in drafts:
                entry = new_entry(draft[0], sequence, draft[1], draft[2], draft[3])
                entries.append(entry)
                ids[draft[0]] = sequence
                created.append(entry)
                sequence += 1
            log.next = sequence

            dropped = 0
            if retention is not None and sequence - log.first > retention.max_entries:
                dropped = log.drop_before(sequence - retention.max_entries)
            return _new_tuple(Appended, (tuple(created), True, dropped))

    def _append_held(
        self,
        journal: str,
        entry_id: str,
        at: Instant,
        data: Any,
        metadata: Mapping[str, Any],
        codec: Codec,
        codec_name: str,
        expected_sequence: int | None,
        retention: Retention | None,
    ) -> tuple[Entry, int] | None:
        """`append` of one draft, without building the draft and the result.

        The caller holds this store's lock: a `Journal` on a memory store holds
        it for the whole append (see `hub_for`), so taking it again here would
        be wasted. Returns the entry and how many entries retention dropped,
        or None when the id is stored already (the caller then takes the
        general path, which decides whether it is a retry).
        """
        if self._closed:
            raise _closed_error()
        log = self._logs.get(journal)
        if log is None:
            log = self._logs[journal] = _Log(codec_name)
        elif log.codec != codec_name:
            check_codec(journal, log.codec, codec)
        if entry_id in log.ids:
            return None

        sequence = log.next
        if expected_sequence is not None and expected_sequence != sequence:
            raise concurrency_error(journal, expected_sequence, sequence)
        if retention is not None and retention.overflow == "error":
            count = sequence - log.first
            if count + 1 > retention.max_entries:
                raise overflow_error(journal, retention, count, 1)

        # `new_entry`, inlined: this is the hottest path of the library.
        entry = _new_entry(Entry)
        _set_id(entry, entry_id)
        _set_sequence(entry, sequence)
        _set_at(entry, at)
        _set_data(entry, data)
        _set_metadata(entry, metadata)
        log.entries.append(entry)
        log.ids[entry_id] = sequence
        log.next = sequence + 1

        if retention is not None and sequence + 1 - log.first > retention.max_entries:
            return entry, log.drop_before(sequence + 1 - retention.max_entries)
        return entry, 0

    def _retry(self, journal: str, log: _Log, drafts: Sequence[Draft]) -> Appended:
        found = [
            log.at(log.ids[draft.id]) if draft.id in log.ids else None
            for draft in drafts
        ]
        result = resolve_retry(journal, drafts, found, _same)
        if result is None:  # pragma: no cover - only called when an id is known
            raise AssertionError("retry path taken with no stored id")
        return result

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        """Store ``entries`` as they are in a new journal (see `Store.load`)."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            log = self._logs.get(journal)
            check_load(journal, entries, self._bounds(log))
            if log is None:
                log = self._logs[journal] = _Log(codec.name)
            else:
                check_codec(journal, log.codec, codec)
            if not entries:
                return
            log.entries = list(entries)
            log.head = 0
            log.first = entries[0].sequence
            log.next = entries[-1].sequence + 1
            log.ids = {entry.id: entry.sequence for entry in entries}

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        """Entries with ``start <= sequence < stop``, at most ``limit``."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            log = self._logs.get(journal)
            if log is None:
                return []
            if log.codec != codec.name:
                check_codec(journal, log.codec, codec)
            low = max(start, log.first)
            high = log.next if stop is None else min(stop, log.next)
            if limit is not None:
                high = min(high, low + limit)
            if high <= low:
                return []
            offset = log.head - log.first
            return log.entries[low + offset : high + offset]

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        """The retained entry with id ``entry_id``, or None."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            log = self._logs.get(journal)
            if log is None:
                return None
            check_codec(journal, log.codec, codec)
            sequence = log.ids.get(entry_id)
            return None if sequence is None else log.at(sequence)

    def bounds(self, journal: str) -> Bounds:
        """The first retained and the next sequence of ``journal``."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            return self._bounds(self._logs.get(journal))

    @staticmethod
    def _bounds(log: _Log | None) -> Bounds:
        return Bounds(0, 0) if log is None else Bounds(log.first, log.next)

    def journals(self) -> list[str]:
        """Names of the journals written to this store, sorted."""
        with self._lock:
            if self._closed:
                raise _closed_error()
            return sorted(self._logs)

    def close(self) -> None:
        """Forget every journal; later calls raise `JournalClosedError`."""
        with self._lock:
            self._closed = True
            self._logs.clear()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"journals={len(self._logs)}"
        return f"<MemoryStore {state}>"


def _same(draft: Draft, entry: Entry) -> bool:
    return bool(draft.data == entry.data and draft.metadata == entry.metadata)


def _closed_error() -> JournalClosedError:
    return JournalClosedError(
        "this MemoryStore was closed; create a new store (and journal) to go on"
    )
