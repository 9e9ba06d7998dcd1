"""`JournalSnapshot`: an immutable copy of a journal, and its JSON document.

The document is what `Journal.to_json` writes and `Journal.from_json` reads::

    {"format": "phyxius.journal", "version": 1, "name": "orders",
     "codec": "json", "first_sequence": 0, "next_sequence": 2,
     "entries": [{"sequence": 0, "id": "01HM...", "at": {"wall_ns": ...,
                  "mono_ns": ...}, "data": {...}, "metadata": {...}}, ...]}

With the JSON codec ``data`` and ``metadata`` are inline JSON (tagged values
as in stored JSON); with any other codec they are the codec's bytes in base64
under ``payload`` and ``metadata_payload``. Reading a document back gives an
equal snapshot: the round trip is exact.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from phyxius._time import Instant
from phyxius.journal._codec import Codec, resolve_codec
from phyxius.journal._entry import EMPTY_METADATA, Entry
from phyxius.journal._errors import DecodeError, EntryNotFoundError
from phyxius.journal._json import JSON_CODEC, JsonCodec

__all__ = ["DOCUMENT_FORMAT", "DOCUMENT_VERSION", "JournalSnapshot"]

DOCUMENT_FORMAT: Final = "phyxius.journal"
"""The ``format`` field of a journal document."""

DOCUMENT_VERSION: Final = 1
"""The ``version`` of the journal documents this Phyxius writes and reads."""


@final
@dataclass(frozen=True, slots=True)
class JournalSnapshot:
    """A journal's entries and bounds at one moment; immutable.

    Two snapshots are equal when their name, codec name, bounds and entries
    are equal. ``codec`` (not compared) is the codec object, which `to_json`
    uses for non-JSON codecs.
    """

    name: str
    """The journal's name."""

    entries: tuple[Entry, ...]
    """The retained entries, in sequence order."""

    first_sequence: int
    """Sequence of the first retained entry (``next_sequence`` when empty)."""

    next_sequence: int
    """Sequence the next append would have received."""

    codec_name: str = "json"
    """Name of the codec the journal stores its data with."""

    codec: Codec = field(default=JSON_CODEC, compare=False, repr=False)
    """The codec itself, for `to_json`."""

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def get(self, sequence: int) -> Entry:
        """The entry with ``sequence``.

        Raises:
            EntryNotFoundError: the snapshot holds no entry with it.
        """
        index = sequence - self.first_sequence
        if 0 <= index < len(self.entries):
            return self.entries[index]
        raise EntryNotFoundError(
            f"snapshot of journal {self.name!r} holds sequences "
            f"{self.first_sequence}..{self.next_sequence - 1}, not {sequence}"
        )

    @property
    def data(self) -> list[Any]:
        """The entries' data, in sequence order: what most assertions look at."""
        return [entry.data for entry in self.entries]

    def to_json(self, *, indent: int | None = None) -> str:
        """The snapshot as a JSON document (see the module documentation)."""
        codec = self.codec
        entries = [_entry_document(entry, codec) for entry in self.entries]
        document = {
            "format": DOCUMENT_FORMAT,
            "version": DOCUMENT_VERSION,
            "name": self.name,
            "codec": self.codec_name,
            "first_sequence": self.first_sequence,
            "next_sequence": self.next_sequence,
            "entries": entries,
        }
        return json.dumps(document, indent=indent, ensure_ascii=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, codec: object = None) -> JournalSnapshot:
        """Read a document written by `to_json`.

        A document whose codec is not JSON is read only with that codec given
        by name (``codec="pickle"`` for pickle: only for documents you trust).

        Raises:
            DecodeError: the text is not a journal document this version reads,
                or it was written with another codec than ``codec``.
        """
        try:
            document = json.loads(text)
        except ValueError as error:
            raise DecodeError(f"journal document is not JSON: {error}") from None
        if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
            raise DecodeError(
                "text is not a journal document: it has no "
                f'"format": "{DOCUMENT_FORMAT}" field; write one with '
                "Journal.to_json()"
            )
        version = document.get("version")
        if version != DOCUMENT_VERSION:
            raise DecodeError(
                f"journal document has version {version!r}; this Phyxius reads "
                f"version {DOCUMENT_VERSION}: upgrade phyxius to read newer ones"
            )
        codec_name = _field(document, "codec", str, "the document")
        chosen = _codec_for(codec_name, codec)
        name = _field(document, "name", str, "the document")
        first = _field(document, "first_sequence", int, "the document")
        next_sequence = _field(document, "next_sequence", int, "the document")
        raw_entries = _field(document, "entries", list, "the document")
        entries = tuple(
            _entry_from_document(raw, index, chosen)
            for index, raw in enumerate(raw_entries)
        )

        expected = list(range(first, first + len(entries)))
        if [entry.sequence for entry in entries] != expected or (
            next_sequence != first + len(entries)
        ):
            raise DecodeError(
                f"journal document {name!r} is inconsistent: first_sequence="
                f"{first}, next_sequence={next_sequence} and {len(entries)} "
                "entries do not form a gapless run"
            )
        return cls(name, entries, first, next_sequence, codec_name, chosen)


