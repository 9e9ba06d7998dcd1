"""An auction house written against the `Clock` protocol.

Time enters this module only through the clock it is given: production passes
a `SystemClock`, tests pass a `ControlledClock`, and nothing else changes.

Closing is driven by *monotonic* time. An auction remembers the monotonic
instant at which it closes and schedules its closing with ``call_later``, so a
correction of the system clock (NTP stepping the wall clock back an hour, or
forward a day) neither keeps an auction open for ever nor closes it early.
What the house *reports* is wall time: the end time shown to bidders is "now"
on the wall clock plus the monotonic time left, and every bid and closing
carries the clock's full reading.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, final

from phyxius import Clock, Duration, Emit, Event, Instant, to_nanoseconds

__all__ = [
    "Auction",
    "AuctionClosed",
    "AuctionHouse",
    "AuctionStatus",
    "Bid",
    "BidRejected",
    "RejectionReason",
    "UnknownAuctionError",
]

logger = logging.getLogger("examples.auction")

NANOS_PER_SECOND = 1_000_000_000


class AuctionStatus(enum.Enum):
    """Whether an auction still takes bids."""

    OPEN = "open"
    CLOSED = "closed"


class RejectionReason(enum.Enum):
    """Why a well-formed bid was turned down."""

    CLOSED = "closed"
    """The auction had closed (or its closing instant had come) before the bid."""

    TOO_LOW = "too_low"
    """The bid was below the starting price or did not beat the best bid by the
    minimum increment."""


class BidRejected(Exception):
    """A well-formed bid the auction cannot accept; ``reason`` says why.

    ``minimum`` is the lowest amount, in cents, the auction would have accepted
    at that moment (None once it has closed).
    """

    def __init__(
        self, message: str, *, reason: RejectionReason, minimum: int | None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.minimum = minimum


class UnknownAuctionError(KeyError):
    """No auction with that id was ever opened in this house."""


@final
@dataclass(frozen=True, slots=True)
class Bid:
    """An accepted bid: who, how much (in cents), and the clock's reading then."""

    bidder: str
    amount: int
    placed_at: Instant


@final
@dataclass(frozen=True, slots=True)
class AuctionClosed:
    """The notification every subscriber receives when an auction closes."""

    auction_id: str
    item: str
    winner: str | None
    """The best bidder, or None when nobody bid."""
    price: int | None
    """The winning amount in cents, or None when nobody bid."""
    bids: int
    """How many bids were accepted."""
    extensions: int
    """How many times a late bid pushed the closing back."""
    closed_at: Instant
    """The clock's reading when the auction closed."""


@final
class Auction:
    """One lot under the hammer. Read it; change it only through the house."""

    def __init__(
        self,
        house: AuctionHouse,
        auction_id: str,
        item: str,
        *,
        starting_price: int,
        min_increment: int,
        closes_at_mono_ns: int,
    ) -> None:
        self._house = house
        self.id = auction_id
        self.item = item
        self.starting_price = starting_price
        self.min_increment = min_increment
        self.status = AuctionStatus.OPEN
        self.bids: list[Bid] = []
        self.extensions = 0
        self.closed: AuctionClosed | None = None

        # Invariant: while OPEN, the house holds exactly one closing timer for
        # this auction, due at `closes_at_mono_ns` (monotonic, never wall).
        self.closes_at_mono_ns = closes_at_mono_ns

    @property
    def best(self) -> Bid | None:
        """The highest accepted bid so far."""
        return self.bids[-1] if self.bids else None

    @property
    def minimum_bid(self) -> int:
        """The lowest amount, in cents, the next bid may offer."""
        best = self.best
        return self.starting_price if best is None else best.amount + self.min_increment

    def time_left(self) -> float:
        """Seconds of monotonic time until the auction closes (0 once closed)."""
        if self.status is AuctionStatus.CLOSED:
            return 0.0
        now = self._house.clock.now()
        return max(0, self.closes_at_mono_ns - now.mono_ns) / NANOS_PER_SECOND

    def ends_at(self) -> datetime:
        """When the auction ends (or ended), as wall time, in UTC.

        While open, it is the wall clock's current reading plus the monotonic
        time left, so it follows a correction of the wall clock the way a
        bidder's own watch would; the closing itself does not move.
        """
        if self.closed is not None:
            return self.closed.closed_at.datetime
        now = self._house.clock.now()
        left = max(0, self.closes_at_mono_ns - now.mono_ns)
        return Instant(mono_ns=now.mono_ns + left, wall_ns=now.wall_ns + left).datetime

    def __repr__(self) -> str:
        return (
            f"<Auction {self.id} {self.item!r} {self.status.value} "
            f"best={self.best.amount if self.best else None}>"
        )


