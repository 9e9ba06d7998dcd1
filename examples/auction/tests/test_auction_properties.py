"""Any bidding session, with any wall-clock jumps, ends as a plain model says.

The model knows nothing of wall time: the auction closes at its duration,
pushed back to ``bid + extension`` by every accepted bid that lands within the
snipe window. The real house runs on a `ControlledClock` whose wall clock is
stepped back and forth between the bids; matching the model proves that the
jumps changed nothing. Each example builds its own clock, since hypothesis
runs many examples inside one test (and one function-scoped fixture).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from examples.auction import AuctionClosed, AuctionHouse, BidRejected
from phyxius.clock import ControlledClock

MS = 1_000_000
INCREMENT = 500
STARTING_PRICE = 10_000

# One step: wait some milliseconds, then either bid (bidder, how far above the
# current minimum; negative is too low) or step the wall clock (seconds).
steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20_000),
        st.one_of(
            st.tuples(
                st.just("bid"),
                st.sampled_from(["ada", "grace", "linus"]),
                st.integers(min_value=-INCREMENT * 2, max_value=INCREMENT * 4),
            ),
            st.tuples(
                st.just("jump"),
                st.integers(min_value=-86_400, max_value=86_400),
            ),
        ),
    ),
    max_size=40,
)


@dataclass
class Model:
    close_ns: int
    window_ns: int
    extension_ns: int
    accepted: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def minimum(self) -> int:
        if not self.accepted:
            return STARTING_PRICE
        return self.accepted[-1][1] + INCREMENT

    def bid(self, now_ns: int, bidder: str, amount: int) -> str:
        if now_ns >= self.close_ns:
            return "closed"
        if amount < self.minimum:
            return "too_low"
        self.accepted.append((bidder, amount, now_ns))
        left = self.close_ns - now_ns
        if left <= self.window_ns and self.extension_ns > left:
            self.close_ns = now_ns + self.extension_ns
        return "accepted"


@settings(max_examples=200)
@given(
    duration_s=st.integers(min_value=1, max_value=300),
    window_s=st.integers(min_value=0, max_value=60),
    extension_s=st.integers(min_value=0, max_value=120),
    session=steps,
)
def test_the_auction_ends_as_the_model_says_whatever_the_wall_clock_does(
    duration_s: int, window_s: int, extension_s: int, session: list[tuple[int, tuple]]
) -> None:
    clock = ControlledClock()
    house = AuctionHouse(clock, snipe_window=window_s, extension=extension_s)
    closings: list[AuctionClosed] = []
    house.subscribe(closings.append)
    auction = house.open(
        "lot",
        duration=duration_s,
        starting_price=STARTING_PRICE,
        min_increment=INCREMENT,
    )
    model = Model(
        duration_s * 1_000 * MS, window_s * 1_000 * MS, extension_s * 1_000 * MS
    )

    for wait_ms, action in session:
        clock.advance(wait_ms / 1000)
        if action[0] == "jump":
            clock.jump_wall(by=action[1])
            continue
        _, bidder, above = action
        assert auction.minimum_bid == model.minimum
        amount = max(1, model.minimum + above)
        expected = model.bid(clock.monotonic_ns(), bidder, amount)
        try:
            house.bid(auction.id, bidder, amount)
            outcome = "accepted"
        except BidRejected as rejected:
            outcome = rejected.reason.value
        assert outcome == expected
        # Monotonic time alone decides whether the auction is still open.
        assert (closings == []) == (clock.monotonic_ns() < model.close_ns)

    clock.advance(3600)

    assert [
        (bid.bidder, bid.amount, bid.placed_at.mono_ns) for bid in auction.bids
    ] == (model.accepted)
    (closed,) = closings
    assert closed.closed_at.mono_ns == model.close_ns
    assert closed.winner == (model.accepted[-1][0] if model.accepted else None)
    assert closed.price == (model.accepted[-1][1] if model.accepted else None)
    amounts = [amount for _, amount, _ in model.accepted]
    assert all(b - a >= INCREMENT for a, b in itertools.pairwise(amounts))
    assert all(at < model.close_ns for _, _, at in model.accepted)
