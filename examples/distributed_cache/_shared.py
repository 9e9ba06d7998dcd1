"""What a cluster and its nodes share: settings, placement, state and the journal.

One `Shared` is made by `CacheCluster.start` and handed to every node as its
``ctx``, so a node that restarts finds the same ring, the same journal and its
own store again. The journal records are built here too, so the cluster, the
client and the nodes write them in one shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from examples.distributed_cache._records import MemberStatus, Store
from examples.distributed_cache._ring import Ring
from phyxius import Atom, Clock, RetryPolicy
from phyxius.journal import Journal
from phyxius.process import ProcessRef

__all__ = ["LOGGER", "Settings", "Shared"]

LOGGER: Final = logging.getLogger("examples.distributed_cache")
"""The logger of the cache: client operations, membership, re-syncs."""


@final
@dataclass(frozen=True, slots=True)
class Settings:
    """The tunables of one cluster, checked by `CacheCluster.start`."""

    cleanup_every_ns: int
    """The cleanup cadence: every node cleans at start + k * every."""
    tombstone_grace_ns: int
    """How long a delete's tombstone outlives it."""
    request_timeout_ns: int
    """How long a client waits for one replica's answer to one attempt."""
    sync_timeout_ns: int
    """How long a joining node waits for each peer's data."""
    retry: RetryPolicy | None
    """The client's retry policy; None: one seeded by each client's name."""
    journal_reads: bool
    """Whether reads are journaled too, not only writes and deletes."""


@final
class Shared:
    """The state a cluster and its nodes share; see the module docstring.

    Invariant: ``stores`` and ``membership`` have one entry per node of
    ``ring`` from the start; ``refs`` gets each node's ref when it is spawned.
    Only a node's own process writes its store.
    """

    __slots__ = (
        "clock",
        "epoch",
        "incarnations",
        "journal",
        "membership",
        "name",
        "refs",
        "ring",
        "settings",
        "start_ns",
        "stores",
    )

    def __init__(
        self,
        *,
        name: str,
        clock: Clock,
        journal: Journal,
        ring: Ring,
        settings: Settings,
        membership: Atom[Mapping[str, MemberStatus]],
        stores: dict[str, Atom[Store]],
        epoch: int,
    ) -> None:
        self.name = name
        self.clock = clock
        self.journal = journal
        self.ring = ring
        self.settings = settings
        self.membership = membership
        self.stores = stores
        self.refs: dict[str, ProcessRef] = {}
        self.incarnations: dict[str, int] = dict.fromkeys(ring.nodes, 0)
        """How many times each node has started, the current start included."""
        self.epoch = epoch
        """The sequence of this cluster's ``cluster.started`` entry in the journal."""
        self.start_ns = clock.now().mono_ns
        """The monotonic instant the cleanup cadence counts from."""

    def set_member(self, node: str, status: MemberStatus) -> None:
        """Record ``node``'s membership status (one atomic update of the map)."""
        self.membership.update(_with_member, node, status, cause=node)

    def record(
        self, type: str, data: Mapping[str, Any], request_id: str | None = None
    ) -> None:
        """Append one journal entry ``{"type": type, **data}``, with its request id."""
        metadata = None if request_id is None else {"request_id": request_id}
        self.journal.append({"type": type, **data}, metadata=metadata)


def _with_member(
    members: Mapping[str, MemberStatus], node: str, status: MemberStatus
) -> Mapping[str, MemberStatus]:
    if members.get(node) == status:
        return members
    return {**members, node: status}
