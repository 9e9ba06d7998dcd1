"""The distributed cache on the plugin's fixtures: all five primitives at once.

``controlled_clock`` drives TTLs, cleanups, timeouts and retries on virtual
time; ``atom`` makes the nodes' stores and the membership, keeping their whole
history; ``journal`` records membership and every operation, and
``journal_snapshot`` pins a crash-and-recovery scenario; ``supervisor`` runs
the nodes and asserts their restarts; the client's operations are effects.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import pytest

from examples.distributed_cache import (
    DEFAULT_NODES,
    CacheCluster,
    CacheUnavailableError,
    MemberStatus,
    Ring,
    SimulatedCrash,
    Version,
    default_retry,
)
from examples.distributed_cache._records import Delete, Get, Ping, Put
from phyxius import Event, InvalidArgumentError, InvalidDurationError
from phyxius.clock import ControlledClock
from phyxius.effect import ContextLogFilter
from phyxius.journal import EncodeError, Journal
from phyxius.process import Backoff, Delivery, create_supervisor
from pytest_phyxius import AtomFactory, SupervisorFixture
from pytest_phyxius.snapshot import JournalSnapshotFixture

SECOND = 1_000_000_000
START_WALL_NS = 1_704_067_200 * SECOND  # the controlled clock's 2024-01-01


def entries(journal: Journal, kind: str) -> list[dict[str, Any]]:
    """The data of the journal's entries of type ``kind``, in order."""
    return [entry.data for entry in journal if entry.data["type"] == kind]


def key_owned_by(cluster: CacheCluster, node: str, primary: bool = True) -> str:
    """A key whose primary (or any replica, with ``primary=False``) is ``node``."""
    for n in range(1_000):
        key = f"key-{n}"
        owners = cluster.owners(key)
        if (owners[0] == node) if primary else (node in owners):
            return key
    raise AssertionError(f"no key placed on {node}")


# -- reads and writes ---------------------------------------------------------------


