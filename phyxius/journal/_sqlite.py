"""`SqliteStore`: journals in one SQLite file, durable, shared by processes.

One file holds any number of named journals. The file is in WAL mode, so
readers never wait for writers. Every write runs in a ``BEGIN IMMEDIATE``
transaction: the writer takes SQLite's write lock before reading anything,
waiting up to ``busy_timeout`` for it, so concurrent writers - threads or
processes - queue instead of failing with "database is locked", and the
sequence read, the checks and the inserts happen under one lock.

Durability: with ``synchronous="full"`` (the default) an append returns only
after SQLite has synced the WAL to disk, so an acknowledged entry survives a
crash of the process, the OS or the machine. ``synchronous="normal"`` skips
that sync: an acknowledged entry still survives the process being killed, but
the last moments of appends may be lost if the OS crashes or power fails.
It is many times faster for single appends (see the README's figures).

Connections are pooled, one per thread using the store at a time, and never
carried across ``fork``: a forked child opens its own.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Final, Literal, TypeVar, final

from phyxius._errors import InternalError
from phyxius.journal._codec import Codec
from phyxius.journal._entry import (
    Appended,
    Bounds,
    Draft,
    Entry,
    Retention,
    new_entry,
)
from phyxius.journal._errors import StoreFormatError
from phyxius.journal._sqlite_pool import ConnectionPool
from phyxius.journal._sqlite_schema import (
    BOUNDS,
    DROP,
    ENTRY_COLUMNS,
    FIND,
    INSERT,
    JOURNAL_ROW,
    MOVE,
    NEW_JOURNAL,
    SCHEMA,
    check_store_arguments,
    enable_wal,
    entry_from_row,
    inspect_file,
)
from phyxius.journal._store import (
    check_codec,
    check_load,
    concurrency_error,
    overflow_error,
    resolve_retry,
)

__all__ = ["DEFAULT_BUSY_TIMEOUT", "DEFAULT_POLL_INTERVAL", "SqliteStore"]

DEFAULT_BUSY_TIMEOUT: Final = 30.0
"""Seconds a writer waits for the write lock before `StoreBusyError`."""

DEFAULT_POLL_INTERVAL: Final = 0.05
"""Seconds between `Journal.follow`'s looks for entries of other processes."""

_T = TypeVar("_T")


class _Collision(Exception):
    """An insert hit the unique index on ids: decide, outside the transaction."""