def _entry_document(entry: Entry, codec: Codec) -> dict[str, Any]:
    document: dict[str, Any] = {
        "sequence": entry.sequence,
        "id": entry.id,
        "at": {"wall_ns": entry.at.wall_ns, "mono_ns": entry.at.mono_ns},
    }
    if isinstance(codec, JsonCodec):
        document["data"] = codec.to_jsonable(entry.data)
        if entry.metadata:
            document["metadata"] = codec.to_jsonable(dict(entry.metadata))
    else:
        document["payload"] = _b64(codec.encode(entry.data))
        if entry.metadata:
            document["metadata_payload"] = _b64(codec.encode(dict(entry.metadata)))
    return document


def _entry_from_document(raw: object, index: int, codec: Codec) -> Entry:
    where = f"entries[{index}]"
    if not isinstance(raw, dict):
        raise DecodeError(f"journal document: {where} is not an object")
    at = _field(raw, "at", dict, where)
    instant = Instant(
        wall_ns=_field(at, "wall_ns", int, f"{where}.at"),
        mono_ns=_field(at, "mono_ns", int, f"{where}.at"),
    )
    metadata: Mapping[str, Any] = EMPTY_METADATA
    if isinstance(codec, JsonCodec):
        if "data" not in raw:
            raise DecodeError(f'journal document: {where} has no "data" field')
        data = codec.from_jsonable(raw["data"])
        if "metadata" in raw:
            metadata = codec.from_jsonable(_field(raw, "metadata", dict, where))
    else:
        data = codec.decode(_unb64(_field(raw, "payload", str, where), where))
        if "metadata_payload" in raw:
            payload = _field(raw, "metadata_payload", str, where)
            metadata = codec.decode(_unb64(payload, where))
    return Entry(
        _field(raw, "id", str, where),
        _field(raw, "sequence", int, where),
        instant,
        data,
        metadata or EMPTY_METADATA,
    )


def _field(container: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = container.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DecodeError(
            f"journal document: {where} needs {key!r} as {kind.__name__}, got "
            f"{value!r} (type={type(value).__name__})"
        )
    return value


def _codec_for(name: str, codec: object) -> Codec:
    if codec is None:
        if name == "json":
            return JSON_CODEC
        raise DecodeError(
            f"journal document was written with codec {name!r}; pass "
            f"codec={name!r} to read it (for pickle, only if you trust the "
            "document: unpickling runs code)"
        )
    chosen = resolve_codec(codec)
    if chosen.name != name:
        raise DecodeError(
            f"journal document was written with codec {name!r}, not "
            f"{chosen.name!r}; pass codec={name!r}"
        )
    return chosen


def _b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _unb64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"journal document: {where} payload is not base64") from None
