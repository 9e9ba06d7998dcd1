"""The public names of phyxius.journal are exactly the documented ones."""

from __future__ import annotations

import inspect

import phyxius
import phyxius.journal

DOCUMENTED = {
    "JSON_CODEC",
    "Appended",
    "Bounds",
    "Codec",
    "CodecMismatchError",
    "ConcurrencyError",
    "DecodeError",
    "Draft",
    "DuplicateIdError",
    "EncodeError",
    "Entry",
    "EntryNotFoundError",
    "ForwardingStore",
    "IdGenerator",
    "Journal",
    "JournalClosedError",
    "JournalError",
    "JournalOverflowError",
    "JournalSnapshot",
    "JsonCodec",
    "MemoryStore",
    "Overflow",
    "PickleCodec",
    "PostgresStore",
    "Retention",
    "SortableIds",
    "SqliteStore",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreFormatError",
    "create_journal",
}

REEXPORTED = {
    "ConcurrencyError",
    "Entry",
    "Journal",
    "JournalError",
    "JournalOverflowError",
    "MemoryStore",
    "SqliteStore",
    "create_journal",
}


def test_the_public_names_are_exactly_the_documented_ones() -> None:
    assert set(phyxius.journal.__all__) == DOCUMENTED


def test_the_package_root_reexports_the_main_journal_names() -> None:
    assert set(phyxius.__all__) >= REEXPORTED
    for name in REEXPORTED:
        assert getattr(phyxius, name) is getattr(phyxius.journal, name)


def test_every_public_name_has_a_docstring() -> None:
    for name in DOCUMENTED - {"JSON_CODEC", "Overflow"}:
        assert inspect.getdoc(getattr(phyxius.journal, name)), name


def test_every_journal_error_is_a_phyxius_error() -> None:
    for name in DOCUMENTED:
        value = getattr(phyxius.journal, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, phyxius.journal.JournalError), name
            assert issubclass(value, phyxius.PhyxiusError), name
