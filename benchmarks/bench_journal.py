"""Journal appends against their baselines, measured in the same run.

Four comparisons, each printed as a ratio against its baseline:

1. **In-memory append** against appending an equivalent frozen, slotted
   dataclass (id, sequence, clock reading, data, metadata) to a list: the
   least an in-memory log can do. Target: the journal takes at most 3x the
   time. The journal also checks and copies the data through its codec,
   makes a sortable unique id and keeps an id index.
2. **SQLite, single durable appends** against raw ``sqlite3`` doing the same
   inserts into the same schema with the same settings (WAL,
   ``synchronous=FULL``, one ``BEGIN IMMEDIATE`` transaction per entry, the
   data as JSON). Target: at least 0.7x the raw throughput.
3. **SQLite, extend of 1,000** against raw ``executemany`` of the same 1,000
   rows in one transaction. Target: at least 0.7x.
4. **The eventsourcing library's SQLite recorder** storing the same events
   (its JSON transcoder, its ``SQLiteApplicationRecorder``, its default
   durability, which is SQLite's ``synchronous=FULL``), singly and in batches
   of 1,000. Target: at least 2x its throughput. For context, the same events
   also go through eventsourcing's ``Application`` (an aggregate method per
   event, then ``save``), the way its users store events; and both libraries
   run once more with ``synchronous=NORMAL`` (no fsync per commit), which
   leaves each library's own work per append to compare.

Both libraries are bound by the same things when durable: one fsync per
commit for single appends, and SQLite's own inserts for batches. The figures
show how much each adds on top.

Each side runs alternately for several rounds and the best round of each is
compared, so a noisy machine moves both figures together. The in-memory
comparison counts CPU time; the SQLite ones count wall time, since waiting
for the disk is the point. Files go to a
temporary directory on the same file system as ``--dir`` (default: the
system's temporary directory); single durable appends are bound by that
disk's fsync. Run it with ``.venv/bin/python benchmarks/bench_journal.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phyxius import Instant
from phyxius.clock import ControlledClock
from phyxius.journal import SortableIds, SqliteStore, create_journal
from phyxius.journal._sqlite_schema import SCHEMA

MEMORY_TARGET = 3.0
RAW_TARGET = 0.7
EVENTSOURCING_TARGET = 2.0


@dataclass(frozen=True, slots=True)
class Record:
    """The baseline's entry: the same fields as `phyxius.journal.Entry`."""

    id: str
    sequence: int
    at: Instant
    data: Any
    metadata: Any


def event(n: int) -> dict[str, Any]:
    """A typical small event."""
    return {"type": "deposited", "account": f"acc-{n % 100}", "amount": n % 1000}


def best(rounds: int, *sides: Callable[[], float]) -> list[float]:
    """Run the sides alternately ``rounds`` times; the best time of each."""
    results = [float("inf")] * len(sides)
    for _ in range(rounds):
        for index, side in enumerate(sides):
            gc.collect()
            results[index] = min(results[index], side())
    return results


# -- 1. in memory ------------------------------------------------------------------


def bench_memory(count: int, rounds: int) -> tuple[float, float]:
    clock = ControlledClock()
    data = [event(n) for n in range(count)]

    def baseline() -> float:
        log: list[Record] = []
        append, now = log.append, clock.now
        started = time.process_time()
        for sequence, item in enumerate(data):
            append(Record(str(sequence), sequence, now(), item, None))
        return time.process_time() - started

    def journal() -> float:
        append = create_journal(clock=clock, ids=SortableIds(seed=1)).append
        started = time.process_time()
        for item in data:
            append(item)
        return time.process_time() - started

    base, ours = best(rounds, baseline, journal)
    return base / count, ours / count


# -- 2 and 3. SQLite against raw sqlite3 ---------------------------------------------


