"""Checks of the arguments journals take, with the messages they raise."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Final

from phyxius._errors import InvalidArgumentError
from phyxius.journal._entry import Retention
from phyxius.journal._memory import MemoryStore
from phyxius.journal._store import Store

__all__ = [
    "check_handle_arguments",
    "check_id",
    "check_items",
    "check_sequence",
    "resolve_retention",
    "resolve_store",
    "short",
]

_OVERFLOWS: Final = ("none", "drop_oldest", "error")


def resolve_store(store: object) -> tuple[Store, bool]:
    """The store a ``store=`` argument names, and whether the journal owns it."""
    if store is None:
        return MemoryStore(), True
    if isinstance(store, str | os.PathLike):
        from phyxius.journal._sqlite import SqliteStore

        return SqliteStore(store), True
    if isinstance(store, Store):
        return store, False
    raise InvalidArgumentError(
        f"store={store!r} (type={type(store).__name__}) is not a store; pass a "
        "MemoryStore, a SqliteStore, a path to a SQLite file, or None"
    )


def resolve_retention(max_entries: object, overflow: object) -> Retention | None:
    """The `Retention` for ``max_entries`` and ``overflow``, or None for no cap."""
    if overflow not in _OVERFLOWS:
        raise InvalidArgumentError(
            f"overflow={overflow!r} is not an overflow policy; pass 'drop_oldest', "
            "'error' or 'none'"
        )
    if max_entries is None:
        if overflow != "none":
            raise InvalidArgumentError(
                f"overflow={overflow!r} needs max_entries; pass max_entries=N or "
                "leave overflow='none'"
            )
        return None
    if isinstance(max_entries, bool) or not isinstance(max_entries, int):
        raise InvalidArgumentError(
            f"max_entries={max_entries!r} (type={type(max_entries).__name__}) is "
            "not an int; pass a positive int or None"
        )
    if max_entries < 1:
        raise InvalidArgumentError(
            f"max_entries={max_entries!r} is less than 1; pass a positive int or None"
        )
    if overflow == "none":
        raise InvalidArgumentError(
            f"max_entries={max_entries} needs overflow='drop_oldest' (keep the "
            "newest entries) or overflow='error' (refuse appends when full)"
        )
    return Retention(
        max_entries, "drop_oldest" if overflow == "drop_oldest" else "error"
    )


def check_sequence(value: object, name: str) -> int:
    """Return ``value`` if it is a sequence number (an int from 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"{name}={value!r} (type={type(value).__name__}) is not an int; "
            "sequences are ints from 0"
        )
    if value < 0:
        raise InvalidArgumentError(f"{name}={value!r} is negative; pass 0 or more")
    return value


def check_id(entry_id: object) -> None:
    """Refuse an entry id that is not a non-empty str every store can keep."""
    if not isinstance(entry_id, str) or not entry_id:
        raise InvalidArgumentError(
            f"id={entry_id!r} (type={type(entry_id).__name__}) is not an entry id; "
            "pass a non-empty str"
        )
    flaw = _unstorable_text(entry_id)
    if flaw is not None:
        raise InvalidArgumentError(
            f"id={short(entry_id)} contains {flaw}; pass an id without it"
        )


def _unstorable_text(text: str) -> str | None:
    """What in ``text`` some store cannot keep as text, and why, or None.

    Ids and journal names are stored as text, not encoded like data. They are
    refused on every store, not only where they fail, so that a journal moves
    between stores unchanged.
    """
    if "\x00" in text:
        return "a NUL character, which PostgreSQL cannot keep in text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"the lone surrogate {text[error.start]!r}, which UTF-8 cannot encode"
    return None


def short(value: object) -> str:
    """``repr(value)``, cut to 60 characters, for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_handle_arguments(
    name: object, clock: object, ids: object, emit: object
) -> None:
    """Refuse a journal name, clock, id generator or emit that cannot work."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidArgumentError(
            f"name={name!r} (type={type(name).__name__}) is not a journal "
            "name; pass a non-empty str without NUL characters"
        )
    flaw = _unstorable_text(name)
    if flaw is not None:
        raise InvalidArgumentError(
            f"name={short(name)} contains {flaw}; pass a name without it"
        )
    if clock is not None and not callable(getattr(clock, "now", None)):
        raise InvalidArgumentError(
            f"clock={clock!r} (type={type(clock).__name__}) is not a clock; "
            "pass a SystemClock or ControlledClock"
        )
    if ids is not None and not callable(ids):
        raise InvalidArgumentError(
            f"ids={ids!r} (type={type(ids).__name__}) is not callable; pass a "
            "function of the append's Instant returning a str, such as "
            "SortableIds(seed=...)"
        )
    if emit is not None and not callable(emit):
        raise InvalidArgumentError(
            f"emit={emit!r} (type={type(emit).__name__}) is not callable; "
            "pass a function taking one Event, or None"
        )


def check_items(items: object) -> None:
    """Refuse an ``extend`` argument that is not an iterable of entries' data."""
    if isinstance(items, str | bytes | bytearray | Mapping) or not isinstance(
        items, Iterable
    ):
        raise InvalidArgumentError(
            f"items={short(items)} (type={type(items).__name__}) is not an "
            "iterable of entries' data; pass a list of values (append() adds "
            "one value)"
        )
