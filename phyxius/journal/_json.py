"""`JsonCodec`: the default codec, readable JSON with a documented set of types.

The JSON codec stores readable JSON. It accepts exactly these types
and reads each back as follows:

==========================================  ==================================
appended                                    read back
==========================================  ==================================
``str``, ``int``, ``bool``, ``None``        the same value
``float`` (finite)                          the same value (``-0.0`` included)
``list``, ``tuple``                         ``list``
``dict`` / any ``Mapping`` with str keys    ``dict``, key order kept
``datetime.datetime``                       ``datetime``; an aware one with a
                                            fixed-offset ``timezone`` (a
                                            ``ZoneInfo`` becomes its offset)
``datetime.date``                           ``date``
``decimal.Decimal`` (finite)                ``Decimal``, digits and exponent
                                            kept (``Decimal("1.10")``)
``uuid.UUID``                               ``UUID``
``bytes``, ``bytearray``, ``memoryview``    ``bytes``
`phyxius.Instant`                           ``Instant``
`phyxius.Event`                             ``Event`` (its data a ``dict``)
==========================================  ==================================

Subclasses of ``str``, ``int`` and ``float`` (``StrEnum``, ``IntEnum``) are
stored as the plain value. Everything else is refused with `EncodeError`
before anything is written, naming where the value sits
(``data["items"][2]``) and its type: sets (order would be invented), dict keys
that are not ``str`` (JSON would turn ``1`` into ``"1"``), NaN and infinities
(not JSON, and NaN is unequal to itself, which breaks every comparison of
entries), and the dict key ``"__phyxius__"``, which marks the tagged values
above in the stored JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import json.encoder
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Final, final
from uuid import UUID

from phyxius._events import Event
from phyxius._time import Instant
from phyxius.journal._errors import DecodeError, EncodeError

__all__ = ["JSON_CODEC", "TAG", "JsonCodec", "json_prepare", "short_repr"]

TAG: Final = "__phyxius__"
"""The dict key that marks a tagged value (datetime, Event, ...) in stored JSON."""


# -- preparing values for JSON -------------------------------------------------


class _Refused(Exception):
    """Raised deep inside `_prepare`; collects the path on its way out."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        # Path segments, innermost first: each level appends its own.
        self.segments: list[str] = []


_SUPPORTED: Final = (
    "str, int, float, bool, None, list, tuple, dict with str keys, datetime, "
    "date, Decimal, UUID, bytes, Instant and Event"
)

_HINTS: Final[dict[type, str]] = {
    set: "convert it first (a set to a sorted list)",
    frozenset: "convert it first (a frozenset to a sorted list)",
    complex: "store it as [real, imag]",
}


