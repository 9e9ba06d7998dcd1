"""The read side: one small view of every tenant, kept in an atom.

The write side (`TenantAggregate`) keeps what commands need; the dashboard,
the support desk and the API's ``GET /tenants`` need something else: a flat
summary of every tenant, cheap to read. `Directory` is that summary, a value;
`project` folds one entry into a tenant's `TenantView`, separately from the
write side's `apply`, as a read model of its own.

A `Projection` keeps the directory in a `phyxius.atom.Atom`. Every version of
the atom is a consistent cut of the log: it says how many entries of each
stream it includes (`Directory.positions`), so the directory at any version
can be rebuilt from those prefixes of the streams, and the atom's history is
the sequence of states the read side went through.

It follows each stream with a journal subscriber (appends made in this
process, delivered after commit, in order) and `catch_up` reads what others
wrote (another OS process on the same SQLite file). Both go through
`Directory.with_entries`, which skips what it has folded already and refuses
a gap, so the two can overlap safely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, final

from examples.event_sourced_saas._periods import iso
from examples.event_sourced_saas._state import ReplayError, Status
from examples.event_sourced_saas._store import EventStore
from phyxius.atom import Atom, create_atom
from phyxius.journal import Entry

__all__ = ["Directory", "Projection", "TenantView", "project"]

_NO_VIEWS: Final[Mapping[str, TenantView]] = MappingProxyType({})


@final
@dataclass(frozen=True, slots=True)
class TenantView:
    """What the rest of the company sees of a tenant."""

    tenant: str
    name: str
    status: Status
    plan: str
    members: int
    seats: int
    unbilled_calls: int
    """Calls recorded and not yet on an invoice."""

    invoices: int
    invoiced: int
    """Cents, all time."""

    paid: int
    """Cents, all time."""

    last_invoice: str | None
    updated_at: str
    """The wall time (ISO, UTC) of the last entry folded in."""

    position: int
    """How many entries of the tenant's stream the view includes."""

    @property
    def balance(self) -> int:
        """Cents owed: invoiced and not paid."""
        return self.invoiced - self.paid


def project(view: TenantView | None, entry: Entry) -> TenantView:
    """The view after ``entry``, the next entry of the tenant's stream."""
    data: Mapping[str, Any] = entry.data
    kind = data["type"]
    at = iso(entry.at.wall_ns)
    if view is None:
        if kind != "tenant.created":
            raise ReplayError(f"entry {entry.id!r} ({kind}) cannot open a stream")
        return TenantView(
            tenant=data["tenant"],
            name=data["name"],
            status="active",
            plan=data["plan"]["id"],
            members=1,
            seats=data["plan"]["seats"],
            unbilled_calls=0,
            invoices=0,
            invoiced=0,
            paid=0,
            last_invoice=None,
            updated_at=at,
            position=1,
        )

    changes: dict[str, Any] = {"updated_at": at, "position": view.position + 1}
    if kind == "user.added":
        changes["members"] = view.members + 1
    elif kind == "user.removed":
        changes["members"] = view.members - 1
    elif kind == "plan.changed":
        changes["plan"] = data["plan"]["id"]
        changes["seats"] = data["plan"]["seats"]
    elif kind == "usage.recorded":
        changes["unbilled_calls"] = view.unbilled_calls + data["quantity"]
    elif kind == "subscription.cancelled":
        changes["status"] = "cancelling"
    elif kind == "invoice.issued":
        invoice = data["invoice"]
        changes["unbilled_calls"] = view.unbilled_calls - invoice["calls"]
        changes["invoices"] = view.invoices + 1
        changes["invoiced"] = view.invoiced + invoice["total"]
        changes["last_invoice"] = invoice["number"]
        if invoice["final"]:
            changes["status"] = "cancelled"
    elif kind == "invoice.paid":
        changes["paid"] = view.paid + data["amount"]
    return replace(view, **changes)


