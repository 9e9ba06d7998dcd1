"""Billing periods on the clock: across a month end, a leap day and wall-clock steps.

These run the whole service (a worker per tenant, billing on its timer) on
``controlled_clock``'s virtual-time loop, and read the invoices back from the
journal. Usage is placed to the nanosecond on either side of a boundary, so
each test says exactly which period a call is billed in and when the worker
closes the period.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from examples.event_sourced_saas import BillingCycle, EventStore, SaasService
from examples.event_sourced_saas.tests._helpers import invoices, of_type
from phyxius.clock import ControlledClock

NS = 1_000_000_000
HOUR = 3600


def wall_ns(moment: datetime) -> int:
    """``moment`` (aware, whole microseconds) as wall nanoseconds."""
    return int(moment.timestamp()) * NS + moment.microsecond * 1_000


async def sleep_until_ns(clock: ControlledClock, target_ns: int) -> None:
    """Sleep until the wall clock reads exactly ``target_ns``.

    A `timedelta` carries whole microseconds, so the rest of the way is slept
    as a float of nanoseconds, which the clock reads as written.
    """
    left = target_ns - clock.wall_ns()
    await clock.sleep(timedelta(microseconds=left // 1_000))
    if left % 1_000:
        await clock.sleep(left % 1_000 / NS)
    assert clock.wall_ns() == target_ns


async def sleep_until(clock: ControlledClock, moment: datetime) -> None:
    """Sleep until the wall clock reads ``moment``."""
    await sleep_until_ns(clock, wall_ns(moment))


def periods(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each invoice's period, as ``(from, to)``."""
    return [(invoice["from"], invoice["to"]) for invoice in entries]


