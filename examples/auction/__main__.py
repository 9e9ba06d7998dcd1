"""Run one auction for a few seconds on the real clock and print what happened.

``python -m examples.auction`` opens a three-second auction with a one-second
soft close, lets four bidders (seeded, so every run bids the same way) place
bids at random moments, and prints each bid, each extension and the closing.
``--seconds`` and ``--seed`` change the length and the bidders' choices.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from examples.auction import AuctionClosed, AuctionHouse, BidRejected
from phyxius import Event, SystemClock

BIDDERS = ("ada", "grace", "linus", "barbara")


def cents(amount: int) -> str:
    """Format cents as dollars."""
    return f"${amount // 100:,}.{amount % 100:02d}"


async def bidder(
    house: AuctionHouse, auction_id: str, name: str, rng: random.Random, seconds: float
) -> None:
    """Bid a little over the minimum at random moments until the auction closes."""
    auction = house.get(auction_id)
    while auction.closed is None:
        await house.clock.sleep(rng.uniform(0.1, seconds / 2))
        offer = auction.minimum_bid + rng.choice((0, 0, 500, 2_500))
        try:
            house.bid(auction_id, name, offer)
        except BidRejected as rejected:
            reason = rejected.reason.value
            print(f"  {name:>8} offered {cents(offer):>10}: rejected ({reason})")
            return
        if rng.random() < 0.25:
            return


async def main(seconds: float, seed: int) -> AuctionClosed:
    """Open the auction, run the bidders, and return the closing notification."""
    clock = SystemClock()
    started = time.monotonic()

    def report(event: Event) -> None:
        at = f"{event.at.mono_ns / 1e9 - started:6.3f}s"
        data = event.data
        if event.type == "auction.bid_accepted":
            print(f"{at}  {data['bidder']:>8} bids {cents(data['amount']):>10}")
        elif event.type == "auction.extended":
            print(f"{at}  soft close: extended by {data['by_ns'] / 1e9:.3f}s")
        elif event.type == "auction.opened":
            print(f"{at}  opened {data['auction']} for {data['item']!r}")

    house = AuctionHouse(clock, snipe_window=1, extension=1, emit=report)
    auction = house.open(
        "1962 Gibson ES-335",
        duration=seconds,
        starting_price=100_000,
        min_increment=500,
    )
    print(f"         ends at {auction.ends_at():%H:%M:%S.%f} UTC (wall clock)")
    house.subscribe(
        lambda closed: print(
            f"{time.monotonic() - started:6.3f}s  closed {closed.auction_id}: "
            f"{closed.winner or 'nobody'} wins at "
            f"{cents(closed.price) if closed.price else '-'} after {closed.bids} bids "
            f"and {closed.extensions} extension(s)"
        )
    )

    rng = random.Random(seed)
    tasks = [
        asyncio.create_task(
            bidder(house, auction.id, name, random.Random(rng.random()), seconds)
        )
        for name in BIDDERS
    ]
    closed = await house.wait_closed(auction.id)
    await asyncio.gather(*tasks)
    return closed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    asyncio.run(main(options.seconds, options.seed))
