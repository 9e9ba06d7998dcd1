"""Billing periods: anchored at the subscription's start, clamped to short months."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.event_sourced_saas import BillingCycle, iso
from examples.event_sourced_saas._periods import add_months

NS = 1_000_000_000


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> int:
    """Wall nanoseconds of a UTC date and time."""
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return int(moment.timestamp()) * NS


def starts(cycle: BillingCycle, count: int) -> list[str]:
    return [iso(cycle.period(index).start_ns) for index in range(count)]


def test_a_month_end_anchor_is_clamped_to_short_months_and_comes_back() -> None:
    cycle = BillingCycle(at(2028, 1, 31, 9))

    assert starts(cycle, 6) == [
        "2028-01-31T09:00:00Z",
        "2028-02-29T09:00:00Z",  # 2028 is a leap year
        "2028-03-31T09:00:00Z",
        "2028-04-30T09:00:00Z",
        "2028-05-31T09:00:00Z",
        "2028-06-30T09:00:00Z",
    ]
    assert iso(cycle.period(13).start_ns) == "2029-02-28T09:00:00Z"
    assert cycle.period(0).length_ns == 29 * 86_400 * NS
    assert cycle.period(1).length_ns == 31 * 86_400 * NS


def test_a_leap_day_anchor_bills_on_the_29th_and_on_the_28th_without_one() -> None:
    cycle = BillingCycle(at(2028, 2, 29, 12))

    assert starts(cycle, 3) == [
        "2028-02-29T12:00:00Z",
        "2028-03-29T12:00:00Z",
        "2028-04-29T12:00:00Z",
    ]
    assert iso(cycle.period(12).start_ns) == "2029-02-28T12:00:00Z"
    assert iso(cycle.period(13).start_ns) == "2029-03-29T12:00:00Z"
    assert iso(cycle.period(48).start_ns) == "2032-02-29T12:00:00Z"


def test_a_period_crosses_the_year_end() -> None:
    cycle = BillingCycle(at(2027, 12, 15))

    period = cycle.period(0)

    assert (iso(period.start_ns), iso(period.end_ns)) == (
        "2027-12-15T00:00:00Z",
        "2028-01-15T00:00:00Z",
    )


def test_the_anchor_time_of_day_is_kept_to_the_nanosecond() -> None:
    anchor = at(2028, 1, 31, 23, 59, 59) + 999_999_999
    cycle = BillingCycle(anchor)

    assert cycle.period(1).start_ns == at(2028, 2, 29, 23, 59, 59) + 999_999_999
    assert cycle.period(1).start_ns - anchor == 29 * 86_400 * NS


def test_period_at_includes_the_start_and_excludes_the_end() -> None:
    cycle = BillingCycle(at(2028, 1, 31, 9))
    boundary = at(2028, 2, 29, 9)

    assert cycle.period_at(boundary - 1).index == 0
    assert cycle.period_at(boundary).index == 1
    assert cycle.period_at(at(2028, 3, 31, 8, 59, 59)).index == 1
    assert cycle.period_at(at(2031, 7, 4)).index == 41
    assert cycle.period_at(cycle.anchor_ns - 1).index == 0


def test_a_negative_index_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^index=-1 must be 0 or more$"):
        BillingCycle(0).period(-1)


@given(
    anchor=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2090, 12, 31),
        timezones=st.just(UTC),
    ),
    index=st.integers(min_value=0, max_value=240),
    offset=st.integers(min_value=0, max_value=27 * 86_400 * NS),
)
def test_periods_tile_the_timeline_and_period_at_finds_each(
    anchor: datetime, index: int, offset: int
) -> None:
    cycle = BillingCycle(int(anchor.timestamp()) * NS + anchor.microsecond * 1_000)
    period = cycle.period(index)

    assert period.end_ns == cycle.period(index + 1).start_ns
    assert 28 * 86_400 * NS <= period.length_ns <= 31 * 86_400 * NS
    assert cycle.period_at(period.start_ns) == period
    assert cycle.period_at(period.start_ns + offset) == period
    assert cycle.period_at(period.end_ns - 1) == period
    start = anchor + timedelta(
        days=(period.start_ns - cycle.anchor_ns) // (86_400 * NS)
    )
    assert start.date() == add_months(anchor.date(), index)
    assert start.time() == anchor.time()


def test_add_months_clamps_the_day() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2029, 1, 31), 1) == date(2029, 2, 28)
    assert add_months(date(2028, 1, 31), 2) == date(2028, 3, 31)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
