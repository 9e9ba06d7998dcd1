"""Gapless sequences under real threads and real OS processes on one SQLite file."""

from __future__ import annotations

import multiprocessing
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phyxius.journal import (
    ConcurrencyError,
    Entry,
    Journal,
    MemoryStore,
    SqliteStore,
    create_journal,
)

WRITERS = 4
APPENDS = 1000


def assert_gapless_and_ordered(
    entries: list[Entry], writers: int, appends: int
) -> None:
    """Sequences are exactly 0..N-1 once each, and each writer's order is kept."""
    assert [entry.sequence for entry in entries] == list(range(writers * appends))
    by_writer: dict[int, list[int]] = defaultdict(list)
    for entry in entries:
        by_writer[entry.data["writer"]].append(entry.data["n"])
    assert sorted(by_writer) == list(range(writers))
    for numbers in by_writer.values():
        assert numbers == list(range(appends))


def run_threads(target: Callable[[int], Any], count: int) -> list[Any]:
    """Run ``target(index)`` in ``count`` threads released together; results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target(index)
        except BaseException as error:  # collected and re-raised below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# -- threads ------------------------------------------------------------------------


def test_threads_sharing_one_store_get_gapless_sequences(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "shared.sqlite3", synchronous="normal") as store:
        journal = create_journal(store)

        def writer(index: int) -> None:
            for n in range(APPENDS):
                journal.append({"writer": index, "n": n})

        run_threads(writer, WRITERS)

        assert_gapless_and_ordered(journal.get_all(), WRITERS, APPENDS)
        store.check()


@pytest.mark.slow
def test_threads_with_a_store_each_get_gapless_sequences(tmp_path: Path) -> None:
    path = tmp_path / "contended.sqlite3"
    # One store per thread: the threads contend for SQLite's write lock itself,
    # exactly as separate processes do, and with durable commits.
    stores = [SqliteStore(path) for _ in range(WRITERS)]

    def writer(index: int) -> None:
        journal = create_journal(stores[index])
        for n in range(APPENDS):
            journal.append({"writer": index, "n": n})

    try:
        run_threads(writer, WRITERS)
        assert_gapless_and_ordered(
            create_journal(stores[0]).get_all(), WRITERS, APPENDS
        )
    finally:
        for store in stores:
            store.close()


def test_threads_on_a_memory_store_get_gapless_sequences() -> None:
    journal = create_journal(MemoryStore())

    def writer(index: int) -> None:
        for n in range(APPENDS):
            journal.append({"writer": index, "n": n})

    run_threads(writer, WRITERS)

    assert_gapless_and_ordered(journal.get_all(), WRITERS, APPENDS)


@pytest.mark.parametrize("kind", ["memory", "sqlite shared", "sqlite per thread"])
def test_one_of_k_concurrent_appends_at_one_expected_sequence_wins(
    tmp_path: Path, kind: str
) -> None:
    contenders = 8
    path = tmp_path / "race.sqlite3"
    shared: Any = MemoryStore() if kind == "memory" else SqliteStore(path)
    stores = [
        SqliteStore(path) if kind == "sqlite per thread" else shared
        for _ in range(contenders)
    ]
    create_journal(stores[0]).extend(["a", "b"])

    def contend(index: int) -> str:
        try:
            create_journal(stores[index]).append({"by": index}, expected_sequence=2)
        except ConcurrencyError:
            return "lost"
        return "won"

    try:
        outcomes = run_threads(contend, contenders)
        stored = create_journal(stores[0]).get_all()
    finally:
        for store in {id(store): store for store in stores}.values():
            store.close()

    assert sorted(outcomes) == ["lost"] * (contenders - 1) + ["won"]
    assert len(stored) == 3
    assert stored[2].data == {"by": outcomes.index("won")}


# -- processes ------------------------------------------------------------------------


def _process_writer(path: str, index: int, appends: int, start: Any) -> None:
    with SqliteStore(path) as store:
        journal = create_journal(store)
        start.wait()
        for n in range(appends):
            journal.append({"writer": index, "n": n})


def _process_contender(path: str, index: int, start: Any, results: Any) -> None:
    with SqliteStore(path) as store:
        journal = create_journal(store)
        start.wait()
        try:
            journal.append({"by": index}, expected_sequence=1)
        except ConcurrencyError:
            results.put((index, "lost"))
        else:
            results.put((index, "won"))


def _run_processes(
    target: Callable[..., None], arguments: list[tuple[Any, ...]]
) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=target, args=args) for args in arguments]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0] * len(processes)


@pytest.mark.slow
def test_processes_appending_to_one_file_get_gapless_sequences(tmp_path: Path) -> None:
    path = str(tmp_path / "processes.sqlite3")
    SqliteStore(path).close()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)

    _run_processes(
        _process_writer,
        [(path, index, APPENDS, start) for index in range(WRITERS)],
    )

    with SqliteStore(path) as store:
        journal: Journal = create_journal(store)
        assert_gapless_and_ordered(journal.get_all(), WRITERS, APPENDS)
        store.check()


@pytest.mark.slow
def test_one_of_k_processes_appending_at_one_expected_sequence_wins(
    tmp_path: Path,
) -> None:
    contenders = 4
    path = str(tmp_path / "process-race.sqlite3")
    with SqliteStore(path) as store:
        create_journal(store).append("first")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(contenders)
    results = context.Queue()

    _run_processes(
        _process_contender,
        [(path, index, start, results) for index in range(contenders)],
    )

    outcomes = dict(results.get(timeout=10) for _ in range(contenders))
    winners = [index for index, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    with SqliteStore(path) as store:
        stored = create_journal(store).get_all()
    assert [entry.data for entry in stored] == ["first", {"by": winners[0]}]
