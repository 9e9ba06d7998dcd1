"""`ForwardingStore`: a store that hands every call to another store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from phyxius._errors import InvalidArgumentError
from phyxius.journal._codec import Codec
from phyxius.journal._entry import Appended, Bounds, Draft, Entry, Retention
from phyxius.journal._store import Store

__all__ = ["ForwardingStore"]


class ForwardingStore:
    """A `Store` that hands every call to the store it wraps.

    Subclass it and override only what changes: fail chosen appends, count or
    trace calls. Everything else, the optional ``watch`` included, reaches the
    wrapped store unchanged, so the wrapper keeps every guarantee of the store
    it wraps.
    """

    __slots__ = ("__weakref__", "_store")

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise InvalidArgumentError(
                f"store={store!r} (type={type(store).__name__}) is not a Store; "
                "pass a MemoryStore, a SqliteStore or another Store"
            )
        self._store = store

    @property
    def wrapped(self) -> Store:
        """The store that holds the entries."""
        return self._store

    @property
    def poll_interval(self) -> float | None:
        """The wrapped store's."""
        return self._store.poll_interval

    @property
    def closed(self) -> bool:
        """The wrapped store's."""
        return self._store.closed

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """The wrapped store's."""
        return self._store.append(
            journal,
            drafts,
            codec=codec,
            expected_sequence=expected_sequence,
            retention=retention,
        )

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        """The wrapped store's."""
        self._store.load(journal, entries, codec=codec)

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        """The wrapped store's."""
        return self._store.read(journal, start, stop, limit, codec=codec)

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        """The wrapped store's."""
        return self._store.find(journal, entry_id, codec=codec)

    def bounds(self, journal: str) -> Bounds:
        """The wrapped store's."""
        return self._store.bounds(journal)

    def journals(self) -> list[str]:
        """The wrapped store's."""
        return self._store.journals()

    def close(self) -> None:
        """Close the wrapped store."""
        self._store.close()

    def __getattr__(self, name: str) -> Any:
        # Optional parts of a store (``watch``) are the wrapped store's.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._store, name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self._store!r}>"
