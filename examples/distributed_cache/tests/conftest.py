"""The fixture every test of the cache shares: a cluster on the plugin's fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from examples.distributed_cache import CacheCluster
from phyxius.journal import Journal
from phyxius.process import Backoff
from pytest_phyxius import AtomFactory, SupervisorFixture


@pytest.fixture
async def cluster(
    supervisor: SupervisorFixture, journal: Journal, atom: AtomFactory
) -> AsyncIterator[CacheCluster]:
    """Three nodes with two replicas per key, on the plugin's fixtures.

    The nodes run under ``supervisor`` and are journaled to ``journal``; their
    stores and the membership are ``atom`` fixtures on the test's clock. The
    cluster stops (and journals that) when the test ends.
    """
    async with await CacheCluster.start(supervisor, journal=journal, atoms=atom) as c:
        yield c


@pytest.fixture
async def slow_restart_cluster(
    supervisor: SupervisorFixture, journal: Journal, atom: AtomFactory
) -> AsyncIterator[CacheCluster]:
    """The `cluster`, but a crashed node waits one second before it restarts.

    For tests that act while a node is down: the back-off is fixed (no
    jitter), so the second it lasts is exact on the test's clock.
    """
    backoff = Backoff(initial=1.0, maximum=1.0, jitter=0)
    async with await CacheCluster.start(
        supervisor, journal=journal, atoms=atom, backoff=backoff
    ) as c:
        yield c
