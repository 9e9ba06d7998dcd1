"""Codecs: how entry data becomes bytes in a store, and what comes back.

The default is `JsonCodec` (see `phyxius.journal._json` for the exact types it
stores and how each reads back). A journal never unpickles anything unless
asked: `PickleCodec` is used only when ``codec="pickle"`` (or an instance) is
passed by name. Any object with ``name``, ``encode`` and ``decode`` is a
`Codec` too.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, Protocol, final, runtime_checkable

from phyxius._errors import InvalidArgumentError
from phyxius.journal._errors import DecodeError, EncodeError
from phyxius.journal._json import JSON_CODEC, JsonCodec, json_prepare, short_repr

__all__ = [
    "Codec",
    "PickleCodec",
    "Prepare",
    "preparer_for",
    "resolve_codec",
]

Prepare = Callable[[Any, str], Any]
"""``prepare(value, where)``: check a value encodes and return it as it reads back."""


@runtime_checkable
class Codec(Protocol):
    """Turns entry data into bytes for a store, and back.

    ``name`` is recorded with every journal in a durable store, so a journal
    written with one codec is never read with another. A codec may also have
    ``prepare(value, where) -> value``: check that ``value`` can be encoded
    (raising `EncodeError` that names the place ``where``) and return it as
    ``decode(encode(value))`` would, without the bytes. Journals call it on
    every append, before anything is written; a codec without it gets
    ``decode(encode(value))`` instead. Stores call ``encode`` only with values
    that went through that step.
    """

    @property
    def name(self) -> str:
        """A short, stable name such as ``"json"``, stored with each journal."""
        ...

    def encode(self, value: Any) -> bytes:
        """Turn a prepared value into bytes."""
        ...

    def decode(self, payload: bytes) -> Any:
        """Turn bytes written by `encode` back into a value."""
        ...


@final
class PickleCodec:
    """Pickle, for trusted data only: loading a pickle can run arbitrary code.

    Journals use it only when asked for by name (``codec="pickle"``). Any
    picklable value is accepted and reads back as ``pickle.loads`` returns it,
    a deep copy. ``protocol`` is the pickle protocol used for writing.
    """

    __slots__ = ("_protocol",)

    def __init__(self, protocol: int = pickle.DEFAULT_PROTOCOL) -> None:
        if (
            isinstance(protocol, bool)
            or not isinstance(protocol, int)
            or not 0 <= protocol <= pickle.HIGHEST_PROTOCOL
        ):
            raise InvalidArgumentError(
                f"protocol={protocol!r} (type={type(protocol).__name__}) is not a "
                f"pickle protocol; pass 0..{pickle.HIGHEST_PROTOCOL}"
            )
        self._protocol = protocol

    @property
    def name(self) -> str:
        """``"pickle"``."""
        return "pickle"

    def prepare(self, value: Any, where: str = "data") -> Any:
        """Check ``value`` pickles; return the copy that unpickling gives."""
        try:
            return pickle.loads(pickle.dumps(value, protocol=self._protocol))
        except Exception as error:
            raise EncodeError(
                f"{where}={short_repr(value)} (type={type(value).__qualname__}) "
                f"cannot be pickled: {type(error).__name__}: {error}"
            ) from None

    def encode(self, value: Any) -> bytes:
        """The pickle of ``value``."""
        return pickle.dumps(value, protocol=self._protocol)

    def decode(self, payload: bytes) -> Any:
        """Unpickle ``payload`` (trusted stores only)."""
        try:
            return pickle.loads(payload)
        except Exception as error:
            raise DecodeError(
                f"stored payload could not be unpickled: {type(error).__name__}: "
                f"{error}"
            ) from None

    def __repr__(self) -> str:
        return f"PickleCodec(protocol={self._protocol})"


def resolve_codec(codec: object) -> Codec:
    """The codec a journal's ``codec=`` argument names.

    ``None`` and ``"json"`` give the JSON codec, ``"pickle"`` the pickle codec;
    an object with ``name``, ``encode`` and ``decode`` is used as it is.
    """
    if codec is None or codec == "json":
        return JSON_CODEC
    if codec == "pickle":
        return PickleCodec()
    if isinstance(codec, Codec) and not isinstance(codec, str | bytes):
        name = codec.name
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"codec={codec!r} has name={name!r}; a codec needs a non-empty "
                "str name, which stores record with each journal"
            )
        return codec
    raise InvalidArgumentError(
        f"codec={codec!r} (type={type(codec).__name__}) is not a codec; pass "
        '"json", "pickle" or an object with name, encode and decode'
    )


def preparer_for(codec: Codec) -> Prepare:
    """The ``prepare(value, where)`` step a journal runs on every append."""
    if isinstance(codec, JsonCodec):
        return json_prepare
    prepare = getattr(codec, "prepare", None)
    if callable(prepare):
        checked: Prepare = prepare
        return checked

    def round_trip(value: Any, where: str) -> Any:
        try:
            payload = codec.encode(value)
        except EncodeError:
            raise
        except Exception as error:
            raise EncodeError(
                f"{where}={short_repr(value)} (type={type(value).__qualname__}) "
                f"cannot be encoded by codec {codec.name!r}: "
                f"{type(error).__name__}: {error}"
            ) from None
        try:
            return codec.decode(payload)
        except DecodeError:
            raise
        except Exception as error:
            raise EncodeError(
                f"{where} was encoded by codec {codec.name!r} but does not decode "
                f"again: {type(error).__name__}: {error}"
            ) from None

    return round_trip
