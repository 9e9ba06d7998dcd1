"""Fixtures of the SaaS example's tests: the event store on the test's SQLite file.

Streams are journals made by the plugin's ``journal_factory`` in a SQLite
file in the test's ``tmp_path``, so they are stamped by ``controlled_clock``
and get seeded ids: the same test writes the same entries on every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from examples.event_sourced_saas import (
    Directory,
    EventStore,
    Projection,
    SaasService,
    SandboxGateway,
    TenantState,
)
from examples.event_sourced_saas.tests._helpers import BILLING
from phyxius.atom import Atom
from phyxius.clock import ControlledClock
from phyxius.journal import SqliteStore
from pytest_phyxius import AtomFactory, SupervisorFixture

if TYPE_CHECKING:
    # The class of the plugin's ``journal_factory`` fixture, for annotations.
    from pytest_phyxius import JournalFactory


@pytest.fixture
def sqlite_store(journal_factory: JournalFactory) -> Iterator[SqliteStore]:
    """The test's SQLite file, without an fsync per append.

    ``synchronous="normal"`` keeps an acknowledged append through the death
    of the process, not of the machine; these tests kill no machine, and it
    makes an append about fifteen times faster than the default ``"full"``.
    """
    store = SqliteStore(journal_factory.sqlite_path, synchronous="normal")
    yield store
    store.close()


@pytest.fixture
def events(
    journal_factory: JournalFactory,
    sqlite_store: SqliteStore,
    controlled_clock: ControlledClock,
) -> Iterator[EventStore]:
    """Tenant streams in the test's SQLite file, on the test's clock, seeded ids."""
    store = EventStore(
        sqlite_store,
        clock=controlled_clock,
        open_journal=lambda name: journal_factory(name, store=sqlite_store),
    )
    yield store
    store.close()


@pytest.fixture
def gateway(controlled_clock: ControlledClock) -> SandboxGateway:
    """The sandbox payment provider, answering after 50 ms of the clock."""
    return SandboxGateway(controlled_clock)


@pytest.fixture
def projection(events: EventStore, atom: AtomFactory) -> Iterator[Projection]:
    """The read model, in an atom of the plugin's that keeps its whole history."""
    read_model = Projection(events, atom=atom(Directory(), name="tenant-directory"))
    yield read_model
    read_model.close()


@pytest.fixture
def request_ids() -> Callable[[], str]:
    """Request ids ``req-0001``, ``req-0002``, ... in the order requests are made."""
    counter = itertools.count(1)
    return lambda: f"req-{next(counter):04d}"


@pytest.fixture
def service(
    events: EventStore,
    supervisor: SupervisorFixture,
    gateway: SandboxGateway,
    projection: Projection,
    request_ids: Callable[[], str],
    atom: AtomFactory,
) -> SaasService:
    """The service, its workers under the test's ``supervisor``.

    Each tenant's live state is in an atom of the plugin's, which keeps its
    whole history: every state the tenant's worker went through.
    """

    def live_atom(tenant: str) -> Atom[TenantState | None]:
        initial: TenantState | None = None
        return atom(initial, name=f"live:{tenant}")

    return SaasService(
        events,
        supervisor,
        gateway=gateway,
        projection=projection,
        billing=BILLING,
        request_ids=request_ids,
        live_atom=live_atom,
    )
