"""`Instant`, wall-time parsing and the exact seconds formatting used in messages."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phyxius import Instant, InvalidArgumentError, PhyxiusError
from phyxius._time import format_seconds, wall_to_nanoseconds

NEW_YEAR_2024_NS = 1_704_067_200 * 1_000_000_000


def test_instant_derives_seconds_and_an_aware_utc_datetime() -> None:
    instant = Instant(mono_ns=1_500_000_000, wall_ns=NEW_YEAR_2024_NS + 250_000_000)

    assert instant.mono == 1.5
    assert instant.wall == 1_704_067_200.25
    assert instant.datetime == datetime(2024, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    assert instant.datetime.tzinfo is UTC


def test_instant_datetime_truncates_below_a_microsecond() -> None:
    instant = Instant(mono_ns=0, wall_ns=NEW_YEAR_2024_NS + 1_999)

    assert instant.datetime == datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_instant_before_the_epoch() -> None:
    instant = Instant(mono_ns=0, wall_ns=-1_500_000_000)

    assert instant.datetime == datetime(1969, 12, 31, 23, 59, 58, 500_000, tzinfo=UTC)


def test_instant_is_frozen_and_keyword_only() -> None:
    instant = Instant(mono_ns=0, wall_ns=0)

    with pytest.raises(dataclasses.FrozenInstanceError):
        instant.mono_ns = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        Instant(0, 0)  # type: ignore[misc]
    assert not hasattr(instant, "__dict__")


def test_instants_order_by_monotonic_time_first() -> None:
    # Wall time may jump backwards; monotonic time decides what came first.
    earlier = Instant(mono_ns=1, wall_ns=NEW_YEAR_2024_NS)
    later_after_a_backward_jump = Instant(mono_ns=2, wall_ns=NEW_YEAR_2024_NS - 10**12)

    assert earlier < later_after_a_backward_jump
    assert sorted([later_after_a_backward_jump, earlier]) == [
        earlier,
        later_after_a_backward_jump,
    ]


def test_instant_repr_shows_iso_wall_time_and_exact_monotonic_seconds() -> None:
    instant = Instant(mono_ns=1_250_000_000, wall_ns=NEW_YEAR_2024_NS)

    assert repr(instant) == "Instant(wall=2024-01-01T00:00:00+00:00, mono=1.25s)"


@pytest.mark.parametrize(
    ("value", "nanos"),
    [
        (0, 0),
        (1_704_067_200, NEW_YEAR_2024_NS),
        (1_704_067_200.5, NEW_YEAR_2024_NS + 500_000_000),
        (-1.5, -1_500_000_000),
        (datetime(2024, 1, 1, tzinfo=UTC), NEW_YEAR_2024_NS),
        (
            datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
            NEW_YEAR_2024_NS,
        ),
        (datetime(2024, 1, 1, 0, 0, 0, 7, tzinfo=UTC), NEW_YEAR_2024_NS + 7_000),
    ],
    ids=repr,
)
def test_wall_times_are_epoch_seconds_or_aware_datetimes(
    value: object, nanos: int
) -> None:
    assert wall_to_nanoseconds(value) == nanos


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            datetime(2024, 1, 1),
            r"^start=datetime\.datetime\(2024, 1, 1, 0, 0\) is a naive datetime; "
            r"pass an aware datetime",
        ),
        (math.nan, r"^start=nan is not a finite wall time; pass epoch seconds$"),
        (math.inf, r"^start=inf is not a finite wall time; pass epoch seconds$"),
        (True, r"^start=True \(type=bool\) is not a wall time; pass epoch seconds"),
        ("2024-01-01", r"^start='2024-01-01' \(type=str\) is not a wall time; "),
        (None, r"^start=None \(type=NoneType\) is not a wall time; "),
    ],
    ids=repr,
)
def test_rejects_what_is_not_a_wall_time(value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        wall_to_nanoseconds(value, name="start")

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, PhyxiusError)


def test_the_first_and_last_datetimes_are_wall_times() -> None:
    first = datetime.min.replace(tzinfo=UTC)
    last = datetime.max.replace(tzinfo=UTC)

    assert Instant(mono_ns=0, wall_ns=wall_to_nanoseconds(first)).datetime == first
    assert Instant(mono_ns=0, wall_ns=wall_to_nanoseconds(last)).datetime == last


@pytest.mark.parametrize(
    "wall_ns",
    [wall_to_nanoseconds(datetime.max.replace(tzinfo=UTC)) + 1_000, -(10**30)],
    ids=["after-year-9999", "before-year-1"],
)
def test_an_instant_no_datetime_can_hold_says_so(wall_ns: int) -> None:
    instant = Instant(mono_ns=0, wall_ns=wall_ns)

    with pytest.raises(
        OverflowError,
        match=rf"^wall time {wall_ns}ns since the epoch is outside the years 1 to "
        r"9999 that a datetime can hold; read wall_ns instead$",
    ):
        _ = instant.datetime


def test_instant_repr_shows_nanoseconds_where_no_datetime_can() -> None:
    instant = Instant(mono_ns=0, wall_ns=-(10**30))

    assert repr(instant) == "Instant(wall=-1000000000000000000000000000000ns, mono=0s)"


@given(st.datetimes(timezones=st.just(UTC)))
def test_aware_datetimes_round_trip_through_instants(moment: datetime) -> None:
    instant = Instant(mono_ns=0, wall_ns=wall_to_nanoseconds(moment))

    assert instant.datetime == moment


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1_000_000_000, "1s"),
        (1_500_000_000, "1.5s"),
        (1, "0.000000001s"),
        (100_000_000, "0.1s"),
        (-2_250_000_000, "-2.25s"),
        (3_600_000_000_001, "3600.000000001s"),
    ],
)
def test_format_seconds_is_exact(nanos: int, text: str) -> None:
    assert format_seconds(nanos) == text
