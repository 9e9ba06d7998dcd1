"""Durable appends to a PostgresStore, against raw psycopg and eventsourcing.

Three writers append the same JSON payloads to the same server, one durable
commit per call, in a schema of their own that is dropped afterwards:

* **phyxius**: ``journal.append(data)`` and ``journal.extend(100 items)`` on a
  `PostgresStore` - encoding, ids, timestamps, the ``expected_sequence`` and
  codec checks, retention, the notification for followers, the returned
  entries.
* **raw psycopg**: the least code with the same guarantees, one statement per
  call in autocommit: move the journal's head row (which locks it until the
  commit), insert at the numbers it had - gapless, never reused, committed in
  order, ids unique - and return the sequences. No codec check, no
  notification, no entry objects. Its batches send their arrays in binary,
  as Phyxius does (psycopg adapts them to text several times slower).
* **eventsourcing**: `PostgresApplicationRecorder.insert_events`, the
  recorder whose notification ids are totally ordered as a journal's
  sequences are; one originator per journal, consecutive versions.

Three measurements:

1. Single appends and batches of 100 by one writer. The sides take turns call
   by call and each side's median counts, so the drifting latency of the disk
   (every durable commit waits for it) falls on all of them alike. This is
   done in several rounds (``--rounds``); the verdict takes the median of the
   rounds' ratios, so a burst of other work on a shared disk during one round
   does not decide it.
2. The same with ``synchronous_commit=off`` on every side's sessions: the
   commit no longer waits for the disk, which leaves what the libraries
   themselves cost (round trips, server work, Python).
3. Four writers at once, threads of this process, each on a journal of its
   own, durable: appends per second. PostgreSQL flushes the commits of
   concurrent transactions together, unless something serialises them; on
   a machine with few cores the CPU decides. No target.

A ratio is the other side's time divided by Phyxius's: above 1, Phyxius is
faster. Finally it measures how long an append takes to reach a follower on
another connection through LISTEN/NOTIFY.

Run it with ``.venv/bin/python benchmarks/bench_postgres.py`` (the server from
``PHYXIUS_POSTGRES_DSN``, default 127.0.0.1:5432 database ``test`` user
``postgres``; ``--appends N --batches N --rounds N`` change the sizes).
eventsourcing's recorder needs ``psycopg-pool``: the ``dev`` extra installs
``eventsourcing[postgres]``, which brings it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from phyxius.journal import PostgresStore, create_journal

TARGET_RAW = 0.7
"""Phyxius must reach at least this fraction of raw psycopg's speed."""

TARGET_EVENTSOURCING = 1.5
"""Phyxius must be at least this many times as fast as eventsourcing."""

BATCH = 100
THREADS = 4
DEFAULT_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"

PAYLOAD: dict[str, Any] = {
    "type": "order.placed",
    "order": 1042,
    "customer": "c-77",
    "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-9", "qty": 1}],
    "total": 129.5,
}
ITEMS = [dict(PAYLOAD, line=n) for n in range(BATCH)]

Call = Callable[[], object]


