"""Journal fixtures: ``journal`` and ``journal_factory``.

Journals made here run on the test's ``controlled_clock`` and take their ids
from `SortableIds` seeded by the test's seed (the ``phyxius(seed=...)``
marker, or a number derived from the test's node id), so ids and timestamps
are the same on every run and on every pytest-xdist worker. The runs of
``--phyxius-runs`` and a ``--phyxius-seed`` replay keep the ids of the test
run as it is: their seed changes the schedule, not the ids, so their journals
compare with the test's journal snapshots.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, final

import pytest

from phyxius._events import Emit
from phyxius.clock import ControlledClock
from phyxius.journal import (
    Codec,
    IdGenerator,
    Journal,
    MemoryStore,
    Overflow,
    SortableIds,
    SqliteStore,
    Store,
)
from pytest_phyxius._settings import Settings
from pytest_phyxius._simulation import base_nodeid, own_settings

__all__ = ["JournalFactory", "journal", "journal_factory", "seed_for"]


def seed_for(settings: Settings, node_id: str) -> int:
    """The test's seed: the marker's or ini's, else a stable hash of its node id."""
    if settings.seed is not None:
        return settings.seed
    return zlib.crc32(node_id.encode("utf-8"))


@final
class JournalFactory:
    """Makes journals for one test; the ``journal_factory`` fixture.

    ``journal_factory("orders")`` is the journal ``orders`` in the test's
    in-memory store; ``journal_factory("orders", store="sqlite")`` the one in
    the test's SQLite file (``tmp_path / "journals.sqlite3"``). Calling it
    again with the same name gives another handle on the same journal. Every
    journal and store it made is closed when the test ends.
    """

    def __init__(self, clock: ControlledClock, seed: int, directory: Path) -> None:
        self.clock = clock
        """The test's `ControlledClock`, which stamps every entry."""

        self.seed = seed
        """The seed the journals' id generators derive from."""

        self.memory_store = MemoryStore()
        """The test's in-memory store."""

        self.journals: list[Journal] = []
        """Every journal made so far, in order (for reports and assertions)."""

        self._directory = directory
        self._sqlite_stores: dict[str, SqliteStore] = {}
        self._ids: dict[tuple[int, str], SortableIds] = {}

    @property
    def sqlite_path(self) -> Path:
        """The file of the test's SQLite store."""
        return self._directory / "journals.sqlite3"

    def sqlite_store(self, path: str | os.PathLike[str] | None = None) -> SqliteStore:
        """The test's `SqliteStore` at ``path`` (default `sqlite_path`), opened once."""
        key = os.fspath(self.sqlite_path if path is None else path)
        store = self._sqlite_stores.get(key)
        if store is None:
            store = self._sqlite_stores[key] = SqliteStore(key)
        return store

    def __call__(
        self,
        name: str = "default",
        *,
        store: Literal["memory", "sqlite"] | Store = "memory",
        codec: Codec | str | None = None,
        max_entries: int | None = None,
        overflow: Overflow = "none",
        emit: Emit | None = None,
        ids: IdGenerator | None = None,
    ) -> Journal:
        """A journal named ``name`` on the test's clock, with seeded ids.

        ``store`` is ``"memory"`` (default), ``"sqlite"`` or a store of your
        own; the other arguments are those of `create_journal`.
        """
        if store == "memory":
            chosen: Store = self.memory_store
        elif store == "sqlite":
            chosen = self.sqlite_store()
        elif isinstance(store, Store):
            chosen = store
        else:
            raise pytest.UsageError(
                f"journal_factory(store={store!r}): pass 'memory', 'sqlite' or a Store"
            )
        journal = Journal(
            chosen,
            name=name,
            clock=self.clock,
            ids=self._ids_for(chosen, name) if ids is None else ids,
            codec=codec,
            max_entries=max_entries,
            overflow=overflow,
            emit=emit,
        )
        self.journals.append(journal)
        return journal

    def _ids_for(self, store: Store, name: str) -> SortableIds:
        # One generator per journal, shared by its handles: two generators with
        # one seed would hand the same ids to one journal.
        key = (id(store), name)
        generator = self._ids.get(key)
        if generator is None:
            seed = zlib.crc32(f"{self.seed}:{name}".encode("utf-8", "surrogatepass"))
            generator = self._ids[key] = SortableIds(seed=seed)
        return generator

    def close(self) -> None:
        """Close every journal and store this factory opened."""
        for journal in self.journals:
            journal.close()
        for store in self._sqlite_stores.values():
            store.close()
        self.memory_store.close()


@pytest.fixture
def journal_factory(
    controlled_clock: ControlledClock,
    phyxius_settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[JournalFactory]:
    """Make named journals, in memory or in a SQLite file in ``tmp_path``.

    ``journal_factory("orders")`` and ``journal_factory("audit",
    store="sqlite")``: on ``controlled_clock``, with ids seeded by the test.
    """
    node = request.node
    factory = JournalFactory(
        controlled_clock,
        seed_for(own_settings(phyxius_settings, node), base_nodeid(node)),
        tmp_path,
    )
    yield factory
    factory.close()


@pytest.fixture
def journal(journal_factory: JournalFactory) -> Journal:
    """An in-memory journal on ``controlled_clock`` with deterministic ids.

    The same test gives the same ids and timestamps on every run.
    """
    return journal_factory()
