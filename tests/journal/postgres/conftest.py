"""Fixtures of the PostgreSQL store tests: the server, a fresh schema, workers.

The server is the one at ``PHYXIUS_POSTGRES_DSN`` (default: 127.0.0.1:5432,
database ``test``, user ``postgres``). Without one the tests skip, saying
why - unless ``PHYXIUS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which turns
the skip into a failure, so CI never passes without having run them.

Every test gets a schema of its own, ``phyxius_test_<random>``, dropped with
everything in it when the test ends; its connections carry the schema's name
as ``application_name``, so leftovers are found and ended first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from phyxius.journal import Journal
from pytest_phyxius import JournalFactory
from tests.journal.postgres._pg_harness import Postgres, find_server
from tests.journal.postgres._pg_proxy import Proxy


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The server's dsn; skips (or fails in CI) when there is no server."""
    return find_server()


@pytest.fixture
def pg(postgres_dsn: str, journal_factory: JournalFactory) -> Iterator[Postgres]:
    """This test's schema on the server, with helpers; dropped afterwards."""
    schema = f"phyxius_test_{uuid.uuid4().hex[:16]}"
    harness = Postgres(postgres_dsn, schema, journal_factory)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def proxy(pg: Postgres) -> Iterator[Proxy]:
    """A proxy to the server that a test can make drop, swallow or refuse.

    It depends on `pg`, so it closes before the test's schema is dropped.
    """
    server = Proxy(("127.0.0.1", 5432))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def make_journal(pg: Postgres) -> Callable[..., Journal]:
    """``make_journal(name="default", **options)`` on this test's PostgresStore.

    The shared behaviour suite of ``tests/journal`` takes this fixture; here
    every journal it makes lives in PostgreSQL (one store per test).
    """
    store = pg.store()

    def make(name: str = "default", **options: Any) -> Journal:
        return pg.journal(name, store=store, **options)

    return make
