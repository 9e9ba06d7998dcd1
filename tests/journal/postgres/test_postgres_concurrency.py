"""Several writers at once: real OS processes and threads on one PostgreSQL journal.

Every writer has its own store and connections, as services on different
machines would; the server is the only thing they share.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from phyxius.journal import ConcurrencyError, StoreBusyError, create_journal
from tests.journal.postgres._pg_harness import Postgres

pytestmark = pytest.mark.postgres

PROCESSES = 4


def acknowledged(results: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(sequence, id)`` of every entry a worker reported as appended."""
    return [
        (sequence, entry_id)
        for result in results
        if "sequences" in result
        for sequence, entry_id in zip(result["sequences"], result["ids"], strict=True)
    ]


@pytest.mark.slow
def test_four_processes_get_gapless_sequences_even_when_appends_are_rejected(
    pg: Postgres,
) -> None:
    pg.store()  # the schema exists before the workers race for it
    pg.hold(pg.gate)
    workers = [
        pg.spawn("mixed", journal="default", writer=writer, operations=60)
        for writer in range(PROCESSES)
    ]
    pg.release(pg.gate, waiting=PROCESSES)
    results = [result for worker in workers for result in worker.results()]

    stored = pg.stored()
    acked = acknowledged(results)
    rejected = [result for result in results if result["kind"] == "rejected"]
    # 0..N-1, no gap, no duplicate - rejected appends used up no number.
    assert [sequence for sequence, _ in stored] == list(range(len(stored)))
    # What is stored is exactly what the writers were told they appended.
    assert sorted(acked) == stored
    assert len({entry_id for _, entry_id in stored}) == len(stored)
    assert rejected, "no conditional append lost a race; the test proved little"
    assert all(result["actual"] > result["expected"] for result in rejected)
    assert pg.value("SELECT next_sequence FROM phyxius_journals") == len(stored)


def test_of_k_appends_at_one_expected_sequence_exactly_one_wins(pg: Postgres) -> None:
    journal = pg.journal()
    journal.extend(["before", "the", "race"])
    rounds = 8
    for round_ in range(rounds):
        pg.hold(pg.gate + round_)
    workers = [
        pg.spawn(
            "race",
            journal="default",
            writer=writer,
            expected=[3 + round_ for round_ in range(rounds)],
        )
        for writer in range(PROCESSES)
    ]
    for worker in workers:
        assert "ready" in worker.line()
    for round_ in range(rounds):
        pg.release(pg.gate + round_, waiting=PROCESSES)
    results = [result for worker in workers for result in worker.results()]

    for round_ in range(rounds):
        outcomes = [result for result in results if result["round"] == round_]
        winners = [result for result in outcomes if result["won"]]
        losers = [result for result in outcomes if not result["won"]]
        assert len(winners) == 1, outcomes
        assert winners[0]["sequence"] == 3 + round_
        assert len(losers) == PROCESSES - 1
        assert all(loser["actual"] == 4 + round_ for loser in losers)
    # Stored equals succeeded: the winners' entries, nothing else.
    succeeded = sorted(
        (result["sequence"], result["id"]) for result in results if result["won"]
    )
    assert pg.stored()[3:] == succeeded
    assert journal.next_sequence == 3 + rounds


def test_threads_racing_at_one_expected_sequence_leave_only_the_winner(
    pg: Postgres,
) -> None:
    store = pg.store()
    threads = 8
    rounds = 10
    outcomes: Counter[str] = Counter()
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def race(writer: int) -> None:
        journal = create_journal(store, name="default")
        for round_ in range(rounds):
            barrier.wait()
            try:
                journal.append({"writer": writer}, expected_sequence=round_)
            except ConcurrencyError:
                outcome = "lost"
            else:
                outcome = "won"
            with lock:
                outcomes[outcome] += 1
            barrier.wait()

    workers = [threading.Thread(target=race, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert outcomes == {"won": rounds, "lost": rounds * (threads - 1)}
    assert [sequence for sequence, _ in pg.stored()] == list(range(rounds))


@pytest.mark.parametrize(
    ("sqlstate", "what"),
    [("40001", "serialization failure"), ("40P01", "deadlock")],
)
def test_transient_failures_are_retried_invisibly(
    pg: Postgres, sqlstate: str, what: str
) -> None:
    journal = pg.journal()
    journal.append("first")
    pg.admin.execute("CREATE SEQUENCE attempts")
    pg.trigger(
        "flaky",
        f"""
        IF NEW.id LIKE 'flaky%' AND nextval('{{schema}}.attempts') <= 3 THEN
            RAISE EXCEPTION 'injected {what}' USING ERRCODE = '{sqlstate}';
        END IF;
        """,
    )

    entry = journal.append("second", id="flaky-1")

    assert entry.sequence == 1
    assert pg.stored() == [(0, journal.get(0).id), (1, "flaky-1")]
    assert pg.value("SELECT last_value FROM attempts") == 4  # 3 failures, then in


def test_a_failure_that_persists_gives_up_after_max_attempts(pg: Postgres) -> None:
    journal = pg.journal(store=pg.store(max_attempts=3))
    journal.append("first")
    pg.admin.execute("CREATE SEQUENCE attempts")
    pg.trigger(
        "always",
        """
        IF NEW.id LIKE 'doomed%' THEN
            PERFORM nextval('{schema}.attempts');
            RAISE EXCEPTION 'injected' USING ERRCODE = '40001';
        END IF;
        """,
    )

    with pytest.raises(
        StoreBusyError,
        match=r"^127\.0\.0\.1:5432/test: PostgreSQL rolled the statement back 3 times "
        r"in a row, the last time with: injected \(SQLSTATE 40001\); the journal is "
        r"under heavy contention: retry later, spread the writers over more journals "
        r"or raise max_attempts$",
    ):
        journal.append("never", id="doomed")

    assert pg.value("SELECT last_value FROM attempts") == 3
    assert journal.next_sequence == 1
    assert journal.append("after").sequence == 1


def test_retries_back_off_exponentially_with_jitter(
    pg: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phyxius.journal import _postgres_pool

    slept: list[float] = []

    class RecordingTime:
        """The pool's view of `time`: sleeps are recorded, not slept."""

        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    journal = pg.journal()
    journal.append("first")
    pg.admin.execute("CREATE SEQUENCE attempts")
    pg.trigger(
        "flaky",
        """
        IF NEW.id LIKE 'flaky%' AND nextval('{schema}.attempts') <= 9 THEN
            RAISE EXCEPTION 'injected' USING ERRCODE = '40001';
        END IF;
        """,
    )
    monkeypatch.setattr(_postgres_pool, "time", RecordingTime)

    assert journal.append("second", id="flaky-1").sequence == 1

    # Each wait is drawn from [ceiling / 2, ceiling]; the ceiling doubles
    # from 2 ms after every failure, up to 200 ms.
    ceilings = [min(0.2, 0.002 * 2**attempt) for attempt in range(9)]
    assert len(slept) == 9
    for wait, ceiling in zip(slept, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert len(set(slept)) == len(slept)  # jittered, not a fixed schedule