def lines(invoice: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Each line of ``invoice`` as ``(kind, plan, cents)``."""
    return [(line["kind"], line["plan"], line["amount"]) for line in invoice["lines"]]


@pytest.mark.phyxius(start="2028-01-15T10:00:00Z")
async def test_a_period_across_a_month_end_takes_usage_up_to_the_last_nanosecond(
    service: SaasService, events: EventStore, controlled_clock: ControlledClock
) -> None:
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    end = wall_ns(datetime(2028, 2, 15, 10, tzinfo=UTC))
    month_end = wall_ns(datetime(2028, 2, 1, tzinfo=UTC))

    await sleep_until_ns(controlled_clock, month_end - 1)
    await service.record_usage("acme", 1_000, key="last-ns-of-january")
    await sleep_until_ns(controlled_clock, month_end)
    await service.record_usage("acme", 2_000, key="first-ns-of-february")
    await sleep_until_ns(controlled_clock, end - 1)
    await service.record_usage("acme", 4_000, key="last-ns-of-the-period")
    await sleep_until_ns(controlled_clock, end)
    at_the_end = await service.record_usage("acme", 8_000, key="at-the-end")
    await asyncio.sleep(HOUR)

    (issued,) = of_type(events.stream("acme"), "invoice.issued")
    invoice = issued.data["invoice"]
    assert periods([invoice]) == [("2028-01-15T10:00:00Z", "2028-02-15T10:00:00Z")]
    assert invoice["calls"] == 1_000 + 2_000 + 4_000
    assert lines(invoice) == [("subscription", "starter", 4_900)]
    # The worker's timer fired at the end of the period, to the nanosecond.
    assert issued.at.wall_ns == end
    # A call at the end belongs to the next period, whichever of the request
    # and the billing check the worker took first.
    next_period = at_the_end.state.cycle.period(1)
    assert (next_period.start_ns, at_the_end.state.calls_in(next_period)) == (
        end,
        8_000,
    )
    state = await service.state("acme")
    assert state is not None
    assert (state.billed, state.calls_in(state.open_period)) == (1, 8_000)


@pytest.mark.parametrize(
    ("days", "usage_day", "fees"),
    [
        pytest.param(
            28,
            "2027-02-28",
            # 14 of 28 days on each plan: halves of each fee.
            [("subscription", "starter", 2_450), ("subscription", "growth", 9_950)],
            marks=pytest.mark.phyxius(start="2027-02-15T12:00:00Z"),
            id="2027",
        ),
        pytest.param(
            29,
            "2028-02-29",
            # 15 and 14 of 29 days: 4,900 * 15/29 = 2,534.48 and
            # 19,900 * 14/29 = 9,606.90.
            [("subscription", "starter", 2_534), ("subscription", "growth", 9_607)],
            marks=pytest.mark.phyxius(start="2028-02-15T12:00:00Z"),
            id="2028-leap-year",
        ),
    ],
)
async def test_a_period_across_the_leap_day_is_a_day_longer_and_prorated_by_it(
    service: SaasService,
    events: EventStore,
    controlled_clock: ControlledClock,
    days: int,
    usage_day: str,
    fees: list[tuple[str, str, int]],
) -> None:
    year = controlled_clock.now().datetime.year
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    last_day = datetime.fromisoformat(f"{usage_day}T23:59:59+00:00")
    await sleep_until(controlled_clock, last_day)
    await service.record_usage("acme", 50_000, key="last-day-of-february")
    await sleep_until(controlled_clock, datetime(year, 3, 1, 12, tzinfo=UTC))
    await service.change_plan("acme", "growth")
    await sleep_until(controlled_clock, datetime(year, 3, 15, 13, tzinfo=UTC))

    (invoice,) = invoices(events.stream("acme"))
    start, end = (datetime.fromisoformat(moment) for moment in periods([invoice])[0])
    assert (start.date().isoformat(), end.date().isoformat()) == (
        f"{year}-02-15",
        f"{year}-03-15",
    )
    assert end - start == timedelta(days=days)
    assert invoice["calls"] == 50_000
    assert lines(invoice) == fees


@pytest.mark.phyxius(start="2028-02-29T12:00:00Z")
async def test_a_subscription_started_on_a_leap_day_is_billed_on_the_28th_without_one(
    service: SaasService, events: EventStore, controlled_clock: ControlledClock
) -> None:
    await service.create_tenant("acme", name="Acme", plan="growth", owner="ada@acme.io")

    await sleep_until(controlled_clock, datetime(2029, 3, 29, 13, tzinfo=UTC))

    issued = invoices(events.stream("acme"))
    assert len(issued) == 13
    assert periods(issued)[:2] == [
        ("2028-02-29T12:00:00Z", "2028-03-29T12:00:00Z"),
        ("2028-03-29T12:00:00Z", "2028-04-29T12:00:00Z"),
    ]
    assert periods(issued)[11:] == [
        ("2029-01-29T12:00:00Z", "2029-02-28T12:00:00Z"),
        ("2029-02-28T12:00:00Z", "2029-03-29T12:00:00Z"),
    ]
    # Twelve periods from 28 to 31 days long, each billed the whole fee.
    assert {invoice["total"] for invoice in issued} == {19_900}


# -- steps of the wall clock ----------------------------------------------------------

CYCLE = BillingCycle(wall_ns(datetime(2028, 1, 31, 9, tzinfo=UTC)))
"""The periods of a subscription started at the tests' start, 31 January 2028."""


@pytest.mark.phyxius(start="2028-01-31T09:00:00Z")
async def test_a_wall_clock_step_back_before_the_end_delays_the_invoice_to_the_end(
    service: SaasService, events: EventStore, controlled_clock: ControlledClock
) -> None:
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    end = CYCLE.period(0).end_ns
    await sleep_until_ns(controlled_clock, end - HOUR * NS // 2)

    # Half an hour before the end, NTP steps the wall clock back an hour: the
    # period now ends an hour and a half of (monotonic) time from here, and
    # usage recorded meanwhile is still in it.
    controlled_clock.jump_wall(by=timedelta(hours=-1))
    stepped_at = controlled_clock.monotonic_ns()
    await asyncio.sleep(HOUR)
    await service.record_usage("acme", 20_000, key="after-the-step")
    await asyncio.sleep(HOUR)

    (issued,) = of_type(events.stream("acme"), "invoice.issued")
    assert issued.data["invoice"]["calls"] == 20_000
    assert issued.at.wall_ns == end
    assert issued.at.mono_ns - stepped_at == 3 * HOUR * NS // 2


@pytest.mark.phyxius(start="2028-01-31T09:00:00Z")
async def test_a_wall_clock_step_back_never_reopens_an_invoiced_period(
    service: SaasService, events: EventStore, controlled_clock: ControlledClock
) -> None:
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    await service.record_usage("acme", 150_000, key="february")
    await sleep_until_ns(controlled_clock, CYCLE.period(0).end_ns + NS)
    assert [i["calls"] for i in invoices(events.stream("acme"))] == [150_000]

    # NTP steps the wall clock back two days, to 27 February: usage recorded
    # now is stamped in period 0, which is invoiced already.
    controlled_clock.jump_wall(by=timedelta(days=-2))
    late = await service.record_usage("acme", 7_000, key="late")
    assert late.entry.at.datetime == datetime(2028, 2, 27, 9, 0, 1, tzinfo=UTC)

    # Its effective time is the last the tenant saw: when the invoice was paid.
    state = late.state
    (paid,) = of_type(events.stream("acme"), "invoice.paid")
    assert state.clock_ns == paid.at.wall_ns
    assert state.calls_in(CYCLE.period(1)) == 7_000
    # Period 1 ends when the wall clock reads 31 March 09:00: two days of
    # monotonic time later than it would have without the step.
    await sleep_until_ns(controlled_clock, CYCLE.period(1).end_ns + NS)
    assert [i["calls"] for i in invoices(events.stream("acme"))] == [150_000, 7_000]


@pytest.mark.phyxius(start="2028-01-31T09:00:00Z")
async def test_a_wall_clock_step_forward_closes_the_period_within_check_every(
    service: SaasService, events: EventStore, controlled_clock: ControlledClock
) -> None:
    await service.create_tenant(
        "acme", name="Acme", plan="starter", owner="ada@acme.io"
    )
    await service.record_usage("acme", 30_000, key="before")
    await sleep_until(controlled_clock, datetime(2028, 2, 20, 10, tzinfo=UTC))

    # The wall clock was ten days slow; NTP steps it to 1 March, past the
    # end of period 0. The worker's next check (at most six hours away, see
    # BILLING) closes the period.
    controlled_clock.jump_wall(by=timedelta(days=10))
    stepped_at = controlled_clock.monotonic_ns()
    await asyncio.sleep(6 * HOUR)
    (invoice,) = of_type(events.stream("acme"), "invoice.issued")
    assert invoice.at.mono_ns - stepped_at <= 6 * HOUR * NS
    assert invoice.data["invoice"]["calls"] == 30_000

    # Then a bad time server steps it back ten days.
    controlled_clock.jump_wall(by=timedelta(days=-10))
    after = await service.record_usage("acme", 4_000, key="after")
    # The tenant's time does not go back with the wall clock.
    assert after.state.clock_ns >= invoice.at.wall_ns
    assert after.state.calls_in(CYCLE.period(1)) == 4_000
    assert [i["calls"] for i in invoices(events.stream("acme"))] == [30_000]
