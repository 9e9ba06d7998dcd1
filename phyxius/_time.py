"""Instants and the one duration parser that every primitive uses.

Time inside Phyxius is integer nanoseconds. Users pass durations as seconds
(`int` or `float`) or `datetime.timedelta`, exactly as they would to asyncio;
`to_nanoseconds` converts them once, at the edge, so that no float error
accumulates: ten advances of ``0.1`` land on exactly one second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final, TypeAlias

from phyxius._errors import InvalidArgumentError, InvalidDurationError

__all__ = [
    "NANOS_PER_SECOND",
    "Duration",
    "Instant",
    "WallTime",
    "exact_float_nanoseconds",
    "format_seconds",
    "to_nanoseconds",
    "wall_ns_in_range",
    "wall_to_nanoseconds",
]

NANOS_PER_SECOND = 1_000_000_000

Duration: TypeAlias = int | float | timedelta
"""A length of time: seconds as `int` or `float`, or a `datetime.timedelta`."""

WallTime: TypeAlias = "int | float | datetime | Instant"
"""A point in wall time: epoch seconds, an aware `datetime`, or an `Instant`
(its wall time, exact to the nanosecond)."""


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# The wall times a `datetime` can hold, years 1 to 9999, in epoch nanoseconds.
# An `Instant` may lie outside them (time is nanoseconds); only its
# `datetime` cannot be had there.
_MIN_WALL_NS: Final = (
    (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1) * 1_000
)
_MAX_WALL_NS: Final = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
) * 1_000 + 999

# Below this many nanoseconds (about 2.4 hours) a float product `x * 1e9` is
# within 0.0015 ns of the exact product of x's shortest decimal form, so
# rounding the float product gives the decimal answer whenever the product is
# not within 0.498 of a half-nanosecond tie. Beyond it, or near a tie, the
# exact decimal path decides.
_FAST_FLOAT_LIMIT: Final = float(2**43)
_FAST_FLOAT_MARGIN: Final = 0.498


def to_nanoseconds(value: object, *, name: str = "duration") -> int:
    """Convert a duration to integer nanoseconds, rejecting anything that is not one.

    Floats are read as their shortest decimal form (``repr``), so ``0.1`` is
    exactly 100,000,000 ns rather than 100,000,000.000000006 ns; a part below
    one nanosecond is rounded to the nearest (ties to even). ``name`` is the
    argument name used in the error message.

    Raises:
        InvalidDurationError: the value is negative, NaN, infinite, a `bool` or
            not a number of seconds or a `timedelta`.
    """
    # Exact types first: this runs for every timer and sleep, so the common
    # cases skip the isinstance chain (bool is a subclass of int, so it must
    # never reach the int branch).
    cls = type(value)
    if cls is int:
        nanos: int = value * NANOS_PER_SECOND  # type: ignore[operator]
    elif cls is float:
        scaled: float = value * 1e9  # type: ignore[operator]
        # NaN and negatives fail the range test and take the checked path.
        # The literals are _FAST_FLOAT_LIMIT and _FAST_FLOAT_MARGIN, written
        # out because a constant is cheaper to load than a global.
        if 0.0 <= scaled < 8796093022208.0:
            nearest = int(scaled + 0.5)
            if -0.498 < scaled - nearest < 0.498:
                return nearest
        nanos = _float_seconds_to_nanoseconds(value, name)  # type: ignore[arg-type]
    elif isinstance(value, bool):
        raise InvalidDurationError(
            f"{name}={value!r} (type=bool) is not a duration; "
            "pass seconds as an int or float, or a datetime.timedelta"
        )
    elif isinstance(value, int):
        nanos = int(value) * NANOS_PER_SECOND
    elif isinstance(value, float):
        nanos = _float_seconds_to_nanoseconds(float(value), name)
    elif isinstance(value, timedelta):
        nanos = (
            value.days * 86_400 + value.seconds
        ) * NANOS_PER_SECOND + value.microseconds * 1_000
    else:
        raise InvalidDurationError(
            f"{name}={value!r} (type={type(value).__name__}) is not a duration; "
            "pass seconds as an int or float, or a datetime.timedelta"
        )
    if nanos < 0:
        raise InvalidDurationError(
            f"{name}={value!r} is negative; durations must be zero or more seconds"
        )
    return nanos


def _float_seconds_to_nanoseconds(value: float, name: str) -> int:
    if not math.isfinite(value):
        raise InvalidDurationError(
            f"{name}={value!r} is not a finite duration; "
            "pass a finite number of seconds"
        )
    if value < 0:
        raise InvalidDurationError(
            f"{name}={value!r} is negative; durations must be zero or more seconds"
        )
    scaled = value * 1e9
    if scaled < _FAST_FLOAT_LIMIT:
        nearest = int(scaled + 0.5)
        if -_FAST_FLOAT_MARGIN < scaled - nearest < _FAST_FLOAT_MARGIN:
            return nearest
    return exact_float_nanoseconds(value)


def exact_float_nanoseconds(value: float) -> int:
    """Nanoseconds in ``value`` seconds read as its shortest decimal form, rounded.

    This is the reference the fast path of `to_nanoseconds` must agree with.
    """
    return round(Decimal(repr(value)) * NANOS_PER_SECOND)


def wall_to_nanoseconds(value: object, *, name: str = "wall") -> int:
    """Convert a wall time (epoch seconds, aware `datetime`, `Instant`) to epoch ns.

    Raises:
        InvalidArgumentError: the value is NaN, infinite, a naive `datetime` or
            neither a number nor a `datetime`.
    """
    if isinstance(value, Instant):
        return value.wall_ns
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError(
                f"{name}={value!r} is a naive datetime; pass an aware datetime "
                "such as datetime(..., tzinfo=datetime.UTC)"
            )
        delta = value - _EPOCH
        return (
            delta.days * 86_400 + delta.seconds
        ) * NANOS_PER_SECOND + delta.microseconds * 1_000
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            f"{name}={value!r} (type={type(value).__name__}) is not a wall time; "
            "pass epoch seconds as an int or float, or an aware datetime"
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(
                f"{name}={value!r} is not a finite wall time; pass epoch seconds"
            )
        return exact_float_nanoseconds(value)
    return int(value) * NANOS_PER_SECOND


def wall_ns_in_range(nanos: int) -> bool:
    """Whether epoch nanoseconds fall in the years 1 to 9999 a `datetime` holds."""
    return _MIN_WALL_NS <= nanos <= _MAX_WALL_NS


def format_seconds(nanos: int) -> str:
    """Render nanoseconds as exact seconds for messages: ``1500000000`` -> ``1.5s``."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), NANOS_PER_SECOND)
    if frac == 0:
        return f"{sign}{whole}s"
    return f"{sign}{whole}.{frac:09d}".rstrip("0") + "s"


