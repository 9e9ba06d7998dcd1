"""Following a PostgreSQL journal: LISTEN/NOTIFY, late commits, dropped listeners.

Stores here have no ``poll_interval`` unless a test says so: a follower that
gets an entry written by another process was woken by a notification (or by
the listener's catch-up after a reconnection), never by a timer.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from phyxius.journal import Journal, PostgresStore, create_journal
from phyxius.journal._postgres_pool import prepared_name
from tests.journal.postgres._pg_harness import PATIENCE, Follower, Postgres
from tests.journal.postgres._pg_proxy import Proxy

pytestmark = pytest.mark.postgres


def follower_journal(store: PostgresStore, name: str = "default") -> Journal:
    """A journal on the system clock, as a service would follow it."""
    return create_journal(store, name=name)


def follower_past_one_entry(pg: Postgres) -> tuple[PostgresStore, Journal, Follower]:
    """A store, its journal holding one entry, and a follower waiting for a second."""
    store = pg.store()
    journal = follower_journal(store)
    journal.append("before")
    follower = Follower(journal, count=2)
    follower.wait_for(1)
    return store, journal, follower


def in_order(entries: list[Any], count: int) -> list[int]:
    return [entry.sequence for entry in entries[:count]]


def test_follow_sees_entries_appended_by_another_process(pg: Postgres) -> None:
    store = pg.store()
    assert store.poll_interval is None
    follower = Follower(follower_journal(store), count=20)
    writer = pg.spawn("write", journal="default", prefix="remote", count=20)
    pg.hold(pg.gate)
    pg.release(pg.gate, waiting=1)

    entries = follower.join()

    written = writer.results()
    assert [(entry.sequence, entry.id) for entry in entries] == [
        (result["sequence"], result["id"]) for result in written
    ]
    assert in_order(entries, 20) == list(range(20))


def test_a_writer_that_vanishes_right_after_its_append_still_wakes_followers(
    pg: Postgres,
) -> None:
    _store, _journal, follower = follower_past_one_entry(pg)
    pg.hold(pg.gate)
    writer = pg.spawn("append_and_vanish", journal="default")
    pg.release(pg.gate, waiting=1)

    written = writer.results()
    entries = follower.join()

    assert [(entry.sequence, entry.id) for entry in entries[1:]] == [
        (line["sequence"], line["id"]) for line in written
    ]


def test_an_append_stands_when_waking_followers_fails(
    pg: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    journal = pg.journal()
    journal.append("first")
    pg.admin.execute("DROP FUNCTION phyxius_notify(bigint)")

    # Each append reads the answers to earlier wake-ups that have arrived
    # by then, and reports the failed ones.
    appended = [journal.append("second")]
    pg.wait_until(
        lambda: (
            "a statement sent without waiting failed" in caplog.text
            or appended.append(journal.append("more"))
        ),
        "the failed wake-up to be reported",
    )

    assert [entry.sequence for entry in appended] == list(range(1, len(appended) + 1))
    assert journal.get_all()[1:] == appended
    assert "phyxius_notify" in caplog.text


def test_a_follower_in_another_process_sees_appends_made_here(pg: Postgres) -> None:
    journal = pg.journal()
    journal.append("before")
    worker = pg.spawn("follow", journal="default", count=6)
    assert worker.line() == {"following": True}
    assert worker.line()["sequence"] == 0

    appended = [journal.append({"n": n}) for n in range(5)]

    seen = worker.results()
    assert seen == [{"sequence": entry.sequence, "id": entry.id} for entry in appended]


def test_a_reader_never_sees_an_entry_before_one_that_commits_earlier(
    pg: Postgres,
) -> None:
    store = pg.store()
    journal = pg.journal(store=store)
    journal.append("first")
    pg.trigger("slow", "IF NEW.id LIKE 'slow-%' THEN PERFORM pg_sleep(0.5); END IF;")
    done = threading.Event()
    reads: list[list[int]] = []

    def append(prefix: str) -> None:
        create_journal(store, name="default").append(prefix, id=f"{prefix}-1")

    slow = threading.Thread(target=append, args=("slow",))
    slow.start()
    # The slow append holds the journal's head; the fast ones queue behind it.
    pg.wait_until(
        lambda: pg.value(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event = 'PgSleep'",
            (pg.schema,),
        ),
        "the slow append to be inside its transaction",
    )
    fast = [threading.Thread(target=append, args=(f"fast{n}",)) for n in range(3)]
    for thread in fast:
        thread.start()

    def watch() -> None:
        while not done.is_set():
            reads.append([entry.sequence for entry in journal.read(0)])

    reader = threading.Thread(target=watch)
    reader.start()
    for thread in [slow, *fast]:
        thread.join()
    done.set()
    reader.join()

    # Every read was 0..k: a later entry never showed without the earlier ones.
    assert reads
    assert all(read == list(range(len(read))) for read in reads)
    assert [entry_id for _, entry_id in pg.stored()][1] == "slow-1"


@pytest.mark.slow
def test_followers_see_every_entry_once_in_order_despite_a_slow_writer(
    pg: Postgres,
) -> None:
    pg.store()
    pg.trigger("slow", "IF NEW.id LIKE 'slow-%' THEN PERFORM pg_sleep(0.2); END IF;")
    counts = {"slow": 4, "fast0": 25, "fast1": 25, "fast2": 25}
    total = sum(counts.values())
    followers = [Follower(follower_journal(pg.store()), count=total) for _ in range(3)]
    remote = pg.spawn("follow", journal="default", count=total)
    assert remote.line() == {"following": True}
    pg.hold(pg.gate)
    writers = [
        pg.spawn("write", journal="default", prefix=prefix, count=count)
        for prefix, count in counts.items()
    ]
    pg.release(pg.gate, waiting=len(writers))

    for writer in writers:
        writer.results()
    stored = pg.stored()
    assert [sequence for sequence, _ in stored] == list(range(total))
    for follower in followers:
        assert [(entry.sequence, entry.id) for entry in follower.join()] == stored
    assert [(line["sequence"], line["id"]) for line in remote.results()] == stored


def test_follow_catches_up_after_its_listener_is_terminated(pg: Postgres) -> None:
    store = pg.store()
    writer = pg.journal(store=pg.store())
    follower = Follower(follower_journal(store), count=12)
    writer.extend(range(4))
    follower.wait_for(4)

    assert pg.terminate("LISTEN %") == 1
    writer.extend(range(4, 8))  # perhaps while no one listens
    follower.wait_for(8)
    writer.extend(range(8, 12))  # heard by the new LISTEN connection

    assert in_order(follower.join(), 12) == list(range(12))
    assert [entry.data for entry in follower.entries] == list(range(12))


def test_follow_catches_up_on_what_was_appended_while_it_could_not_listen(
    pg: Postgres, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="phyxius.journal")
    store = pg.store(dsn=proxy.dsn(pg.dsn))
    writer = pg.journal(store=pg.store())
    follower = Follower(follower_journal(store), count=9)
    writer.extend(range(3))
    follower.wait_for(3)

    # The listener's connection drops and cannot come back for now.
    proxy.refuse = True
    assert pg.terminate("LISTEN %") == 1
    pg.wait_until(
        lambda: "lost the LISTEN connection" in caplog.text,
        "the listener to notice",
    )
    writer.extend(range(3, 6))  # nobody hears these notifications

    proxy.refuse = False
    follower.wait_for(6)  # woken by the listener's return, not by NOTIFY
    writer.extend(range(6, 9))  # and it hears new ones again

    entries = follower.join()

    assert in_order(entries, 9) == list(range(9))
    assert [entry.data for entry in entries] == list(range(9))
    assert "listening on channel" in caplog.text


def test_with_listen_off_followers_poll(pg: Postgres) -> None:
    store = pg.store(listen=False, poll_interval=0.02)
    writer = pg.journal(store=pg.store(listen=False, poll_interval=1))
    follower = Follower(follower_journal(store), count=5)

    writer.extend(range(5))

    assert in_order(follower.join(), 5) == list(range(5))
    assert (
        pg.value(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND query LIKE 'LISTEN %%'",
            (pg.schema,),
        )
        == 0
    )


def test_closing_the_store_ends_a_waiting_follower_with_a_clear_error(
    pg: Postgres,
) -> None:
    store, _journal, follower = follower_past_one_entry(pg)

    store.close()

    with pytest.raises(
        AssertionError,
        match=r"^the follower failed: JournalClosedError\('the PostgresStore of "
        r"[^']+ was closed; open a new PostgresStore to go on'\)$",
    ):
        follower.join()


def test_watch_calls_back_for_its_journal_until_unwatched(pg: Postgres) -> None:
    store = pg.store()
    other = pg.store()
    create_journal(store, name="mine").append("known")  # its id is known here
    calls: list[str] = []
    woken = threading.Event()

    def callback() -> None:
        calls.append("mine")
        woken.set()

    unwatch = store.watch("mine", callback)
    create_journal(other, name="theirs").append("not mine")
    create_journal(other, name="mine").append("mine")
    assert woken.wait(PATIENCE)
    unwatch()
    unwatch()  # twice is fine
    count = len(calls)
    create_journal(other, name="mine").append("unheard")
    # A notification after this one proves the listener passed the one before.
    seen = threading.Event()
    stop = store.watch("mine", seen.set)
    create_journal(other, name="mine").append("heard")
    assert seen.wait(PATIENCE)
    stop()

    assert count >= 1
    assert len(calls) == count


def test_followers_are_woken_after_the_writers_notifying_session_was_ended(
    pg: Postgres,
) -> None:
    writer = pg.journal(store=pg.store())
    follower = Follower(follower_journal(pg.store()), count=4)
    writer.append(0)
    follower.wait_for(1)

    # The session that sends the writer's notifications ends while idle, as
    # when an administrator or a restart ends it; the next append must still
    # wake the follower, with no poll to fall back on.
    for n in range(1, 4):
        pg.wait_until(
            lambda: pg.terminate("%phyxius_notify%") == 1,
            "the writer's notifying session to be there, and ended",
        )
        writer.append(n)
        follower.wait_for(n + 1)

    assert in_order(follower.join(), 4) == list(range(4))


def test_a_notification_that_never_reached_the_server_is_sent_again(
    pg: Postgres,
    proxy: Proxy,
) -> None:
    store = pg.store(dsn=proxy.dsn(pg.dsn))
    writer = pg.journal(store=store)
    follower = Follower(follower_journal(pg.store()), count=2)

    # The second append gets through; the notification after it (a run
    # of the prepared statement: a Bind message naming it) is lost on the
    # way, with the connection. The first append's notification passes.
    notify = prepared_name(store._sql.notify_bytes)
    proxy.drop_request(containing=notify, starting=b"B", after=1)
    writer.append(0)
    follower.wait_for(1)
    writer.append(1)
    assert proxy.dropped.wait(PATIENCE)

    # The writer's next use of its connection finds it dead while still
    # owing the notification's answer, so it sends it again elsewhere.
    assert [entry.data for entry in writer.get_all()] == [0, 1]
    entries = follower.join()

    assert in_order(entries, 2) == [0, 1]


def test_a_notification_whose_prepared_statement_was_dropped_is_sent_again(
    pg: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    store = pg.store()
    writer = pg.journal(store=store)
    follower = Follower(follower_journal(pg.store()), count=3)
    writer.append(0)
    follower.wait_for(1)

    # As a pooler's DISCARD ALL would: the writer's connection forgets the
    # statement its notifications run as. (Once the first notification is
    # answered, so that the pool hands out that very connection.)
    pool = store._pool

    def answered() -> bool:
        pool._collect_answers()
        return not pool._owed

    pg.wait_until(answered, "the first notification to be answered")
    connection = pool._acquire()
    name = prepared_name(store._sql.notify_bytes).decode()
    connection.execute(f'DEALLOCATE "{name}"')
    pool._release(connection)

    writer.append(1)  # its notification fails on the server: not run
    # The writer's next use of the store, once that failure has come back,
    # sends the notification again.
    pg.wait_until(
        lambda: writer.get_all() and len(follower.entries) >= 2,
        "the follower to be woken for the second entry",
    )
    writer.append(2)  # prepared anew

    assert in_order(follower.join(), 3) == [0, 1, 2]
    assert "a statement sent without waiting failed" not in caplog.text
