"""Each kind of fault strikes where its plan says, and is recorded when it does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from phyxius.journal import StoreError
from phyxius.process import AskTimeoutError, ProcessRef, ProcessSpec, Tools
from phyxius.testing import (
    FAULTS_JOURNAL,
    LIFECYCLE_JOURNAL,
    AppendFailure,
    Crash,
    Delay,
    Drop,
    Duplicate,
    FaultPlan,
    FaultSpace,
    InjectedAppendError,
    InjectedCrash,
    Outcome,
    WallJump,
    World,
    simulate,
)

from .sim_scenarios import relay


def recorder(seen: list[Any]) -> ProcessSpec:
    """A process that notes every message with the clock's monotonic reading."""

    def handle(state: None, message: Any, tools: Tools) -> None:
        seen.append((message, tools.clock.now().mono))
        if isinstance(message, str) and message.startswith("ask"):
            tools.reply(message.upper())
        return state

    return ProcessSpec(handle=handle)


def run(plan: FaultPlan, scenario: Any) -> Outcome:
    return simulate(scenario, plan=plan, check=False)


def entries(outcome: Outcome, journal: str) -> list[dict[str, Any]]:
    document = json.loads(outcome.journals[journal])
    return [entry["data"] for entry in document["entries"]]


# -- crashes -------------------------------------------------------------------------


def test_a_crash_before_the_kth_message_skips_it_and_restarts_the_process() -> None:
    seen: list[Any] = []

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        for number in (1, 2, 3):
            ref.send(number)
        await asyncio.sleep(1)

    outcome = run(FaultPlan(Crash("worker", 2)), scenario)

    assert outcome.ok
    assert [message for message, _ in seen] == [1, 3]
    steps = [event["type"] for event in entries(outcome, LIFECYCLE_JOURNAL)]
    assert "process.crashed" in steps
    assert "process.restarted" in steps
    (injection,) = outcome.injections
    assert injection.fault == Crash("worker", 2)
    assert injection.detail == "crashed 'worker' before handling 2"


def test_a_crash_after_the_kth_message_lets_its_handler_run_first() -> None:
    seen: list[Any] = []

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        for number in (1, 2, 3):
            ref.send(number)
        await asyncio.sleep(1)

    outcome = run(FaultPlan(Crash("worker", 2, point="after")), scenario)

    assert [message for message, _ in seen] == [1, 2, 3]
    assert outcome.injections[0].detail == "crashed 'worker' after handling 2"


def test_the_asker_of_a_crashed_message_gets_the_injected_crash() -> None:
    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder([]), name="worker")
        await ref.ask("ask-1")

    outcome = run(FaultPlan(Crash("worker", 1)), scenario)

    assert isinstance(outcome.error, InjectedCrash)
    assert outcome.error.fault == Crash("worker", 1)
    assert str(outcome.error) == (
        "crash(process='worker', message=1): process 'worker' crashed before "
        "handling its message 1 ('ask-1'), as the fault plan says"
    )


def test_messages_are_counted_across_restarts() -> None:
    seen: list[Any] = []

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        for number in range(1, 6):
            ref.send(number)
            await asyncio.sleep(1)

    outcome = run(FaultPlan(Crash("worker", 1), Crash("worker", 4)), scenario)

    assert [message for message, _ in seen] == [2, 3, 5]
    assert [i.fault for i in outcome.injections] == [
        Crash("worker", 1),
        Crash("worker", 4),
    ]


# -- messages on their way -------------------------------------------------------------


def test_a_dropped_message_is_lost_though_send_reports_it_queued() -> None:
    seen: list[Any] = []
    sent: list[bool] = []

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        sent.extend(ref.send(number) for number in (1, 2, 3))
        await asyncio.sleep(1)

    outcome = run(FaultPlan(Drop("worker", 2)), scenario)

    assert sent == [True, True, True]
    assert [message for message, _ in seen] == [1, 3]
    assert outcome.injections[0].detail == (
        "dropped message 2 from outside to 'worker'"
    )


def test_a_dropped_ask_waits_for_its_timeout_on_the_virtual_clock() -> None:
    async def scenario(world: World) -> float:
        ref = await world.supervisor.spawn(recorder([]), name="worker")
        with pytest.raises(AskTimeoutError):
            await ref.ask("ask-1", timeout=30)
        return world.clock.now().mono

    outcome = run(FaultPlan(Drop("worker", 1)), scenario)

    assert outcome.value == 30.0


def test_a_duplicated_message_is_handled_twice_and_an_ask_answered_once() -> None:
    seen: list[Any] = []

    async def scenario(world: World) -> str:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        answer: str = await ref.ask("ask-1")
        await asyncio.sleep(1)
        return answer

    outcome = run(FaultPlan(Duplicate("worker", 1)), scenario)

    assert outcome.value == "ASK-1"
    assert [message for message, _ in seen] == ["ask-1", "ask-1"]


def test_a_delayed_message_arrives_late_and_is_overtaken() -> None:
    seen: list[Any] = []

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder(seen), name="worker")
        ref.send(1)
        ref.send(2)
        await asyncio.sleep(5)

    outcome = run(FaultPlan(Delay("worker", 1, by=2.5)), scenario)

    assert seen == [(2, 0.0), (1, 2.5)]
    assert outcome.injections[0].detail == (
        "delayed message 1 from outside to 'worker' by 2.5s"
    )


