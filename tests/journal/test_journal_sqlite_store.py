"""SqliteStore: one file, many journals, WAL, durability settings, format checks."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.journal import (
    CodecMismatchError,
    JournalClosedError,
    SqliteStore,
    StoreBusyError,
    StoreError,
    StoreFormatError,
    create_journal,
)
from phyxius.journal._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION


def pragma(store: SqliteStore, name: str) -> Any:
    """A pragma as the store's own connections see it."""
    return store._run(
        lambda connection: connection.execute(f"PRAGMA {name}").fetchone()[0],
        write=False,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journals.sqlite3"


def test_one_file_holds_many_named_journals_across_reopening(path: Path) -> None:
    with SqliteStore(path) as store:
        create_journal(store, name="orders").extend(["o1", "o2"])
        create_journal(store, name="audit").append("a1")

    with SqliteStore(path) as store:
        assert store.journals() == ["audit", "orders"]
        assert [e.data for e in create_journal(store, name="orders")] == ["o1", "o2"]
        assert [e.data for e in create_journal(store, name="audit")] == ["a1"]
        assert len(create_journal(store, name="new")) == 0


def test_entries_read_back_exactly_after_reopening(path: Path) -> None:
    with SqliteStore(path) as store:
        written = create_journal(store).extend(
            [{"a": [1, 2.5, None]}, "text"], metadata={"who": "me"}
        )

    with SqliteStore(path) as store:
        assert create_journal(store).get_all() == written


def test_the_file_is_in_wal_mode_and_durable_by_default(path: Path) -> None:
    with SqliteStore(path) as store:
        assert pragma(store, "journal_mode") == "wal"
        assert pragma(store, "synchronous") == 2  # FULL
        assert store.synchronous == "full"


def test_a_file_system_without_wal_is_refused_naming_the_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite answers a WAL request with the mode it kept when the file system
    # cannot share memory between processes (some network file systems).
    monkeypatch.setattr(
        "phyxius.journal._sqlite.enable_wal", lambda connection: "delete"
    )

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))}: SQLite could not switch the file to WAL "
        r"mode \(journal_mode='delete'\); journal stores need a local file system$",
    ):
        SqliteStore(path)

    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    finally:
        raw.close()


def test_the_faster_setting_is_synchronous_normal(path: Path) -> None:
    with SqliteStore(path, synchronous="normal") as store:
        create_journal(store).append("x")
        assert pragma(store, "synchronous") == 1  # NORMAL


def test_the_schema_version_is_stored_in_the_file(path: Path) -> None:
    SqliteStore(path).close()

    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()


def test_a_file_of_a_newer_schema_is_refused_naming_the_path(path: Path) -> None:
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 2")
    raw.close()

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))} is a journal store of schema version 2, "
        r"written by a newer Phyxius; this one reads version 1: upgrade phyxius",
    ):
        SqliteStore(path)


def test_a_file_of_an_unknown_schema_is_refused(path: Path) -> None:
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 0")
    raw.close()

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))} is marked as a journal store but has unknown "
        r"schema version 0 \(this Phyxius reads version 1\); the file was changed "
        r"by another program: restore it from a backup$",
    ):
        SqliteStore(path)


def test_another_programs_database_is_refused_and_left_untouched(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE customers (id INTEGER)")
    raw.commit()
    raw.close()
    before = path.read_bytes()

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))} is a SQLite database but not a journal "
        r"store \(it has tables: customers\); use a new file for journals$",
    ):
        SqliteStore(path)

    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_a_database_with_another_application_id_is_refused(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA application_id = 1234")
    raw.close()

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))} is a SQLite database of another application "
        r"\(application_id=0x4d2\), not a journal store; use a new file for "
        r"journals$",
    ):
        SqliteStore(path)


def test_a_file_that_is_not_a_database_is_refused(path: Path) -> None:
    path.write_bytes(b"these are not the bytes of a database " * 200)

    with pytest.raises(
        StoreFormatError,
        match=rf"^{re.escape(str(path))} is not a SQLite database \(file is not a "
        r"database\); pass the path of a journal store, or of a new file$",
    ):
        SqliteStore(path)


def test_a_damaged_file_is_reported_naming_the_path(path: Path) -> None:
    with SqliteStore(path) as store:
        create_journal(store).extend([{"n": n, "pad": "x" * 200} for n in range(500)])
    data = bytearray(path.read_bytes())
    # Overwrite the middle pages, keeping the header page intact.
    data[8192 : len(data) - 8192] = b"\xa5" * (len(data) - 16384)
    path.write_bytes(bytes(data))

    def open_read_and_check() -> None:
        with SqliteStore(path) as store:
            create_journal(store).get_all()
            store.check()

    with pytest.raises(StoreFormatError, match=rf"^{re.escape(str(path))} "):
        open_read_and_check()


