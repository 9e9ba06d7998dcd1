"""Supervision as in OTP: strategies, restart types, intensity, escalation, back-off.

Every time here is read off the controlled clock, to the nanosecond.
"""

from __future__ import annotations

import asyncio

import pytest

from phyxius.clock import ControlledClock
from phyxius.process import (
    Backoff,
    ProcessSpec,
    ProcessStatus,
    ProcessUsageError,
    SupervisorFailedError,
    SupervisorStatus,
    Tools,
    create_supervisor,
)
from phyxius.process._spec import Backoff as _Backoff
from pytest_phyxius import SupervisorFixture

SECOND = 1_000_000_000


class Worker:
    """Crashes on "boom"; answers "ping" with the number of its incarnation."""

    starts = 0

    def __init__(self) -> None:
        self.incarnation = 0

    def init(self, ctx: object) -> int:
        Worker.starts += 1
        return Worker.starts

    def handle(self, state: int, msg: str, tools: Tools) -> int:
        if msg == "boom":
            raise RuntimeError(f"boom in {tools.name}")
        tools.reply(state)
        return state


def worker() -> ProcessSpec:
    """A fresh state-form worker: its state is its start count."""
    starts = 0

    def init(ctx: object) -> int:
        nonlocal starts
        starts += 1
        return starts

    def handle(state: int, msg: str, tools: Tools) -> int:
        if msg == "boom":
            raise RuntimeError(f"boom in {tools.name}")
        if msg == "exit":
            tools.self.stop("normal")
        if msg == "fail":
            tools.self.stop("failure")
        tools.reply(state)
        return state

    return ProcessSpec(handle=handle, init=init)


def restart_times(supervisor: SupervisorFixture, name: str) -> list[int]:
    return [
        e.at.mono_ns
        for e in supervisor.lifecycle(name)
        if e.type == "process.restarted"
    ]


# -- strategies ---------------------------------------------------------------


async def test_one_for_one_restarts_only_the_crashed_child(
    supervisor: SupervisorFixture,
) -> None:
    a = await supervisor.spawn(worker(), name="a")
    b = await supervisor.spawn(worker(), name="b")
    c = await supervisor.spawn(worker(), name="c")

    b.send("boom")
    await supervisor.wait_for("restarted", "b")

    supervisor.assert_not_restarted(a)
    supervisor.assert_restarted(b, times=1)
    supervisor.assert_not_restarted(c)
    assert await b.ask("ping") == 2
    assert await a.ask("ping") == 1


