"""Whatever the clients, the clock and the crashes do, live replicas agree.

A hypothesis program is a sequence of steps: sets (with or without a TTL),
gets, deletes, clock advances (during which values expire and the nodes'
cleanups run) and crashes of one, two or all three nodes at once (each
restarted by the supervisor and re-synced from a peer or the journal). After
every step, every node that is up must agree with every other replica of
every key, and with a plain model of the cache; every read must return what
the model says.

Hypothesis runs many examples inside one test, and function-scoped fixtures
are not reset between them, so each example builds a world of its own: a
`ControlledClock`, a virtual-time loop (`phyxius.clock.run`), a supervisor
and a journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.distributed_cache import (
    CacheCluster,
    CacheUnavailableError,
    MemberStatus,
)
from phyxius.clock import ControlledClock, run
from phyxius.journal import Journal, SortableIds, create_journal
from phyxius.process import Backoff, create_supervisor

SECOND = 1_000_000_000
NODES = ("node-a", "node-b", "node-c")
KEYS = ("apple", "banana", "cherry", "damson")
MISSING = object()

keys = st.sampled_from(KEYS)
sets = st.tuples(
    st.just("set"),
    keys,
    st.integers(min_value=0, max_value=99),
    st.sampled_from([None, None, 0.5, 1, 2.5]),
)
crashes = st.tuples(
    st.just("crash"),
    st.lists(st.sampled_from(NODES), min_size=1, max_size=3, unique=True),
)
# Every program starts with a few writes, so that crashes find data to lose.
programs = st.tuples(
    st.lists(sets, min_size=1, max_size=len(KEYS)),
    st.lists(
        st.one_of(
            sets,
            sets,
            st.tuples(st.just("get"), keys),
            st.tuples(st.just("delete"), keys),
            st.tuples(st.just("advance"), st.integers(min_value=1, max_value=3_000)),
            crashes,
            crashes,
        ),
        max_size=20,
    ),
).map(lambda parts: parts[0] + parts[1])


class Model:
    """The cache as one dict with deadlines: what every replica should show."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[Any, int | None]] = {}

    def set(self, key: str, value: Any, now_ns: int, ttl: float | None) -> None:
        deadline = None if ttl is None else now_ns + round(ttl * SECOND)
        self.values[key] = (value, deadline)

    def get(self, key: str, now_ns: int) -> Any:
        value, deadline = self.values.get(key, (MISSING, None))
        if deadline is not None and now_ns >= deadline:
            return MISSING
        return value

    def delete(self, key: str, now_ns: int) -> bool:
        existed = self.get(key, now_ns) is not MISSING
        self.values.pop(key, None)
        return existed


def assert_replicas_agree(cluster: CacheCluster, model: Model, now_ns: int) -> None:
    assert cluster.live_nodes() == NODES
    for key in KEYS:
        owners = cluster.owners(key)
        seen = {}
        for node in NODES:
            if node not in owners:
                assert key not in cluster.store(node).get(), (node, key)
                continue
            slot = cluster.view(node).get(key)
            seen[node] = None if slot is None else (slot.value, slot.version)
        values = {held[0] if held else MISSING for held in seen.values()}
        assert len(set(seen.values())) == 1, (key, seen)
        assert values == {model.get(key, now_ns)}, (key, seen)


async def play(
    clock: ControlledClock, journal: Journal, replicas: int, program: list[Any]
) -> None:
    root = create_supervisor(clock=clock, seed=0)
    cluster = await CacheCluster.start(
        root, journal=journal, replicas=replicas, max_restarts=1_000, within=1
    )
    client = cluster.client("prop")
    model = Model()

    for step in program:
        now_ns = clock.now().mono_ns
        if step[0] == "set":
            _, key, value, ttl = step
            await client.set(key, value, ttl=ttl).run_or_raise()
            model.set(key, value, now_ns, ttl)
        elif step[0] == "get":
            got = await client.get(step[1], MISSING).run_or_raise()
            assert got == model.get(step[1], now_ns)
        elif step[0] == "delete":
            existed = await client.delete(step[1]).run_or_raise()
            assert existed == model.delete(step[1], now_ns)
        elif step[0] == "advance":
            await clock.sleep(step[1] / 1_000)
        else:
            await cluster.restart(*step[1])
        # Operations take no virtual time: no retry was ever needed.
        if step[0] != "advance":
            assert clock.now().mono_ns == now_ns
        assert_replicas_agree(cluster, model, clock.now().mono_ns)

    # Long after every TTL and tombstone, cleanup has left only live values.
    await clock.sleep(61)
    now_ns = clock.now().mono_ns
    for node in NODES:
        assert all(slot.visible(now_ns) for slot in cluster.store(node).get().values())
    assert_replicas_agree(cluster, model, now_ns)
    await cluster.stop()
    await root.shutdown()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(replicas=st.integers(min_value=1, max_value=3), program=programs)
