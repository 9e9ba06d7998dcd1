"""The errors a journal raises.

Every one subclasses `JournalError` (and so `phyxius.PhyxiusError`) and the
builtin a caller would already catch: a rejected argument is a `ValueError`,
a store that cannot be used is an `OSError`, a lost optimistic race is a
`RuntimeError`.
"""

from __future__ import annotations

from phyxius._errors import InvalidArgumentError, PhyxiusError

__all__ = [
    "CodecMismatchError",
    "ConcurrencyError",
    "DecodeError",
    "DuplicateIdError",
    "EncodeError",
    "EntryNotFoundError",
    "JournalClosedError",
    "JournalError",
    "JournalOverflowError",
    "StoreBusyError",
    "StoreError",
    "StoreFormatError",
]


class JournalError(PhyxiusError):
    """Base class of every error raised by a journal or a journal store."""


class ConcurrencyError(JournalError, RuntimeError):
    """Another writer appended first: ``expected_sequence`` no longer holds.

    ``expected`` is the sequence the append asked for and ``actual`` the
    sequence the next entry would have received. Nothing was written; read
    the new entries, decide again, and retry with ``expected_sequence=actual``.
    """

    def __init__(self, message: str, *, expected: int, actual: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class JournalOverflowError(JournalError, RuntimeError):
    """An append would pass ``max_entries`` on a journal with ``overflow="error"``.

    Nothing was written.
    """


class JournalClosedError(JournalError, RuntimeError):
    """The journal, or the store under it, was closed."""


class EntryNotFoundError(JournalError, IndexError):
    """No entry has that sequence: it was dropped by retention or not written yet."""


class DuplicateIdError(JournalError, ValueError):
    """An entry with that id is stored already, with other data.

    Appending again with the id of a stored entry and the *same* data is a
    retry and returns the stored entry; different data under the same id is
    this error. Nothing was written.
    """


class EncodeError(JournalError, InvalidArgumentError, TypeError):
    """Data the journal's codec cannot encode; the message names where it is.

    Raised before anything is written. It is a `ValueError` and a `TypeError`,
    since both a wrong type (a `set`) and a wrong value (``float("nan")``) end
    here.
    """


class DecodeError(JournalError, ValueError):
    """A stored payload or a journal document could not be read back."""


class CodecMismatchError(JournalError, ValueError):
    """The journal was written with one codec and is now opened with another."""


class StoreError(JournalError, OSError):
    """A store cannot be used: its file is missing, locked, foreign or damaged.

    The message names the path (or the store) and what to do.
    """


class StoreFormatError(StoreError):
    """The file is not a journal store, or has a schema this version cannot read."""


class StoreBusyError(StoreError, TimeoutError):
    """The store's write lock was held by others for longer than its busy timeout."""
