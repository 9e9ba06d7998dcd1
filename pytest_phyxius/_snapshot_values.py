"""Values as JSON documents, and back: what a snapshot writes for each kind.

A snapshot document holds only JSON types, so that the file is plain JSON and
two documents compare by their canonical text. Values JSON has no type for
are written as *tagged* objects, ``{"__phyxius__": "<kind>", ...}``, in the
spirit of the journal's own JSON codec:

=====================  =====================================================
value                  written as
=====================  =====================================================
str, int, bool, None   itself (subclasses, such as ``StrEnum``, as the plain
                       value)
float                  itself; NaN and infinities tagged ``float``
list                   a list
dict with str keys     an object, keys sorted; other mappings (non-str keys,
                       or the key ``"__phyxius__"``) tagged ``dict`` with
                       their items sorted by the items' canonical text
tuple                  tagged ``tuple``
set, frozenset         tagged ``set``/``frozenset``, items sorted by their
                       canonical text, so that the order never depends on
                       ``PYTHONHASHSEED``
datetime, date, time   tagged, ISO 8601 text
timedelta              tagged, exact seconds as decimal text
Decimal, UUID          tagged, their text
bytes, bytearray       tagged ``bytes``, base64
Instant                tagged ``instant``, like an entry's ``at``
Event                  tagged ``event``
anything else          what the ``pytest_phyxius_snapshot_value`` hook
                       returns; else dataclasses tagged ``object`` with their
                       fields, enums tagged ``enum`` with their name, and the
                       rest tagged ``repr``
=====================  =====================================================

An entry's ``at`` is written as ``{"mono": "<seconds>", "wall": "<ISO 8601,
nanoseconds, Z>"}``: readable, and exact to the nanosecond.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from uuid import UUID

from phyxius import Event, Instant
from pytest_phyxius._snapshot_errors import SnapshotReplayError, SnapshotValueError
from pytest_phyxius._snapshot_instants import format_instant, parse_instant

__all__ = [
    "TAG",
    "ValueHook",
    "canonical",
    "decode_value",
    "encode_value",
    "format_instant",
    "parse_instant",
    "short",
]

TAG: Final = "__phyxius__"
"""The key that marks a tagged value in a snapshot document."""

ValueHook = Callable[[object], object]
"""The ``pytest_phyxius_snapshot_value`` hook, bound to its config."""


def _known_only(value: object) -> Any:
    # What the canonical encoder writes for a non-JSON object: the tagged
    # form of the kinds the journal's JSON codec reads back (datetime,
    # Decimal, UUID, bytes, Instant, Event, ...); anything else is an error.
    known = _encode_known(value, None, "data")
    if known is _UNKNOWN:
        raise TypeError(f"{type(value).__qualname__} is not a snapshot value")
    return known


_canonical_encoder: Final = json.JSONEncoder(
    ensure_ascii=True,
    allow_nan=False,
    check_circular=False,
    sort_keys=True,
    separators=(",", ":"),
    default=_known_only,
)

canonical: Final[Callable[[object], str]] = _canonical_encoder.encode
"""The canonical text of a document: sorted keys, no spaces, ASCII only.

