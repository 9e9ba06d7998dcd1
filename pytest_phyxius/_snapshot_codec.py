"""Journal entries as snapshot documents, and back.

An entry's document holds ``sequence``, ``id``, ``at``, ``data`` and (when
it has any) ``metadata``; `pytest_phyxius._snapshot_values` says how each
value is written. An entry's ``at`` is ``{"mono": "<seconds>", "wall":
"<ISO 8601, nanoseconds, Z>"}``: readable, and exact to the nanosecond.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from phyxius.journal import Entry
from pytest_phyxius._snapshot_errors import SnapshotReplayError
from pytest_phyxius._snapshot_instants import format_instant, parse_instant
from pytest_phyxius._snapshot_values import (
    ValueHook,
    canonical,
    decode_value,
    encode_value,
    short,
)

__all__ = [
    "EntryHook",
    "decode_entry",
    "encode_entry",
    "plain_document",
    "raw_entry",
]

_ENTRY_ORDER: Final = ("sequence", "id", "at", "data", "metadata")
_SNAPSHOT_ORDER: Final = ("journal", "first_sequence", "entries")


def _ordered(document: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    ordered = {key: document[key] for key in order if key in document}
    ordered.update(
        (key, value) for key, value in document.items() if key not in ordered
    )
    return ordered


def plain_document(document: dict[str, Any]) -> dict[str, Any]:
    """A snapshot document with JSON types only, fields in their written order.

    ``document`` may be raw (built from `raw_entry`); the result is what the
    file holds.
    """
    plain: dict[str, Any] = json.loads(canonical(document))
    entries = plain.get("entries")
    if isinstance(entries, list):
        plain["entries"] = [
            _ordered(entry, _ENTRY_ORDER) if isinstance(entry, dict) else entry
            for entry in entries
        ]
    return _ordered(plain, _SNAPSHOT_ORDER)


def raw_entry(entry: Entry) -> dict[str, Any]:
    """The document of an entry of a JSON-codec journal, its values left as they are.

    The JSON codec stores only JSON types and the kinds `canonical` tags, so
    this document has the canonical text of `encode_entry`'s without walking
    the data in Python: what makes comparing a snapshot cheap.
    """
    document: dict[str, Any] = {
        "sequence": entry.sequence,
        "id": entry.id,
        "at": format_instant(entry.at),
        "data": entry.data,
    }
    if entry.metadata:
        document["metadata"] = dict(entry.metadata)
    return document


EntryHook = Callable[[Entry, dict[str, Any]], object]
"""The ``pytest_phyxius_snapshot_entry`` hook, bound to its config."""


def encode_entry(
    entry: Entry, value_hook: ValueHook | None, entry_hook: EntryHook | None
) -> dict[str, Any]:
    """The document of one journal entry, in the order it is written."""
    where = f"entry {entry.sequence}"
    document: dict[str, Any] = {
        "sequence": entry.sequence,
        "id": encode_value(entry.id, value_hook, f"{where} id"),
        "at": format_instant(entry.at),
        "data": encode_value(entry.data, value_hook, f"{where} data"),
    }
    if entry.metadata:
        document["metadata"] = encode_value(
            entry.metadata, value_hook, f"{where} metadata"
        )
    if entry_hook is not None:
        entry_hook(entry, document)
    return document


def decode_entry(document: object, where: str) -> Entry:
    """Rebuild an `Entry` from its document, for replay.

    Raises:
        SnapshotReplayError: a field is missing (excluded, or removed by a
            hook), was replaced by something of another kind, or holds a value
            that cannot be rebuilt (a ``repr``, ``enum`` or ``object`` tag).
    """
    if not isinstance(document, dict):
        raise SnapshotReplayError(f"{where} is not an object")
    for key in ("sequence", "id", "at", "data"):
        if key not in document:
            raise SnapshotReplayError(
                f"{where} has no {key!r}: it was excluded when the snapshot was "
                "written, so the snapshot cannot seed a journal"
            )
    sequence = document["sequence"]
    if type(sequence) is not int or sequence < 0:
        raise SnapshotReplayError(
            f"{where}.sequence={short(sequence)} is not a sequence"
        )
    entry_id = document["id"]
    if type(entry_id) is not str:
        raise SnapshotReplayError(f"{where}.id={short(entry_id)} is not a str")
    metadata = decode_value(document.get("metadata", {}), f"{where}.metadata")
    if not isinstance(metadata, dict):
        raise SnapshotReplayError(f"{where}.metadata is not an object")
    return Entry(
        entry_id,
        sequence,
        parse_instant(document["at"], f"{where}.at"),
        decode_value(document["data"], f"{where}.data"),
        metadata,
    )
