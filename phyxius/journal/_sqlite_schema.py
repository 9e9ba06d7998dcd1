"""The SQLite file format of `SqliteStore`: schema, version checks, error wording.

A journal store file is marked in its header: ``PRAGMA application_id`` is
`APPLICATION_ID` and ``PRAGMA user_version`` the schema version. Opening a
file checks both before touching anything, so a file of another program is
never modified, and a file from a newer Phyxius is refused rather than
misread.

Schema version 1::

    phyxius_journals(journal_id, name UNIQUE, codec, first_sequence, next_sequence)
    phyxius_entries(journal_id, sequence, id, wall_ns, mono_ns, data, metadata)
        PRIMARY KEY (journal_id, sequence), UNIQUE (journal_id, id)

``next_sequence`` is kept in the journal's row, never derived from the
entries, so a sequence is never handed out twice, whatever retention deletes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Final

from phyxius._errors import InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, Instant, to_nanoseconds
from phyxius.journal._codec import Codec
from phyxius.journal._entry import EMPTY_METADATA, Entry
from phyxius.journal._errors import StoreBusyError, StoreError, StoreFormatError

__all__ = [
    "APPLICATION_ID",
    "BOUNDS",
    "DROP",
    "ENTRY_COLUMNS",
    "FIND",
    "INSERT",
    "JOURNAL_ROW",
    "MOVE",
    "NEW_JOURNAL",
    "SCHEMA",
    "SCHEMA_VERSION",
    "check_store_arguments",
    "enable_wal",
    "entry_from_row",
    "failure",
    "inspect_file",
    "is_busy",
]

APPLICATION_ID: Final = 0x50485958
"""``PRAGMA application_id`` of a Phyxius journal store ("PHYX" in ASCII)."""

SCHEMA_VERSION: Final = 1
"""``PRAGMA user_version`` of the schema this Phyxius reads and writes."""

SCHEMA: Final = (
    """
    CREATE TABLE phyxius_journals (
        journal_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        codec TEXT NOT NULL,
        first_sequence INTEGER NOT NULL,
        next_sequence INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE phyxius_entries (
        journal_id INTEGER NOT NULL REFERENCES phyxius_journals (journal_id),
        sequence INTEGER NOT NULL,
        id TEXT NOT NULL,
        wall_ns INTEGER NOT NULL,
        mono_ns INTEGER NOT NULL,
        data BLOB NOT NULL,
        metadata BLOB,
        PRIMARY KEY (journal_id, sequence)
    )
    """,
    "CREATE UNIQUE INDEX phyxius_entries_id ON phyxius_entries (journal_id, id)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
"""Statements that create schema version 1 in an empty file, in one transaction."""

# -- the statements of `SqliteStore` -------------------------------------------

ENTRY_COLUMNS: Final = "id, sequence, wall_ns, mono_ns, data, metadata"
JOURNAL_ROW: Final = (
    "SELECT journal_id, codec, first_sequence, next_sequence "
    "FROM phyxius_journals WHERE name = ?"
)
BOUNDS: Final = (
    "SELECT first_sequence, next_sequence FROM phyxius_journals WHERE name = ?"
)
NEW_JOURNAL: Final = (
    "INSERT INTO phyxius_journals (name, codec, first_sequence, next_sequence) "
    "VALUES (?, ?, ?, ?)"
)
INSERT: Final = (
    "INSERT INTO phyxius_entries "
    "(journal_id, sequence, id, wall_ns, mono_ns, data, metadata) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
DROP: Final = "DELETE FROM phyxius_entries WHERE journal_id = ? AND sequence < ?"
MOVE: Final = (
    "UPDATE phyxius_journals SET first_sequence = ?, next_sequence = ? "
    "WHERE journal_id = ?"
)
FIND: Final = (
    f"SELECT {ENTRY_COLUMNS} FROM phyxius_entries WHERE journal_id = ? AND id = ?"
)

# Primary SQLite result codes (the low byte of an extended code).
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26


def is_busy(error: sqlite3.Error) -> bool:
    """True when SQLite refused because another connection holds a lock."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(error)
    return "locked" in text or "busy" in text


def inspect_file(connection: sqlite3.Connection, path: str) -> str:
    """Classify an open file: ``"store"``, ``"empty"``, or raise naming the path.

    Reads only: a file that belongs to another program is left untouched.

    Raises:
        StoreFormatError: not a SQLite database, damaged, another program's
            database, or a journal store of another schema version.
    """
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        objects = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "ORDER BY name"
            )
        ]
    except sqlite3.Error as error:
        if is_busy(error):
            raise
        raise failure(error, path) from None

    if application_id == APPLICATION_ID:
        if version == SCHEMA_VERSION:
            return "store"
        if version > SCHEMA_VERSION:
            raise StoreFormatError(
                f"{path} is a journal store of schema version {version}, written "
                f"by a newer Phyxius; this one reads version {SCHEMA_VERSION}: "
                "upgrade phyxius to open it"
            )
        raise StoreFormatError(
            f"{path} is marked as a journal store but has unknown schema version "
            f"{version} (this Phyxius reads version {SCHEMA_VERSION}); the file "
            "was changed by another program: restore it from a backup"
        )
    if application_id != 0:
        raise StoreFormatError(
            f"{path} is a SQLite database of another application "
            f"(application_id={application_id:#x}), not a journal store; use a "
            "new file for journals"
        )
    if objects:
        shown = ", ".join(objects[:5]) + (", ..." if len(objects) > 5 else "")
        raise StoreFormatError(
            f"{path} is a SQLite database but not a journal store (it has tables: "
            f"{shown}); use a new file for journals"
        )
    return "empty"