async def test_a_value_is_stored_on_exactly_its_replicas_and_read_back(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")

    stored = await web.set("user:42", {"name": "Ada"}).run_or_raise()
    value = await web.get("user:42").run_or_raise()

    owners = cluster.owners("user:42")
    assert value == {"name": "Ada"}
    assert len(owners) == cluster.replicas == 2
    assert stored.acked == owners
    assert stored.missed == ()
    assert stored.version == Version(START_WALL_NS, "web")
    for node in cluster.nodes:
        held = cluster.store(node).get().get("user:42")
        if node in owners:
            assert held is not None
            assert (held.value, held.version) == ({"name": "Ada"}, stored.version)
        else:
            assert held is None


async def test_a_missing_key_reads_as_the_default_and_as_not_found(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")

    assert await web.get("nothing", "fallback").run_or_raise() == "fallback"
    lookup = await web.lookup("nothing").run_or_raise()

    assert (lookup.found, lookup.value, lookup.version) == (False, None, None)
    assert lookup.served_by == cluster.owners("nothing")[0]


async def test_values_are_stored_as_the_journal_reads_them_back(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")

    await web.set("point", (1, 2)).run_or_raise()

    # A tuple comes back from the JSON journal as a list; every replica holds
    # the list too, so a node re-synced from the journal holds the same value.
    assert await web.get("point").run_or_raise() == [1, 2]
    assert entries(cluster.journal, "cache.set")[0]["value"] == [1, 2]


async def test_a_later_write_wins_and_an_older_one_arriving_late_changes_nothing(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")
    first = await web.set("k", "old").run_or_raise()
    second = await web.set("k", "new").run_or_raise()
    node = cluster.owners("k")[0]
    before = cluster.store(node).snapshot()

    applied = await cluster.ref(node).ask(Put("k", "stale", first.version, None, "r"))

    assert second.version == Version(first.version.stamp + 1, "web")
    assert applied is False
    assert cluster.store(node).snapshot() == before
    assert await web.get("k").run_or_raise() == "new"


async def test_versions_keep_increasing_when_the_wall_clock_steps_back(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    first = await web.set("k", 1).run_or_raise()

    controlled_clock.jump_wall(by=-3600)
    second = await web.set("k", 2).run_or_raise()

    assert second.version.stamp == first.version.stamp + 1
    assert await web.get("k").run_or_raise() == 2


async def test_writes_of_two_clients_at_one_instant_are_ordered_by_writer_name(
    cluster: CacheCluster,
) -> None:
    await cluster.client("zed").set("k", "from zed").run_or_raise()
    await cluster.client("amy").set("k", "from amy").run_or_raise()

    # Same stamp: "zed" > "amy", so zed's write wins on every replica.
    assert await cluster.client("amy").get("k").run_or_raise() == "from zed"
    assert cluster.client("amy") is cluster.client("amy")


async def test_a_delete_reports_whether_the_key_held_a_live_value(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")
    await web.set("k", "v").run_or_raise()

    assert await web.delete("k").run_or_raise() is True
    assert await web.delete("k").run_or_raise() is False
    assert await web.get("k").run_or_raise() is None
    assert [e["existed"] for e in entries(cluster.journal, "cache.deleted")] == [
        True,
        False,
    ]


async def test_a_tombstone_stops_a_late_older_write_until_its_grace_ends(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    old = await web.set("k", "v").run_or_raise()
    await web.delete("k").run_or_raise()
    node = cluster.owners("k")[0]

    late = await cluster.ref(node).ask(Put("k", "v", old.version, None, "retry"))

    assert late is False
    assert cluster.store(node).get()["k"].deleted
    await controlled_clock.advance_to_async(60)
    assert "k" not in cluster.store(node).get()
    purges = entries(cluster.journal, "cache.expired")
    assert sorted(p["node"] for p in purges) == sorted(cluster.owners("k"))
    assert all((p["keys"], p["tombstones"]) == ([], ["k"]) for p in purges)


# -- TTL and cleanup ------------------------------------------------------------------


async def test_a_value_is_visible_until_the_nanosecond_its_ttl_ends(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    stored = await web.set("session", "s-1", ttl=2.5).run_or_raise()

    await controlled_clock.advance_to_async(2.499_999_999)
    just_before = await web.lookup("session").run_or_raise()
    await controlled_clock.advance_async(0.000_000_001)
    at_deadline = await web.lookup("session").run_or_raise()

    assert stored.expires_at_ns == 2_500_000_000
    assert just_before.found
    assert just_before.expires_at_ns == 2_500_000_000
    assert not at_deadline.found
    gets = [e for e in cluster.journal if e.data["type"] == "cache.get"]
    assert [(e.at.mono_ns, e.data["hit"]) for e in gets] == [
        (2_499_999_999, True),
        (2_500_000_000, False),
    ]


async def test_cleanup_drops_expired_values_exactly_on_its_cadence(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    await controlled_clock.advance_to_async(0.25)
    await web.set("a", 1, ttl=1.5).run_or_raise()  # expires at 1.75
    await web.set("b", 2).run_or_raise()  # never expires
    owners = cluster.owners("a")

    await controlled_clock.advance_to_async(1.999_999_999)
    still_stored = {node: "a" in cluster.store(node).get() for node in owners}
    await controlled_clock.advance_to_async(2)

    # Expired at 1.75, invisible from then on, removed by the tick at 2.0.
    assert still_stored == dict.fromkeys(owners, True)
    for node in owners:
        history = cluster.store(node).get_history()
        assert "a" not in history[-1].value
        assert history[-1].at.mono_ns == 2 * SECOND
    expired = [e for e in cluster.journal if e.data["type"] == "cache.expired"]
    assert sorted(e.data["node"] for e in expired) == sorted(owners)
    assert {e.at.mono_ns for e in expired} == {2 * SECOND}
    assert all(e.data["keys"] == ["a"] for e in expired)
    assert await web.get("b").run_or_raise() == 2


async def test_a_restarted_node_keeps_the_cluster_cleanup_cadence(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    await web.set("a", 1, ttl=1.5).run_or_raise()
    node = cluster.owners("a")[0]

    await controlled_clock.advance_to_async(1.3)
    await cluster.restart(node)
    await controlled_clock.advance_to_async(2)

    # Restarted at 1.3, its first tick is still at 2.0 (not 2.3).
    assert controlled_clock.now().mono_ns == 2 * SECOND
    assert "a" not in cluster.store(node).get()
    assert cluster.store(node).get_history()[-1].at.mono_ns == 2 * SECOND


# -- crashes and recovery -------------------------------------------------------------


async def test_a_crashed_node_restarts_rejoins_from_its_peers_and_keeps_every_key(
    supervisor: SupervisorFixture,
    journal: Journal,
    journal_snapshot: JournalSnapshotFixture,
    atom: AtomFactory,
    controlled_clock: ControlledClock,
) -> None:
    async with await CacheCluster.start(
        supervisor, journal=journal, atoms=atom
    ) as cluster:
        web = cluster.client("web")
        catalogue = {"user:1": "Ada", "user:2": "Grace", "cart:7": ["book", "pen"]}
        for number, (key, value) in enumerate(catalogue.items(), start=1):
            await web.set(key, value, ttl=300).run_or_raise(
                context={"request_id": f"req-{number}"}
            )
        victim = cluster.owners("user:1")[0]
        held = cluster.view(victim)

        await controlled_clock.advance_to_async(10)
        await cluster.restart(victim, reason="disk on fire")
        await controlled_clock.advance_to_async(20)
        read = {
            key: await web.get(key).run_or_raise(context={"request_id": f"req-{key}"})
            for key in catalogue
        }

        supervisor.assert_restarted(victim, times=1)
        for node in cluster.nodes:
            if node != victim:
                supervisor.assert_not_restarted(node)
        assert read == {"user:1": "Ada", "user:2": "Grace", "cart:7": ["book", "pen"]}
        assert cluster.view(victim) == held
        assert cluster.incarnation(victim) == 2
        # Its memory was wiped by the crash, then refilled by the re-sync.
        wiped, refilled = cluster.store(victim).get_history()[-2:]
        assert (wiped.value, wiped.at.mono_ns) == ({}, 10 * SECOND)
        assert refilled.value == held

    assert journal == journal_snapshot


async def test_reads_fail_over_to_a_live_replica_while_the_primary_is_down(
    supervisor: SupervisorFixture,
    slow_restart_cluster: CacheCluster,
    controlled_clock: ControlledClock,
) -> None:
    web = slow_restart_cluster.client("web")
    await web.set("k", "v").run_or_raise()
    primary, secondary = slow_restart_cluster.owners("k")

    slow_restart_cluster.crash(primary)
    await supervisor.wait_for("crashed", primary)
    lookup = await web.lookup("k").run_or_raise()
    down = slow_restart_cluster.membership.get()[primary]
    await slow_restart_cluster.wait_until_up(primary)

    assert (lookup.value, lookup.served_by) == ("v", secondary)
    assert lookup.served_by == secondary
    assert down == MemberStatus.DOWN
    assert controlled_clock.now().mono_ns == 1 * SECOND  # the back-off
    assert slow_restart_cluster.view(primary)["k"].value == "v"
    supervisor.assert_restarted(primary, times=1)


async def test_a_write_queued_behind_a_crash_is_retried_and_lands_on_the_restarted_node(
    cluster: CacheCluster, controlled_clock: ControlledClock
) -> None:
    web = cluster.client("web")
    key = key_owned_by(cluster, "node-b")
    events: list[Event] = []

    # The crash lands while the write is in flight: it is queued now and sent
    # on the loop's next turn, after the write's asks are on their way, so
    # node-b finds the crash first in its mailbox and the ask behind it.
    asyncio.get_running_loop().call_soon(cluster.crash, "node-b")
    stored = await web.set(key, "v").run_or_raise(emit=events.append)

    # The ask queued behind the crash failed; the retry waited the policy's
    # first (seeded) delay, and the restarted node took it.
    first_delay_ns = round(default_retry("web").delays()[0] * SECOND)
    retries = [e for e in events if e.type == "effect.retry"]
    assert [(e.data["attempt"], e.data["error_type"]) for e in retries] == [
        (1, "phyxius.process._errors.ProcessCrashedError")
    ]
    assert retries[0].data["delay_ns"] == first_delay_ns
    assert stored.acked == cluster.owners(key)
    assert controlled_clock.now().mono_ns == first_delay_ns
    assert cluster.view("node-b")[key].value == "v"
    assert cluster.incarnation("node-b") == 2


async def test_a_write_to_a_node_down_for_its_back_off_times_out_retries_and_lands(
    supervisor: SupervisorFixture,
    slow_restart_cluster: CacheCluster,
    journal: Journal,
    controlled_clock: ControlledClock,
) -> None:
    web = slow_restart_cluster.client("web")
    key = key_owned_by(slow_restart_cluster, "node-a")
    slow_restart_cluster.crash("node-a")
    await supervisor.wait_for("crashed", "node-a")
    events: list[Event] = []

    stored = await web.set(key, "v").run_or_raise(emit=events.append)

    # Attempt 1 timed out at 0.5 s; attempt 2 waited in node-a's mailbox
    # until its restart at 1 s, and was answered then.
    retries = [e for e in events if e.type == "effect.retry"]
    assert [(e.data["attempt"], e.data["error_type"]) for e in retries] == [
        (1, "phyxius.effect._errors.EffectTimeoutError")
    ]
    assert retries[0].at.mono_ns == SECOND // 2
    assert stored.acked == slow_restart_cluster.owners(key)
    (entry,) = [e for e in journal if e.data["type"] == "cache.set"]
    assert entry.at.mono_ns == controlled_clock.now().mono_ns == SECOND
    assert slow_restart_cluster.view("node-a")[key].value == "v"


async def test_settle_waits_for_a_down_node_to_rejoin_and_take_its_queued_writes(
    supervisor: SupervisorFixture,
    slow_restart_cluster: CacheCluster,
    controlled_clock: ControlledClock,
) -> None:
    slow_restart_cluster.crash("node-a")
    await supervisor.wait_for("crashed", "node-a")
    slow_restart_cluster.ref("node-a").send(
        Put("k", "v", Version(1, "ops"), None, "r-1")
    )
    down = slow_restart_cluster.membership.get()["node-a"]

    await slow_restart_cluster.settle()

    assert down == MemberStatus.DOWN
    assert slow_restart_cluster.live_nodes() == slow_restart_cluster.nodes
    assert slow_restart_cluster.view("node-a")["k"].value == "v"
    supervisor.assert_restarted("node-a", times=1)
    assert controlled_clock.now().mono_ns == SECOND  # the back-off, no more


class HoldWrites:
    """An interceptor that holds the writes to one node until `release`."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.holding = False
        self.held: list[Callable[[], bool]] = []

    def on_send(self, delivery: Delivery, deliver: Callable[[], bool]) -> bool:
        """Hold a write to the node while holding; deliver everything else."""
        held = self.holding and delivery.recipient == self.node
        if held and isinstance(delivery.message, Put | Delete):
            self.held.append(deliver)
            return True
        return deliver()

    def on_handle(self, process: str, message: object, stage: str) -> None:
        """Handlers run as they are."""

    def release(self) -> None:
        """Deliver the held writes, in the order they were sent."""
        self.holding = False
        for deliver in self.held:
            deliver()


async def test_a_replica_that_took_a_write_and_restarted_before_it_completed_gets_it(
    journal: Journal, atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    key = "k"
    owners = Ring(DEFAULT_NODES, 2).owners(key)
    hold = HoldWrites(owners[1])
    root = create_supervisor(clock=controlled_clock, interceptor=hold)
    cluster = await CacheCluster.start(root, journal=journal, atoms=atom)
    web = cluster.client("web")
    await web.set(key, "old").run_or_raise()
    hold.holding = True
    loop = asyncio.get_running_loop()

    # The primary takes "new" at once; the other replica's copy is held.
    # Before the write completes, the primary restarts and re-syncs from
    # that replica and the journal: neither has "new" yet.
    loop.call_later(0.1, cluster.crash, owners[0])
    loop.call_later(0.2, hold.release)
    stored = await web.set(key, "new").run_or_raise()
    await cluster.settle()

    assert stored.acked == owners
    assert cluster.incarnation(owners[0]) == 2
    assert [cluster.view(node)[key].value for node in owners] == ["new", "new"]
    await cluster.stop()
    await root.shutdown()


async def test_a_write_no_replica_confirmed_in_time_still_lands_on_every_replica(
    journal: Journal,
    atom: AtomFactory,
    controlled_clock: ControlledClock,
) -> None:
    backoff = Backoff(initial=3.0, maximum=3.0, jitter=0)
    root = create_supervisor(clock=controlled_clock)
    cluster = await CacheCluster.start(
        root, journal=journal, atoms=atom, backoff=backoff, max_restarts=5
    )
    web = cluster.client("web")
    key = key_owned_by(cluster, "node-a")
    owners = cluster.owners(key)
    await web.set(key, "old").run_or_raise()
    for node in owners:
        cluster.crash(node)
    await cluster.membership.wait_for(
        lambda members: all(members[n] == MemberStatus.DOWN for n in owners)
    )

    # Four attempts of 0.5 s, with waits between, end before the restarts.
    with pytest.raises(
        CacheUnavailableError,
        match=(
            rf"^no replica of key '{key}' confirmed the set in time \(request web-2\)"
            r": .*; it is journaled and queued for node-\w, node-\w, and lands when"
            r" they are back$"
        ),
    ):
        await web.set(key, "new").run_or_raise()
    await cluster.settle(timeout=10)

    (entry,) = [e for e in entries(journal, "cache.set") if e["value"] == "new"]
    assert (entry["acked"], sorted(entry["missed"])) == ([], sorted(owners))
    assert [cluster.view(node)[key].value for node in owners] == ["new", "new"]
    assert await web.get(key).run_or_raise() == "new"
    await cluster.stop()
    await root.shutdown()


async def test_a_key_survives_the_crash_of_every_replica_through_the_journal(
    supervisor: SupervisorFixture, cluster: CacheCluster
) -> None:
    web = cluster.client("web")
    await web.set("k", "v", ttl=30).run_or_raise()
    owners = cluster.owners("k")

    await cluster.restart(*owners)

    for node in owners:
        supervisor.assert_restarted(node, times=1)
        assert cluster.view(node)["k"].value == "v"
    rejoined = entries(cluster.journal, "cluster.member_joined")[3:]
    assert sorted(e["node"] for e in rejoined) == sorted(owners)
    assert any("journal" in e["synced_from"] for e in rejoined)
    assert await web.get("k").run_or_raise() == "v"


async def test_a_cluster_past_its_restart_intensity_is_restarted_whole_from_the_journal(
    supervisor: SupervisorFixture, journal: Journal, atom: AtomFactory
) -> None:
    async with await CacheCluster.start(
        supervisor, journal=journal, atoms=atom, max_restarts=1
    ) as cluster:
        web = cluster.client("web")
        await web.set("k", "v").run_or_raise()
        await cluster.restart("node-a")

        cluster.crash("node-a")  # a second restart within the window: give up
        await supervisor.wait_for("restarted", "cache")
        await cluster.wait_until_up()

        supervisor.assert_restarted("cache", times=1)
        assert [cluster.incarnation(n) for n in cluster.nodes] == [3, 2, 2]
        for node in cluster.owners("k"):
            assert cluster.view(node)["k"].value == "v"
        assert await web.get("k").run_or_raise() == "v"
        first_rejoin = entries(journal, "cluster.member_joined")[-3]
        assert first_rejoin["synced_from"] == ["journal"]


async def test_a_write_no_replica_takes_fails_and_is_not_journaled(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")
    key = "k"
    for node in cluster.owners(key):
        await cluster.ref(node).stop()
    before = len(cluster.journal)

    with pytest.raises(
        CacheUnavailableError,
        match=r"^no replica of key 'k' took the set \(request web-1\): ",
    ):
        await web.set(key, "v").run_or_raise()
    with pytest.raises(
        CacheUnavailableError, match=r"^no replica of key 'k' \(.*\) answered the read"
    ):
        await web.get(key).run_or_raise()

    # The stops were journaled before; the failed operations were not.
    assert len(cluster.journal) == before


# -- request ids ----------------------------------------------------------------------


async def test_the_request_id_in_the_context_reaches_journal_nodes_stores_and_logs(
    cluster: CacheCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="examples.distributed_cache")
    caplog.handler.addFilter(ContextLogFilter("request_id"))
    web = cluster.client("web")
    causes: list[object] = []
    for node in cluster.owners("k"):
        cluster.store(node).watch(lambda change: causes.append(change.cause))

    await web.set("k", "v").run_or_raise(context={"request_id": "req-7"})

    (entry,) = [e for e in cluster.journal if e.data["type"] == "cache.set"]
    assert entry.metadata == {"request_id": "req-7"}
    assert causes == ["req-7", "req-7"]
    records = [r for r in caplog.records if r.name == "examples.distributed_cache"]
    assert [r.getMessage() for r in records][-1].startswith("set 'k' acked by ")
    assert {getattr(r, "request_id", None) for r in records} == {"req-7"}
    assert len(records) == 3  # two replicas applied it, the client logged it


async def test_a_client_names_each_operation_when_the_context_has_no_request_id(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")

    await web.set("k", "v").run_or_raise()
    await web.get("k").run_or_raise()
    await web.delete("k").run_or_raise()

    ids = [e.metadata.get("request_id") for e in cluster.journal]
    assert [i for i in ids if i is not None] == ["web-1", "web-2", "web-3"]


async def test_an_operation_is_an_effect_that_runs_only_when_asked_and_can_run_again(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")
    write = web.set("k", "v")
    assert len(entries(cluster.journal, "cache.set")) == 0

    first = await write.run_or_raise()
    second = await write.run_or_raise()

    assert second.version > first.version
    assert len(entries(cluster.journal, "cache.set")) == 2


# -- bad input: a clear error, and nothing changed ------------------------------------


def everything(cluster: CacheCluster) -> tuple[object, ...]:
    return (
        len(cluster.journal),
        tuple(cluster.store(n).version for n in cluster.nodes),
        cluster.membership.version,
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", r"^key='' \(type=str\) is not a cache key; pass a non-empty str$"),
        (7, r"^key=7 \(type=int\) is not a cache key; pass a non-empty str$"),
    ],
)
async def test_a_bad_key_is_refused_before_anything_changes(
    cluster: CacheCluster, key: Any, message: str
) -> None:
    web = cluster.client("web")
    before = everything(cluster)

    for operation in (
        lambda: web.set(key, 1),
        lambda: web.get(key),
        lambda: web.lookup(key),
        lambda: web.delete(key),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            operation()

    assert everything(cluster) == before


@pytest.mark.parametrize(
    ("ttl", "error", "message"),
    [
        (0, InvalidArgumentError, r"^ttl=0 is zero, so the value would expire as"),
        (-1, InvalidDurationError, r"^ttl=-1 is negative"),
        (math.nan, InvalidDurationError, r"^ttl=nan is not a finite duration"),
        ("5", InvalidDurationError, r"^ttl='5'"),
    ],
)
async def test_a_bad_ttl_is_refused_before_anything_changes(
    cluster: CacheCluster, ttl: Any, error: type[Exception], message: str
) -> None:
    before = everything(cluster)

    with pytest.raises(error, match=message):
        cluster.client("web").set("k", 1, ttl=ttl)

    assert everything(cluster) == before


async def test_a_value_the_journal_cannot_store_is_refused_before_anything_changes(
    cluster: CacheCluster,
) -> None:
    before = everything(cluster)

    with pytest.raises(EncodeError, match=r"^value.*set"):
        cluster.client("web").set("k", {1, 2})

    assert everything(cluster) == before


async def test_an_unknown_node_is_refused_by_name(cluster: CacheCluster) -> None:
    before = everything(cluster)
    message = (
        r"^node='node-z' \(type=str\) is not a node of cluster 'cache'; use one of "
        r"node-a, node-b, node-c$"
    )

    with pytest.raises(InvalidArgumentError, match=message):
        cluster.crash("node-z")
    with pytest.raises(InvalidArgumentError, match=message):
        await cluster.restart("node-z")
    with pytest.raises(InvalidArgumentError, match=message):
        cluster.store("node-z")

    assert everything(cluster) == before


async def test_a_message_a_node_does_not_know_fails_the_ask_not_the_node(
    supervisor: SupervisorFixture, cluster: CacheCluster
) -> None:
    before = everything(cluster)

    with pytest.raises(
        InvalidArgumentError, match=r"^message='hello' \(type=str\) is not a cache"
    ):
        await cluster.ref("node-a").ask("hello")

    supervisor.assert_not_restarted("node-a")
    assert everything(cluster) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"replicas": 0},
            r"^replicas=0 \(type=int\) is not a replication factor for 3",
        ),
        ({"replicas": 4}, r"^replicas=4 \(type=int\) is not a replication factor"),
        ({"nodes": ("a", "a")}, r"^nodes=\['a', 'a'\] names a node twice"),
        ({"nodes": "abc"}, r"^nodes='abc' \(type=str\) names no nodes"),
        ({"nodes": ("a", "")}, r"^nodes=\['a', ''\] holds '' \(type=str\)"),
        ({"cleanup_every": 0}, r"^cleanup_every=0 is zero; pass a positive number"),
        ({"request_timeout": -1}, r"^request_timeout=-1 is negative"),
        ({"retry": 3}, r"^retry=3 \(type=int\) is not a RetryPolicy"),
        ({"name": ""}, r"^name='' \(type=str\) is not a cluster name"),
    ],
)
async def test_a_cluster_with_bad_options_does_not_start(
    supervisor: SupervisorFixture,
    journal: Journal,
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await CacheCluster.start(supervisor, journal=journal, **options)

    assert len(journal) == 0
    assert supervisor.children == []


async def test_crash_is_a_fault_the_supervisor_sees_as_a_crash(
    supervisor: SupervisorFixture, cluster: CacheCluster
) -> None:
    await cluster.restart("node-c", reason="chaos monkey")

    (crash,) = supervisor.crashes
    assert crash.data["name"] == "node-c"
    assert crash.data["error_type"] == SimulatedCrash.__qualname__
    (left,) = [
        e
        for e in entries(cluster.journal, "cluster.member_left")
        if e["node"] == "node-c"
    ]
    assert left["reason"] == "SimulatedCrash: chaos monkey"


async def test_messages_are_plain_records_a_peer_could_send(
    cluster: CacheCluster,
) -> None:
    node = cluster.owners("k")[0]
    ref = cluster.ref(node)
    version = Version(1, "ops")

    assert await ref.ask(Put("k", "v", version, None, "r-1")) is True
    held = await ref.ask(Get("k", "r-2"))
    assert await ref.ask(Delete("k", Version(2, "ops"), 10**12, "r-3")) is True
    assert held.value == "v"
    assert await ref.ask(Get("k", "r-4")) is None
    assert await ref.ask(Ping()) is True