@final
class AuctionHouse:
    """Runs auctions on a clock: bids, closing, anti-sniping, notifications.

    A bid placed when at most ``snipe_window`` is left pushes the closing back
    to ``extension`` after that bid (a "soft close"), so a last-second bid
    always leaves the others time to answer. Amounts are integer cents.
    ``emit`` receives an `Event` for every opening, bid (accepted or
    rejected), extension and closing.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        snipe_window: Duration = 30,
        extension: Duration = 30,
        emit: Emit | None = None,
    ) -> None:
        self.clock = clock
        self.snipe_window_ns = to_nanoseconds(snipe_window, name="snipe_window")
        self.extension_ns = to_nanoseconds(extension, name="extension")
        self._emit = emit
        self._auctions: dict[str, Auction] = {}
        self._timers: dict[str, Any] = {}
        self._subscribers: list[Callable[[AuctionClosed], object]] = []
        self._waiters: dict[str, list[asyncio.Future[AuctionClosed]]] = {}
        self._ids: Iterator[int] = itertools.count(1)

    # -- opening and reading --------------------------------------------------

    def open(
        self,
        item: str,
        *,
        duration: Duration,
        starting_price: int,
        min_increment: int = 100,
    ) -> Auction:
        """Open an auction for ``item`` that closes ``duration`` from now."""
        duration_ns = to_nanoseconds(duration, name="duration")
        if duration_ns == 0:
            raise ValueError("duration=0 leaves no time to bid; pass a positive one")
        _require_cents(starting_price, "starting_price")
        _require_cents(min_increment, "min_increment")
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"item={item!r} must be a non-empty name")

        now = self.clock.now()
        auction = Auction(
            self,
            f"A{next(self._ids)}",
            item,
            starting_price=starting_price,
            min_increment=min_increment,
            closes_at_mono_ns=now.mono_ns + duration_ns,
        )
        self._auctions[auction.id] = auction
        self._schedule_close(auction, duration_ns)
        self._event(
            "auction.opened",
            {
                "auction": auction.id,
                "item": item,
                "closes_in_ns": duration_ns,
                "starting_price": starting_price,
            },
        )
        return auction

    def get(self, auction_id: str) -> Auction:
        """The auction with that id."""
        try:
            return self._auctions[auction_id]
        except KeyError:
            raise UnknownAuctionError(auction_id) from None

    # -- bidding ---------------------------------------------------------------

    def bid(self, auction_id: str, bidder: str, amount: int) -> Bid:
        """Place a bid of ``amount`` cents; return it, or raise `BidRejected`."""
        auction = self.get(auction_id)
        if not isinstance(bidder, str) or not bidder.strip():
            raise ValueError(f"bidder={bidder!r} must be a non-empty name")
        _require_cents(amount, "amount")

        now = self.clock.now()
        # The closing instant belongs to the closing: a bid that arrives at it
        # or after it is late even when the closing timer has not run yet
        # (a busy event loop runs it a little after its due time).
        if auction.status is AuctionStatus.OPEN and now.mono_ns >= (
            auction.closes_at_mono_ns
        ):
            self._close(auction.id)
        if auction.status is AuctionStatus.CLOSED:
            self._reject(auction, bidder, amount, RejectionReason.CLOSED, None)
        minimum = auction.minimum_bid
        if amount < minimum:
            self._reject(auction, bidder, amount, RejectionReason.TOO_LOW, minimum)

        bid = Bid(bidder, amount, now)
        auction.bids.append(bid)
        self._event(
            "auction.bid_accepted",
            {"auction": auction.id, "bidder": bidder, "amount": amount},
        )

        left_ns = auction.closes_at_mono_ns - now.mono_ns
        if left_ns <= self.snipe_window_ns and self.extension_ns > left_ns:
            self._extend(auction, now.mono_ns + self.extension_ns)
        return bid

    # -- notifications ------------------------------------------------------------

    def subscribe(
        self, subscriber: Callable[[AuctionClosed], object]
    ) -> Callable[[], None]:
        """Call ``subscriber(AuctionClosed)`` at every closing; returns an unsubscribe.

        Subscribers run in subscription order. One that raises is logged to
        ``examples.auction`` and emitted as ``auction.subscriber_failed``; the
        others are still notified.
        """
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    async def wait_closed(self, auction_id: str) -> AuctionClosed:
        """Wait until the auction closes and return its notification."""
        auction = self.get(auction_id)
        if auction.closed is not None:
            return auction.closed
        future: asyncio.Future[AuctionClosed] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.setdefault(auction_id, []).append(future)
        return await future

    # -- closing ----------------------------------------------------------------

    def _schedule_close(self, auction: Auction, delay_ns: int) -> None:
        self._timers[auction.id] = self.clock.call_later(
            delay_ns / NANOS_PER_SECOND, self._close, auction.id
        )

    def _extend(self, auction: Auction, closes_at_mono_ns: int) -> None:
        previous = auction.closes_at_mono_ns
        auction.closes_at_mono_ns = closes_at_mono_ns
        auction.extensions += 1
        self._timers[auction.id].cancel()
        self._schedule_close(auction, closes_at_mono_ns - self.clock.now().mono_ns)
        self._event(
            "auction.extended",
            {
                "auction": auction.id,
                "by_ns": closes_at_mono_ns - previous,
                "extensions": auction.extensions,
            },
        )

    def _close(self, auction_id: str) -> None:
        auction = self._auctions[auction_id]
        if auction.status is AuctionStatus.CLOSED:
            return
        now = self.clock.now()
        if now.mono_ns < auction.closes_at_mono_ns:
            # Seconds as a float can land a hair early on a real clock; the
            # monotonic instant decides, so wait out the rest.
            self._schedule_close(auction, auction.closes_at_mono_ns - now.mono_ns)
            return

        auction.status = AuctionStatus.CLOSED
        self._timers.pop(auction_id).cancel()
        best = auction.best
        closed = AuctionClosed(
            auction_id=auction.id,
            item=auction.item,
            winner=best.bidder if best else None,
            price=best.amount if best else None,
            bids=len(auction.bids),
            extensions=auction.extensions,
            closed_at=now,
        )
        auction.closed = closed
        self._event(
            "auction.closed",
            {
                "auction": auction.id,
                "winner": closed.winner,
                "price": closed.price,
                "bids": closed.bids,
            },
        )
        for subscriber in list(self._subscribers):
            try:
                subscriber(closed)
            except Exception as error:
                logger.exception(
                    "subscriber %r failed on the closing of %s", subscriber, auction.id
                )
                self._event(
                    "auction.subscriber_failed",
                    {"auction": auction.id, "error": repr(error)},
                )
        for future in self._waiters.pop(auction_id, []):
            if not future.done():
                future.set_result(closed)

    # -- helpers -------------------------------------------------------------------

    def _reject(
        self,
        auction: Auction,
        bidder: str,
        amount: int,
        reason: RejectionReason,
        minimum: int | None,
    ) -> None:
        self._event(
            "auction.bid_rejected",
            {
                "auction": auction.id,
                "bidder": bidder,
                "amount": amount,
                "reason": reason.value,
            },
        )
        if reason is RejectionReason.CLOSED:
            message = f"{auction.id} closed; bid of {amount} by {bidder} is too late"
        else:
            message = (
                f"bid of {amount} by {bidder} on {auction.id} is too low; "
                f"the minimum is {minimum}"
            )
        raise BidRejected(message, reason=reason, minimum=minimum)

    def _event(self, type: str, data: dict[str, object]) -> None:
        if self._emit is not None:
            self._emit(Event(type, self.clock.now(), data))


def _require_cents(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name}={value!r} (type={type(value).__name__}) must be whole cents, "
            "an int"
        )
    if value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive number of cents")
