"""Faults: killed writers, connections lost mid-append, dead idle connections, forks."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import warnings

import pytest

from phyxius.journal import Entry, Journal, StoreError, create_journal
from tests.journal.postgres._pg_harness import Postgres
from tests.journal.postgres._pg_proxy import Proxy

pytestmark = pytest.mark.postgres

LOST = (
    r"^127\.0\.0\.1:{port}/test: the connection was lost during an append to "
    r"journal 'default' \(.*\), so whether its entry \(id '{id}'\) was stored is "
    r"unknown; it was stored once or not at all: append it again with "
    r"id='{id}', which stores it once and returns the stored entry if the first "
    r"try committed$"
)


def lost(entry_id: str, port: int = 5432) -> str:
    return LOST.format(port=port, id=entry_id)


def wait_until_sleeping(pg: Postgres) -> None:
    """Until one of this test's sessions sleeps in the slow trigger."""
    pg.wait_until(
        lambda: pg.value(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event = 'PgSleep'",
            (pg.schema,),
        ),
        "an append to be inside the slow trigger",
    )


# -- the writer dies --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.parametrize("during", ["anywhere", "a slow transaction"])
def test_every_acknowledged_append_survives_the_writer_being_killed(
    pg: Postgres, during: str
) -> None:
    pg.store()
    if during != "anywhere":
        pg.trigger(
            "slow", "IF NEW.id LIKE 'slow-%' THEN PERFORM pg_sleep(0.3); END IF;"
        )
    acknowledged: list[tuple[int, str]] = []

    for round_ in range(3):
        worker = pg.spawn(
            "until_killed",
            journal="default",
            round=round_,
            slow_every=None if during == "anywhere" else 25,
        )
        for _ in range(40 + 17 * round_):
            line = worker.line()
            acknowledged.append((line["sequence"], line["id"]))
        if during != "anywhere":
            wait_until_sleeping(pg)
        os.kill(worker.process.pid, signal.SIGKILL)
        # Acknowledgements still in the pipe count: they followed their appends.
        for line in worker.rest():
            acknowledged.append((line["sequence"], line["id"]))
        assert worker.process.returncode == -signal.SIGKILL
        # The killed client's statement may still finish on the server.
        pg.wait_until(
            lambda: not pg.busy(), "the killed writer's last statement to end"
        )

        stored = pg.stored()
        assert [sequence for sequence, _ in stored] == list(range(len(stored)))
        assert set(acknowledged) <= set(stored)
        # At most the one append in flight at the kill is there unacknowledged.
        assert len(stored) - len(acknowledged) in (0, 1)
        acknowledged = stored

    # No number was burnt by the kills: the next append continues the count.
    journal = pg.journal()
    assert journal.append("after").sequence == len(acknowledged)


# -- the connection is lost during an append ----------------------------------------