@final
class SqliteStore:
    """Journals in one SQLite file; see the module documentation.

    Args:
        path: the file; created with its schema when it does not exist (or is
            empty). Its directory must exist.
        synchronous: ``"full"`` (default): an acknowledged append is on disk.
            ``"normal"``: faster; survives the process dying, not the OS.
        busy_timeout: seconds a writer waits for another's write lock before
            raising `StoreBusyError` (default 30).
        poll_interval: seconds between `Journal.follow`'s reads for entries
            written by other processes (default 0.05), measured on the
            following journal's clock.

    Raises:
        StoreFormatError: the file is not a SQLite database, is damaged, is
            another program's database, or has another schema version.
        StoreError: the file cannot be opened (missing directory, permissions).
    """

    __slots__ = (
        "__weakref__",
        "_journal_ids",
        "_path",
        "_poll_interval",
        "_pool",
        "_run",
        "_synchronous",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["full", "normal"] = "full",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        resolved, busy_seconds, poll_seconds = check_store_arguments(
            path, synchronous, busy_timeout, poll_interval
        )

        self._path = resolved
        self._synchronous = synchronous
        self._poll_interval = poll_seconds
        self._pool = ConnectionPool(resolved, synchronous, busy_seconds)
        self._run = self._pool.run
        # name -> (journal_id, codec); rows are never deleted, so this holds.
        self._journal_ids: dict[str, tuple[int, str]] = {}

        try:
            self._prepare_file()
        except BaseException:
            self.close()
            raise

    # -- properties ---------------------------------------------------------------

    @property
    def path(self) -> str:
        """The store's file."""
        return self._path

    @property
    def synchronous(self) -> str:
        """``"full"`` or ``"normal"``: see the module documentation."""
        return self._synchronous

    @property
    def poll_interval(self) -> float | None:
        """Seconds between `Journal.follow`'s looks for other processes' entries."""
        return self._poll_interval

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._pool.closed

    def _prepare_file(self) -> None:
        def inspect(connection: sqlite3.Connection) -> str:
            return inspect_file(connection, self._path)

        def create(connection: sqlite3.Connection) -> None:
            # Checked again under the write lock: another process may have
            # created the schema since.
            if inspect_file(connection, self._path) == "empty":
                for statement in SCHEMA:
                    connection.execute(statement)

        empty = self._run(inspect, write=False) == "empty"
        # Only a new or empty file is switched to WAL; a file that cannot be is
        # refused before it is given a schema.
        mode = self._run(enable_wal, write=False)
        if mode != "wal":
            raise StoreFormatError(
                f"{self._path}: SQLite could not switch the file to WAL mode "
                f"(journal_mode={mode!r}); journal stores need a local file system"
            )
        if empty:
            self._run(create, write=True)

    # -- writing --------------------------------------------------------------------

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """Store ``drafts`` at the next sequences, in one transaction.

        See `Store.append` for the rules; this store keeps them with a
        ``BEGIN IMMEDIATE`` transaction per call.
        """
        # Encode before taking the write lock, so it is held for SQL only.
        encode = codec.encode
        payloads = [
            (encode(draft[2]), encode(dict(draft[3])) if draft[3] else None)
            for draft in drafts
        ]

        def write(connection: sqlite3.Connection) -> Appended:
            return self._append(
                connection,
                journal,
                drafts,
                payloads,
                codec,
                expected_sequence,
                retention,
            )

        # A collision of ids is decided outside the write transaction; if the
        # colliding entries are gone by then (retention), append again.
        for _ in range(8):
            try:
                return self._run(write, write=True)
            except _Collision:
                pass
            retried = self._run(
                lambda connection: self._resolve(connection, journal, drafts, codec),
                write=False,
            )
            if retried is not None:
                return retried
        raise InternalError(
            f"journal {journal!r}: an append kept colliding with ids that then "
            "vanished; please report this"
        )

    def _append(
        self,
        connection: sqlite3.Connection,
        journal: str,
        drafts: Sequence[Draft],
        payloads: list[tuple[bytes, bytes | None]],
        codec: Codec,
        expected_sequence: int | None,
        retention: Retention | None,
    ) -> Appended:
        row = connection.execute(JOURNAL_ROW, (journal,)).fetchone()
        if row is None:
            journal_id = connection.execute(
                NEW_JOURNAL, (journal, codec.name, 0, 0)
            ).lastrowid
            assert journal_id is not None
            first = following = 0
        else:
            journal_id, recorded, first, following = row
            check_codec(journal, recorded, codec)

        count = len(drafts)
        if expected_sequence is not None and expected_sequence != following:
            self._refuse_unless_retry(connection, journal_id, journal, drafts, codec)
            raise concurrency_error(journal, expected_sequence, following)
        if (
            retention is not None
            and retention.overflow == "error"
            and following - first + count > retention.max_entries
        ):
            self._refuse_unless_retry(connection, journal_id, journal, drafts, codec)
            raise overflow_error(journal, retention, following - first, count)

        rows = [
            (
                journal_id,
                following + index,
                draft[0],
                draft[1].wall_ns,
                draft[1].mono_ns,
                *payload,
            )
            for index, (draft, payload) in enumerate(zip(drafts, payloads, strict=True))
        ]
        try:
            if count == 1:
                connection.execute(INSERT, rows[0])
            else:
                connection.executemany(INSERT, rows)
        except sqlite3.IntegrityError:
            raise _Collision() from None

        next_first = first
        new_next = following + count
        if retention is not None and new_next - first > retention.max_entries:
            next_first = new_next - retention.max_entries
            connection.execute(DROP, (journal_id, next_first))
        connection.execute(MOVE, (next_first, new_next, journal_id))
        self._journal_ids.setdefault(journal, (journal_id, codec.name))

        entries = tuple(
            new_entry(draft[0], sequence, draft[1], draft[2], draft[3])
            for sequence, draft in enumerate(drafts, following)
        )
        return Appended(entries, True, next_first - first)

    def _refuse_unless_retry(
        self,
        connection: sqlite3.Connection,
        journal_id: int,
        journal: str,
        drafts: Sequence[Draft],
        codec: Codec,
    ) -> None:
        # A retried append that had succeeded must not fail its check now.
        found = [
            self._find(connection, journal_id, draft[0], codec) for draft in drafts
        ]
        if any(entry is not None for entry in found):
            raise _Collision()

    def _resolve(
        self,
        connection: sqlite3.Connection,
        journal: str,
        drafts: Sequence[Draft],
        codec: Codec,
    ) -> Appended | None:
        known = self._journal_id(connection, journal, codec)
        found = [
            None if known is None else self._find(connection, known[0], draft[0], codec)
            for draft in drafts
        ]
        return resolve_retry(journal, drafts, found, _same)

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        """Store ``entries`` as they are in a new journal (see `Store.load`)."""
        encode = codec.encode
        payloads = [
            (
                encode(entry.data),
                encode(dict(entry.metadata)) if entry.metadata else None,
            )
            for entry in entries
        ]

        def write(connection: sqlite3.Connection) -> None:
            row = connection.execute(JOURNAL_ROW, (journal,)).fetchone()
            bounds = Bounds(0, 0) if row is None else Bounds(row[2], row[3])
            check_load(journal, entries, bounds)
            if row is not None:
                check_codec(journal, row[1], codec)
            first = entries[0].sequence if entries else 0
            following = entries[-1].sequence + 1 if entries else 0
            if row is None:
                journal_id = connection.execute(
                    NEW_JOURNAL, (journal, codec.name, first, following)
                ).lastrowid
            else:
                journal_id = row[0]
                connection.execute(MOVE, (first, following, journal_id))
            connection.executemany(
                INSERT,
                [
                    (
                        journal_id,
                        entry.sequence,
                        entry.id,
                        entry.at.wall_ns,
                        entry.at.mono_ns,
                        *payload,
                    )
                    for entry, payload in zip(entries, payloads, strict=True)
                ],
            )

        self._run(write, write=True)

    # -- reading --------------------------------------------------------------------

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        """Entries with ``start <= sequence < stop``, at most ``limit``."""
        sql = f"SELECT {ENTRY_COLUMNS} FROM phyxius_entries WHERE journal_id = ? "
        sql += "AND sequence >= ? "
        parameters: list[int] = [start]
        if stop is not None:
            sql += "AND sequence < ? "
            parameters.append(stop)
        sql += "ORDER BY sequence"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)

        def work(connection: sqlite3.Connection) -> list[Entry]:
            known = self._journal_id(connection, journal, codec)
            if known is None:
                return []
            rows = connection.execute(sql, (known[0], *parameters)).fetchall()
            return [entry_from_row(row, codec) for row in rows]

        return self._run(work, write=False)

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        """The retained entry with id ``entry_id``, or None."""

        def work(connection: sqlite3.Connection) -> Entry | None:
            known = self._journal_id(connection, journal, codec)
            if known is None:
                return None
            return self._find(connection, known[0], entry_id, codec)

        return self._run(work, write=False)

    def _find(
        self,
        connection: sqlite3.Connection,
        journal_id: int,
        entry_id: str,
        codec: Codec,
    ) -> Entry | None:
        row = connection.execute(FIND, (journal_id, entry_id)).fetchone()
        return None if row is None else entry_from_row(row, codec)

    def bounds(self, journal: str) -> Bounds:
        """The first retained and the next sequence of ``journal``."""

        def work(connection: sqlite3.Connection) -> Bounds:
            row = connection.execute(BOUNDS, (journal,)).fetchone()
            return Bounds(0, 0) if row is None else Bounds(row[0], row[1])

        return self._run(work, write=False)

    def journals(self) -> list[str]:
        """Names of the journals in the file, sorted."""

        def work(connection: sqlite3.Connection) -> list[str]:
            rows = connection.execute("SELECT name FROM phyxius_journals ORDER BY name")
            return [row[0] for row in rows]

        return self._run(work, write=False)

    def _journal_id(
        self, connection: sqlite3.Connection, journal: str, codec: Codec
    ) -> tuple[int, str] | None:
        known = self._journal_ids.get(journal)
        if known is None:
            row = connection.execute(JOURNAL_ROW, (journal,)).fetchone()
            if row is None:
                return None
            known = self._journal_ids.setdefault(journal, (row[0], row[1]))
        if known[1] != codec.name:
            check_codec(journal, known[1], codec)
        return known

    # -- maintenance ----------------------------------------------------------------

    def check(self) -> None:
        """Run SQLite's integrity check over the whole file.

        Raises:
            StoreFormatError: the file is damaged; the message lists the
                first problems SQLite found.
        """

        def work(connection: sqlite3.Connection) -> list[str]:
            return [row[0] for row in connection.execute("PRAGMA integrity_check")]

        problems = self._run(work, write=False)
        if problems != ["ok"]:
            raise StoreFormatError(
                f"{self._path} failed SQLite's integrity check: "
                + "; ".join(problems[:5])
                + "; restore it from a backup"
            )

    def close(self) -> None:
        """Close the file's connections; later calls raise `JournalClosedError`.

        Connections in use by other threads close when their call finishes.
        """
        self._pool.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"synchronous={self._synchronous!r}"
        return f"<SqliteStore {self._path!r} {state}>"


def _same(draft: Draft, entry: Entry) -> bool:
    return bool(draft.data == entry.data and draft.metadata == entry.metadata)
