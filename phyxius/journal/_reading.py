"""Reading a journal: lookups, ranges, iteration, snapshots and `follow`.

`JournalReader` is the reading half of `Journal`, kept in its own module so
each stays readable. Every read goes to the store, so a journal on a
`SqliteStore` also sees what other processes wrote.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Final

from phyxius._errors import InvalidArgumentError
from phyxius.journal._arguments import check_id, check_sequence
from phyxius.journal._codec import Codec
from phyxius.journal._entry import Entry
from phyxius.journal._errors import EntryNotFoundError
from phyxius.journal._hub import Hub, Waiter
from phyxius.journal._snapshot import JournalSnapshot
from phyxius.journal._store import Store

if TYPE_CHECKING:
    from phyxius.clock import Clock

__all__ = ["FOLLOW_PAGE", "ITERATION_PAGE", "JournalReader"]

ITERATION_PAGE: Final = 512
"""Entries read from the store at a time while iterating over a journal."""

FOLLOW_PAGE: Final = 256
"""Entries read from the store at a time by `Journal.follow`."""


class JournalReader:
    """The reading methods of `Journal`; not used on its own."""

    __slots__ = ()

    _store: Store
    _name: str
    _codec: Codec
    _clock: Clock
    _hub: Hub
    _closed: bool

    @property
    def first_sequence(self) -> int:
        """Sequence of the oldest retained entry (`next_sequence` when empty)."""
        return self._store.bounds(self._name).first_sequence

    @property
    def next_sequence(self) -> int:
        """The sequence the next append will receive (``expected_sequence``)."""
        return self._store.bounds(self._name).next_sequence

    def get(self, sequence: int) -> Entry:
        """The entry with ``sequence``.

        Raises:
            EntryNotFoundError: no retained entry has it; the message says
                whether retention dropped it or it was not written yet.
        """
        check_sequence(sequence, "sequence")
        found = self._store.read(
            self._name, sequence, sequence + 1, 1, codec=self._codec
        )
        if found:
            return found[0]
        bounds = self._store.bounds(self._name)
        if sequence < bounds.first_sequence:
            why = (
                f"it was dropped by retention; the journal now starts at "
                f"{bounds.first_sequence}"
            )
        else:
            why = f"it was not written yet; the next sequence is {bounds.next_sequence}"
        raise EntryNotFoundError(
            f"journal {self._name!r} has no entry with sequence {sequence}: {why}"
        )

    def find(self, entry_id: str) -> Entry | None:
        """The retained entry whose id is ``entry_id``, or None."""
        check_id(entry_id)
        return self._store.find(self._name, entry_id, codec=self._codec)

    def first(self) -> Entry | None:
        """The oldest retained entry, or None when the journal is empty."""
        found = self._store.read(self._name, 0, None, 1, codec=self._codec)
        return found[0] if found else None

    def last(self) -> Entry | None:
        """The newest entry, or None when the journal is empty."""
        bounds = self._store.bounds(self._name)
        if bounds.count == 0:
            return None
        found = self._store.read(
            self._name, bounds.next_sequence - 1, None, None, codec=self._codec
        )
        return found[-1] if found else None

    def __len__(self) -> int:
        """How many entries the journal holds (after retention)."""
        return self._store.bounds(self._name).count

    def __bool__(self) -> bool:
        """Always True, so ``if journal:`` asks whether there is one; use len()."""
        return True

    def __iter__(self) -> Iterator[Entry]:
        """Every entry in sequence order, read page by page.

        Entries appended while iterating are included once the iteration
        reaches them.
        """
        position = 0
        while True:
            page = self._store.read(
                self._name, position, None, ITERATION_PAGE, codec=self._codec
            )
            if not page:
                return
            yield from page
            position = page[-1].sequence + 1

    def read(
        self,
        start: int | None = None,
        stop: int | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries with ``start <= sequence < stop``, in order, at most ``limit``.

        ``start`` defaults to the first retained entry and ``stop`` to the end;
        sequences dropped by retention are simply not there.
        """
        low = 0 if start is None else check_sequence(start, "start")
        if stop is not None:
            check_sequence(stop, "stop")
        if limit is not None:
            check_sequence(limit, "limit")
        return self._store.read(self._name, low, stop, limit, codec=self._codec)

    def get_all(self) -> list[Entry]:
        """Every retained entry, in sequence order."""
        return self._store.read(self._name, 0, None, None, codec=self._codec)

    def filter(self, predicate: Callable[[Entry], object]) -> list[Entry]:
        """The entries for which ``predicate(entry)`` is true, in sequence order."""
        if not callable(predicate):
            raise InvalidArgumentError(
                f"predicate={predicate!r} (type={type(predicate).__name__}) is not "
                "callable; pass a function of an Entry"
            )
        return [entry for entry in self if predicate(entry)]

    def snapshot(self) -> JournalSnapshot:
        """An immutable copy of the journal now: its entries and bounds."""
        entries = tuple(self._store.read(self._name, 0, codec=self._codec))
        if entries:
            first, following = entries[0].sequence, entries[-1].sequence + 1
        else:
            bounds = self._store.bounds(self._name)
            first, following = bounds.first_sequence, bounds.next_sequence
        return JournalSnapshot(
            self._name, entries, first, following, self._codec.name, self._codec
        )

    def to_json(self, *, indent: int | None = None) -> str:
        """The journal as a JSON document; `from_json` reads it back exactly."""
        return self.snapshot().to_json(indent=indent)

    # -- following ------------------------------------------------------------------

    async def follow(self, start: int | None = None) -> AsyncIterator[Entry]:
        """Yield every entry from ``start`` on: the stored ones, then new ones live.

        ``start`` defaults to the first retained entry. New entries appended
        in this process wake the follower at once. Entries written by another
        process (a `SqliteStore` shared by several) are found by reading the
        store every ``store.poll_interval`` seconds of this journal's clock,
        or sooner when the store wakes followers itself (``Store.watch``).
        The iteration ends when the journal is closed.

        Raises:
            EntryNotFoundError: entries the follower had not read yet were
                dropped by retention (at the start, or because it fell behind);
                nothing is skipped silently.
        """
        position = None if start is None else check_sequence(start, "start")
        loop = asyncio.get_running_loop()
        hub = self._hub
        poll = self._store.poll_interval

        # A store that can tell when others wrote (LISTEN/NOTIFY, say) wakes
        # the waiting follower from its own thread; see `Store`.
        waiting: list[Waiter] = []

        def changed_elsewhere() -> None:
            for waiter in tuple(waiting):
                waiter.wake()

        watch = getattr(self._store, "watch", None)
        unwatch = watch(self._name, changed_elsewhere) if callable(watch) else None
        try:
            while not self._closed:
                # Register before reading, so a commit between the read and
                # the wait still wakes this follower.
                waiter = Waiter(loop, loop.create_future(), self)
                waiting[:] = [waiter]
                hub.add_waiter(waiter)
                try:
                    if position is None:
                        position = self._store.bounds(self._name).first_sequence
                    page = self._store.read(
                        self._name, position, None, FOLLOW_PAGE, codec=self._codec
                    )
                    if (page and page[0].sequence != position) or (
                        not page and self.first_sequence > position
                    ):
                        raise self._lagged(position)
                    if not page:
                        await self._wait(waiter, poll)
                finally:
                    waiting.clear()
                    hub.remove_waiter(waiter)
                for entry in page:
                    yield entry
                if page:
                    position = page[-1].sequence + 1
        finally:
            if unwatch is not None:
                unwatch()

    async def _wait(self, waiter: Waiter, poll: float | None) -> None:
        """Wait for a wake-up, or for the next poll on this journal's clock."""
        handle = (
            None if poll is None else self._clock.call_later(poll, _wake, waiter.future)
        )
        try:
            await waiter.future
        finally:
            if handle is not None:
                handle.cancel()

    def _lagged(self, position: int) -> EntryNotFoundError:
        first = self.first_sequence
        return EntryNotFoundError(
            f"journal {self._name!r}: follow needs entry {position} but retention "
            f"dropped entries up to {first - 1} before it was read; follow from "
            f"journal.first_sequence ({first}) or keep more entries (max_entries)"
        )


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