def failure(
    error: sqlite3.Error, path: str, timeout: float | None = None
) -> StoreError:
    """A `StoreError` naming ``path`` for a SQLite error."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    name = getattr(error, "sqlite_errorname", type(error).__name__)
    if is_busy(error):
        waited = "" if timeout is None else f" within {timeout:g}s"
        return StoreBusyError(
            f"{path}: could not take the store's lock{waited}, another connection "
            f"held it ({name}); raise busy_timeout or shorten what holds the lock"
        )
    if primary == _SQLITE_NOTADB:
        return StoreFormatError(
            f"{path} is not a SQLite database ({error}); pass the path of a "
            "journal store, or of a new file"
        )
    if primary == _SQLITE_CORRUPT:
        return StoreFormatError(
            f"{path} is damaged ({error}); restore it from a backup (SqliteStore."
            "check() runs SQLite's integrity check)"
        )
    return StoreError(f"{path}: SQLite failed with {name}: {error}")


def enable_wal(connection: sqlite3.Connection) -> str:
    """Switch the file to WAL mode (a no-op when it is); the mode now in force."""
    mode: str = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    return mode.lower()


def entry_from_row(row: tuple[Any, ...], codec: Codec) -> Entry:
    """The `Entry` of a row selected as `ENTRY_COLUMNS`."""
    entry_id, sequence, wall_ns, mono_ns, data, metadata = row
    return Entry(
        entry_id,
        sequence,
        Instant(wall_ns=wall_ns, mono_ns=mono_ns),
        codec.decode(data),
        EMPTY_METADATA if metadata is None else codec.decode(metadata),
    )


def check_store_arguments(
    path: object, synchronous: object, busy_timeout: object, poll_interval: object
) -> tuple[str, float, float]:
    """Check `SqliteStore`'s arguments; the path, busy timeout and poll interval.

    Raises:
        InvalidArgumentError: an argument cannot work; nothing was opened.
        StoreError: the directory meant to hold the file does not exist.
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidArgumentError(
            f"path={path!r} (type={type(path).__name__}) is not a path; pass "
            "a str or pathlib.Path of the store's file"
        )
    if synchronous not in ("full", "normal"):
        raise InvalidArgumentError(
            f"synchronous={synchronous!r} is not a durability setting; pass "
            "'full' (durable on acknowledgement) or 'normal' (faster)"
        )
    timeout_ns = to_nanoseconds(busy_timeout, name="busy_timeout")
    poll_ns = to_nanoseconds(poll_interval, name="poll_interval")
    if poll_ns == 0:
        raise InvalidArgumentError(
            f"poll_interval={poll_interval!r} is zero; pass a positive number "
            "of seconds"
        )
    resolved = os.fspath(path)
    if not isinstance(resolved, str):
        resolved = os.fsdecode(resolved)
    if resolved in ("", ":memory:") or resolved.startswith("file:"):
        raise InvalidArgumentError(
            f"path={resolved!r} is not a file path; SqliteStore keeps journals "
            "in a file (use MemoryStore for journals in memory)"
        )
    if Path(resolved).is_dir():
        raise InvalidArgumentError(
            f"path={resolved!r} is a directory; pass the path of a file in it, "
            f"such as {str(Path(resolved) / 'journals.sqlite3')!r}"
        )
    directory = Path(resolved).parent
    if not directory.is_dir():
        # SQLite would only say "unable to open database file".
        raise StoreError(
            f"{resolved}: the directory {str(directory)!r} does not exist; create "
            "it first (SqliteStore creates its file, not the directories above it)"
        )
    return resolved, timeout_ns / NANOS_PER_SECOND, poll_ns / NANOS_PER_SECOND
