"""Replay: stored snapshots read back as `JournalSnapshot`, to seed journals."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from phyxius import InvalidArgumentError
from phyxius.journal import JSON_CODEC, JournalSnapshot
from pytest_phyxius._snapshot_codec import decode_entry
from pytest_phyxius._snapshot_errors import SnapshotNotFoundError, SnapshotReplayError
from pytest_phyxius._snapshot_files import read_file

__all__ = ["read_journal_snapshot", "read_name", "snapshot_from_document"]


def read_name(name: object) -> str:
    """The key of the snapshot ``name`` (a name, or the number of an unnamed one)."""
    if isinstance(name, int) and not isinstance(name, bool) and name >= 1:
        return str(name)
    if isinstance(name, str) and name:
        return name
    raise InvalidArgumentError(
        f"name={name!r} (type={type(name).__name__}) names no snapshot; pass the "
        'number of an unnamed one (1 for the first) or the name given with name="..."'
    )


def snapshot_from_document(document: dict[str, Any], where: str) -> JournalSnapshot:
    """The `JournalSnapshot` a stored snapshot document describes.

    Raises:
        SnapshotReplayError: an entry cannot be rebuilt, or the sequences are
            not consecutive.
    """
    raw = document.get("entries")
    if not isinstance(raw, list):
        raise SnapshotReplayError(f"{where} has no entries list")
    entries = tuple(
        decode_entry(item, f"{where} entries[{index}]")
        for index, item in enumerate(raw)
    )
    first = entries[0].sequence if entries else document.get("first_sequence", 0)
    for index, entry in enumerate(entries):
        if entry.sequence != first + index:
            raise SnapshotReplayError(
                f"{where} entries[{index}] has sequence {entry.sequence}, not "
                f"{first + index}: the sequences are not consecutive"
            )
    name = document.get("journal")
    return JournalSnapshot(
        name if isinstance(name, str) else "default",
        entries,
        first,
        first + len(entries),
        "json",
        JSON_CODEC,
    )


def read_journal_snapshot(
    path: str | os.PathLike[str], name: str | int = 1
) -> JournalSnapshot:
    """Read snapshot ``name`` (a name, or 1 for the first unnamed) of a snapshot file.

    For code outside a test, or a session-scoped fixture, that seeds journals
    from stored snapshots: ``journal.load(read_journal_snapshot(p).entries)``.

    Raises:
        SnapshotNotFoundError: the file or the snapshot does not exist.
        SnapshotFileError: the file is damaged.
        SnapshotReplayError: the snapshot cannot seed a journal.
    """
    key = read_name(name)
    file_path = Path(path)
    stored = read_file(file_path)
    if stored is None:
        raise SnapshotNotFoundError(
            f"no snapshot file at {os.fspath(file_path)}; run the test that records "
            "it once to write it, or pass the path of an existing file"
        )
    document = stored.snapshots.get(key)
    if document is None:
        held = ", ".join(repr(held_name) for held_name in stored.snapshots) or "none"
        raise SnapshotNotFoundError(
            f"no snapshot {key!r} in {os.fspath(file_path)} (it holds: {held}); "
            "pass one of those names"
        )
    return snapshot_from_document(
        document, f"snapshot {key!r} in {os.fspath(file_path)}"
    )
