"""One cache node: a supervised process whose data lives in an atom.

A node is a state-form process (`CacheNode`). Its mailbox serialises
everything that touches its data: client writes and reads, peers' sync
requests, its own cleanup ticks, injected faults. Its data is an immutable
mapping in an `Atom` that the cluster owns and that outlives the node's
incarnations, so tests and tools can watch it; only the node's process
writes it.

Starting (and every restart) runs `CacheNode.init`, which is how a node joins:

1. it is marked ``joining`` and its store is wiped: a restarted process has
   lost its memory;
2. it asks every peer that is ``up`` for the slots it replicates (a
   `SyncRequest`), each within ``sync_timeout``;
3. if too few peers answered to be sure every key is covered (with
   ``replicas`` copies per key, that is when ``replicas - 1`` or more of its
   peers stayed silent), it also replays the journal of this cluster run;
4. it keeps the newest version of every key, drops what has already expired,
   commits the result, is marked ``up`` and journals ``cluster.member_joined``.

Messages that arrive meanwhile wait in the mailbox, which survives the crash,
and are applied after the re-sync; versions make applying a write twice, or
late, harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, final

from examples.distributed_cache._records import (
    EMPTY,
    Cleanup,
    Crash,
    Delete,
    Get,
    MemberStatus,
    Ping,
    Put,
    SimulatedCrash,
    Slot,
    Store,
    SyncRequest,
    Version,
)
from examples.distributed_cache._shared import LOGGER, Shared
from phyxius import Atom, InvalidArgumentError
from phyxius.process import Tools

__all__ = ["CLEANUP", "CacheNode", "NodeState", "merge", "replay"]

CLEANUP = Cleanup()
"""The message a node schedules for itself on the cleanup cadence."""


@final
class NodeState:
    """The state of one incarnation of a node (what `CacheNode.handle` returns)."""

    __slots__ = ("incarnation", "node", "shared", "store")

    def __init__(self, node: str, shared: Shared, incarnation: int) -> None:
        self.node = node
        self.shared = shared
        self.store: Atom[Store] = shared.stores[node]
        self.incarnation = incarnation


@final
class CacheNode:
    """The behaviour of a cache node: spawn one per node, with the `Shared` as ctx."""

    async def init(self, shared: Shared, tools: Tools) -> NodeState:
        """Join the cluster: wipe, re-sync from peers or the journal, go up."""
        node = tools.name
        shared.incarnations[node] += 1
        state = NodeState(node, shared, shared.incarnations[node])
        shared.set_member(node, MemberStatus.JOINING)
        state.store.set(EMPTY, cause="restart")

        sources, gathered = await _from_peers(node, shared)
        silent = len(shared.ring.nodes) - 1 - len(sources)
        if silent >= shared.ring.replicas - 1:
            # Some key of ours may have no live copy: read the journal too.
            sources.append("journal")
            gathered.append(replay(shared, node))

        now_ns = shared.clock.now().mono_ns
        data: dict[str, Slot] = {}
        for slots in gathered:
            for key, slot in slots:
                merge(data, key, slot)
        data = {key: slot for key, slot in data.items() if not slot.due(now_ns)}
        state.store.set(data, cause="resync")
        shared.set_member(node, MemberStatus.UP)
        shared.record(
            "cluster.member_joined",
            {
                "node": node,
                "incarnation": state.incarnation,
                "synced_from": sources,
                "keys": sum(1 for slot in data.values() if slot.visible(now_ns)),
            },
        )
        LOGGER.info(
            "%s joined (incarnation %d), synced from %s",
            node,
            state.incarnation,
            ", ".join(sources) or "nobody",
        )
        _schedule_cleanup(state, tools)
        return state

    def handle(self, state: NodeState, message: object, tools: Tools) -> NodeState:
        """Take one message.

        `Put` and `Delete` keep the newer version (answering whether it was
        applied; a delete, whether a live value was there), `Get` answers the
        visible slot or None, `SyncRequest` the slots a joining peer
        replicates, `Ping` True; `Cleanup` drops what has expired and
        schedules the next tick; `Crash` raises `SimulatedCrash`.
        """
        if isinstance(message, Put):
            slot = Slot(message.value, message.version, message.expires_at_ns)
            tools.reply(_write(state, message.key, slot, message.request_id))
        elif isinstance(message, Delete):
            now_ns = state.shared.clock.now().mono_ns
            current = state.store.get().get(message.key)
            existed = current is not None and current.visible(now_ns)
            tombstone = Slot(None, message.version, message.tombstone_until_ns, True)
            applied = _write(state, message.key, tombstone, message.request_id)
            tools.reply(existed and applied)
        elif isinstance(message, Get):
            held = state.store.get().get(message.key)
            now_ns = state.shared.clock.now().mono_ns
            tools.reply(held if held is not None and held.visible(now_ns) else None)
        elif isinstance(message, SyncRequest):
            tools.reply(_slots_for(state, message.node))
        elif isinstance(message, Ping):
            tools.reply(True)
        elif isinstance(message, Cleanup):
            _clean(state)
            _schedule_cleanup(state, tools)
        elif isinstance(message, Crash):
            raise SimulatedCrash(message.reason)
        else:
            # An unknown message is the sender's bug, not this node's: refuse
            # it without crashing (and without losing the data).
            error = InvalidArgumentError(
                f"message={message!r} (type={type(message).__name__}) is not a "
                "cache message; send Put, Delete, Get, SyncRequest, Ping or Crash"
            )
            if not tools.defer_reply().fail(error):
                LOGGER.warning("%s dropped %s", state.node, error)
        return state

    def on_stop(self, state: NodeState, reason: object) -> None:
        """Leave the membership: ``down`` after a crash, ``stopped`` after a stop."""
        shared = state.shared
        crashed = isinstance(reason, BaseException)
        shared.set_member(
            state.node, MemberStatus.DOWN if crashed else MemberStatus.STOPPED
        )
        why = f"{type(reason).__name__}: {reason}" if crashed else str(reason)
        if not shared.journal.closed:
            shared.record(
                "cluster.member_left",
                {"node": state.node, "incarnation": state.incarnation, "reason": why},
            )
        LOGGER.info("%s left (incarnation %d): %s", state.node, state.incarnation, why)


# -- the data --------------------------------------------------------------------------


def merge(data: dict[str, Slot], key: str, slot: Slot) -> bool:
    """Keep ``slot`` for ``key`` in ``data`` if it is newer; True when it was."""
    current = data.get(key)
    if current is not None and current.version >= slot.version:
        return False
    data[key] = slot
    return True


def _write(state: NodeState, key: str, slot: Slot, request_id: str) -> bool:
    applied = False

    def apply(data: Store) -> Store:
        nonlocal applied
        current = data.get(key)
        if current is not None and current.version >= slot.version:
            return data
        applied = True
        return {**data, key: slot}

    state.store.update(apply, cause=request_id)
    LOGGER.debug(
        "%s %s %s %r",
        state.node,
        "applied" if applied else "ignored older",
        "delete" if slot.deleted else "put",
        key,
        extra={"request_id": request_id},
    )
    return applied


def _slots_for(state: NodeState, node: str) -> list[tuple[str, Slot]]:
    now_ns = state.shared.clock.now().mono_ns
    ring = state.shared.ring
    return [
        (key, slot)
        for key, slot in state.store.get().items()
        if not slot.due(now_ns) and ring.holds(node, key)
    ]


def _clean(state: NodeState) -> None:
    now_ns = state.shared.clock.now().mono_ns
    data = state.store.get()
    due = [key for key, slot in data.items() if slot.due(now_ns)]
    if not due:
        return
    state.store.update(
        lambda current: {k: s for k, s in current.items() if not s.due(now_ns)},
        cause="cleanup",
    )
    expired = sorted(key for key in due if not data[key].deleted)
    purged = sorted(key for key in due if data[key].deleted)
    state.shared.record(
        "cache.expired", {"node": state.node, "keys": expired, "tombstones": purged}
    )


def _schedule_cleanup(state: NodeState, tools: Tools) -> None:
    # Ticks fall on start + k * every for every node and every incarnation,
    # so replicas clean at the same instants and a restart keeps the cadence.
    shared = state.shared
    every = shared.settings.cleanup_every_ns
    now_ns = shared.clock.now().mono_ns
    ticks = (now_ns - shared.start_ns) // every + 1
    due_ns = shared.start_ns + ticks * every
    tools.schedule((due_ns - now_ns) / 1_000_000_000, CLEANUP)


# -- joining ---------------------------------------------------------------------------


async def _from_peers(
    node: str, shared: Shared
) -> tuple[list[str], list[list[tuple[str, Slot]]]]:
    """Ask every peer that is up for our slots; return who answered and what."""
    members = shared.membership.get()
    peers = [
        peer
        for peer in shared.ring.nodes
        if peer != node and members.get(peer) == MemberStatus.UP
    ]
    timeout = shared.settings.sync_timeout_ns / 1_000_000_000
    answers = await asyncio.gather(
        *(shared.refs[peer].ask(SyncRequest(node), timeout=timeout) for peer in peers),
        return_exceptions=True,
    )
    sources: list[str] = []
    gathered: list[list[tuple[str, Slot]]] = []
    for peer, answer in zip(peers, answers, strict=True):
        if isinstance(answer, BaseException):
            if not isinstance(answer, Exception):
                raise answer
            LOGGER.warning("%s could not sync from %s: %s", node, peer, answer)
            continue
        sources.append(peer)
        gathered.append(answer)
    return sources, gathered


def replay(shared: Shared, node: str) -> list[tuple[str, Slot]]:
    """The slots of ``node``'s keys, as the journal of this cluster run has them.

    Only acknowledged writes and deletes are journaled; entries from before
    this cluster started are ignored (their deadlines were on another run's
    monotonic clock).
    """
    ring = shared.ring
    return [
        (data["key"], slot)
        for data, slot in _journaled_slots(shared.journal.read(shared.epoch + 1))
        if ring.holds(node, data["key"])
    ]


def _journaled_slots(entries: Iterable[Any]) -> Iterable[tuple[Any, Slot]]:
    for entry in entries:
        data = entry.data
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "cache.set":
            version = Version(*data["version"])
            yield data, Slot(data["value"], version, data["expires_at_ns"])
        elif kind == "cache.deleted":
            version = Version(*data["version"])
            yield data, Slot(None, version, data["tombstone_until_ns"], True)
