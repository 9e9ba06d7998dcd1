"""`CacheCluster`: the nodes, their supervisor, membership, and the journal.

`CacheCluster.start` spawns a supervisor of its own under the one it is given
and one `CacheNode` process per node name under it. The cluster is what
operators and tests hold: it knows where every key lives, which nodes are
up, what each node stores; it injects faults (`CacheCluster.crash`) and makes
clients (`CacheCluster.client`), which are what application code holds.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Protocol, final

from examples.distributed_cache._client import CacheClient
from examples.distributed_cache._node import CacheNode
from examples.distributed_cache._records import (
    EMPTY,
    Crash,
    MemberStatus,
    Ping,
    Slot,
    Store,
)
from examples.distributed_cache._ring import Ring
from examples.distributed_cache._shared import LOGGER, Settings, Shared
from phyxius import (
    Atom,
    Change,
    Clock,
    Duration,
    InvalidArgumentError,
    RetryPolicy,
    create_atom,
    to_nanoseconds,
)
from phyxius.journal import Journal
from phyxius.process import Backoff, ProcessRef, Supervisor

__all__ = ["DEFAULT_NODES", "AtomFactory", "CacheCluster", "SupervisorLike"]

DEFAULT_NODES: Final = ("node-a", "node-b", "node-c")
"""The node names `CacheCluster.start` uses unless told otherwise."""


class SupervisorLike(Protocol):
    """What the cluster needs from its parent: a `Supervisor`, or the test fixture."""

    async def spawn_supervisor(
        self,
        *,
        name: str | None = ...,
        max_restarts: int = ...,
        within: Duration = ...,
        backoff: Backoff | None = ...,
    ) -> Supervisor:
        """Start a nested supervisor."""
        ...


class AtomFactory(Protocol):
    """Makes the cluster's atoms, called like `phyxius.create_atom`.

    The ``atom`` fixture of the pytest plugin is one.
    """

    def __call__(self, initial: Any, /, **options: Any) -> Atom[Any]:
        """An atom holding ``initial``."""
        ...


@final
class CacheCluster:
    """A replicated, TTL-aware in-memory cache of supervised nodes.

    Build one with `start`; see the README's "Distributed cache" section for
    the design. Use it as ``async with await CacheCluster.start(...) as
    cluster:`` so that its nodes stop (and journal it) before the journal is
    closed.
    """

    __slots__ = ("_clients", "_shared", "_supervisor")

    def __init__(self, shared: Shared, supervisor: Supervisor) -> None:
        # Internal: use `start`.
        self._shared = shared
        self._supervisor = supervisor
        self._clients: dict[str, CacheClient] = {}

    @classmethod
    async def start(
        cls,
        parent: SupervisorLike,
        *,
        journal: Journal,
        nodes: Sequence[str] = DEFAULT_NODES,
        replicas: int = 2,
        cleanup_every: Duration = 1.0,
        tombstone_grace: Duration = 60.0,
        request_timeout: Duration = 0.5,
        sync_timeout: Duration = 0.25,
        retry: RetryPolicy | None = None,
        journal_reads: bool = True,
        name: str = "cache",
        max_restarts: int = 10,
        within: Duration = 60.0,
        backoff: Backoff | None = None,
        atoms: AtomFactory | None = None,
    ) -> CacheCluster:
        """Start a cluster of ``nodes`` under ``parent`` and return it once all are up.

        Args:
            parent: the supervisor (or ``supervisor`` fixture) to start under;
                the cluster adds a supervisor called ``name`` below it, and
                the nodes below that, each named as in ``nodes``.
            journal: where membership and every cache operation are recorded,
                on the journal's clock, which is the cluster's clock.
            replicas: how many nodes hold each key (1 to ``len(nodes)``).
            cleanup_every: the cadence at which nodes drop expired values and
                old tombstones.
            tombstone_grace: how long a delete's tombstone is kept; a write
                delayed longer than this can bring a deleted key back.
            request_timeout: how long a client waits for one replica, per
                attempt.
            sync_timeout: how long a joining node waits for each peer.
            retry: the clients' retry policy (default: 4 attempts, 50 ms
                doubling to 400 ms, half jitter seeded by the client's name).
            journal_reads: journal reads as well as writes and deletes.
            max_restarts, within, backoff: the node supervisor's intensity
                and restart back-off.
            atoms: makes the nodes' stores and the membership atom (default
                `create_atom` on the journal's clock).

        Raises:
            InvalidArgumentError: an argument is out of range; nothing started.
        """
        clock = journal.clock
        ring = Ring(nodes, replicas)
        settings = Settings(
            cleanup_every_ns=_positive(cleanup_every, "cleanup_every"),
            tombstone_grace_ns=to_nanoseconds(tombstone_grace, name="tombstone_grace"),
            request_timeout_ns=_positive(request_timeout, "request_timeout"),
            sync_timeout_ns=_positive(sync_timeout, "sync_timeout"),
            retry=_check_retry(retry),
            journal_reads=bool(journal_reads),
        )
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"name={name!r} (type={type(name).__name__}) is not a cluster name; "
                "pass a non-empty str"
            )
        make_atom: AtomFactory = (
            (lambda initial, /, **options: create_atom(initial, clock=clock, **options))
            if atoms is None
            else atoms
        )

        # The journal entry that opens this run; re-syncs replay after it.
        started = journal.append(
            {
                "type": "cluster.started",
                "cluster": name,
                "nodes": list(ring.nodes),
                "replicas": replicas,
            }
        )
        membership: Atom[Mapping[str, MemberStatus]] = make_atom(
            dict.fromkeys(ring.nodes, MemberStatus.DOWN),
            name=f"{name}.membership",
        )
        membership.watch(_log_membership)
        stores: dict[str, Atom[Store]] = {
            node: make_atom(EMPTY, name=f"{name}.{node}", equals=operator.is_)
            for node in ring.nodes
        }
        shared = Shared(
            name=name,
            clock=clock,
            journal=journal,
            ring=ring,
            settings=settings,
            membership=membership,
            stores=stores,
            epoch=started.sequence,
        )

        supervisor = await parent.spawn_supervisor(
            name=name, max_restarts=max_restarts, within=within, backoff=backoff
        )
        cluster = cls(shared, supervisor)
        for node in ring.nodes:
            shared.refs[node] = await supervisor.spawn(
                CacheNode(), name=node, ctx=shared
            )
        return cluster

    # -- what it is ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The cluster's name, also the name of its supervisor."""
        return self._shared.name

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node's name, in the order given to `start`."""
        return self._shared.ring.nodes

    @property
    def replicas(self) -> int:
        """How many nodes hold each key."""
        return self._shared.ring.replicas

    @property
    def clock(self) -> Clock:
        """The cluster's clock (the journal's)."""
        return self._shared.clock

    @property
    def journal(self) -> Journal:
        """The journal of membership and cache operations."""
        return self._shared.journal

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor of the nodes."""
        return self._supervisor

    @property
    def membership(self) -> Atom[Mapping[str, MemberStatus]]:
        """Every node's `MemberStatus`, in an atom (watch it, or `wait_for` it)."""
        return self._shared.membership

    def owners(self, key: str) -> tuple[str, ...]:
        """The nodes that hold ``key``, primary first."""
        return self._shared.ring.owners(key)

    def ref(self, node: str) -> ProcessRef:
        """The process of ``node``."""
        return self._shared.refs[self._known(node)]

    def store(self, node: str) -> Atom[Store]:
        """The atom holding ``node``'s data (values and tombstones, expired or not)."""
        return self._shared.stores[self._known(node)]

    def live_nodes(self) -> tuple[str, ...]:
        """The nodes that are up, in `nodes` order."""
        members = self._shared.membership.get()
        return tuple(n for n in self.nodes if members[n] == MemberStatus.UP)

    def view(self, node: str) -> dict[str, Slot]:
        """What a read on ``node`` would see now: its visible slots, by key."""
        now_ns = self._shared.clock.now().mono_ns
        return {
            key: slot
            for key, slot in self.store(node).get().items()
            if slot.visible(now_ns)
        }

    def client(self, name: str = "client") -> CacheClient:
        """A client called ``name`` (one per name; it names the client's writes)."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(
                f"name={name!r} (type={type(name).__name__}) is not a client name; "
                "pass a non-empty str"
            )
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = CacheClient(self._shared, name)
        return client

    # -- operating it ------------------------------------------------------------------

    def crash(self, node: str, reason: str = "injected fault") -> None:
        """Make ``node`` crash once it has taken the messages already queued.

        Its supervisor restarts it, and it rejoins by re-syncing. Asks still
        queued behind the crash fail (clients retry them); sends stay queued
        for the next incarnation.
        """
        if not isinstance(reason, str):
            raise InvalidArgumentError(
                f"reason={reason!r} (type={type(reason).__name__}) is not a reason; "
                "pass a str"
            )
        self.ref(node).send(Crash(reason))

    async def restart(
        self,
        *nodes: str,
        reason: str = "injected fault",
        timeout: Duration | None = 5.0,
    ) -> None:
        """Crash each of ``nodes`` (as `crash`) and wait until all have rejoined.

        Returns once every one of them runs a new incarnation and is up again,
        re-synced; raises `phyxius.AtomTimeoutError` after ``timeout`` seconds
        of the cluster's clock.
        """
        wanted = {self._known(node): self.incarnation(node) + 1 for node in nodes}
        for node in wanted:
            self.crash(node, reason)
        incarnations = self._shared.incarnations
        await self._shared.membership.wait_for(
            lambda members: all(
                members[node] == MemberStatus.UP and incarnations[node] >= target
                for node, target in wanted.items()
            ),
            timeout=timeout,
        )

    def incarnation(self, node: str) -> int:
        """How many times ``node`` has started: 1, plus one per restart."""
        return self._shared.incarnations[self._known(node)]

    async def wait_until_up(self, *nodes: str, timeout: Duration | None = 5.0) -> None:
        """Wait until each of ``nodes`` (default: all) is up, on the cluster's clock."""
        wanted = [self._known(node) for node in nodes] or list(self.nodes)
        await self._shared.membership.wait_for(
            lambda members: all(members[n] == MemberStatus.UP for n in wanted),
            timeout=timeout,
        )

    async def settle(self, timeout: Duration | None = 5.0) -> None:
        """Wait until every node is up and has taken every message sent to it so far.

        A write that missed a replica, or that a client gave up on, may still
        wait in a node's mailbox (a restarting node serves its mailbox only
        once it has re-synced); after `settle`, the stores show it. Waits up
        to ``timeout`` seconds of the cluster's clock for the nodes to be up
        (`phyxius.AtomTimeoutError`), then as long again for each node to
        answer a `Ping` queued behind everything else (a
        `phyxius.process.ProcessError` if one crashes meanwhile).
        """
        await self.wait_until_up(timeout=timeout)
        await asyncio.gather(
            *(
                self._shared.refs[node].ask(Ping(), timeout=timeout)
                for node in self.nodes
            )
        )

    async def stop(self) -> None:
        """Stop every node for good (each journals that it left), then the tree."""
        await self._supervisor.shutdown()

    async def __aenter__(self) -> CacheCluster:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _known(self, node: str) -> str:
        if node not in self._shared.stores:
            raise InvalidArgumentError(
                f"node={node!r} (type={type(node).__name__}) is not a node of "
                f"cluster {self.name!r}; use one of {', '.join(self.nodes)}"
            )
        return node

    def __repr__(self) -> str:
        members = self._shared.membership.get()
        states = " ".join(f"{n}={members[n]}" for n in self.nodes)
        return f"<CacheCluster {self.name!r} replicas={self.replicas} {states}>"


def _positive(value: Duration, name: str) -> int:
    nanoseconds = to_nanoseconds(value, name=name)
    if nanoseconds == 0:
        raise InvalidArgumentError(
            f"{name}={value!r} is zero; pass a positive number of seconds"
        )
    return nanoseconds


def _check_retry(retry: object) -> RetryPolicy | None:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgumentError(
            f"retry={retry!r} (type={type(retry).__name__}) is not a RetryPolicy; "
            "pass RetryPolicy(max_attempts=..., base_delay=...) or None"
        )
    return retry


def _log_membership(change: Change[Mapping[str, MemberStatus]]) -> None:
    for node, status in change.new.items():
        if change.old.get(node) != status:
            LOGGER.debug("membership: %s is %s", node, status)
