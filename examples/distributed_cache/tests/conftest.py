"""The fixture every test of the cache shares: a cluster on the plugin's fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from examples.distributed_cache import CacheCluster
from phyxius.journal import Journal
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
