"""Journal: an append-only event log with gapless sequences.

`create_journal` opens a named journal in a store: a `MemoryStore` (the
default, for tests and caches) or a `SqliteStore` (one file, many journals,
durable, shared by processes). Entries get consecutive sequences from 0 with
no gap and no reuse, a sortable unique id and the journal clock's time.
``expected_sequence`` gives optimistic concurrency, ``max_entries`` bounds
the journal, subscribers see every commit in order, and ``follow`` streams
entries to async code: the stored ones first, then new ones as they come.
"""

from phyxius.journal._codec import Codec, PickleCodec
from phyxius.journal._entry import (
    Appended,
    Bounds,
    Draft,
    Entry,
    Overflow,
    Retention,
)
from phyxius.journal._errors import (
    CodecMismatchError,
    ConcurrencyError,
    DecodeError,
    DuplicateIdError,
    EncodeError,
    EntryNotFoundError,
    JournalClosedError,
    JournalError,
    JournalOverflowError,
    StoreBusyError,
    StoreError,
    StoreFormatError,
)
from phyxius.journal._forwarding import ForwardingStore
from phyxius.journal._ids import IdGenerator, SortableIds
from phyxius.journal._journal import Journal, create_journal
from phyxius.journal._json import JSON_CODEC, JsonCodec
from phyxius.journal._memory import MemoryStore
from phyxius.journal._postgres import PostgresStore
from phyxius.journal._snapshot import JournalSnapshot
from phyxius.journal._sqlite import SqliteStore
from phyxius.journal._store import Store

__all__ = [
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
]
