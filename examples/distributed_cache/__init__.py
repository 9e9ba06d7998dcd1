"""A replicated in-memory cache: supervised nodes, TTLs, a journal, effects.

Several cache nodes, each a supervised process holding its data in an atom;
keys placed on ``replicas`` nodes by rendezvous hashing; values that expire
after a TTL, and a cleanup on the clock's cadence; membership and every cache
operation journaled; client operations as effects with timeouts, retries and
a request id in their context; a crashed node restarted by its supervisor,
rejoining by re-syncing from a peer (or from the journal). Run it for a few
seconds on the real clock with ``python -m examples.distributed_cache``; its
tests (``pytest examples/distributed_cache``) drive the same code on virtual
time.
"""

from examples.distributed_cache._client import RETRYABLE, CacheClient, default_retry
from examples.distributed_cache._cluster import (
    DEFAULT_NODES,
    AtomFactory,
    CacheCluster,
    SupervisorLike,
)
from examples.distributed_cache._node import CacheNode
from examples.distributed_cache._records import (
    CacheUnavailableError,
    Lookup,
    MemberStatus,
    SimulatedCrash,
    Slot,
    Store,
    Stored,
    Version,
)
from examples.distributed_cache._ring import Ring

__all__ = [
    "DEFAULT_NODES",
    "RETRYABLE",
    "AtomFactory",
    "CacheClient",
    "CacheCluster",
    "CacheNode",
    "CacheUnavailableError",
    "Lookup",
    "MemberStatus",
    "Ring",
    "SimulatedCrash",
    "Slot",
    "Store",
    "Stored",
    "SupervisorLike",
    "Version",
    "default_retry",
]
