"""`ForwardingStore`: every call reaches the wrapped store unless overridden."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from phyxius import InvalidArgumentError
from phyxius.journal import (
    Appended,
    Codec,
    Draft,
    ForwardingStore,
    MemoryStore,
    Retention,
    SqliteStore,
    Store,
    StoreError,
    create_journal,
)


class RefusesOddAppends(ForwardingStore):
    """Refuses every other append; everything else is the wrapped store's."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.calls = 0

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        self.calls += 1
        if self.calls % 2 == 0:
            raise StoreError(f"{journal}: refused append {self.calls}")
        return super().append(
            journal,
            drafts,
            codec=codec,
            expected_sequence=expected_sequence,
            retention=retention,
        )


def test_a_journal_on_a_wrapper_reads_and_writes_through_the_wrapped_store() -> None:
    inner = MemoryStore()
    store = RefusesOddAppends(inner)
    journal = create_journal(store, name="orders")

    journal.append("placed")
    with pytest.raises(StoreError, match=r"^orders: refused append 2$"):
        journal.append("lost")
    journal.extend(["paid", "shipped"])

    assert isinstance(store, Store)
    assert store.wrapped is inner
    assert [entry.data for entry in journal] == ["placed", "paid", "shipped"]
    assert [entry.data for entry in create_journal(inner, name="orders")] == [
        "placed",
        "paid",
        "shipped",
    ]
    assert store.journals() == inner.journals() == ["orders"]
    assert store.bounds("orders") == inner.bounds("orders")
    assert store.poll_interval is inner.poll_interval is None
    first = journal.first()
    assert first is not None
    assert journal.find(first.id) == first


def test_the_optional_watch_and_close_reach_the_wrapped_store(tmp_path: Path) -> None:
    inner = SqliteStore(tmp_path / "journals.sqlite3", poll_interval=0.5)
    store = ForwardingStore(inner)

    assert store.poll_interval == 0.5
    assert getattr(store, "watch", None) == getattr(inner, "watch", None)
    assert repr(store).startswith("<ForwardingStore over <")

    store.close()

    assert store.closed
    assert inner.closed


def test_what_is_not_a_store_is_refused() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^store='memory' \(type=str\) is not a Store; pass a MemoryStore, a "
        r"SqliteStore or another Store$",
    ):
        ForwardingStore("memory")  # type: ignore[arg-type]