def encode(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


# -- the three sides: each makes writers, one journal per writer --------------------


class Phyxius:
    """Journals on one PostgresStore."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.store = PostgresStore(dsn, schema=schema)
        self.names = itertools.count()

    def writer(self) -> tuple[Call, Call]:
        journal = create_journal(self.store, name=f"j{next(self.names)}")
        return (lambda: journal.append(PAYLOAD)), (lambda: journal.extend(ITEMS))

    def close(self) -> None:
        self.store.close()


class Raw:
    """Hand-written statements with the journal's guarantees, and nothing more."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.connections: list[psycopg.Connection[Any]] = []
        self.ids = itertools.count(1)
        names = {
            "heads": sql.Identifier(schema, "raw_heads"),
            "entries": sql.Identifier(schema, "raw_entries"),
        }
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(
                sql.SQL(
                    "CREATE TABLE {heads} (journal_id bigint PRIMARY KEY, "
                    "next_sequence bigint NOT NULL)"
                ).format(**names)
            )
            connection.execute(
                sql.SQL(
                    "CREATE TABLE {entries} (journal_id bigint NOT NULL, "
                    "sequence bigint NOT NULL, id text NOT NULL, "
                    "wall_ns bigint NOT NULL, mono_ns bigint NOT NULL, "
                    "data bytea NOT NULL, metadata bytea, "
                    "PRIMARY KEY (journal_id, sequence), UNIQUE (journal_id, id))"
                ).format(**names)
            )
        # The UPDATE locks the head row until the commit: gapless, in order.
        self.append_sql = sql.SQL(
            "WITH head AS (UPDATE {heads} SET next_sequence = next_sequence + 1 "
            "WHERE journal_id = %s RETURNING journal_id, next_sequence - 1 AS s) "
            "INSERT INTO {entries} (journal_id, sequence, id, wall_ns, mono_ns, data) "
            "SELECT journal_id, s, %s, %s, %s, %s FROM head RETURNING sequence"
        ).format(**names)
        self.extend_sql = sql.SQL(
            "WITH head AS (UPDATE {heads} SET next_sequence = next_sequence + %s "
            "WHERE journal_id = %s RETURNING journal_id, next_sequence - %s AS s) "
            "INSERT INTO {entries} (journal_id, sequence, id, wall_ns, mono_ns, data) "
            "SELECT head.journal_id, head.s + d.n - 1, d.id, %s, %s, d.data "
            "FROM head, unnest(%b::text[], %b::bytea[]) WITH ORDINALITY "
            "AS d (id, data, n) RETURNING sequence"
        ).format(**names)
        self.new_sql = sql.SQL("INSERT INTO {heads} VALUES (%s, 0)").format(**names)

    def writer(self) -> tuple[Call, Call]:
        connection = psycopg.connect(self.dsn, autocommit=True)
        self.connections.append(connection)
        journal_id = next(self.ids)
        connection.execute(self.new_sql, (journal_id,))

        def append() -> int:
            row = connection.execute(
                self.append_sql,
                (
                    journal_id,
                    uuid.uuid4().hex,
                    time.time_ns(),
                    time.monotonic_ns(),
                    encode(PAYLOAD),
                ),
            ).fetchone()
            assert row is not None
            sequence: int = row[0]
            return sequence

        def extend() -> list[int]:
            rows = connection.execute(
                self.extend_sql,
                (
                    BATCH,
                    journal_id,
                    BATCH,
                    time.time_ns(),
                    time.monotonic_ns(),
                    [uuid.uuid4().hex for _ in ITEMS],
                    [encode(item) for item in ITEMS],
                ),
            ).fetchall()
            return [row[0] for row in rows]

        return append, extend

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


class Eventsourcing:
    """eventsourcing's PostgreSQL application recorder."""

    def __init__(self, dsn: str, schema: str) -> None:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import (
            PostgresApplicationRecorder,
            PostgresDatastore,
        )

        params = psycopg.conninfo.conninfo_to_dict(dsn)
        self.datastore = PostgresDatastore(
            dbname=str(params.get("dbname", "postgres")),
            host=str(params.get("host", "127.0.0.1")),
            port=str(params.get("port", "5432")),
            user=str(params.get("user", "postgres")),
            password=str(params.get("password", "")),
            schema=schema,
            pool_size=THREADS,
        )
        self.recorder = PostgresApplicationRecorder(
            self.datastore, events_table_name="es_events"
        )
        self.recorder.create_table()
        self.stored_event = StoredEvent

    def writer(self) -> tuple[Call, Call]:
        originator = uuid.uuid4()
        versions = itertools.count(1)

        def event(data: Any) -> Any:
            return self.stored_event(
                originator_id=originator,
                originator_version=next(versions),
                topic="orders:OrderPlaced",
                state=encode(data),
            )

        def append() -> object:
            return self.recorder.insert_events([event(PAYLOAD)])

        def extend() -> object:
            return self.recorder.insert_events([event(item) for item in ITEMS])

        return append, extend

    def close(self) -> None:
        self.datastore.close()


SIDES = {"phyxius": Phyxius, "raw psycopg": Raw, "eventsourcing": Eventsourcing}


# -- measuring ------------------------------------------------------------------------


def interleaved(calls: dict[str, Call], repeat: int) -> dict[str, float]:
    """Median seconds per call of each side, the sides taking turns call by call."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter
    for _ in range(repeat):
        for name, call in calls.items():
            started = clock()
            call()
            samples[name].append(clock() - started)
    return {name: statistics.median(times) for name, times in samples.items()}


def one_writer(sides: dict[str, Any], appends: int, batches: int) -> dict[str, float]:
    """Median seconds per single append and per batch, by side."""
    writers = {name: side.writer() for name, side in sides.items()}
    for append, extend in writers.values():
        for _ in range(10):  # warm up: connections, prepared statements
            append()
            extend()
    result: dict[str, float] = {}
    for kind, index, repeat in (("single", 0, appends), ("batch", 1, batches)):
        calls = {name: pair[index] for name, pair in writers.items()}
        for name, seconds in interleaved(calls, repeat).items():
            result[f"{name}/{kind}"] = seconds
    return result


def concurrent(side: Any, appends: int) -> float:
    """Appends per second of `THREADS` writers, each on a journal of its own."""
    appenders = [side.writer()[0] for _ in range(THREADS)]
    for append in appenders:
        append()
    barrier = threading.Barrier(THREADS + 1)

    def run(append: Call) -> None:
        barrier.wait()
        for _ in range(appends):
            append()

    threads = [threading.Thread(target=run, args=(append,)) for append in appenders]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return THREADS * appends / (time.perf_counter() - started)


def notify_latency(dsn: str, schema: str, count: int) -> list[float]:
    """Seconds from an append returning to a follower on another connection seeing it.

    Measured from the writer's return, so the figure is how much later than
    the writer a follower in another process learns of an entry.
    """
    writer_store = PostgresStore(dsn, schema=schema, prefix="latency")
    reader_store = PostgresStore(dsn, schema=schema, prefix="latency")
    writer = create_journal(writer_store, name="latency")
    reader = create_journal(reader_store, name="latency")
    returned: dict[int, float] = {}
    latencies: list[float] = []

    async def follow() -> None:
        async for entry in reader.follow(0):
            seen = time.perf_counter()
            # The entry can arrive before append() has returned to its thread.
            while entry.sequence not in returned:
                await asyncio.sleep(0)
            latencies.append(max(0.0, seen - returned[entry.sequence]))
            if len(latencies) == count:
                return

    def write() -> None:
        time.sleep(0.2)  # let the follower start listening
        for n in range(count):
            entry = writer.append({"n": n})
            returned[entry.sequence] = time.perf_counter()
            time.sleep(0.002)

    thread = threading.Thread(target=write)
    thread.start()
    asyncio.run(asyncio.wait_for(follow(), 120))
    thread.join()
    writer_store.close()
    reader_store.close()
    return latencies


@contextmanager
def sides_in(dsn: str, schema: str) -> Iterator[dict[str, Any]]:
    sides: dict[str, Any] = {}
    try:
        for name, side in SIDES.items():
            sides[name] = side(dsn, schema)
        yield sides
    finally:
        for side in sides.values():
            side.close()


@contextmanager
def session_option(option: str | None) -> Iterator[None]:
    """Every connection opened inside gets ``-c option`` (libpq's PGOPTIONS)."""
    before = os.environ.get("PGOPTIONS")
    if option is not None:
        os.environ["PGOPTIONS"] = f"{before or ''} -c {option}".strip()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = before


# -- reporting -------------------------------------------------------------------------


def verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x ({'meets' if ratio >= target else 'MISSES'} >= {target}x)"


def report_one_writer(title: str, rounds: list[dict[str, float]]) -> bool:
    """Print the median times and ratios of the rounds; True if targets are met."""
    print(title)
    print(f"  {'per call':<18}{'phyxius':>10}{'raw psycopg':>14}{'eventsourcing':>16}")
    met = True
    for kind, label in (("single", "single append"), ("batch", f"batch of {BATCH}")):
        mine, raw, other = (
            statistics.median(times[f"{side}/{kind}"] for times in rounds)
            for side in ("phyxius", "raw psycopg", "eventsourcing")
        )
        figures = f"{mine * 1e3:>8.2f}ms{raw * 1e3:>12.2f}ms{other * 1e3:>14.2f}ms"
        print(f"  {label:<18}{figures}")
        against_raw = sorted(
            times[f"raw psycopg/{kind}"] / times[f"phyxius/{kind}"] for times in rounds
        )
        against_es = sorted(
            times[f"eventsourcing/{kind}"] / times[f"phyxius/{kind}"]
            for times in rounds
        )
        raw_ratio = statistics.median(against_raw)
        es_ratio = statistics.median(against_es)
        print(
            f"  {'':<18}vs raw psycopg {verdict(raw_ratio, TARGET_RAW)}, "
            f"vs eventsourcing {verdict(es_ratio, TARGET_EVENTSOURCING)}"
        )
        print(
            f"  {'':<18}rounds: vs raw {against_raw[0]:.2f}x to "
            f"{against_raw[-1]:.2f}x, vs eventsourcing {against_es[0]:.2f}x to "
            f"{against_es[-1]:.2f}x"
        )
        met = met and raw_ratio >= TARGET_RAW and es_ratio >= TARGET_EVENTSOURCING
    return met


def main() -> None:
    """Measure every side and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn", default=os.environ.get("PHYXIUS_POSTGRES_DSN", DEFAULT_DSN)
    )
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=150)
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    schema = f"phyxius_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(options.dsn, autocommit=True)
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    shown = {}
    for name in ("server_version", "synchronous_commit", "fsync"):
        row = admin.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
        assert row is not None
        shown[name] = row[0]
    try:
        with sides_in(options.dsn, schema) as sides:
            durable = [
                one_writer(sides, options.appends, options.batches)
                for _ in range(options.rounds)
            ]
            rates: dict[str, list[float]] = {name: [] for name in sides}
            for _ in range(3):
                for name, side in sides.items():
                    rates[name].append(concurrent(side, options.concurrent))
        with session_option("synchronous_commit=off"):
            for table in ("raw_heads", "raw_entries", "es_events"):
                admin.execute(
                    sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, table))
                )
            with sides_in(options.dsn, schema) as sides:
                no_wait = [
                    one_writer(sides, options.appends, options.batches)
                    for _ in range(options.rounds)
                ]
        latencies = sorted(notify_latency(options.dsn, schema, options.latency))
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()

    print(
        f"PostgreSQL {shown['server_version']}, synchronous_commit="
        f"{shown['synchronous_commit']}, fsync={shown['fsync']}; medians of "
        f"{options.appends} single appends and {options.batches} batches per side "
        f"and round, {options.rounds} rounds"
    )
    met = report_one_writer("1. one writer, durable commits:", durable)
    report_one_writer(
        "2. one writer, synchronous_commit=off (what the libraries cost):", no_wait
    )
    print(
        f"3. {THREADS} writers at once, one journal each, durable "
        f"(appends/s, best of 3):"
    )
    best = {name: max(values) for name, values in rates.items()}
    # No target here: with every writer in one process, the CPU decides.
    against_raw = best["phyxius"] / best["raw psycopg"]
    against_es = best["phyxius"] / best["eventsourcing"]
    print(
        "  "
        + ", ".join(f"{name} {rate:,.0f}/s" for name, rate in best.items())
        + f"; vs raw psycopg {against_raw:.2f}x, vs eventsourcing {against_es:.2f}x"
    )
    print(
        f"append -> follower on another connection (LISTEN/NOTIFY): median "
        f"{statistics.median(latencies) * 1e3:.2f}ms, p95 "
        f"{latencies[int(len(latencies) * 0.95) - 1] * 1e3:.2f}ms over "
        f"{len(latencies)} appends"
    )
    if not met:
        print("durable single-writer targets: not all met (see above)")


if __name__ == "__main__":
    main()
