"""Fixtures of the collaboration example's tests, on the plugin's fixtures.

The service runs under the ``supervisor`` fixture, keeps each document's edit
log in a journal from ``journal_factory`` (stamped by ``controlled_clock``,
with seeded ids) and its presence in atoms from ``atom``. Client ids are
numbered and the retry jitter is seeded, so a test writes the same journal on
every run. The WebSocket server listens on a loopback port the OS picks.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import pytest

from examples.realtime_collaboration import (
    DEFAULT_RETRY,
    CollaborationClient,
    CollaborationServer,
    CollaborationService,
)
from pytest_phyxius import AtomFactory, SupervisorFixture

if TYPE_CHECKING:
    # The class of the plugin's ``journal_factory`` fixture, for annotations.
    from pytest_phyxius._journal_fixtures import JournalFactory

IDLE_AFTER = 60.0
"""Seconds without activity before a participant goes idle, in these tests."""


def numbered_clients() -> Callable[[], str]:
    """Client ids ``client-1``, ``client-2``, ... instead of random ones."""
    numbers = itertools.count(1)
    return lambda: f"client-{next(numbers)}"


@pytest.fixture
async def service(
    supervisor: SupervisorFixture,
    journal_factory: JournalFactory,
    atom: AtomFactory,
) -> AsyncIterator[CollaborationService]:
    """A collaboration service with in-memory journals, stopped after the test."""
    started = await CollaborationService.start(
        supervisor,
        open_journal=journal_factory,
        atoms=atom,
        idle_after=IDLE_AFTER,
        retry=replace(DEFAULT_RETRY, seed=1),
        client_ids=numbered_clients(),
    )
    yield started
    await started.close()


@pytest.fixture
async def server(service: CollaborationService) -> AsyncIterator[CollaborationServer]:
    """The service on a loopback WebSocket port, closed after the test.

    Keep-alive pings are off: a ping timer would give the virtual-time loop a
    timer to jump to while the connections are quiet.
    """
    async with CollaborationServer(service, ping_interval=None) as listening:
        yield listening


class Connect(Protocol):
    """The ``connect`` fixture: opens a client on the test's server."""

    async def __call__(
        self, user: str, document: str = "notes"
    ) -> CollaborationClient: ...


@pytest.fixture
async def connect(server: CollaborationServer) -> AsyncIterator[Connect]:
    """``await connect(user, document="notes")``: a client, closed after the test."""
    clients: list[CollaborationClient] = []

    async def open_client(user: str, document: str = "notes") -> CollaborationClient:
        client = await CollaborationClient.connect(
            server.url(document, user), ping_interval=None
        )
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()