def test_an_empty_file_becomes_a_store(path: Path) -> None:
    path.write_bytes(b"")

    with SqliteStore(path) as store:
        assert create_journal(store).append("x").sequence == 0


def test_check_passes_on_a_healthy_store(path: Path) -> None:
    with SqliteStore(path) as store:
        create_journal(store).extend(range(100))
        store.check()


def test_a_missing_directory_is_reported_naming_the_path(tmp_path: Path) -> None:
    directory = tmp_path / "no" / "such" / "dir"
    missing = directory / "j.sqlite3"

    with pytest.raises(
        StoreError,
        match=rf"^{re.escape(str(missing))}: the directory "
        rf"{re.escape(repr(str(directory)))} does not exist; create it first "
        r"\(SqliteStore creates its file, not the directories above it\)$",
    ):
        SqliteStore(missing)

    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"synchronous": "off"}, InvalidArgumentError, r"^synchronous='off' is not a"),
        ({"busy_timeout": -1}, InvalidDurationError, r"^busy_timeout=-1 is negative"),
        ({"poll_interval": 0}, InvalidArgumentError, r"^poll_interval=0 is zero"),
    ],
)
def test_bad_store_arguments_are_refused(
    path: Path, arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SqliteStore(path, **arguments)

    assert not path.exists()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (":memory:", r"^path=':memory:' is not a file path; SqliteStore keeps"),
        ("", r"^path='' is not a file path"),
        (3, r"^path=3 \(type=int\) is not a path"),
    ],
)
def test_a_path_must_name_a_file(where: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        SqliteStore(where)


def test_a_directory_is_not_a_store_path(tmp_path: Path) -> None:
    inside = str(tmp_path / "journals.sqlite3")

    with pytest.raises(
        InvalidArgumentError,
        match=rf"^path={re.escape(repr(str(tmp_path)))} is a directory; pass the "
        rf"path of a file in it, such as {re.escape(repr(inside))}$",
    ):
        SqliteStore(tmp_path)


def test_a_journal_keeps_its_codec(path: Path) -> None:
    with SqliteStore(path) as store:
        create_journal(store, codec="pickle").append({1, 2})
        json_journal = create_journal(store)

        with pytest.raises(
            CodecMismatchError,
            match=r"^journal 'default' was written with codec 'pickle' and is now "
            r"used with codec 'json'; open it with codec='pickle'$",
        ):
            json_journal.append("x")
        with pytest.raises(CodecMismatchError):
            json_journal.get_all()

        assert create_journal(store, codec="pickle").get(0).data == {1, 2}


def test_a_closed_store_refuses_every_call(path: Path) -> None:
    store = SqliteStore(path)
    journal = create_journal(store)
    store.close()
    store.close()

    with pytest.raises(JournalClosedError, match=r"^the SqliteStore of .* was closed"):
        journal.append("x")
    with pytest.raises(JournalClosedError):
        len(journal)
    assert store.closed
    assert repr(store).endswith("closed>")


def test_a_writer_waits_for_another_writers_lock(path: Path) -> None:
    with SqliteStore(path) as store:
        journal = create_journal(store)
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, blocker.execute, ("COMMIT",))
        release.start()
        try:
            started = time.monotonic()
            entry = journal.append("after the lock")
            waited = time.monotonic() - started
        finally:
            release.join()
            blocker.close()

        assert entry.sequence == 0
        assert waited > 0  # it waited rather than failing


def test_a_lock_held_past_the_busy_timeout_is_a_clear_error(path: Path) -> None:
    with SqliteStore(path, busy_timeout=0.2) as store:
        journal = create_journal(store)
        journal.append("before")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(
                StoreBusyError,
                match=rf"^{re.escape(str(path))}: could not take the store's lock "
                r"within 0\.2s, another connection held it \(SQLITE_BUSY\); raise "
                r"busy_timeout or shorten what holds the lock$",
            ):
                journal.append("blocked")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

        assert [entry.data for entry in journal] == ["before"]
        assert journal.append("after").sequence == 1


def _append_in_forked_child(store: SqliteStore) -> None:
    create_journal(store, name="forked").append("from the child")
    store.close()


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_store_carried_across_fork_opens_its_own_connections(path: Path) -> None:
    with SqliteStore(path) as store:
        journal = create_journal(store, name="forked")
        journal.append("from the parent")
        child = multiprocessing.get_context("fork").Process(
            target=_append_in_forked_child, args=(store,)
        )
        child.start()
        child.join(30)

        assert child.exitcode == 0
        assert journal.append("parent again").sequence == 2
        assert [entry.data for entry in journal] == [
            "from the parent",
            "from the child",
            "parent again",
        ]
        store.check()


def test_repr_names_the_file(path: Path) -> None:
    with SqliteStore(path) as store:
        assert repr(store) == f"<SqliteStore {str(path)!r} synchronous='full'>"
        assert store.path == str(path)
        assert store.poll_interval == 0.05
