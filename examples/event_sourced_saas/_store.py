"""The event store (tenant streams in a journal store) and the write side of a tenant.

`EventStore` keeps one journal per tenant, named ``tenant/<id>``, in one
`phyxius.journal.Store`: a `SqliteStore` file in production, so the streams
survive a crash and several OS processes can share them. Per-tenant streams
make optimistic concurrency per tenant: two tenants never conflict, and two
writers of one tenant always do.

`TenantAggregate` is the write side of one tenant: it folds the stream into a
`TenantState`, decides a command against that state, and appends the event
with ``expected_sequence`` set to the stream's length as it read it. If
another writer (another worker incarnation, another node on the same SQLite
file, an operator's script) appended in between, the append fails with
`ConcurrencyError` having written nothing, and the aggregate reads the new
events and decides again: every command is validated against the state it
actually lands on.

An aggregate can report each state it moves to (``on_change``): the service
keeps each tenant's live state in an atom that way (see `_service`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, final

from examples.event_sourced_saas._commands import (
    Command,
    check_tenant_id,
    decide,
    entry_id,
)
from examples.event_sourced_saas._plans import PLANS, Plan
from examples.event_sourced_saas._state import TenantState, apply, replay
from phyxius.clock import Clock, default_clock
from phyxius.journal import (
    ConcurrencyError,
    DuplicateIdError,
    Entry,
    Journal,
    Store,
    create_journal,
)

__all__ = [
    "MAX_CONFLICTS",
    "STREAM_PREFIX",
    "Accepted",
    "EventStore",
    "OnChange",
    "OpenJournal",
    "TenantAggregate",
]

STREAM_PREFIX: Final = "tenant/"
"""Journal names of tenant streams start with this; the rest is the tenant id."""

MAX_CONFLICTS: Final = 8
"""How many times in a row a command is decided again after losing a race."""

OpenJournal = Callable[[str], Journal]
"""Opens the journal of a stream by name (tests pass the plugin's journal factory)."""

OnChange = Callable[[TenantState], object]
"""Told each state an aggregate moves to (in the thread that moved it)."""


@final
class EventStore:
    """Every tenant's stream, in one journal store.

    ``open_journal(name)`` opens a stream's journal; by default
    ``create_journal(store, name=name, clock=clock)``. Handles are opened once
    and shared. Thread-safe as the journals are.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        open_journal: OpenJournal | None = None,
    ) -> None:
        self._store = store
        self._clock = default_clock() if clock is None else clock
        self._open: OpenJournal = (
            self._default_open if open_journal is None else open_journal
        )
        self._owned = open_journal is None
        self._streams: dict[str, Journal] = {}

    def _default_open(self, name: str) -> Journal:
        return create_journal(self._store, name=name, clock=self._clock)

    @property
    def store(self) -> Store:
        """The journal store holding the streams."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The clock commands are decided on; the journals stamp with theirs."""
        return self._clock

    def stream(self, tenant: str) -> Journal:
        """The journal of ``tenant``'s stream (it may hold no entry yet)."""
        journal = self._streams.get(tenant)
        if journal is None:
            check_tenant_id(tenant)
            journal = self._streams[tenant] = self._open(STREAM_PREFIX + tenant)
        return journal

    def tenants(self) -> list[str]:
        """The id of every tenant with a stream in the store, sorted."""
        return [
            name.removeprefix(STREAM_PREFIX)
            for name in self._store.journals()
            if name.startswith(STREAM_PREFIX)
        ]

    def exists(self, tenant: str) -> bool:
        """Whether ``tenant`` has been created (by anyone sharing the store)."""
        return self.stream(tenant).next_sequence > 0

    def replay(self, tenant: str, *, stop: int | None = None) -> TenantState | None:
        """``tenant``'s state rebuilt from its stream (entries before ``stop`` only)."""
        return replay(self.stream(tenant).read(stop=stop))

    def close(self) -> None:
        """Close the journal handles this store opened itself."""
        if self._owned:
            for journal in self._streams.values():
                journal.close()
        self._streams.clear()


@final
@dataclass(frozen=True, slots=True)
class Accepted:
    """A command that was applied: its event's entry and the state after it."""

    entry: Entry
    state: TenantState
    duplicate: bool = False
    """True when the command had been applied before (a retry): nothing was written."""


@final
class TenantAggregate:
    """The write side of one tenant: its state, and commands decided against it.

    Not thread-safe: one owner at a time (a tenant worker). Other owners of
    the same tenant, here or in another process, are safe: they conflict, and
    the loser decides again.

    ``on_change`` is called with the new state after every command that
    wrote an event, and after every `catch_up` that read new entries (once,
    with the state after the last of them), in the calling thread.
    """

    def __init__(
        self,
        events: EventStore,
        tenant: str,
        *,
        catalogue: Mapping[str, Plan] = PLANS,
        on_change: OnChange | None = None,
    ) -> None:
        self._events = events
        self._tenant = check_tenant_id(tenant)
        self._catalogue = catalogue
        self._on_change = on_change
        self._journal = events.stream(tenant)
        self._state: TenantState | None = None

    @property
    def tenant(self) -> str:
        """The tenant's id."""
        return self._tenant

    @property
    def state(self) -> TenantState | None:
        """The state as of the last `catch_up` or command (None: no such tenant)."""
        return self._state

    @property
    def position(self) -> int:
        """How many entries of the stream the state includes."""
        return 0 if self._state is None else self._state.version

    def catch_up(self) -> TenantState | None:
        """Fold the entries appended since the state was last read; return the state."""
        before = self.position
        for entry in self._journal.read(start=before):
            self._state = apply(self._state, entry)
        if self._state is not None and self.position != before:
            self._changed(self._state)
        return self._state

    def execute(self, command: Command, *, request_id: str) -> Accepted:
        """Decide ``command`` on the current state and append its event.

        A command whose entry id (`entry_id`) is in the stream already was
        applied before: it is not decided again, and the stored entry comes
        back with ``duplicate=True``. The request id is kept in the entry's
        metadata.

        Raises:
            CommandRejected: the current state does not allow the command.
            ConcurrencyError: other writers won `MAX_CONFLICTS` races in a row.
        """
        key = entry_id(command, request_id)
        conflict: ConcurrencyError | DuplicateIdError | None = None
        for _ in range(MAX_CONFLICTS):
            self.catch_up()
            stored = self._journal.find(key)
            if stored is not None and self._state is not None:
                return Accepted(stored, self._state, duplicate=True)

            data = decide(
                self._state,
                command,
                tenant=self._tenant,
                now_ns=self._events.clock.now().wall_ns,
                catalogue=self._catalogue,
            )
            try:
                entry = self._journal.append(
                    data,
                    expected_sequence=self.position,
                    id=key,
                    metadata={"request_id": request_id},
                )
            except ConcurrencyError as error:
                conflict = error  # someone wrote first: decide again, on fresh state
                continue
            except DuplicateIdError as error:
                # Another writer applied this very command since the lookup,
                # with another request id: the next round finds its entry.
                conflict = error
                continue
            if entry.sequence != self.position:
                continue  # the store recognised a retry of a stored append
            self._state = apply(self._state, entry)
            self._changed(self._state)
            return Accepted(entry, self._state)

        assert conflict is not None
        conflict.add_note(
            f"tenant {self._tenant!r}: lost {MAX_CONFLICTS} races in a row for "
            f"request {request_id!r}; nothing was written"
        )
        raise conflict

    def _changed(self, state: TenantState) -> None:
        if self._on_change is not None:
            self._on_change(state)