Two documents are the same snapshot exactly when their canonical texts are
equal, so ``1`` and ``1.0``, ``True`` and ``1`` or ``0.0`` and ``-0.0`` never
compare equal, as they would with ``==``. A *raw* document (see
`raw_entry`) may still hold the objects the journal's JSON codec reads back;
they are written here in their tagged form, as `encode_value` writes them.
"""

_ADDRESS: Final = re.compile(r"\bat 0x[0-9a-fA-F]+")


# -- values --------------------------------------------------------------------


def encode_value(value: object, hook: ValueHook | None, where: str) -> Any:
    """The JSON document of ``value`` (see the module documentation).

    Raises:
        SnapshotValueError: the value cannot be written in a stable form (its
            only text shows a memory address, or it contains itself).
    """
    try:
        return _encode(value, hook, where)
    except RecursionError:
        raise SnapshotValueError(
            f"{where} is nested too deeply or contains itself; flatten it, or "
            "leave it out with exclude=[...]"
        ) from None


def _encode(value: Any, hook: ValueHook | None, where: str) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return _encode_mapping(value, hook, where)
    if kind is list:
        return [
            _encode(item, hook, f"{where}[{index}]") for index, item in enumerate(value)
        ]
    if kind is float:
        return _encode_float(value)
    return _encode_other(value, hook, where)


def _encode_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {TAG: "float", "value": repr(value)}


def _encode_mapping(
    mapping: Mapping[Any, Any], hook: ValueHook | None, where: str
) -> Any:
    plain = TAG not in mapping and all(type(key) is str for key in mapping)
    if plain:
        return {
            key: _encode(mapping[key], hook, f"{where}[{key!r}]")
            for key in sorted(mapping)
        }
    items = [
        [
            _encode(key, hook, f"{where} key {short(key)}"),
            _encode(item, hook, f"{where}[{short(key)}]"),
        ]
        for key, item in mapping.items()
    ]
    # Keys of one text (two objects with one repr) are ordered by their
    # values, so that the order never follows the mapping's own.
    items.sort(key=lambda pair: (canonical(pair[0]), canonical(pair[1])))
    return {TAG: "dict", "items": items}


def _encode_other(value: Any, hook: ValueHook | None, where: str) -> Any:
    # Subclasses of the JSON scalars are written as the plain value, as the
    # journal's JSON codec stores them.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _encode_float(float.__float__(value))
    if isinstance(value, list):
        return [_encode(item, hook, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        items = [_encode(item, hook, f"{where}[{i}]") for i, item in enumerate(value)]
        return {TAG: "tuple", "items": items}
    if isinstance(value, Mapping):
        return _encode_mapping(value, hook, where)
    if isinstance(value, set | frozenset):
        kind = "frozenset" if isinstance(value, frozenset) else "set"
        members = [_encode(item, hook, f"{where} item") for item in value]
        members.sort(key=canonical)
        return {TAG: kind, "items": members}
    known = _encode_known(value, hook, where)
    if known is not _UNKNOWN:
        return known
    return _encode_foreign(value, hook, where)


_UNKNOWN: Final = object()


def _encode_known(value: Any, hook: ValueHook | None, where: str) -> Any:
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "value": value.isoformat()}
    if isinstance(value, timedelta):
        micros = value // timedelta(microseconds=1)
        return {TAG: "timedelta", "seconds": str(Decimal(micros).scaleb(-6))}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "value": str(value)}
    if isinstance(value, UUID):
        return {TAG: "uuid", "value": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {TAG: "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Instant):
        return {TAG: "instant", **format_instant(value)}
    if isinstance(value, Event):
        return {
            TAG: "event",
            "type": _encode(value.type, hook, f"{where}.type"),
            "at": format_instant(value.at),
            "data": _encode(value.data, hook, f"{where}.data"),
        }
    return _UNKNOWN


def _encode_foreign(value: Any, hook: ValueHook | None, where: str) -> Any:
    if hook is not None:
        replacement = hook(value)
        if replacement is not None:
            if type(replacement) is type(value):
                raise SnapshotValueError(
                    f"{where}: pytest_phyxius_snapshot_value returned a "
                    f"{type(value).__qualname__} for a {type(value).__qualname__}; "
                    "return plain values (dict, list, str, ...) instead"
                )
            return _encode(replacement, hook, where)
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "type": name, "name": value.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            field.name: _encode(
                getattr(value, field.name), hook, f"{where}.{field.name}"
            )
            for field in dataclasses.fields(value)
        }
        return {TAG: "object", "type": name, "fields": fields}
    text = repr(value)
    if _ADDRESS.search(text):
        raise SnapshotValueError(
            f"{where}={short(value)} (type={type(value).__qualname__}) has no "
            "stable form: its repr shows a memory address, which changes on every "
            "run; implement the pytest_phyxius_snapshot_value hook for it, or "
            "leave it out with exclude=[...]"
        )
    return {TAG: "repr", "type": name, "repr": text}


def decode_value(value: object, where: str) -> Any:
    """The Python value a document written by `encode_value` stands for.

    Raises:
        SnapshotReplayError: the document holds a tag that cannot be rebuilt.
    """
    if type(value) is list:
        return [decode_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if type(value) is not dict:
        return value
    if TAG not in value:
        return {
            key: decode_value(item, f"{where}[{key!r}]") for key, item in value.items()
        }
    kind = value[TAG]
    try:
        return _DECODERS[kind](value, where)
    except KeyError:
        pass
    except (TypeError, ValueError, InvalidOperation, binascii.Error, OverflowError):
        raise SnapshotReplayError(
            f"{where}: malformed {kind!r} value {short(value)}"
        ) from None
    raise SnapshotReplayError(
        f"{where}={short(value)} cannot be rebuilt for replay (tag {kind!r}); "
        "write such values through the pytest_phyxius_snapshot_value hook as "
        "plain data if the snapshot must seed a journal"
    )


def _items(value: dict[str, Any], where: str) -> list[Any]:
    items = value["items"]
    if not isinstance(items, list):
        raise TypeError("items is not a list")
    return [decode_value(item, f"{where}[{i}]") for i, item in enumerate(items)]


def _decode_dict(value: dict[str, Any], where: str) -> dict[Any, Any]:
    pairs = _items(value, where)
    return {_hashable(key): item for key, item in pairs}


def _hashable(value: Any) -> Any:
    return tuple(_hashable(item) for item in value) if type(value) is list else value


def _decode_timedelta(value: dict[str, Any], where: str) -> timedelta:
    micros = Decimal(value["seconds"]).scaleb(6)
    if micros != micros.to_integral_value():
        raise ValueError("not whole microseconds")
    return timedelta(microseconds=int(micros))


def _decode_event(value: dict[str, Any], where: str) -> Event:
    data = decode_value(value["data"], f"{where}.data")
    return Event(value["type"], parse_instant(value["at"], f"{where}.at"), data)


def _decode_float(value: dict[str, Any], where: str) -> float:
    text = value["value"]
    if text not in ("nan", "inf", "-inf"):
        raise ValueError(text)
    return float(text)


_DECODERS: Final[dict[object, Callable[[dict[str, Any], str], Any]]] = {
    "float": _decode_float,
    "tuple": lambda value, where: tuple(_items(value, where)),
    "set": lambda value, where: {_hashable(item) for item in _items(value, where)},
    "frozenset": lambda value, where: frozenset(
        _hashable(item) for item in _items(value, where)
    ),
    "dict": _decode_dict,
    "datetime": lambda value, where: datetime.fromisoformat(value["value"]),
    "date": lambda value, where: date.fromisoformat(value["value"]),
    "time": lambda value, where: time.fromisoformat(value["value"]),
    "timedelta": _decode_timedelta,
    "decimal": lambda value, where: Decimal(value["value"]),
    "uuid": lambda value, where: UUID(value["value"]),
    "bytes": lambda value, where: base64.b64decode(value["value"], validate=True),
    "instant": lambda value, where: parse_instant(
        {"mono": value["mono"], "wall": value["wall"]}, where
    ),
    "event": _decode_event,
}


def short(value: object) -> str:
    """``repr(value)``, cut to 60 characters, for error messages."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__} object>"
    return text if len(text) <= 60 else text[:57] + "..."
