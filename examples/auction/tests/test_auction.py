"""The auction house on a controlled clock: bids, closing, soft close, NTP jumps."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from examples.auction import (
    AuctionClosed,
    AuctionHouse,
    AuctionStatus,
    BidRejected,
    RejectionReason,
    UnknownAuctionError,
)
from phyxius import Event
from phyxius.clock import ControlledClock

SECOND = 1_000_000_000
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def house(controlled_clock: ControlledClock, events: list[Event]) -> AuctionHouse:
    return AuctionHouse(
        controlled_clock, snipe_window=30, extension=60, emit=events.append
    )


@pytest.fixture
def closings(house: AuctionHouse) -> list[AuctionClosed]:
    received: list[AuctionClosed] = []
    house.subscribe(received.append)
    return received


def open_guitar(house: AuctionHouse, minutes: float = 10) -> str:
    auction = house.open(
        "1962 Gibson ES-335",
        duration=timedelta(minutes=minutes),
        starting_price=100_000,
        min_increment=500,
    )
    return auction.id


# -- bids -----------------------------------------------------------------------


def test_the_first_bid_must_reach_the_starting_price(house: AuctionHouse) -> None:
    auction_id = open_guitar(house)

    with pytest.raises(
        BidRejected, match=r"^bid of 99999 by ada on A1 is too low; "
    ) as low:
        house.bid(auction_id, "ada", 99_999)
    bid = house.bid(auction_id, "ada", 100_000)

    assert low.value.reason is RejectionReason.TOO_LOW
    assert low.value.minimum == 100_000
    assert bid.amount == 100_000
    assert house.get(auction_id).best == bid


def test_each_bid_must_beat_the_best_by_the_minimum_increment(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    auction_id = open_guitar(house)
    house.bid(auction_id, "ada", 100_000)
    controlled_clock.advance(10)

    with pytest.raises(BidRejected) as low:
        house.bid(auction_id, "grace", 100_499)
    accepted = house.bid(auction_id, "grace", 100_500)

    assert low.value.minimum == 100_500
    assert str(low.value) == (
        "bid of 100499 by grace on A1 is too low; the minimum is 100500"
    )
    assert accepted.placed_at == controlled_clock.now()
    auction = house.get(auction_id)
    assert [bid.bidder for bid in auction.bids] == ["ada", "grace"]
    assert auction.minimum_bid == 101_000


def test_a_rejected_bid_changes_nothing(
    house: AuctionHouse, events: list[Event]
) -> None:
    auction_id = open_guitar(house)
    house.bid(auction_id, "ada", 100_000)
    auction = house.get(auction_id)
    before = (list(auction.bids), auction.closes_at_mono_ns, auction.extensions)

    with pytest.raises(BidRejected):
        house.bid(auction_id, "grace", 100_000)

    assert (list(auction.bids), auction.closes_at_mono_ns, auction.extensions) == before
    assert events[-1].type == "auction.bid_rejected"
    assert dict(events[-1].data) == {
        "auction": auction_id,
        "bidder": "grace",
        "amount": 100_000,
        "reason": "too_low",
    }


@pytest.mark.parametrize(
    ("bidder", "amount", "error", "message"),
    [
        ("", 100_000, ValueError, r"^bidder='' must be a non-empty name$"),
        ("ada", 1000.5, TypeError, r"^amount=1000\.5 \(type=float\) must be whole "),
        ("ada", True, TypeError, r"^amount=True \(type=bool\) must be whole cents"),
        ("ada", -5, ValueError, r"^amount=-5 must be a positive number of cents$"),
    ],
    ids=["no-bidder", "float", "bool", "negative"],
)
def test_malformed_bids_are_programming_errors_that_change_nothing(
    house: AuctionHouse,
    bidder: str,
    amount: object,
    error: type[Exception],
    message: str,
) -> None:
    auction_id = open_guitar(house)

    with pytest.raises(error, match=message):
        house.bid(auction_id, bidder, amount)  # type: ignore[arg-type]

    assert house.get(auction_id).bids == []


def test_an_unknown_auction_is_a_key_error(house: AuctionHouse) -> None:
    with pytest.raises(UnknownAuctionError):
        house.bid("A99", "ada", 100_000)
    with pytest.raises(KeyError):
        house.get("A99")


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"duration": 0}, ValueError, r"^duration=0 leaves no time to bid; "),
        ({"duration": -1}, ValueError, r"^duration=-1 is negative; "),
        ({"starting_price": 0}, ValueError, r"^starting_price=0 must be a positive "),
        ({"min_increment": 0.5}, TypeError, r"^min_increment=0\.5 \(type=float\) "),
        ({"item": " "}, ValueError, r"^item=' ' must be a non-empty name$"),
    ],
    ids=["zero-duration", "negative-duration", "free", "fractional-step", "no-item"],
)
def test_opening_validates_its_arguments(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    arguments: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    options: dict[str, object] = {
        "item": "lamp",
        "duration": 60,
        "starting_price": 1_000,
        "min_increment": 100,
    }
    options.update(arguments)

    with pytest.raises(error, match=message):
        house.open(**options)  # type: ignore[arg-type]

    assert controlled_clock.pending() == []


# -- closing ------------------------------------------------------------------------


def test_the_auction_closes_exactly_at_its_end_time(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    auction_id = open_guitar(house, minutes=10)
    house.bid(auction_id, "ada", 100_000)
    house.bid(auction_id, "grace", 120_000)

    controlled_clock.advance(timedelta(minutes=10) - timedelta(microseconds=1))
    assert house.get(auction_id).status is AuctionStatus.OPEN
    assert closings == []
    controlled_clock.advance(0.000001)

    assert house.get(auction_id).status is AuctionStatus.CLOSED
    assert closings == [
        AuctionClosed(
            auction_id=auction_id,
            item="1962 Gibson ES-335",
            winner="grace",
            price=120_000,
            bids=2,
            extensions=0,
            closed_at=controlled_clock.now(),
        )
    ]
    assert closings[0].closed_at.datetime == START + timedelta(minutes=10)
    assert controlled_clock.pending() == []


def test_an_auction_nobody_bid_on_closes_without_a_winner(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    open_guitar(house)

    controlled_clock.advance(timedelta(hours=1))

    assert [(closed.winner, closed.price, closed.bids) for closed in closings] == [
        (None, None, 0)
    ]


def test_a_bid_after_the_close_is_rejected(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    auction_id = open_guitar(house)
    controlled_clock.advance(timedelta(minutes=10))

    with pytest.raises(
        BidRejected, match=r"^A1 closed; bid of 100000 by ada is too late$"
    ) as late:
        house.bid(auction_id, "ada", 100_000)

    assert late.value.reason is RejectionReason.CLOSED
    assert late.value.minimum is None


def test_a_bid_at_the_closing_instant_is_late_even_before_the_timer_runs(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    # A busy loop runs the closing timer a little after its due time; the
    # closing instant still decides. Simulate the busy loop by reading the
    # clock from a timer that is due at the same instant but runs first.
    outcome: list[object] = []

    def bid_at_the_bell() -> None:
        try:
            house.bid("A1", "sniper", 500_000)
        except BidRejected as rejected:
            outcome.append(rejected.reason)

    controlled_clock.call_later(600, bid_at_the_bell)
    open_guitar(house)
    controlled_clock.advance(600)

    assert outcome == [RejectionReason.CLOSED]
    assert len(closings) == 1
    assert closings[0].closed_at.mono_ns == 600 * SECOND


# -- anti-sniping -----------------------------------------------------------------


def test_a_bid_in_the_last_seconds_extends_the_auction(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
    events: list[Event],
) -> None:
    auction_id = open_guitar(house, minutes=10)
    controlled_clock.advance(timedelta(minutes=9, seconds=50))

    house.bid(auction_id, "sniper", 100_000)
    auction = house.get(auction_id)

    assert auction.closes_at_mono_ns == (590 + 60) * SECOND
    assert auction.ends_at() == START + timedelta(seconds=650)
    assert auction.time_left() == 60.0
    controlled_clock.advance(10)
    assert auction.status is AuctionStatus.OPEN

    controlled_clock.advance(50)
    assert [closed.extensions for closed in closings] == [1]
    assert closings[0].closed_at.mono_ns == 650 * SECOND
    (extended,) = [event for event in events if event.type == "auction.extended"]
    assert dict(extended.data) == {
        "auction": auction_id,
        "by_ns": 50 * SECOND,
        "extensions": 1,
    }


def test_a_bid_just_outside_the_window_does_not_extend(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    auction_id = open_guitar(house, minutes=10)
    controlled_clock.advance(timedelta(minutes=9, seconds=29, microseconds=999_999))

    house.bid(auction_id, "early", 100_000)

    assert house.get(auction_id).closes_at_mono_ns == 600 * SECOND
    assert house.get(auction_id).extensions == 0


def test_a_bidding_war_keeps_extending_until_the_bids_stop(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    auction_id = open_guitar(house, minutes=1)
    controlled_clock.advance(59)
    amount = 100_000
    for bidder in ["ada", "grace"] * 5:
        house.bid(auction_id, bidder, amount)
        amount += 500
        controlled_clock.advance(45)

    assert closings == []
    controlled_clock.advance(15)
    assert [(c.winner, c.price, c.bids, c.extensions) for c in closings] == [
        ("grace", 104_500, 10, 10)
    ]
    assert closings[0].closed_at.mono_ns == (59 + 45 * 9 + 60) * SECOND


def test_the_soft_close_never_shortens_an_auction() -> None:
    clock = ControlledClock()
    house = AuctionHouse(clock, snipe_window=60, extension=5)
    auction = house.open("vase", duration=30, starting_price=100)

    clock.advance(10)
    house.bid(auction.id, "ada", 100)

    assert auction.closes_at_mono_ns == 30 * SECOND
    assert auction.extensions == 0


# -- wall-clock jumps ------------------------------------------------------------


def test_an_ntp_correction_backwards_does_not_keep_the_auction_open(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    auction_id = open_guitar(house, minutes=10)
    controlled_clock.advance(60)

    # The wall clock was an hour fast; NTP steps it back.
    controlled_clock.jump_wall(by=timedelta(hours=-1))
    auction = house.get(auction_id)
    assert auction.ends_at() == START + timedelta(minutes=10) - timedelta(hours=1)
    assert auction.time_left() == 540.0

    controlled_clock.advance(540)

    assert auction.status is AuctionStatus.CLOSED
    assert len(closings) == 1
    assert closings[0].closed_at.mono_ns == 600 * SECOND
    # Reported times are wall times, and the wall clock was corrected.
    assert closings[0].closed_at.datetime == START + timedelta(minutes=10, hours=-1)
    with pytest.raises(BidRejected):
        house.bid(auction_id, "ada", 100_000)


def test_an_ntp_correction_forwards_does_not_close_the_auction_early(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
) -> None:
    auction_id = open_guitar(house, minutes=10)
    controlled_clock.advance(60)

    # The wall clock was a day slow; NTP steps it forward, far past the end.
    controlled_clock.jump_wall(by=timedelta(days=1))
    controlled_clock.advance(539)

    assert closings == []
    assert house.bid(auction_id, "ada", 100_000).amount == 100_000
    controlled_clock.advance(60)
    assert [closed.closed_at.mono_ns for closed in closings] == [659 * SECOND]
    assert closings[0].closed_at.datetime == START + timedelta(days=1, seconds=659)


def test_a_wall_jump_inside_the_snipe_window_changes_nothing(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    auction_id = open_guitar(house, minutes=10)
    controlled_clock.advance(580)
    controlled_clock.jump_wall(to=datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC))

    house.bid(auction_id, "sniper", 100_000)

    assert house.get(auction_id).closes_at_mono_ns == (580 + 60) * SECOND


# -- notifications -------------------------------------------------------------


def test_subscribers_are_notified_in_order_and_can_unsubscribe(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    heard: list[str] = []
    house.subscribe(lambda closed: heard.append(f"first:{closed.auction_id}"))
    stop = house.subscribe(lambda closed: heard.append(f"second:{closed.auction_id}"))
    house.subscribe(lambda closed: heard.append(f"third:{closed.auction_id}"))
    open_guitar(house, minutes=1)
    open_guitar(house, minutes=2)

    controlled_clock.advance(60)
    stop()
    stop()
    controlled_clock.advance(60)

    assert heard == ["first:A1", "second:A1", "third:A1", "first:A2", "third:A2"]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    house: AuctionHouse,
    controlled_clock: ControlledClock,
    closings: list[AuctionClosed],
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_mailer(closed: AuctionClosed) -> None:
        raise ConnectionError("smtp down")

    house.subscribe(broken_mailer)
    late_listener: list[str] = []
    house.subscribe(lambda closed: late_listener.append(closed.auction_id))
    open_guitar(house, minutes=1)

    with caplog.at_level(logging.ERROR, logger="examples.auction"):
        controlled_clock.advance(60)

    assert len(closings) == 1
    assert late_listener == ["A1"]
    (record,) = caplog.records
    assert record.getMessage().startswith("subscriber <function ")
    assert record.getMessage().endswith(" failed on the closing of A1")
    assert events[-1].type == "auction.subscriber_failed"
    assert events[-1].data["error"] == "ConnectionError('smtp down')"


def test_every_step_is_an_event(
    house: AuctionHouse, controlled_clock: ControlledClock, events: list[Event]
) -> None:
    auction_id = open_guitar(house, minutes=1)
    controlled_clock.advance(40)
    house.bid(auction_id, "ada", 100_000)
    with pytest.raises(BidRejected):
        house.bid(auction_id, "grace", 100_100)
    controlled_clock.advance(60)

    assert [(event.type, event.at.mono_ns // SECOND) for event in events] == [
        ("auction.opened", 0),
        ("auction.bid_accepted", 40),
        ("auction.extended", 40),
        ("auction.bid_rejected", 40),
        ("auction.closed", 100),
    ]
    assert events[-1].data == {
        "auction": auction_id,
        "winner": "ada",
        "price": 100_000,
        "bids": 1,
    }


# -- async: bidders as tasks on virtual time -----------------------------------------


async def test_bidders_as_tasks_on_virtual_time(
    house: AuctionHouse, controlled_clock: ControlledClock
) -> None:
    auction_id = open_guitar(house, minutes=5)

    async def bidder(name: str, every: float, ceiling: int) -> int:
        placed = 0
        auction = house.get(auction_id)
        while auction.closed is None:
            await controlled_clock.sleep(every)
            offer = auction.minimum_bid
            if offer > ceiling:
                return placed
            try:
                house.bid(auction_id, name, offer)
                placed += 1
            except BidRejected:
                return placed
        return placed

    tasks = [
        asyncio.create_task(bidder("ada", 50, 103_000)),
        asyncio.create_task(bidder("grace", 70, 110_000)),
    ]
    closed = await house.wait_closed(auction_id)
    placed = await asyncio.gather(*tasks)

    assert closed.winner == "grace"
    # grace's bid at 280 s lands in the last 30 s: the close moves to 340 s.
    assert closed.extensions == 1
    assert closed.closed_at.mono_ns == 340 * SECOND
    assert sum(placed) == closed.bids
    assert await house.wait_closed(auction_id) is closed
