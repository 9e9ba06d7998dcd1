"""An auction service on the `Clock` protocol: bids, soft close, notifications.

Run it for a few seconds on the real clock with ``python -m examples.auction``;
its tests (``pytest examples/auction``) drive the same code with
``controlled_clock``, wall-clock jumps included.
"""

from examples.auction._house import (
    Auction,
    AuctionClosed,
    AuctionHouse,
    AuctionStatus,
    Bid,
    BidRejected,
    RejectionReason,
    UnknownAuctionError,
)

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