def raw_connection(path: Path) -> sqlite3.Connection:
    """Raw sqlite3 with the store's settings and schema."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA fullfsync = ON")
    connection.execute("BEGIN IMMEDIATE")
    for statement in SCHEMA:
        connection.execute(statement)
    connection.execute("INSERT INTO phyxius_journals VALUES (1, 'raw', 'json', 0, 0)")
    connection.execute("COMMIT")
    return connection


INSERT = "INSERT INTO phyxius_entries VALUES (?, ?, ?, ?, ?, ?, ?)"


def bench_sqlite(
    directory: Path, singles: int, batch: int, rounds: int
) -> dict[str, tuple[float, float]]:
    clock = ControlledClock()
    data = [event(n) for n in range(batch)]
    counter = iter(range(10**9))

    def fresh(name: str) -> Path:
        return directory / f"{name}-{next(counter)}.sqlite3"

    def raw_singles() -> float:
        connection = raw_connection(fresh("raw"))
        dumps, now = json.dumps, clock.now
        started = time.perf_counter()
        for sequence in range(singles):
            at = now()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                INSERT,
                (
                    1,
                    sequence,
                    str(sequence),
                    at.wall_ns,
                    at.mono_ns,
                    dumps(data[sequence % batch]).encode(),
                    None,
                ),
            )
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed

    def journal_singles() -> float:
        store = SqliteStore(fresh("journal"))
        append = create_journal(store, clock=clock, ids=SortableIds(seed=1)).append
        started = time.perf_counter()
        for sequence in range(singles):
            append(data[sequence % batch])
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    def raw_batch() -> float:
        connection = raw_connection(fresh("raw"))
        dumps, now = json.dumps, clock.now
        started = time.perf_counter()
        at = now()
        rows = [
            (
                1,
                sequence,
                str(sequence),
                at.wall_ns,
                at.mono_ns,
                dumps(item).encode(),
                None,
            )
            for sequence, item in enumerate(data)
        ]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(INSERT, rows)
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed

    def journal_batch() -> float:
        store = SqliteStore(fresh("journal"))
        extend = create_journal(store, clock=clock, ids=SortableIds(seed=1)).extend
        started = time.perf_counter()
        extend(data)
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    raw_one, ours_one = best(rounds, raw_singles, journal_singles)
    raw_many, ours_many = best(rounds, raw_batch, journal_batch)
    return {
        "singles": (singles / raw_one, singles / ours_one),
        "batch": (batch / raw_many, batch / ours_many),
    }


def bench_eventsourcing_application(
    directory: Path, singles: int, batch: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """The same events through eventsourcing's Application, as its users store them.

    An aggregate method records each event; ``Application.save`` maps it to a
    stored event (transcoding, topic) and inserts it with the same recorder.
    Context for the recorder-level figures, not a replacement for them.
    """
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate
    from eventsourcing.domain import event as record

    class Account(Aggregate):
        @record("Deposited")
        def deposit(self, type: str, account: str, amount: int) -> None:
            pass

    clock = ControlledClock()
    data = [event(n) for n in range(batch)]
    counter = iter(range(10**9))

    def application() -> Application:
        path = directory / f"app-{next(counter)}.sqlite3"
        return Application(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path),
            }
        )

    def app_singles() -> float:
        app = application()
        account = Account()
        app.save(account)
        started = time.perf_counter()
        for n in range(singles):
            account.deposit(**data[n % batch])
            app.save(account)
        elapsed = time.perf_counter() - started
        app.close()
        return elapsed

    def app_batch() -> float:
        app = application()
        account = Account()
        app.save(account)
        started = time.perf_counter()
        for item in data:
            account.deposit(**item)
        app.save(account)
        elapsed = time.perf_counter() - started
        app.close()
        return elapsed

    def journal_singles() -> float:
        store = SqliteStore(directory / f"ja-{next(counter)}.sqlite3")
        append = create_journal(store, clock=clock).append
        started = time.perf_counter()
        for n in range(singles):
            append(data[n % batch])
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    def journal_batch() -> float:
        store = SqliteStore(directory / f"ja-{next(counter)}.sqlite3")
        extend = create_journal(store, clock=clock).extend
        started = time.perf_counter()
        extend(data)
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    app_one, ours_one = best(rounds, app_singles, journal_singles)
    app_many, ours_many = best(rounds, app_batch, journal_batch)
    return {
        "singles": (singles / app_one, singles / ours_one),
        "batch": (batch / app_many, batch / ours_many),
    }


def bench_normal(directory: Path, singles: int, rounds: int) -> tuple[float, float]:
    """Single appends per second with synchronous="full" and "normal"."""
    clock = ControlledClock()
    counter = iter(range(10**9))

    def appends(synchronous: str) -> Callable[[], float]:
        def run() -> float:
            path = directory / f"sync-{next(counter)}.sqlite3"
            store = SqliteStore(path, synchronous=synchronous)  # type: ignore[arg-type]
            append = create_journal(store, clock=clock).append
            started = time.perf_counter()
            for n in range(singles):
                append(event(n))
            elapsed = time.perf_counter() - started
            store.close()
            return elapsed

        return run

    full, normal = best(rounds, appends("full"), appends("normal"))
    return singles / full, singles / normal


# -- 4. the eventsourcing library --------------------------------------------------


def relax_durability(datastore: Any) -> None:
    """Make every connection eventsourcing opens use ``synchronous=NORMAL``.

    eventsourcing has no setting for it, so this wraps its pool's (private)
    connection factory; `bench_eventsourcing` reads the setting back, so a
    change inside eventsourcing stops the benchmark instead of skewing it.
    """
    pool = datastore.pool
    create = pool._create_connection

    def create_relaxed() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA synchronous = NORMAL")
        return connection

    pool._create_connection = create_relaxed


def bench_eventsourcing(
    directory: Path,
    singles: int,
    batch: int,
    rounds: int,
    synchronous: str = "full",
) -> dict[str, tuple[float, float]]:
    """The recorder against the journal, both at the same ``synchronous`` setting.

    At "full" (both libraries' default) each single append waits for one
    fsync; at "normal" neither does, which leaves each library's own work.
    """
    from eventsourcing.persistence import JSONTranscoder, StoredEvent
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    clock = ControlledClock()
    data = [event(n) for n in range(batch)]
    transcoder = JSONTranscoder()
    counter = iter(range(10**9))
    wanted = {"full": 2, "normal": 1}[synchronous]

    def recorder() -> tuple[SQLiteApplicationRecorder, SQLiteDatastore]:
        path = directory / f"es-{next(counter)}.sqlite3"
        datastore = SQLiteDatastore(str(path))
        if synchronous == "normal":
            relax_durability(datastore)
        made = SQLiteApplicationRecorder(datastore)
        made.create_table()
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            if cursor.fetchone()[0] != wanted:
                raise SystemExit(f"eventsourcing is not at synchronous={synchronous}")
        return made, datastore

    def stored(stream: uuid.UUID, version: int, item: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=stream,
            originator_version=version,
            topic="bench:Deposited",
            state=transcoder.encode(item),
        )

    def es_singles() -> float:
        made, datastore = recorder()
        stream = uuid.uuid4()
        started = time.perf_counter()
        for version in range(singles):
            made.insert_events([stored(stream, version, data[version % batch])])
        elapsed = time.perf_counter() - started
        datastore.close()
        return elapsed

    def es_batch() -> float:
        made, datastore = recorder()
        stream = uuid.uuid4()
        started = time.perf_counter()
        made.insert_events(
            [stored(stream, version, item) for version, item in enumerate(data)]
        )
        elapsed = time.perf_counter() - started
        datastore.close()
        return elapsed

    def journal_singles() -> float:
        store = SqliteStore(
            directory / f"j-{next(counter)}.sqlite3",
            synchronous=synchronous,  # type: ignore[arg-type]
        )
        append = create_journal(store, clock=clock).append
        started = time.perf_counter()
        for version in range(singles):
            append(data[version % batch])
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    def journal_batch() -> float:
        store = SqliteStore(
            directory / f"j-{next(counter)}.sqlite3",
            synchronous=synchronous,  # type: ignore[arg-type]
        )
        extend = create_journal(store, clock=clock).extend
        started = time.perf_counter()
        extend(data)
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed

    es_one, ours_one = best(rounds, es_singles, journal_singles)
    es_many, ours_many = best(rounds, es_batch, journal_batch)
    return {
        "singles": (singles / es_one, singles / ours_one),
        "batch": (batch / es_many, batch / ours_many),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default=None, help="where the SQLite files go")
    args = parser.parse_args()

    print("Journal benchmarks (best of", args.rounds, "alternating rounds)")
    base, ours = bench_memory(args.appends, args.rounds)
    ratio = ours / base
    print(
        f"\nIn-memory append, {args.appends:,} entries, CPU time\n"
        f"  dataclass appended to a list  {base * 1e9:8.0f} ns per entry\n"
        f"  journal.append                {ours * 1e9:8.0f} ns per entry\n"
        f"  journal / baseline time       {ratio:8.2f}x  "
        f"(target <= {MEMORY_TARGET}x: {'met' if ratio <= MEMORY_TARGET else 'MISSED'})"
    )

    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        directory = Path(name)
        raw = bench_sqlite(directory, args.singles, args.batch, args.rounds)
        es = bench_eventsourcing(directory, args.singles, args.batch, args.rounds)
        es_normal = bench_eventsourcing(
            directory, args.singles * 5, args.batch, args.rounds, "normal"
        )
        full, normal = bench_normal(directory, args.singles, args.rounds)
        app = bench_eventsourcing_application(
            directory, args.singles, args.batch, args.rounds
        )
        fs = os.statvfs(directory)

    print(
        f"\nSQLite, durable (synchronous=FULL), files in {directory.parent}"
        f" (block size {fs.f_bsize})"
    )
    for label, key in (
        ("single appends", "singles"),
        (f"extend of {args.batch:,}", "batch"),
    ):
        baseline, journal = raw[key]
        ratio = journal / baseline
        verdict = "met" if ratio >= RAW_TARGET else "MISSED"
        print(
            f"  {label:<22} raw sqlite3 {baseline:10,.0f}/s  journal "
            f"{journal:10,.0f}/s  {ratio:5.2f}x  (target >= {RAW_TARGET}x: {verdict})"
        )
    print(
        f"  single appends, journal: synchronous='full' {full:,.0f}/s, "
        f"'normal' {normal:,.0f}/s ({normal / full:.1f}x)"
    )
    print("\nThe eventsourcing library, durable (SQLite's default synchronous=FULL)")
    for source, label, key in (
        (es, "recorder, single", "singles"),
        (es, f"recorder, batch {args.batch:,}", "batch"),
        (app, "Application, single", "singles"),
        (app, f"Application, batch {args.batch:,}", "batch"),
        (es_normal, "recorder, single, NORMAL", "singles"),
        (es_normal, f"recorder, batch {args.batch:,}, NORMAL", "batch"),
    ):
        baseline, journal = source[key]
        ratio = journal / baseline
        verdict = "met" if ratio >= EVENTSOURCING_TARGET else "MISSED"
        print(
            f"  {label:<30} eventsourcing {baseline:8,.0f}/s  journal "
            f"{journal:8,.0f}/s  {ratio:5.2f}x  "
            f"(target >= {EVENTSOURCING_TARGET}x: {verdict})"
        )


if __name__ == "__main__":
    main()
