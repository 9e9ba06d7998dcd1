"""Monthly billing periods anchored at the moment a subscription started.

A subscription that starts at instant *A* (UTC) is billed for the periods
``[A + n months, A + (n + 1) months)``, n = 0, 1, 2, ... "A + n months" keeps
A's time of day, down to the nanosecond, and its day of the month, clamped to
the length of the target month. Every boundary is computed from the anchor,
never from the previous boundary, so a subscription started on 31 January
2028 is billed 31 Jan - 29 Feb (2028 is a leap year), 29 Feb - 31 Mar,
31 Mar - 30 Apr, and is back on the 31st whenever a month has one. One that
started on 29 February 2028 is billed on the 29th of every month, and on
28 February in the years without a 29th.

Periods are wall time (UTC, Unix time: no leap seconds) because an invoice is
a calendar document: "1 March to 1 April". Which wall-clock reading places an
event in a period is the business of `phyxius`' journal stamps and of
`examples.event_sourced_saas._state` (see ``effective time`` there).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, final

__all__ = ["DAY_NS", "BillingCycle", "BillingPeriod", "add_months", "iso"]

SECOND_NS: Final = 1_000_000_000
DAY_NS: Final = 86_400 * SECOND_NS
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, its day clamped to the month."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def iso(wall_ns: int) -> str:
    """A wall time in nanoseconds as ISO 8601 in UTC, to the microsecond when needed.

    ``2028-02-29T09:00:00Z``; a reading with a fraction of a second keeps its
    microseconds (the nanoseconds below are dropped, for reading only).
    """
    moment = _EPOCH + timedelta(microseconds=wall_ns // 1_000)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


@final
@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """One billing period: ``start_ns <= t < end_ns`` in wall nanoseconds (UTC)."""

    index: int
    """0 for the period the subscription started in, then 1, 2, ..."""

    start_ns: int
    end_ns: int

    @property
    def length_ns(self) -> int:
        """How long the period is; months differ, so periods do too."""
        return self.end_ns - self.start_ns

    def contains(self, wall_ns: int) -> bool:
        """Whether ``wall_ns`` falls in this period."""
        return self.start_ns <= wall_ns < self.end_ns

    def __str__(self) -> str:
        return f"period {self.index} [{iso(self.start_ns)}, {iso(self.end_ns)})"


@final
@dataclass(frozen=True, slots=True)
class BillingCycle:
    """The monthly periods of a subscription that started at ``anchor_ns``."""

    anchor_ns: int
    """The wall time the subscription started, in nanoseconds since the epoch."""

    def period(self, index: int) -> BillingPeriod:
        """Billing period number ``index`` (0 is the first)."""
        if index < 0:
            raise ValueError(f"index={index!r} must be 0 or more")
        return BillingPeriod(index, self._start(index), self._start(index + 1))

    def period_at(self, wall_ns: int) -> BillingPeriod:
        """The period that holds ``wall_ns``; period 0 for a time before the anchor."""
        if wall_ns < self.anchor_ns:
            return self.period(0)
        anchor_day = self._anchor_day()
        moment = (_EPOCH + timedelta(microseconds=wall_ns // 1_000)).date()
        # A first guess from the calendar months between the two dates, then
        # a step either way: clamped days make the guess off by at most one.
        index = max(
            0, (moment.year - anchor_day.year) * 12 + moment.month - anchor_day.month
        )
        while index > 0 and self._start(index) > wall_ns:
            index -= 1
        while self._start(index + 1) <= wall_ns:
            index += 1
        return self.period(index)

    def _anchor_day(self) -> date:
        return (_EPOCH + timedelta(microseconds=self.anchor_ns // 1_000)).date()

    def _start(self, index: int) -> int:
        # Moving by whole calendar days keeps the anchor's time of day to the
        # nanosecond, whatever its fraction of a second.
        anchor_day = self._anchor_day()
        days = (add_months(anchor_day, index) - anchor_day).days
        return self.anchor_ns + days * DAY_NS