def test_a_fault_on_a_link_strikes_only_messages_from_that_sender() -> None:
    seen: list[Any] = []

    def forward(state: None, message: Any, tools: Tools) -> None:
        target = tools.ctx["target"]
        assert isinstance(target, ProcessRef)
        target.send(("via api", message))
        return state

    async def scenario(world: World) -> None:
        worker = await world.supervisor.spawn(recorder(seen), name="worker")
        api = await world.supervisor.spawn(
            ProcessSpec(handle=forward), name="api", ctx={"target": worker}
        )
        worker.send("direct")
        api.send("first")
        api.send("second")
        await asyncio.sleep(1)

    outcome = run(FaultPlan(Drop("worker", 1, sender="api")), scenario)

    assert [message for message, _ in seen] == ["direct", ("via api", "second")]
    assert outcome.injections[0].detail == (
        "dropped message ('via api', 'first') from 'api' to 'worker'"
    )


# -- the wall clock ------------------------------------------------------------------


def test_a_wall_jump_moves_wall_time_only_at_its_moment() -> None:
    async def scenario(world: World) -> list[tuple[float, float]]:
        start = world.clock.now().wall
        readings = []
        for _ in range(3):
            now = world.clock.now()
            readings.append((now.mono, now.wall - start))
            await asyncio.sleep(10)
        return readings

    outcome = run(FaultPlan(WallJump(at=15, by=-3600)), scenario)

    assert outcome.value == [(0.0, 0.0), (10.0, 10.0), (20.0, 20.0 - 3600)]
    assert outcome.injections[0].detail == "wall clock moved by -3600s"
    assert outcome.injections[0].at.mono == 15.0


# -- journal appends -----------------------------------------------------------------


def test_a_failing_append_before_writing_stores_nothing() -> None:
    async def scenario(world: World) -> list[int]:
        journal = world.journal("ledger")
        journal.append({"n": 1})
        with pytest.raises(InjectedAppendError) as caught:
            journal.append({"n": 2})
        assert isinstance(caught.value, StoreError)
        journal.append({"n": 3})
        return [entry.data["n"] for entry in journal]

    outcome = run(FaultPlan(AppendFailure("ledger", 2)), scenario)

    assert outcome.value == [1, 3]
    assert outcome.injections[0].detail == (
        "failed append 2 to 'ledger' before writing"
    )


def test_a_failing_append_after_writing_keeps_the_entry() -> None:
    async def scenario(world: World) -> list[int]:
        journal = world.journal("ledger")
        with pytest.raises(InjectedAppendError, match=r"^append_failure\("):
            journal.append({"n": 1})
        return [entry.data["n"] for entry in journal]

    outcome = run(FaultPlan(AppendFailure("ledger", 1, point="after")), scenario)

    assert outcome.value == [1]
    assert str(outcome.injections[0].fault) == (
        "append_failure(journal='ledger', append=1, point='after')"
    )


def test_appends_are_counted_per_journal() -> None:
    async def scenario(world: World) -> tuple[int, int]:
        world.journal("other").append({"n": 1})
        ledger = world.journal("ledger")
        ledger.append({"n": 1})
        return len(ledger), len(world.journal("other"))

    outcome = run(FaultPlan(AppendFailure("ledger", 2)), scenario)

    assert outcome.value == (1, 1)
    assert outcome.injections == ()


# -- the record of what struck ---------------------------------------------------------


def test_every_injection_is_journaled_in_the_faults_journal() -> None:
    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(recorder([]), name="worker")
        ref.send(1)
        ref.send(2)
        await asyncio.sleep(20)

    outcome = run(
        FaultPlan(Drop("worker", 1), Duplicate("worker", 2), WallJump(10, 5)),
        scenario,
    )

    events = entries(outcome, FAULTS_JOURNAL)
    assert {event["type"] for event in events} == {"simulation.fault"}
    assert [event["data"] for event in events] == [
        {
            "fault": "drop(to='worker', message=1)",
            "detail": "dropped message 1 from outside to 'worker'",
        },
        {
            "fault": "duplicate(to='worker', message=2)",
            "detail": "duplicated message 2 from outside to 'worker'",
        },
        {"fault": "wall_jump(at=10.0, by=5.0)", "detail": "wall clock moved by 5s"},
    ]
    assert str(outcome.injections[0]) == (
        "drop(to='worker', message=1) at mono 0s: dropped message 1 from outside "
        "to 'worker'"
    )


def test_inject_draws_a_plan_from_a_space_with_the_worlds_seed() -> None:
    space = FaultSpace(processes=("worker",), max_faults=3)
    plans = []
    for _ in range(2):
        world = World(11)
        plans.append(world.inject(space))
        assert world.plan == plans[-1]

    assert plans[0] == plans[1]
    assert World(11, faults=space).plan == plans[0]


def test_seed_zero_draws_no_faults_from_a_space() -> None:
    space = FaultSpace(processes=("worker",), max_faults=3)

    assert World(0, faults=space).plan == FaultPlan()
    assert World().inject(space) == FaultPlan()
    assert any(World(seed, faults=space).plan for seed in range(1, 10))


def test_a_plan_given_instead_of_drawn_changes_nothing_else() -> None:
    space = FaultSpace(processes=("alpha", "beta", "gamma"), max_faults=2)
    drawn = simulate(relay, seed=5, faults=space, check=False)
    given = simulate(relay, seed=5, plan=drawn.plan, check=False)

    assert given.journals == drawn.journals
    assert given.injections == drawn.injections
