"""Any object with the Store methods is a store: the protocol is all a journal needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from phyxius import ControlledClock, Instant
from phyxius.journal import (
    JSON_CODEC,
    Appended,
    Bounds,
    Codec,
    Draft,
    Entry,
    Journal,
    MemoryStore,
    Retention,
    SqliteStore,
    Store,
    create_journal,
)


class CountingStore:
    """A store of its own that delegates to a MemoryStore and counts the calls.

    It has ``__slots__`` without ``__weakref__``, so the journal cannot share
    in-process state between its handles and gives each handle its own.
    """

    __slots__ = ("appends", "inner")

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.appends = 0

    @property
    def poll_interval(self) -> float | None:
        return None

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        self.appends += 1
        return self.inner.append(
            journal,
            drafts,
            codec=codec,
            expected_sequence=expected_sequence,
            retention=retention,
        )

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        self.inner.load(journal, entries, codec=codec)

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        return self.inner.read(journal, start, stop, limit, codec=codec)

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        return self.inner.find(journal, entry_id, codec=codec)

    def bounds(self, journal: str) -> Bounds:
        return self.inner.bounds(journal)

    def journals(self) -> list[str]:
        return self.inner.journals()

    def close(self) -> None:
        self.inner.close()


def test_the_builtin_stores_satisfy_the_protocol(tmp_path: object) -> None:
    assert isinstance(MemoryStore(), Store)
    assert isinstance(CountingStore(), Store)


def test_a_journal_runs_on_a_store_of_its_own() -> None:
    store = CountingStore()
    journal = create_journal(store, max_entries=3, overflow="drop_oldest")
    seen: list[int] = []
    journal.subscribe(lambda entry: seen.append(entry.sequence))

    journal.append("a")
    journal.extend(["b", "c", "d"])
    journal.append("a2", id="fixed")
    journal.append("a2", id="fixed")

    assert store.appends == 4
    assert [entry.data for entry in journal] == ["c", "d", "a2"]
    assert seen == [0, 1, 2, 3, 4]
    assert journal.first_sequence == 2


def test_follow_works_on_a_store_of_its_own() -> None:
    journal = create_journal(CountingStore())

    async def main() -> list[str]:
        journal.append("stored")
        seen = []
        async for entry in journal.follow():
            seen.append(entry.data)
            if len(seen) == 1:
                journal.append("live")
            else:
                return seen
        return seen

    assert asyncio.run(main()) == ["stored", "live"]


def test_a_sqlite_store_satisfies_the_protocol(tmp_path: object) -> None:
    from pathlib import Path

    with SqliteStore(Path(str(tmp_path)) / "p.sqlite3") as store:
        assert isinstance(store, Store)
        journal: Journal = create_journal(store)
        assert journal.append("x").sequence == 0


class WatchingStore(CountingStore):
    """A store that tells followers when someone else wrote (like LISTEN/NOTIFY)."""

    __slots__ = ("watchers",)

    def __init__(self) -> None:
        super().__init__()
        self.watchers: list[Callable[[], object]] = []

    def watch(self, journal: str, callback: Callable[[], object]) -> Callable[[], None]:
        self.watchers.append(callback)
        return lambda: self.watchers.remove(callback)

    def write_elsewhere(self, data: object) -> None:
        """Append as another process would: past every journal handle here."""
        at = Instant(wall_ns=0, mono_ns=0)
        self.inner.append(
            "default", [Draft(f"elsewhere-{data}", at, data, {})], codec=JSON_CODEC
        )
        for callback in list(self.watchers):
            callback()


async def test_a_store_that_watches_wakes_followers_without_polling(
    controlled_clock: ControlledClock,
) -> None:
    store = WatchingStore()
    journal = create_journal(store, clock=controlled_clock)
    follower = journal.follow()

    async def first_two() -> list[object]:
        return [(await anext(follower)).data, (await anext(follower)).data]

    task = asyncio.create_task(first_two())
    await asyncio.sleep(0)
    store.write_elsewhere("one")
    await asyncio.sleep(0)
    store.write_elsewhere("two")

    assert await task == ["one", "two"]
    assert controlled_clock.now().mono == 0
    await follower.aclose()
    assert store.watchers == []