def append_in_thread(journal: Journal, entry_id: str) -> dict[str, object]:
    """Start ``journal.append(entry_id, id=entry_id)``; its outcome fills the dict."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["entry"] = journal.append(entry_id, id=entry_id)
        except BaseException as error:  # inspected by the test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    outcome["thread"] = thread
    return outcome


def test_a_connection_lost_before_commit_is_a_clear_error_and_stores_nothing(
    pg: Postgres,
) -> None:
    journal = pg.journal()
    journal.append("first")
    pg.trigger("slow", "IF NEW.id LIKE 'slow-%' THEN PERFORM pg_sleep(5); END IF;")

    outcome = append_in_thread(journal, "slow-1")
    wait_until_sleeping(pg)
    assert pg.terminate_sleeping() == 1
    thread = outcome["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join()

    error = outcome["error"]
    assert isinstance(error, StoreError)
    assert re.match(lost("slow-1"), str(error)), str(error)
    assert [entry_id for _, entry_id in pg.stored()] == [journal.get(0).id]
    assert journal.next_sequence == 1

    # Retrying with the same id stores it, once, at the next sequence.
    pg.admin.execute(f'DROP TRIGGER slow ON "{pg.schema}".phyxius_entries')
    entry = journal.append("slow-1", id="slow-1")
    assert entry.sequence == 1
    assert [entry_id for _, entry_id in pg.stored()][1:] == ["slow-1"]


def test_an_answer_lost_after_commit_is_a_clear_error_and_a_retry_stores_once(
    pg: Postgres,
    proxy: Proxy,
) -> None:
    journal = pg.journal(store=pg.store(dsn=proxy.dsn(pg.dsn)))
    journal.append("first")

    proxy.swallow_next_response(containing=b"order-1")
    with pytest.raises(StoreError, match=lost("order-1", proxy.port)):
        journal.append({"order": 1}, id="order-1")
    assert proxy.swallowed.is_set()

    # It did commit: the server ran the append; only the answer was lost.
    assert [entry_id for _, entry_id in pg.stored()][1:] == ["order-1"]
    retried = journal.append({"order": 1}, id="order-1")
    again = journal.append({"order": 1}, id="order-1")

    assert retried.sequence == again.sequence == 1
    assert retried.data == {"order": 1}
    assert [entry_id for _, entry_id in pg.stored()][1:] == ["order-1"]
    assert pg.value("SELECT next_sequence FROM phyxius_journals") == 2


def test_a_batch_lost_mid_append_names_its_ids(pg: Postgres, proxy: Proxy) -> None:
    store = pg.store(dsn=proxy.dsn(pg.dsn))
    journal = pg.journal(store=store)
    journal.append("first")
    proxy.swallow_next_response(containing=b'"c"')  # the batch's last item

    with pytest.raises(
        StoreError,
        match=r"so whether its 3 entries \(ids '.+' to '.+'\) was stored is "
        r"unknown; it was stored once or not at all: repeat the append with the "
        r"same ids, which stores it once",
    ):
        journal.extend(["a", "b", "c"])

    assert len(pg.stored()) == 4


def test_an_unreachable_server_is_a_clear_error_then_the_store_recovers(
    pg: Postgres,
    proxy: Proxy,
) -> None:
    journal = pg.journal(store=pg.store(dsn=proxy.dsn(pg.dsn)))
    journal.append("first")
    proxy.refuse = True
    proxy.cut()

    # Nothing was sent, so nothing is ambiguous: a plain connection error.
    with pytest.raises(
        StoreError,
        match=rf"^could not connect to PostgreSQL at 127\.0\.0\.1:{proxy.port}"
        r"/test: ",
    ):
        journal.append("while down")
    with pytest.raises(StoreError, match=r"^could not connect to PostgreSQL"):
        journal.get_all()

    proxy.refuse = False
    assert journal.append("back").sequence == 1
    assert [entry.data for entry in journal.get_all()] == ["first", "back"]


def test_idle_connections_ended_by_the_server_are_replaced_unnoticed(
    pg: Postgres,
) -> None:
    journal = pg.journal()
    journal.append("first")
    journal.get_all()

    # A restart or an administrator ends every idle session of the store.
    assert pg.terminate("%") >= 1

    assert journal.append("second").sequence == 1
    assert [entry.data for entry in journal.get_all()] == ["first", "second"]


def test_a_read_is_retried_on_a_new_connection_when_its_connection_drops(
    pg: Postgres,
    proxy: Proxy,
) -> None:
    journal = pg.journal(store=pg.store(dsn=proxy.dsn(pg.dsn)))
    journal.extend(["a", "b"])
    proxy.swallow_next_response(containing=b"phyxius_entries")

    entries = journal.get_all()  # its first answer is lost

    assert proxy.swallowed.is_set()
    assert [entry.data for entry in entries] == ["a", "b"]


# -- fork ------------------------------------------------------------------------


def backends(pg: Postgres) -> set[int]:
    """The pids of this test's sessions on the server, but for the admin's."""
    rows = pg.admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
        "AND pid <> pg_backend_pid()",
        (pg.schema,),
    ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_the_parents_connections_alone(pg: Postgres) -> None:
    from phyxius.journal import _postgres_pool

    store = pg.store()
    journal = create_journal(store, name="default")
    journal.append("parent")
    follower_calls = threading.Event()
    unwatch = store.watch("default", follower_calls.set)  # a listener thread too
    parent_backends = backends(pg)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        pid = os.fork()
    if pid == 0:  # the child: use the store, then drop what it inherited
        code = 1
        try:
            entry: Entry = create_journal(store, name="default").append("child")
            for connection in _postgres_pool._disowned:
                connection.close()  # type: ignore[attr-defined]  # as collecting them at exit would
            store.close()
            code = 0 if entry.sequence == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's sessions are all still there and usable; the child's end
    # (a backend leaves pg_stat_activity a moment after its client).
    assert backends(pg) >= parent_backends
    pg.wait_until(
        lambda: backends(pg) == parent_backends, "the child's sessions to end"
    )
    assert [entry.data for entry in journal.get_all()] == ["parent", "child"]
    follower_calls.clear()
    create_journal(pg.store(), name="default").append("heard")
    assert follower_calls.wait(60)
    unwatch()