def test_every_live_replica_agrees_on_every_key_whatever_happens(
    replicas: int, program: list[Any]
) -> None:
    clock = ControlledClock()
    journal = create_journal(clock=clock, ids=SortableIds(seed=0))
    try:
        run(play(clock, journal, replicas, program), clock=clock)
    finally:
        journal.close()


# -- concurrent clients, crashes mid-flight -------------------------------------------

CLIENTS = ("amy", "zed")
operations = st.one_of(
    st.tuples(
        st.just("set"),
        st.sampled_from(CLIENTS),
        keys,
        st.integers(min_value=0, max_value=99),
        st.sampled_from([None, 0.5, 2.5]),
    ),
    st.tuples(st.just("delete"), st.sampled_from(CLIENTS), keys),
    st.tuples(st.just("get"), st.sampled_from(CLIENTS), keys),
)
# A batch: operations run at once, nodes that crash while they are in flight,
# and milliseconds to wait afterwards.
batches = st.lists(
    st.tuples(
        st.lists(operations, min_size=1, max_size=6),
        st.lists(st.sampled_from(NODES), max_size=2, unique=True),
        st.integers(min_value=0, max_value=1_500),
    ),
    min_size=1,
    max_size=6,
)


def newest_writes(journal: Journal) -> dict[str, dict[str, Any]]:
    """The journaled write or delete with the highest version, by key."""
    newest: dict[str, dict[str, Any]] = {}
    for entry in journal:
        data = entry.data
        if data["type"] in ("cache.set", "cache.deleted"):
            held = newest.get(data["key"])
            if held is None or data["version"] > held["version"]:
                newest[data["key"]] = data
    return newest


async def play_concurrently(
    clock: ControlledClock,
    journal: Journal,
    replicas: int,
    restart_after: float | None,
    program: list[Any],
) -> None:
    root = create_supervisor(clock=clock, seed=0)
    backoff = None
    if restart_after is not None:
        backoff = Backoff(initial=restart_after, maximum=restart_after, jitter=0)
    cluster = await CacheCluster.start(
        root,
        journal=journal,
        replicas=replicas,
        max_restarts=1_000,
        within=1,
        backoff=backoff,
    )
    loop = asyncio.get_running_loop()

    async def perform(operation: tuple[Any, ...]) -> None:
        client = cluster.client(operation[1])
        try:
            if operation[0] == "set":
                _, _, key, value, ttl = operation
                await client.set(key, value, ttl=ttl).run_or_raise()
            elif operation[0] == "delete":
                await client.delete(operation[2]).run_or_raise()
            else:
                await client.get(operation[2]).run_or_raise()
        except CacheUnavailableError:
            # Every replica of the key was down for longer than the retries
            # last; a write is journaled and still reaches them (checked below).
            pass

    for operations_, crashing, pause_ms in program:
        targets = {node: cluster.incarnation(node) + 1 for node in crashing}
        for node in crashing:
            loop.call_soon(cluster.crash, node)
        await asyncio.gather(*(perform(operation) for operation in operations_))

        def rejoined(
            members: Mapping[str, MemberStatus], targets: dict[str, int] = targets
        ) -> bool:
            return all(
                members[node] == MemberStatus.UP and cluster.incarnation(node) >= target
                for node, target in targets.items()
            )

        await cluster.membership.wait_for(rejoined, timeout=5)
        await clock.sleep(pause_ms / 1_000)

    # Last writer wins: every replica holds the newest journaled write.
    await cluster.settle()
    now_ns = clock.now().mono_ns
    newest = newest_writes(journal)
    for key in KEYS:
        write = newest.get(key)
        expected: Any = MISSING
        if write is not None and write["type"] == "cache.set":
            deadline = write["expires_at_ns"]
            if deadline is None or now_ns < deadline:
                expected = write["value"]
        for node in NODES:
            slot = cluster.view(node).get(key)
            if node not in cluster.owners(key):
                assert key not in cluster.store(node).get(), (node, key)
            else:
                assert (MISSING if slot is None else slot.value) == expected, (
                    node,
                    key,
                    slot,
                    write,
                )
    await cluster.stop()
    await root.shutdown()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    replicas=st.integers(min_value=1, max_value=3),
    restart_after=st.sampled_from([None, 0.25, 0.75, 1.5]),
    program=batches,
)
def test_concurrent_clients_and_crashes_in_flight_converge_on_the_newest_write(
    replicas: int, restart_after: float | None, program: list[Any]
) -> None:
    clock = ControlledClock()
    journal = create_journal(clock=clock, ids=SortableIds(seed=0))
    try:
        run(
            play_concurrently(clock, journal, replicas, restart_after, program),
            clock=clock,
        )
    finally:
        journal.close()
