"""The one duration parser: seconds or timedelta in, integer nanoseconds out."""

from __future__ import annotations

import enum
import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from phyxius import (
    InvalidArgumentError,
    InvalidDurationError,
    PhyxiusError,
    to_nanoseconds,
)
from phyxius._time import exact_float_nanoseconds


class Seconds(enum.IntEnum):
    FIVE = 5


class Precise(float):
    """A float subclass, as numpy's float64 is."""


@pytest.mark.parametrize(
    ("value", "nanos"),
    [
        (0, 0),
        (1, 1_000_000_000),
        (3600, 3_600_000_000_000),
        (0.0, 0),
        (-0.0, 0),
        (0.1, 100_000_000),
        (0.3, 300_000_000),
        (1.5, 1_500_000_000),
        (2.675, 2_675_000_000),
        (1e-9, 1),
        (1e-10, 0),
        (1.7e-9, 2),
        (86_400.000000001, 86_400_000_000_001),
        (timedelta(0), 0),
        (timedelta(milliseconds=1), 1_000_000),
        (timedelta(days=2, seconds=3, microseconds=4), 172_803_000_004_000),
        (Seconds.FIVE, 5_000_000_000),
        (Precise(0.25), 250_000_000),
    ],
    ids=repr,
)
def test_accepts_seconds_and_timedeltas(value: object, nanos: int) -> None:
    result = to_nanoseconds(value)

    assert result == nanos
    assert type(result) is int


def test_floats_are_read_as_written_so_tenths_add_up_exactly() -> None:
    assert sum(to_nanoseconds(0.1) for _ in range(10)) == to_nanoseconds(1)
    assert to_nanoseconds(0.1) * 3 == to_nanoseconds(0.3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, r"^delay=-1 is negative; durations must be zero or more seconds$"),
        (-0.5, r"^delay=-0\.5 is negative; durations must be zero or more seconds$"),
        (-1e-12, r"^delay=-1e-12 is negative; durations must be zero or more seconds$"),
        (
            timedelta(seconds=-1),
            r"^delay=datetime\.timedelta\(days=-1, seconds=86399\) is negative; ",
        ),
        (math.nan, r"^delay=nan is not a finite duration; pass a finite number"),
        (math.inf, r"^delay=inf is not a finite duration; pass a finite number"),
        (-math.inf, r"^delay=-inf is not a finite duration; pass a finite number"),
        (
            True,
            r"^delay=True \(type=bool\) is not a duration; pass seconds as an int "
            r"or float, or a datetime\.timedelta$",
        ),
        (False, r"^delay=False \(type=bool\) is not a duration; "),
        ("1", r"^delay='1' \(type=str\) is not a duration; "),
        (None, r"^delay=None \(type=NoneType\) is not a duration; "),
        (Decimal("1.5"), r"^delay=Decimal\('1\.5'\) \(type=Decimal\) is not a "),
        (Fraction(1, 3), r"^delay=Fraction\(1, 3\) \(type=Fraction\) is not a "),
        (1j, r"^delay=1j \(type=complex\) is not a duration; "),
    ],
    ids=repr,
)
def test_rejects_what_is_not_a_duration_naming_argument_and_value(
    value: object, message: str
) -> None:
    with pytest.raises(InvalidDurationError, match=message):
        to_nanoseconds(value, name="delay")


def test_default_argument_name_is_duration() -> None:
    with pytest.raises(InvalidDurationError, match=r"^duration=-2 is negative"):
        to_nanoseconds(-2)


@pytest.mark.parametrize("bad", [-1, math.nan, "x"])
@pytest.mark.parametrize(
    "kind", [ValueError, TypeError, InvalidArgumentError, PhyxiusError]
)
def test_duration_errors_are_catchable_as_builtins_and_as_phyxius_errors(
    bad: object, kind: type[Exception]
) -> None:
    with pytest.raises(kind, match=r"^duration="):
        to_nanoseconds(bad)


@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
@example(0.1)
@example(2**43 / 1e9)
@example(1.0000000005)
@example(2.0000000005)
@example(1e-10)
@example(5e-10)
@example(1.5e-9)
@example(1.7976931348623157e308)
def test_fast_float_path_agrees_with_the_exact_decimal_reading(value: float) -> None:
    assert to_nanoseconds(value) == exact_float_nanoseconds(value)


# A float keeps 15 significant digits exactly: six before the point, nine after.
@given(st.integers(min_value=0, max_value=999_999), st.integers(0, 999_999_999))
def test_seconds_written_with_nine_decimals_are_exact(whole: int, nanos: int) -> None:
    value = float(f"{whole}.{nanos:09d}")

    assert to_nanoseconds(value) == whole * 1_000_000_000 + nanos


@given(st.timedeltas(min_value=timedelta(0)))
def test_timedeltas_convert_exactly(value: timedelta) -> None:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds

    assert to_nanoseconds(value) == micros * 1_000
