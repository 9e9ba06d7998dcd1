"""The values the cache is made of: versions, slots, messages, results and errors.

Everything here is an immutable value. Slots live in the nodes' atoms and
travel between nodes during a re-sync; messages travel through the nodes'
mailboxes; results are what the client's effects produce.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeAlias, final

__all__ = [
    "EMPTY",
    "CacheUnavailableError",
    "Cleanup",
    "Crash",
    "Delete",
    "Get",
    "Lookup",
    "MemberStatus",
    "Ping",
    "Put",
    "SimulatedCrash",
    "Slot",
    "Store",
    "Stored",
    "SyncRequest",
    "Version",
]


class Version(NamedTuple):
    """The version of one write: a hybrid-logical-clock stamp, then the writer.

    ``stamp`` is the writing client's wall-clock reading in nanoseconds,
    raised to one more than its previous stamp when the wall clock has not
    moved on (or went back), so one client's writes are strictly ordered.
    ``writer`` (the client's name) breaks ties between clients. Versions
    compare as tuples: the higher one wins, on every replica alike, whatever
    order the writes arrive in (last writer wins).
    """

    stamp: int
    writer: str


@final
@dataclass(frozen=True, slots=True)
class Slot:
    """What a node holds for one key: a value, or a tombstone left by a delete.

    ``expires_at_ns`` is a deadline in the cluster clock's monotonic time:
    for a value, when its TTL runs out (None: never); for a tombstone, when
    it may be purged. A tombstone keeps a delete's version so that an older
    write arriving late (a retry, a message queued during a crash) cannot
    bring the value back.
    """

    value: Any
    version: Version
    expires_at_ns: int | None
    deleted: bool = False

    def visible(self, now_ns: int) -> bool:
        """True when a read at ``now_ns`` sees the value: no tombstone, not expired."""
        return not self.deleted and (
            self.expires_at_ns is None or now_ns < self.expires_at_ns
        )

    def due(self, now_ns: int) -> bool:
        """True when a cleanup at ``now_ns`` drops it (expired, or an old tombstone)."""
        return self.expires_at_ns is not None and self.expires_at_ns <= now_ns


Store: TypeAlias = Mapping[str, Slot]
"""A node's data: key to slot. Never mutated; every write makes a new mapping."""

EMPTY: Final[Store] = MappingProxyType({})
"""The data of a node that has just started: nothing."""


class MemberStatus(enum.StrEnum):
    """Where a node is in the cluster's membership; compares equal to its value."""

    JOINING = "joining"
    """Started (or restarted) and copying its data from peers or the journal."""
    UP = "up"
    """Serving reads and writes."""
    DOWN = "down"
    """Crashed; its supervisor restarts it."""
    STOPPED = "stopped"
    """Stopped for good (the cluster shut down)."""


# -- messages: what the client and the peers send a node ----------------------------


@final
@dataclass(frozen=True, slots=True)
class Put:
    """Store ``value`` under ``key`` unless the node holds a newer version."""

    key: str
    value: Any
    version: Version
    expires_at_ns: int | None
    request_id: str


@final
@dataclass(frozen=True, slots=True)
class Delete:
    """Replace ``key`` by a tombstone unless the node holds a newer version."""

    key: str
    version: Version
    tombstone_until_ns: int
    request_id: str


@final
@dataclass(frozen=True, slots=True)
class Get:
    """Answer the visible slot of ``key``, or None."""

    key: str
    request_id: str


@final
@dataclass(frozen=True, slots=True)
class SyncRequest:
    """From a joining peer: answer every live slot that ``node`` also replicates."""

    node: str


@final
@dataclass(frozen=True, slots=True)
class Ping:
    """Answered with True at once: proof that every message queued before it is done.

    A node's mailbox is served in order, so the answer comes only after the
    node has taken everything sent to it earlier (`CacheCluster.settle`).
    """


@final
@dataclass(frozen=True, slots=True)
class Cleanup:
    """From the node to itself, on the cleanup cadence: drop what has expired."""


@final
@dataclass(frozen=True, slots=True)
class Crash:
    """Fault injection: the node raises `SimulatedCrash` when it takes this."""

    reason: str


class SimulatedCrash(RuntimeError):
    """Raised by a node that took a `Crash` message; its supervisor restarts it."""


# -- results ---------------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class Stored:
    """What `CacheClient.set` produces once at least one replica took the write.

    ``acked`` lists the replicas that confirmed it in time; ``missed`` the
    others, which get it when their mailbox is served again or through their
    next re-sync.
    """

    key: str
    version: Version
    expires_at_ns: int | None
    acked: tuple[str, ...]
    missed: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class Lookup:
    """What `CacheClient.lookup` produces: the value, or that there is none.

    ``served_by`` names the replica that answered.
    """

    key: str
    found: bool
    value: Any
    version: Version | None
    expires_at_ns: int | None
    served_by: str


class CacheUnavailableError(RuntimeError):
    """No replica of a key answered within the request timeout and its retries.

    A write that raises it may still land: its message says whether it was
    journaled and queued for the replicas (see `CacheClient`).
    """