async def test_one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_order(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(strategy="one_for_all")
    for name in ("a", "b", "c"):
        await supervisor.spawn(worker(), name=name)

    supervisor.find("b").send("boom")  # type: ignore[union-attr]
    await supervisor.wait_for("restarted", "c")

    steps = [
        (e.type.removeprefix("process."), e.data["name"])
        for e in supervisor.events
        if e.type in ("process.stopped", "process.restarted", "process.crashed")
    ]
    assert steps == [
        ("crashed", "b"),
        ("stopped", "c"),
        ("stopped", "a"),
        ("restarted", "a"),
        ("restarted", "b"),
        ("restarted", "c"),
    ]


async def test_rest_for_one_restarts_the_crashed_child_and_those_started_after_it(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(strategy="rest_for_one")
    for name in ("a", "b", "c", "d"):
        await supervisor.spawn(worker(), name=name)

    supervisor.find("b").send("boom")  # type: ignore[union-attr]
    await supervisor.wait_for("restarted", "d")

    supervisor.assert_not_restarted("a")
    for name in ("b", "c", "d"):
        supervisor.assert_restarted(name, times=1)
    stops = [e.data["name"] for e in supervisor.events if e.type == "process.stopped"]
    assert stops == ["d", "c"]


async def test_one_for_all_does_not_restart_temporary_siblings(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(strategy="one_for_all")
    await supervisor.spawn(worker(), name="a")
    helper = await supervisor.spawn(worker(), name="helper", restart="temporary")
    crasher = await supervisor.spawn(worker(), name="crasher")

    crasher.send("boom")
    await supervisor.wait_for("restarted", "crasher")

    assert helper.status is ProcessStatus.STOPPED
    supervisor.assert_not_restarted(helper)
    assert supervisor.find("helper") is None


# -- restart types -----------------------------------------------------------------


async def test_permanent_child_is_restarted_even_after_a_normal_exit(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(worker(), name="p", restart="permanent")

    ref.send("exit")
    await supervisor.wait_for("restarted", ref)

    assert ref.status is ProcessStatus.RUNNING


async def test_transient_child_is_restarted_only_after_an_abnormal_exit(
    supervisor: SupervisorFixture,
) -> None:
    crashes = await supervisor.spawn(worker(), name="crashes", restart="transient")
    fails = await supervisor.spawn(worker(), name="fails", restart="transient")
    exits = await supervisor.spawn(worker(), name="exits", restart="transient")

    crashes.send("boom")
    fails.send("fail")
    exits.send("exit")
    await supervisor.wait_for("restarted", "crashes")
    await supervisor.wait_for("restarted", "fails")
    await supervisor.wait_for("stopped", "exits")
    await asyncio.sleep(1)

    supervisor.assert_not_restarted(exits)
    assert exits.status is ProcessStatus.STOPPED
    assert crashes.status is ProcessStatus.RUNNING


async def test_temporary_child_is_never_restarted(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(worker(), name="t", restart="temporary")

    ref.send("boom")
    await supervisor.wait_for("crashed", ref)
    await asyncio.sleep(1)

    supervisor.assert_not_restarted(ref)
    assert ref.status is ProcessStatus.CRASHED
    assert supervisor.children == []


async def test_the_spec_restart_type_is_the_default(
    supervisor: SupervisorFixture,
) -> None:
    spec = ProcessSpec(
        handle=lambda s, m, t: (_ for _ in ()).throw(RuntimeError("x")),
        restart="temporary",
    )
    ref = await supervisor.spawn(spec, name="t")

    ref.send("go")
    await supervisor.wait_for("crashed", ref)
    await asyncio.sleep(0)

    assert ref.status is ProcessStatus.CRASHED


async def test_a_stop_from_outside_is_never_restarted(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(worker(), name="p", restart="permanent")

    await ref.stop("boom")
    await asyncio.sleep(10)

    supervisor.assert_not_restarted(ref)
    assert ref.status is ProcessStatus.STOPPED


# -- intensity ---------------------------------------------------------------------


async def test_restarts_up_to_max_restarts_within_the_window_are_allowed(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=3, within=5)
    await supervisor.spawn(worker(), name="w")

    for at in (0, 1, 2):
        await supervisor.clock.advance_to_async(at)
        supervisor.find("w").send("boom")  # type: ignore[union-attr]
        await supervisor.wait_for("restarted", "w", count=int(at) + 1)

    assert restart_times(supervisor, "w") == [0, 1 * SECOND, 2 * SECOND]
    assert supervisor.status is SupervisorStatus.RUNNING


async def test_one_restart_beyond_the_limit_ends_the_supervisor(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=3, within=5)
    ref = await supervisor.spawn(worker(), name="w")

    for count, at in enumerate((0, 1, 2, 3), start=1):
        await supervisor.clock.advance_to_async(at)
        ref.send("boom")
        await supervisor.wait_for("crashed", "w", count=count)

    with pytest.raises(
        SupervisorFailedError,
        match=r"^supervisor 'root' gave up: 4 restarts within 5s exceed "
        r"max_restarts=3; the last was 'w' \(RuntimeError: boom in w\)$",
    ) as caught:
        await supervisor.wait()

    gave_up = await supervisor.wait_for("gave_up")
    assert gave_up.at.mono_ns == 3 * SECOND
    assert restart_times(supervisor, "w") == [0, 1 * SECOND, 2 * SECOND]
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.supervisor == "root"
    assert caught.value.child == "w"
    assert ref.status is ProcessStatus.CRASHED
    assert supervisor.status is SupervisorStatus.FAILED


@pytest.mark.parametrize(
    ("fourth_crash_ns", "gives_up"),
    [
        pytest.param(5 * SECOND, True, id="exactly-within-counts"),
        pytest.param(5 * SECOND + 1, False, id="one-nanosecond-later-does-not"),
    ],
)
async def test_the_intensity_window_slides_on_monotonic_time_to_the_nanosecond(
    supervisor: SupervisorFixture, fourth_crash_ns: int, gives_up: bool
) -> None:
    supervisor.configure(max_restarts=3, within=5)
    ref = await supervisor.spawn(worker(), name="w")

    for count, at_ns in enumerate((0, SECOND, 2 * SECOND, fourth_crash_ns), start=1):
        await supervisor.clock.advance_to_async(at_ns / SECOND)
        assert supervisor.clock.now().mono_ns == at_ns
        ref.send("boom")
        await supervisor.wait_for("crashed", "w", count=count)
        await asyncio.sleep(0)

    if gives_up:
        with pytest.raises(SupervisorFailedError):
            await supervisor.wait()
    else:
        await supervisor.wait_for("restarted", "w", count=4)
        assert supervisor.status is SupervisorStatus.RUNNING


async def test_a_wall_clock_jump_does_not_touch_the_intensity_window(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=1, within=5)
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)

    supervisor.clock.jump_wall(by=3600)
    ref.send("boom")

    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()


async def test_max_restarts_zero_gives_up_on_the_first_crash(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(worker(), name="w")

    ref.send("boom")

    with pytest.raises(SupervisorFailedError, match=r"^supervisor 'root' gave up: 1"):
        await supervisor.wait()
    supervisor.assert_not_restarted(ref)


async def test_giving_up_stops_the_children_in_reverse_start_order(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0)
    for name in ("a", "b", "c", "d"):
        await supervisor.spawn(worker(), name=name)

    supervisor.find("b").send("boom")  # type: ignore[union-attr]
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()

    stops = [e.data["name"] for e in supervisor.events if e.type == "process.stopped"]
    assert stops == ["d", "c", "a", "root"]
    assert [supervisor.find(n) for n in "abcd"] == [None] * 4


async def test_giving_up_kills_a_child_that_overruns_its_shutdown_timeout(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0)

    async def hang(state: None, msg: str, tools: Tools) -> None:
        await asyncio.sleep(3600)

    stuck = await supervisor.spawn(ProcessSpec(handle=hang), name="stuck", shutdown=2)
    crasher = await supervisor.spawn(worker(), name="crasher")
    stuck.send("hang")
    await asyncio.sleep(1)

    crasher.send("boom")
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()

    stopped = [e for e in supervisor.lifecycle(stuck) if e.type == "process.stopped"]
    assert [(e.at.mono_ns, e.data["killed"]) for e in stopped] == [(3 * SECOND, True)]


async def test_a_child_that_crashes_right_after_every_start_ends_the_supervisor(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=3, within=5)

    def init(ctx: object, tools: Tools) -> None:
        tools.self.send("boom")

    def handle(state: None, msg: str, tools: Tools) -> None:
        raise RuntimeError("broken at start")

    await supervisor.spawn(ProcessSpec(handle=handle, init=init), name="flapper")

    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()
    supervisor.assert_restarted("flapper", times=3)
    assert supervisor.clock.now().mono_ns == 0


async def test_an_init_that_fails_on_restart_counts_as_a_crash(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=2)
    starts = 0

    def init(ctx: object) -> None:
        nonlocal starts
        starts += 1
        if starts > 1:
            raise OSError("database gone")

    def handle(state: None, msg: str, tools: Tools) -> None:
        raise RuntimeError("boom")

    ref = await supervisor.spawn(ProcessSpec(handle=handle, init=init), name="db")
    ref.send("x")

    with pytest.raises(SupervisorFailedError, match=r"OSError: database gone"):
        await supervisor.wait()
    assert starts == 3
    crashes = [e.data["during"] for e in supervisor.crashes]
    assert crashes == ["handle", "init", "init"]


# -- back-off ----------------------------------------------------------------------


async def test_backoff_without_jitter_doubles_to_the_nanosecond_and_caps(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(
        max_restarts=10,
        within=60,
        backoff=Backoff(initial=0.1, maximum=0.5, factor=2, jitter=0),
    )
    ref = await supervisor.spawn(worker(), name="w")

    for count in range(1, 5):
        ref.send("boom")
        await supervisor.wait_for("restarted", ref, count=count)

    delays = [
        e.data["delay_ns"]
        for e in supervisor.lifecycle(ref)
        if e.type == "process.restart_scheduled"
    ]
    assert delays == [100_000_000, 200_000_000, 400_000_000, 500_000_000]
    assert restart_times(supervisor, "w") == [
        100_000_000,
        300_000_000,
        700_000_000,
        1_200_000_000,
    ]
    attempts = [
        e.data["attempt"]
        for e in supervisor.lifecycle(ref)
        if e.type == "process.restart_scheduled"
    ]
    assert attempts == [1, 2, 3, 4]


async def test_backoff_starts_over_after_the_child_stayed_up_for_reset_after(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(
        max_restarts=10,
        within=60,
        backoff=Backoff(initial=1, maximum=60, jitter=0, reset_after=10),
    )
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
    ref.send("boom")
    await supervisor.wait_for("restarted", ref, count=2)
    await asyncio.sleep(10)

    ref.send("boom")
    scheduled = await supervisor.wait_for("restart_scheduled", ref, count=3)

    assert scheduled.data["attempt"] == 1
    assert scheduled.data["delay_ns"] == SECOND


def scheduled_delays(clock: ControlledClock, seed: int) -> list[int]:
    """Run a supervisor that crashes its child five times; return the delays."""
    from phyxius.clock import run

    events: list[int] = []

    async def main() -> None:
        supervisor = create_supervisor(
            clock=clock,
            emit=lambda e: (
                events.append(e.data["delay_ns"])
                if e.type == "process.restart_scheduled"
                else None
            ),
            max_restarts=10,
            within=600,
            backoff=Backoff(initial=1, maximum=60, jitter=0.5),
            seed=seed,
        )
        ref = await supervisor.spawn(worker(), name="w")
        for _ in range(5):
            ref.send("boom")
            while len(events) < _ + 1 or ref.status is not ProcessStatus.RUNNING:
                await asyncio.sleep(0.001)
        await supervisor.shutdown()

    run(main(), clock=clock)
    return events


def test_the_same_seed_gives_the_same_jittered_delays() -> None:
    first = scheduled_delays(ControlledClock(), seed=7)
    second = scheduled_delays(ControlledClock(), seed=7)
    other = scheduled_delays(ControlledClock(), seed=8)

    assert first == second
    assert first != other
    for attempt, delay in enumerate(first, start=1):
        base = min(60, 2 ** (attempt - 1)) * SECOND
        assert base * 0.5 <= delay < base * 1.5


def test_jittered_delays_are_pinned_for_a_seed() -> None:
    assert scheduled_delays(ControlledClock(), seed=7) == [
        _Backoff(initial=1, maximum=60, jitter=0.5).delay_ns(n, r)
        for n, r in _seeded(7, 5)
    ]


def _seeded(seed: int, count: int) -> list[tuple[int, object]]:
    from random import Random

    generator = Random(seed)
    return [(n, generator) for n in range(1, count + 1)]


# -- escalation and trees ------------------------------------------------------------


async def test_a_nested_supervisor_that_gives_up_is_restarted_by_its_parent(
    supervisor: SupervisorFixture,
) -> None:
    workers = await supervisor.spawn_supervisor(name="workers", max_restarts=1)
    ref = await workers.spawn(worker(), name="w")

    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
    ref.send("boom")
    gave_up = await supervisor.wait_for("gave_up", "workers")
    await supervisor.wait_for("restarted", "workers")

    assert gave_up.data["child"] == "w"
    assert workers.status is SupervisorStatus.RUNNING
    assert ref.status is ProcessStatus.RUNNING
    # The ref still works: the subtree started again from the spec.
    assert await ref.ask("ping") == 3
    assert supervisor.status is SupervisorStatus.RUNNING


async def test_escalation_reaches_the_root_and_the_caller(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=1, within=60)
    workers = await supervisor.spawn_supervisor(name="workers", max_restarts=0)
    ref = await workers.spawn(worker(), name="w")

    ref.send("boom")
    await supervisor.wait_for("restarted", "workers")
    ref.send("boom")

    with pytest.raises(
        SupervisorFailedError,
        match=r"^supervisor 'root' gave up: 2 restarts within 60s exceed "
        r"max_restarts=1; the last was 'workers' \(phyxius\.process\._errors\."
        r"SupervisorFailedError: supervisor 'workers' gave up: 1 restarts",
    ) as caught:
        await supervisor.wait()

    assert isinstance(caught.value.__cause__, SupervisorFailedError)
    assert caught.value.__cause__.supervisor == "workers"
    assert ref.status is ProcessStatus.CRASHED
    assert workers.status is SupervisorStatus.FAILED
    gave_up = [e.data["name"] for e in supervisor.events if e.type == "process.gave_up"]
    assert gave_up == ["workers", "workers", "root"]


async def test_nested_supervisors_form_a_tree(supervisor: SupervisorFixture) -> None:
    a = await supervisor.spawn_supervisor(name="a")
    b = await a.spawn_supervisor(name="b")
    leaf = await b.spawn(worker(), name="leaf")
    top = await supervisor.spawn(worker(), name="top")

    assert [getattr(n, "name", None) for n in supervisor.root.walk()] == [
        "a",
        "b",
        "leaf",
        "top",
    ]
    assert b.parent is a
    assert a.parent is supervisor.root
    assert supervisor.find("leaf") is leaf
    assert leaf.supervisor is b
    assert top.supervisor is supervisor.root


async def test_a_root_failure_reaches_the_caller_through_async_with(
    controlled_clock: ControlledClock,
) -> None:
    supervisor = create_supervisor(clock=controlled_clock, max_restarts=0)

    async def crash_inside() -> None:
        async with supervisor:
            ref = await supervisor.spawn(worker(), name="w")
            ref.send("boom")
            await asyncio.sleep(1)

    with pytest.raises(SupervisorFailedError, match=r"^supervisor 'root' gave up"):
        await crash_inside()


async def test_a_failed_supervisor_refuses_to_spawn(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()

    with pytest.raises(
        ProcessUsageError,
        match=r"^supervisor 'root' gave up and cannot spawn: supervisor 'root' gave "
        r"up: .*; create a new supervisor$",
    ):
        await supervisor.spawn(worker())


async def test_shutdown_stops_every_child_in_reverse_start_order(
    supervisor: SupervisorFixture,
) -> None:
    sub = await supervisor.spawn_supervisor(name="sub")
    await sub.spawn(worker(), name="sub-1")
    await supervisor.spawn(worker(), name="top-1")
    await sub.spawn(worker(), name="sub-2")

    await supervisor.shutdown()

    stops = [e.data["name"] for e in supervisor.events if e.type == "process.stopped"]
    assert stops == ["top-1", "sub-2", "sub-1", "sub", "root"]
    assert supervisor.status is SupervisorStatus.STOPPED
    await supervisor.wait()


async def test_shutting_down_cancels_a_pending_restart(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(backoff=Backoff(initial=10, jitter=0))
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("restart_scheduled", ref)

    await supervisor.shutdown()

    assert supervisor.clock.now().mono_ns == 0
    assert ref.status is ProcessStatus.STOPPED
    supervisor.assert_not_restarted(ref)


async def test_stopping_a_child_during_its_backoff_ends_it_at_once(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(backoff=Backoff(initial=10, jitter=0))
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("restart_scheduled", ref)

    await ref.stop()
    await asyncio.sleep(20)

    assert ref.status is ProcessStatus.STOPPED
    supervisor.assert_not_restarted(ref)
    assert supervisor.clock.now().mono_ns == 20 * SECOND


async def test_children_spawned_by_a_process_stop_when_it_restarts(
    supervisor: SupervisorFixture,
) -> None:
    async def init(ctx: object, tools: Tools) -> None:
        await tools.spawn(worker(), name="child")

    def handle(state: None, msg: str, tools: Tools) -> None:
        raise RuntimeError("parent crashed")

    parent = await supervisor.spawn(
        ProcessSpec(handle=handle, init=init), name="parent"
    )
    first_child = supervisor.find("child")

    parent.send("boom")
    await supervisor.wait_for("restarted", parent)

    second_child = supervisor.find("child")
    assert first_child is not None
    assert second_child is not None
    assert first_child is not second_child
    assert first_child.status is ProcessStatus.STOPPED  # type: ignore[union-attr]
    assert second_child.status is ProcessStatus.RUNNING  # type: ignore[union-attr]
    assert [
        e.data["owner"]
        for e in supervisor.lifecycle("child")
        if e.type == "process.spawned"
    ] == ["parent", "parent"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"strategy": "one_for_some"},
            r"^strategy='one_for_some' \(type=str\) is not a known strategy; use one "
            r"of 'one_for_one', 'one_for_all', 'rest_for_one'$",
            id="strategy",
        ),
        pytest.param(
            {"max_restarts": -1},
            r"^max_restarts=-1 \(type=int\) is not a restart limit; pass an int, zero "
            r"or more \(0 means never restart\)$",
            id="negative-max-restarts",
        ),
        pytest.param(
            {"max_restarts": True},
            r"^max_restarts=True \(type=bool\) is not a restart limit",
            id="bool-max-restarts",
        ),
        pytest.param(
            {"within": 0},
            r"^within=0 is zero; the intensity window must be a positive number of "
            r"seconds$",
            id="zero-within",
        ),
        pytest.param(
            {"within": float("nan")},
            r"^within=nan is not a finite duration",
            id="nan-within",
        ),
        pytest.param(
            {"backoff": 1.0},
            r"^backoff=1\.0 \(type=float\) is not a Backoff; pass "
            r"Backoff\(initial=\.\.\., maximum=\.\.\.\) or None to restart at once$",
            id="backoff-not-a-backoff",
        ),
        pytest.param(
            {"seed": "x"},
            r"^seed='x' \(type=str\) is not a seed; pass an int or None$",
            id="seed",
        ),
        pytest.param(
            {"clock": object()},
            r"^clock=<object object at 0x[0-9a-f]+> \(type=object\) is not a Clock",
            id="clock",
        ),
        pytest.param(
            {"journal": object()},
            r"^journal=<object object at 0x[0-9a-f]+> \(type=object\) has no "
            r"append\(\)",
            id="journal",
        ),
        pytest.param(
            {"emit": 3},
            r"^emit=3 \(type=int\) is not callable; pass a function taking one "
            r"Event, or None$",
            id="emit",
        ),
        pytest.param(
            {"name": ""},
            r"^name='' \(type=str\) is not a supervisor name; pass a non-empty str$",
            id="name",
        ),
        pytest.param(
            {"shutdown": -2},
            r"^shutdown=-2 is negative; durations must be zero or more seconds$",
            id="shutdown",
        ),
        pytest.param(
            {"interceptor": "spy"},
            r"^interceptor='spy' \(type=str\) has no on_send\(\) and on_handle\(\); "
            r"pass an Interceptor or None$",
            id="interceptor",
        ),
    ],
)
def test_bad_supervisor_options_raise_clear_errors(
    controlled_clock: ControlledClock, options: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"clock": controlled_clock, **options}

    with pytest.raises(ValueError, match=message):
        create_supervisor(**arguments)  # type: ignore[arg-type]


async def test_bad_nested_supervisor_options_change_nothing(
    supervisor: SupervisorFixture,
) -> None:
    with pytest.raises(ValueError, match=r"^strategy='x'"):
        await supervisor.spawn_supervisor(name="sub", strategy="x")
    with pytest.raises(ValueError, match=r"^restart='x'"):
        await supervisor.spawn_supervisor(name="sub", restart="x")

    assert supervisor.children == []
    assert supervisor.events == []
    assert supervisor.find("sub") is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"initial": 0},
            r"^initial=0 is zero; pass a positive first delay, or backoff=None to "
            r"restart at once$",
            id="zero-initial",
        ),
        pytest.param(
            {"initial": 2, "maximum": 1},
            r"^maximum=1 is below initial=2; the cap must be at least the first "
            r"delay$",
            id="maximum-below-initial",
        ),
        pytest.param(
            {"factor": 0.5},
            r"^factor=0\.5 \(type=float\) is not a growth factor; pass a finite "
            r"number, 1 or more$",
            id="shrinking-factor",
        ),
        pytest.param(
            {"jitter": 1.5},
            r"^jitter=1\.5 \(type=float\) is not a jitter fraction; pass a number "
            r"from 0 to 1$",
            id="jitter-too-big",
        ),
        pytest.param(
            {"reset_after": -1},
            r"^reset_after=-1 is negative",
            id="negative-reset",
        ),
    ],
)
def test_bad_backoff_raises_a_clear_error(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**options)  # type: ignore[arg-type]


async def test_escalation_with_backoff_happens_at_exact_times(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(
        max_restarts=1, within=60, backoff=Backoff(initial=2, jitter=0)
    )
    workers = await supervisor.spawn_supervisor(name="workers", max_restarts=0)
    ref = await workers.spawn(worker(), name="w")

    await asyncio.sleep(1)
    ref.send("boom")
    await supervisor.wait_for("restarted", "workers")
    await asyncio.sleep(1)
    ref.send("boom")
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()

    timeline = [
        (e.at.mono_ns, e.type.removeprefix("process."), e.data["name"])
        for e in supervisor.events
        if e.type in ("process.crashed", "process.gave_up", "process.restart_scheduled")
        or (e.type == "process.restarted")
    ]
    assert timeline == [
        (1 * SECOND, "crashed", "w"),
        (1 * SECOND, "gave_up", "workers"),
        (1 * SECOND, "restart_scheduled", "workers"),
        (3 * SECOND, "restarted", "w"),
        (3 * SECOND, "restarted", "workers"),
        (4 * SECOND, "crashed", "w"),
        (4 * SECOND, "gave_up", "workers"),
        (4 * SECOND, "gave_up", "root"),
    ]


async def test_bad_shutdown_reason_is_refused(supervisor: SupervisorFixture) -> None:
    ref = await supervisor.spawn(worker(), name="w")

    with pytest.raises(
        ValueError,
        match=r"^reason=3 \(type=int\) is not a stop reason; pass a str such as "
        r'"shutdown"$',
    ):
        await supervisor.shutdown(3)  # type: ignore[arg-type]
    assert supervisor.status is SupervisorStatus.RUNNING
    assert ref.status is ProcessStatus.RUNNING


@pytest.mark.slow
async def test_stress_many_processes_with_random_crashes_lose_and_repeat_nothing(
    supervisor: SupervisorFixture,
) -> None:
    from random import Random

    supervisor.configure(max_restarts=100_000, within=1)
    generator = Random(5)
    handled: dict[str, list[int]] = {}

    async def handle(state: None, msg: int, tools: Tools) -> None:
        if msg < 0:
            raise RuntimeError("planned crash")
        handled.setdefault(tools.name, []).append(msg)
        if msg % 7 == 0:
            await asyncio.sleep(0.001)

    refs = [
        await supervisor.spawn(ProcessSpec(handle=handle), name=f"p{n}")
        for n in range(200)
    ]
    sent: dict[str, list[int]] = {ref.name: [] for ref in refs}
    for number in range(20_000):
        ref = generator.choice(refs)
        if generator.random() < 0.05:
            ref.send(-1)
        else:
            ref.send(number)
            sent[ref.name].append(number)
        if number % 1000 == 0:
            await asyncio.sleep(0)
    for ref in refs:
        ref.send(-2)
        await supervisor.wait_for("crashed", ref, count=1)
    await asyncio.sleep(1)

    assert {name: handled.get(name, []) for name in sent} == sent
    assert supervisor.status is SupervisorStatus.RUNNING