@final
@dataclass(frozen=True, slots=True)
class Directory:
    """Every tenant's view, as of `positions`: a consistent cut of the log."""

    views: Mapping[str, TenantView] = field(default_factory=lambda: _NO_VIEWS)
    """Each tenant's view, by tenant id (read-only)."""

    @property
    def positions(self) -> dict[str, int]:
        """How many entries of each tenant's stream the directory includes."""
        return {tenant: view.position for tenant, view in self.views.items()}

    def position(self, tenant: str) -> int:
        """How many entries of ``tenant``'s stream the directory includes."""
        view = self.views.get(tenant)
        return 0 if view is None else view.position

    def with_entries(self, tenant: str, entries: Iterable[Entry]) -> Directory:
        """The directory with ``entries`` of ``tenant``'s stream folded in.

        Entries it includes already are skipped, so the same entry may come
        from a subscriber and from a catch-up. A gap raises `ReplayError`.
        """
        view = self.views.get(tenant)
        position = 0 if view is None else view.position
        for entry in entries:
            if entry.sequence < position:
                continue
            if entry.sequence > position:
                raise ReplayError(
                    f"stream {tenant!r}: entry {entry.sequence} arrived while the "
                    f"directory expects {position}"
                )
            view = project(view, entry)
            position += 1
        if view is None or view is self.views.get(tenant):
            return self
        return Directory(MappingProxyType({**self.views, tenant: view}))

    @classmethod
    def rebuild(
        cls, events: EventStore, positions: Mapping[str, int] | None = None
    ) -> Directory:
        """The directory replayed from the streams, cut at ``positions`` if given.

        Without ``positions``, every entry of every tenant's stream counts.
        """
        directory = cls()
        tenants = events.tenants() if positions is None else list(positions)
        for tenant in tenants:
            stop = None if positions is None else positions[tenant]
            directory = directory.with_entries(
                tenant, events.stream(tenant).read(stop=stop)
            )
        return directory


@final
class Projection:
    """The directory of every tenant, in an atom kept up to date with the streams.

    Call `follow` for each tenant to fold its new entries as they are
    committed in this process, and `catch_up` to read what other processes
    wrote. Pass ``atom`` to choose its options (the tests pass one that
    keeps its whole history).
    """

    def __init__(
        self, events: EventStore, *, atom: Atom[Directory] | None = None
    ) -> None:
        self._events = events
        self._atom: Atom[Directory] = (
            create_atom(Directory(), clock=events.clock, name="tenant-directory")
            if atom is None
            else atom
        )
        self._unsubscribe: dict[str, Callable[[], bool]] = {}

    @property
    def atom(self) -> Atom[Directory]:
        """The atom holding the directory; watch it to react to changes."""
        return self._atom

    @property
    def directory(self) -> Directory:
        """The directory now."""
        return self._atom.get()

    def view(self, tenant: str) -> TenantView | None:
        """One tenant's view now, or None."""
        return self._atom.get().views.get(tenant)

    def follow(self, tenant: str) -> None:
        """Fold ``tenant``'s stream now, and its new entries as they are committed."""
        if tenant in self._unsubscribe:
            return
        journal = self._events.stream(tenant)

        def fold(entry: Entry) -> None:
            if entry.sequence > self._atom.get().position(tenant):
                # Committed before this subscriber existed and not read yet:
                # read the gap, in order, with the entry.
                self._fold(tenant, journal.read(start=self.directory.position(tenant)))
            else:
                self._fold(tenant, (entry,))

        self._unsubscribe[tenant] = journal.subscribe(fold)
        self._fold(tenant, journal.read(start=self.directory.position(tenant)))

    def catch_up(self) -> Directory:
        """Fold every stream's entries that are not in the directory yet."""
        for tenant in self._events.tenants():
            journal = self._events.stream(tenant)
            self._fold(tenant, journal.read(start=self.directory.position(tenant)))
        return self.directory

    def close(self) -> None:
        """Stop following the streams."""
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()

    def _fold(self, tenant: str, entries: Iterable[Entry]) -> None:
        batch = tuple(entries)
        if batch:
            self._atom.update(Directory.with_entries, tenant, batch)
