"""The helpers behind the ``pg`` fixture: the server, a test's schema, workers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NoReturn

import pytest

from phyxius.journal import Entry, Journal, PostgresStore
from pytest_phyxius._journal_fixtures import JournalFactory

WORKER: Final = Path(__file__).with_name("_pg_worker.py")
PATIENCE: Final = 120.0
"""Seconds a test waits for something that must happen before it calls it a hang."""

DSN_VARIABLE: Final = "PHYXIUS_POSTGRES_DSN"
REQUIRE_VARIABLE: Final = "PHYXIUS_REQUIRE_POSTGRES"
DEFAULT_DSN: Final = "host=127.0.0.1 port=5432 dbname=test user=postgres"


def unavailable(reason: str) -> NoReturn:
    """Skip the test (or module) for ``reason``; fail instead where required.

    ``PHYXIUS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns the skip into a
    failure, so CI never passes without having run the PostgreSQL tests.
    """
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(
            f"{reason}; {REQUIRE_VARIABLE}=1 requires the PostgreSQL tests to run",
            pytrace=False,
        )
    pytest.skip(
        f"{reason}; start one or set {DSN_VARIABLE} to run the PostgreSQL tests",
        allow_module_level=True,
    )


def import_psycopg() -> ModuleType:
    """psycopg, or a skip (a failure where required) saying how to install it."""
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install 'phyxius[postgres]')")
    return psycopg


def find_server() -> str:
    """The dsn of a server that answers, from `DSN_VARIABLE` or the default.

    Skips (fails where required) when none answers, naming the dsn and why.
    """
    dsn = os.environ.get(DSN_VARIABLE, DEFAULT_DSN)
    psycopg = import_psycopg()
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        lines = str(error).strip().splitlines()
        first = lines[0] if lines else type(error).__name__
        unavailable(f"no PostgreSQL server reachable at {dsn!r} ({first})")
    return dsn


class Follower:
    """``journal.follow(start)`` on a thread of its own, collecting entries."""

    def __init__(self, journal: Journal, count: int, start: int = 0) -> None:
        self.journal = journal
        self.count = count
        self.entries: list[Entry] = []
        self.error: BaseException | None = None
        # Notified on every entry and when the follower ends, so `wait_for`
        # wakes as soon as there is something to check instead of polling.
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self._thread.start()

    def _run(self, start: int) -> None:
        async def follow() -> None:
            async for entry in self.journal.follow(start):
                with self._changed:
                    self.entries.append(entry)
                    self._changed.notify_all()
                if len(self.entries) == self.count:
                    return

        try:
            asyncio.run(asyncio.wait_for(follow(), PATIENCE))
        except BaseException as error:  # reported by wait_for / join
            with self._changed:
                self.error = error
                self._changed.notify_all()

    def wait_for(self, count: int) -> list[Entry]:
        """The first ``count`` entries, once it has them; fails on a hang."""
        with self._changed:
            self._changed.wait_for(
                lambda: len(self.entries) >= count or self.error is not None,
                timeout=PATIENCE,
            )
            if len(self.entries) >= count:
                return self.entries[:count]
            if self.error is not None:
                raise AssertionError(f"the follower failed: {self.error!r}")
            raise AssertionError(
                f"the follower has {len(self.entries)} of {count} entries"
            )

    def join(self) -> list[Entry]:
        """Every entry, once the follower has ``count`` and stopped."""
        self._thread.join(PATIENCE)
        if self.error is not None:
            raise AssertionError(f"the follower failed: {self.error!r}")
        assert not self._thread.is_alive(), "the follower hangs"
        return self.entries


class Worker:
    """A `_pg_worker.py` process; its stdout is one JSON object per line.

    Lines are always read through ``process.stdout`` (never ``communicate``,
    which would bypass what ``readline`` already buffered); stderr goes to a
    file, so a chatty worker cannot block on a full pipe.
    """

    def __init__(self, command: str, settings: dict[str, Any]) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by kill()
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), command, json.dumps(settings)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def line(self) -> dict[str, Any]:
        """The next line, waiting for it (the worker must print one)."""
        assert self.process.stdout is not None
        text = self.process.stdout.readline()
        if not text:
            self.process.wait(PATIENCE)
            raise AssertionError(f"the worker ended early: {self.stderr()}")
        result: dict[str, Any] = json.loads(text)
        return result

    def rest(self) -> list[dict[str, Any]]:
        """Every line not read yet, once the worker has ended (however)."""
        assert self.process.stdout is not None
        text = self.process.stdout.read()
        self.process.wait(PATIENCE)
        self.process.stdout.close()
        return [json.loads(line) for line in text.splitlines()]

    def results(self) -> list[dict[str, Any]]:
        """Every line not read yet, once the worker exited successfully."""
        lines = self.rest()
        assert self.process.returncode == 0, f"the worker failed:\n{self.stderr()}"
        return lines

    def stderr(self) -> str:
        """What the worker wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def kill(self) -> None:
        """SIGKILL it if it still runs, and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.rest()
        self.process.wait(PATIENCE)
        self._stderr.close()


class Postgres:
    """One test's corner of the server: its schema, stores, admin connection."""

    def __init__(self, dsn: str, schema: str, factory: JournalFactory) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        self.server_dsn = dsn
        self.schema = schema
        self.dsn = make_conninfo(dsn, application_name=schema)
        """The dsn of this test's connections (tagged with the schema's name)."""
        self.admin = psycopg.connect(self.dsn, autocommit=True)
        """A connection for setting up and looking, outside any store."""
        self.admin.execute(f'SET search_path = "{schema}"')
        self._factory = factory
        self._stores: list[PostgresStore] = []
        self._workers: list[Worker] = []
        # Advisory lock keys of this test (below 2**31: pg_locks shows them whole).
        self.gate = (zlib.crc32(schema.encode()) % 2_000_000) * 1000

    def store(self, **options: Any) -> PostgresStore:
        """A `PostgresStore` on this test's schema, closed when the test ends."""
        options.setdefault("schema", self.schema)
        dsn = options.pop("dsn", self.dsn)
        store = PostgresStore(dsn, **options)
        self._stores.append(store)
        return store

    def journal(
        self, name: str = "default", store: PostgresStore | None = None, **options: Any
    ) -> Journal:
        """A journal on the test's controlled clock with seeded ids."""
        return self._factory(name, store=store or self.store(), **options)

    def spawn(self, command: str, **settings: Any) -> Worker:
        """Start a worker process with this test's dsn and schema."""
        settings = {
            "dsn": self.dsn,
            "schema": self.schema,
            "gate": self.gate,
            **settings,
        }
        worker = Worker(command, settings)
        self._workers.append(worker)
        return worker

    def hold(self, key: int) -> None:
        """Close the gate ``key``: workers arriving there wait."""
        self.admin.execute("SELECT pg_advisory_lock(%s)", (key,))

    def release(self, key: int, waiting: int) -> None:
        """Open the gate ``key`` once ``waiting`` workers wait at it."""
        self.wait_until(
            lambda: (
                self.value(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = 0 AND objid = %s AND objsubid = 1 AND NOT granted",
                    (key,),
                )
                >= waiting
            ),
            f"{waiting} workers waiting at gate {key}",
        )
        self.admin.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def value(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of ``query``."""
        row = self.admin.execute(query, params).fetchone()
        assert row is not None
        return row[0]

    def wait_until(self, condition: Callable[[], object], what: str) -> None:
        """Wait for ``condition()``; fail as a hang after `PATIENCE` seconds."""
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}")
            time.sleep(0.01)

    def stored(self, journal: str = "default") -> list[tuple[int, str]]:
        """``(sequence, id)`` of every stored entry of ``journal``, read directly."""
        rows = self.admin.execute(
            "SELECT e.sequence, e.id FROM phyxius_entries e "
            "JOIN phyxius_journals j USING (journal_id) WHERE j.name = %s "
            "ORDER BY e.sequence",
            (journal,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def trigger(self, name: str, body: str) -> None:
        """Run ``body`` (PL/pgSQL) before every insert of an entry.

        ``NEW`` is the entry's row; ``{schema}`` in ``body`` is this test's
        schema (the store's sessions do not have it on their search path).
        """
        schema = self.schema
        self.admin.execute(
            f'CREATE FUNCTION "{schema}".{name}() RETURNS trigger LANGUAGE plpgsql '
            f"AS $body$ BEGIN {body.format(schema=schema)} RETURN NEW; END $body$"
        )
        self.admin.execute(
            f'CREATE TRIGGER {name} BEFORE INSERT ON "{schema}".phyxius_entries '
            f'FOR EACH ROW EXECUTE FUNCTION "{schema}".{name}()'
        )

    def terminate(self, query_like: str) -> int:
        """End this test's backends whose last query matches, and wait until gone."""
        rows = self.admin.execute(
            "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid() "
            "AND query LIKE %s",
            (self.schema, query_like),
        ).fetchall()
        return len(rows)

    def terminate_sleeping(self) -> int:
        """End this test's backends sleeping in ``pg_sleep`` (a slow trigger)."""
        rows = self.admin.execute(
            "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid() "
            "AND wait_event = 'PgSleep'",
            (self.schema,),
        ).fetchall()
        return len(rows)

    def busy(self) -> int:
        """How many of this test's backends run a statement now."""
        return int(
            self.value(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND state = 'active' AND pid <> pg_backend_pid()",
                (self.schema,),
            )
        )

    def close(self) -> None:
        """End the workers, close the stores, drop the schema and what is in it."""
        for worker in self._workers:
            worker.kill()
        for store in self._stores:
            store.close()
        # Whatever is left (a killed worker's backend) must not block the drop.
        self.terminate("%")
        self.admin.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.admin.close()
