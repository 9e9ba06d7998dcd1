"""The errors of journal snapshots.

Each subclasses `PhyxiusError` and the builtin a caller would catch. A
snapshot that differs from the journal is not an error but a failed
assertion (`AssertionError`), reported with a diff.
"""

from __future__ import annotations

from phyxius import PhyxiusError

__all__ = [
    "SnapshotError",
    "SnapshotFileError",
    "SnapshotNameError",
    "SnapshotNotFoundError",
    "SnapshotReplayError",
    "SnapshotValueError",
]


class SnapshotError(PhyxiusError):
    """Base class of the errors of journal snapshots."""


class SnapshotFileError(SnapshotError, ValueError):
    """A snapshot file cannot be read: not a snapshot file, or damaged.

    The message names the file. ``--phyxius-update`` rewrites a damaged file
    of the test that uses it.
    """


class SnapshotNameError(SnapshotError, ValueError):
    """Two tests would share a snapshot file, or one test reuses a snapshot name."""


class SnapshotValueError(SnapshotError, ValueError):
    """A journal holds a value that has no stable form in a snapshot file."""


class SnapshotReplayError(SnapshotError, ValueError):
    """A stored snapshot cannot seed a journal (a field was excluded or replaced)."""


class SnapshotNotFoundError(SnapshotError, LookupError):
    """The snapshot asked for by `JournalSnapshotFixture.read` does not exist."""