@dataclass(frozen=True, slots=True, order=True, kw_only=True)
class Instant:
    """One reading of a clock: wall time and monotonic time, in integer nanoseconds.

    Build one with keywords: ``Instant(wall_ns=..., mono_ns=...)``. Instants
    order by monotonic time first, because wall time can jump backwards while
    monotonic time cannot.
    """

    mono_ns: int
    """Monotonic nanoseconds: only meaningful relative to another reading."""

    wall_ns: int
    """Nanoseconds since the Unix epoch, UTC."""

    @property
    def wall(self) -> float:
        """Wall time as epoch seconds."""
        return self.wall_ns / NANOS_PER_SECOND

    @property
    def mono(self) -> float:
        """Monotonic time in seconds."""
        return self.mono_ns / NANOS_PER_SECOND

    @property
    def datetime(self) -> datetime:
        """Wall time as an aware `datetime` in UTC (microsecond precision).

        Raises:
            OverflowError: the wall time is outside the years 1 to 9999, which
                no `datetime` can hold (`wall_ns` still reads it).
        """
        seconds, nanos = divmod(self.wall_ns, NANOS_PER_SECOND)
        try:
            return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1_000)
        except OverflowError:
            raise OverflowError(
                f"wall time {self.wall_ns}ns since the epoch is outside the years "
                "1 to 9999 that a datetime can hold; read wall_ns instead"
            ) from None

    def __repr__(self) -> str:
        # A timer due in a billion years has a wall time no datetime can
        # show; its repr must still work, so it shows the nanoseconds.
        wall = (
            self.datetime.isoformat()
            if wall_ns_in_range(self.wall_ns)
            else f"{self.wall_ns}ns"
        )
        return f"Instant(wall={wall}, mono={format_seconds(self.mono_ns)})"