def short_repr(value: object) -> str:
    """``repr(value)`` cut to 60 characters for messages; never raises."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__} object>"
    return text if len(text) <= 60 else text[:57] + "..."


def _refuse_type(value: object) -> _Refused:
    hint = _HINTS.get(type(value))
    if hint is None:
        hint = "convert it to those types first"
        if hasattr(type(value), "__dataclass_fields__"):
            hint = "convert it first (dataclasses.asdict(value))"
    return _Refused(
        f"={short_repr(value)} (type={type(value).__qualname__}) cannot be "
        f"encoded by the JSON codec, which stores {_SUPPORTED}; {hint}, or pass "
        "codec=... for a codec that supports it"
    )


def _prepare(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return _prepare_mapping(value)
    if kind is list or kind is tuple:
        return _prepare_list(value)
    if kind is float:
        if _isfinite(value):
            return value
        raise _Refused(
            f"={value!r} (type=float) is not JSON and is unequal to itself; "
            "store None or a string instead"
        )
    return _prepare_other(value)


def _prepare_mapping(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    if TAG in mapping:
        raise _Refused(
            f' has the key "{TAG}", which the JSON codec reserves for tagged '
            "values; rename the key"
        )
    out: dict[str, Any] = {}
    for key, item in mapping.items():
        if type(key) is not str:
            key = _prepare_key(key)
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            out[key] = item
            continue
        try:
            out[key] = _prepare(item)
        except _Refused as refused:
            refused.segments.append(f"[{json.dumps(key, ensure_ascii=False)}]")
            raise
    return out


def _prepare_key(key: object) -> str:
    if isinstance(key, str):
        return str.__str__(key)
    raise _Refused(
        f" has the key {short_repr(key)} (type={type(key).__qualname__}); JSON "
        "object keys must be str (JSON would turn it into a string), so convert "
        "the keys to str"
    )


def _prepare_list(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for index, item in enumerate(items):
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            append(item)
            continue
        try:
            append(_prepare(item))
        except _Refused as refused:
            refused.segments.append(f"[{index}]")
            raise
    return out


def _prepare_other(value: Any) -> Any:
    # Order matters: datetime is a date, and a str subclass may be a Mapping.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _prepare(float.__float__(value))
    if isinstance(value, Mapping):
        return _prepare_mapping(value)
    if isinstance(value, list | tuple):
        return _prepare_list(value)
    if isinstance(value, Event):
        return _prepare_event(value)
    if isinstance(value, Instant):
        return value
    if isinstance(value, datetime):
        return _prepare_datetime(value)
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Refused(
                f"={value!r} (type=Decimal) is not finite; store None or a "
                "string instead"
            )
        return value if type(value) is Decimal else Decimal(value)
    if isinstance(value, UUID):
        return value if type(value) is UUID else UUID(int=value.int)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise _refuse_type(value)


def _prepare_datetime(value: datetime) -> datetime:
    offset = value.utcoffset()
    # What `fromisoformat(isoformat())` returns: a plain datetime, fold 0, and
    # a fixed-offset timezone in place of any other tzinfo.
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=None if offset is None else timezone(offset),
    )


def _prepare_event(event: Event) -> Event:
    # Event is a plain dataclass: its fields may hold anything at run time.
    kind: object = event.type
    at: object = event.at
    data: object = event.data
    if not isinstance(kind, str):
        raise _refused_field(".type", kind, "an Event's type must be a str")
    if not isinstance(at, Instant):
        raise _refused_field(".at", at, "an Event's at must be an Instant")
    if not isinstance(data, Mapping):
        raise _refused_field(".data", data, "an Event's data must be a mapping")
    try:
        prepared = _prepare_mapping(data)
    except _Refused as refused:
        refused.segments.append(".data")
        raise
    return Event(str.__str__(kind), at, prepared)


def _refused_field(segment: str, value: object, rule: str) -> _Refused:
    refused = _Refused(
        f"={short_repr(value)} (type={type(value).__qualname__}) cannot be "
        f"encoded: {rule}"
    )
    refused.segments.append(segment)
    return refused


_isfinite = math.isfinite


def json_prepare(value: Any, where: str) -> Any:
    """`JsonCodec.prepare` as a plain function: one call less per append."""
    kind = type(value)
    if kind is dict:
        # The common case, without a second function call.
        try:
            return _prepare_mapping(value)
        except _Refused as refused:
            raise _encode_error(refused, where) from None
        except RecursionError:
            raise _too_deep(where) from None
    try:
        return _prepare(value)
    except _Refused as refused:
        raise _encode_error(refused, where) from None
    except RecursionError:
        raise _too_deep(where) from None


def _encode_error(refused: _Refused, where: str) -> EncodeError:
    path = where + "".join(reversed(refused.segments))
    return EncodeError(path + refused.problem)


def _too_deep(where: str) -> EncodeError:
    return EncodeError(
        f"{where} is nested too deeply for the JSON codec, or contains itself; "
        "flatten it or break the cycle"
    )


# -- JSON text -------------------------------------------------------------------


def _tagged(value: Any) -> dict[str, Any]:
    """The JSON form of a value the JSON encoder does not know (`default` hook)."""
    if isinstance(value, Event):
        return {
            TAG: "event",
            "type": value.type,
            "at": {"wall_ns": value.at.wall_ns, "mono_ns": value.at.mono_ns},
            "data": value.data,
        }
    if isinstance(value, Instant):
        return {TAG: "instant", "wall_ns": value.wall_ns, "mono_ns": value.mono_ns}
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "value": str(value)}
    if isinstance(value, UUID):
        return {TAG: "uuid", "value": str(value)}
    if isinstance(value, bytes):
        return {TAG: "bytes", "value": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__qualname__} was not prepared for JSON")


def _untag(obj: dict[str, Any]) -> Any:
    """The value a tagged JSON object stands for (`object_hook`)."""
    kind = obj.get(TAG)
    if kind is None:
        return obj
    try:
        if kind == "datetime":
            return datetime.fromisoformat(obj["value"])
        if kind == "event":
            at = obj["at"]
            return Event(
                obj["type"],
                Instant(wall_ns=at["wall_ns"], mono_ns=at["mono_ns"]),
                obj["data"],
            )
        if kind == "instant":
            return Instant(wall_ns=obj["wall_ns"], mono_ns=obj["mono_ns"])
        if kind == "date":
            return date.fromisoformat(obj["value"])
        if kind == "decimal":
            return Decimal(obj["value"])
        if kind == "uuid":
            return UUID(obj["value"])
        if kind == "bytes":
            return base64.b64decode(obj["value"], validate=True)
    except (KeyError, TypeError, ValueError, ArithmeticError, binascii.Error) as error:
        raise DecodeError(
            f"malformed tagged {kind!r} value in stored JSON: {short_repr(obj)} "
            f"({type(error).__name__}: {error})"
        ) from None
    raise DecodeError(
        f"unknown tagged value {kind!r} in stored JSON; it was written by a newer "
        "Phyxius or another program: upgrade phyxius to read it"
    )


def _untag_tree(value: Any) -> Any:
    if type(value) is dict:
        return _untag({key: _untag_tree(item) for key, item in value.items()})
    if type(value) is list:
        return [_untag_tree(item) for item in value]
    return value


_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=True,
    check_circular=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_tagged,
)
_DECODER: Final = json.JSONDecoder(object_hook=_untag)


def _make_dump() -> Callable[[Any], str]:
    """The fastest way to `_ENCODER.encode`: its C encoder, built once.

    ``JSONEncoder.encode`` builds a new C encoder on every call; with one
    small entry per append that is a third of the time. The C encoder is
    private to the json module, so fall back to the public method without it.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    iterencode = make(
        None,  # no circular check: prepared values have no cycles
        _tagged,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )

    def dump(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return dump


_dump: Final = _make_dump()


@final
class JsonCodec:
    """The default codec: JSON text, with tags for the non-JSON types it supports.

    See the module documentation for the exact types and how each reads back.
    Strings are written with ASCII escapes, so every Python string, lone
    surrogates included, reads back unchanged.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """``"json"``."""
        return "json"

    def prepare(self, value: Any, where: str = "data") -> Any:
        """Check ``value`` encodes; return it as it will read back.

        Raises:
            EncodeError: ``value`` holds something the codec cannot store; the
                message names the place, starting from ``where``.
        """
        return json_prepare(value, where)

    def encode(self, value: Any) -> bytes:
        """JSON bytes of a value returned by `prepare`."""
        try:
            return _dump(value).encode("ascii")
        except (TypeError, ValueError) as error:
            raise EncodeError(
                f"value was not prepared for the JSON codec ({error}); pass it "
                "through JsonCodec.prepare first"
            ) from None

    def decode(self, payload: bytes) -> Any:
        """The value whose JSON bytes are ``payload``.

        Raises:
            DecodeError: ``payload`` is not JSON written by this codec.
        """
        try:
            return _DECODER.decode(payload.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            if isinstance(error, DecodeError):
                raise
            raise DecodeError(
                f"stored payload is not JSON written by the JSON codec: {error}"
            ) from None

    def to_jsonable(self, value: Any) -> Any:
        """A prepared value as plain JSON types (tagged values become dicts).

        This is the structure `encode` writes, for embedding in a larger JSON
        document; `from_jsonable` reverses it.
        """
        return json.loads(self.encode(value))

    def from_jsonable(self, value: Any) -> Any:
        """Reverse `to_jsonable`: rebuild tagged values from their dicts."""
        return _untag_tree(value)

    def __repr__(self) -> str:
        return "JsonCodec()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonCodec)

    def __hash__(self) -> int:
        return hash(JsonCodec)


JSON_CODEC: Final = JsonCodec()
"""The shared default codec."""
