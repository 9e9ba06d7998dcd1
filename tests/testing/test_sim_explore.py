"""`explore` finds a failing seed, its replay repeats it, `shrink` makes it small."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import phyxius.testing
from phyxius import InvalidArgumentError
from phyxius.process import ProcessSpec, Tools
from phyxius.testing import (
    FIFO,
    AppendFailure,
    Crash,
    Drop,
    Duplicate,
    Exploration,
    FaultPlan,
    FaultSpace,
    Schedule,
    SimulationFailedError,
    SimulationUsageError,
    WallJump,
    World,
    explore,
    shrink,
    simulate,
)

from .sim_scenarios import handoff, relay


def replay(call: str, scenario: Any) -> Any:
    """Evaluate a replay call as a user would paste it."""
    namespace = dict(vars(phyxius.testing))
    namespace[scenario.__name__] = scenario
    return eval(call, namespace)


# -- explore ---------------------------------------------------------------------------


def test_explore_finds_a_race_that_fifo_order_hides() -> None:
    assert simulate(handoff, seed=0).ok

    exploration = explore(handoff, runs=50, check=False)

    assert exploration.failure is not None
    assert exploration.runs == exploration.failure.run
    assert exploration.seeds == tuple(range(1, exploration.runs + 1))
    assert exploration.failure.runs == 50
    assert isinstance(exploration.failure.error, AssertionError)


def test_explore_raises_with_the_seed_and_the_replay() -> None:
    with pytest.raises(SimulationFailedError) as caught:
        explore(handoff, runs=50)

    outcome = caught.value.outcome
    assert str(caught.value) == (
        "simulated run failed: AssertionError: the consumer ran before the "
        "producer\n"
        f"  seed:      {outcome.seed} (run {outcome.run} of 50)\n"
        "  faults:    none\n"
        f"  schedule:  {outcome.decisions} choice points, {outcome.reorders} "
        f"reordered, in {outcome.turns} loop turns\n"
        "  time:      0s of virtual time\n"
        f"  replay:    simulate(handoff, seed={outcome.seed})"
    )


async def bounded_relay(world: World) -> None:
    """The relay scenario, with an invariant that some fault plans break."""

    @world.invariant
    def each_hop_once(world: World) -> None:
        hops = [tuple(entry.data.values()) for entry in world.journal("relay")]
        assert len(hops) == len(set(hops)), "a node saw one hop twice"

    await relay(world)


def test_the_replay_call_repeats_the_failing_run_exactly() -> None:
    space = FaultSpace(processes=("alpha", "beta", "gamma"), max_faults=2)
    exploration = explore(bounded_relay, faults=space, runs=20, check=False)
    failure = exploration.failure
    assert failure is not None
    call = failure.replay("bounded_relay")
    assert (
        call == f"simulate(bounded_relay, seed={failure.seed}, plan={failure.plan!r})"
    )

    with pytest.raises(SimulationFailedError) as caught:
        replay(call, bounded_relay)

    again = caught.value.outcome
    assert again.journals == failure.journals
    assert again.plan == failure.plan
    assert str(again.error) == str(failure.error)


def test_explore_passes_every_seed_of_a_correct_scenario() -> None:
    exploration = explore(relay, runs=30)

    assert isinstance(exploration, Exploration)
    assert exploration.failure is None
    assert exploration.shrunk is None
    assert exploration.runs == 30
    assert exploration.decisions >= exploration.reorders > 0


def test_explore_takes_the_seeds_it_is_given() -> None:
    exploration = explore(handoff, seeds=[0, 2, 4, 1], check=False)

    assert exploration.seeds == (0, 2, 4, 1)
    assert exploration.failure is not None
    assert exploration.failure.seed == 1


def test_explore_with_one_plan_gives_it_to_every_run() -> None:
    plan = FaultPlan(WallJump(at=0, by=60))

    exploration = explore(relay, runs=5, plan=plan)

    assert exploration.failure is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"runs": 0},
            r"^runs=0 \(type=int\) is not a number of runs; pass an int, 1 or more$",
        ),
        ({"seeds": []}, r"^seeds=\[\] is empty; pass at least one seed$"),
        (
            {"seeds": [1, -1]},
            r"^seeds\[\]=-1 \(type=int\) is not a seed; pass an int, zero or more",
        ),
    ],
    ids=["runs", "no-seeds", "bad-seed"],
)
def test_bad_exploration_options_are_refused(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        explore(handoff, **options)


# -- shrink ----------------------------------------------------------------------------


def test_shrink_reduces_a_seeded_race_to_one_reordering() -> None:
    exploration = explore(handoff, runs=50, check=False)
    assert exploration.failure is not None

    smallest = shrink(handoff, exploration.failure)

    assert smallest.scripted is not None
    assert smallest.scripted.reorders == 1
    assert smallest.seed == exploration.failure.seed
    assert smallest.replay("handoff") == (
        f"simulate(handoff, seed={smallest.seed}, schedule={smallest.scripted!r})"
    )
    with pytest.raises(SimulationFailedError):
        replay(smallest.replay("handoff"), handoff)


def counting(needs: int) -> Any:
    """A scenario that fails when fewer than ``needs`` of five messages arrive."""

    async def lossy(world: World) -> None:
        handled: list[Any] = []

        def handle(state: None, message: Any, tools: Tools) -> None:
            handled.append(message)
            return state

        ref = await world.supervisor.spawn(ProcessSpec(handle=handle), name="worker")
        for number in range(1, 6):
            ref.send(number)
            await asyncio.sleep(1)
        world.journal("log").append({"handled": len(handled)})
        assert len(set(handled)) >= needs, f"handled only {handled}"

    return lossy


def test_shrink_keeps_only_the_faults_the_failure_needs() -> None:
    scenario = counting(5)
    plan = FaultPlan(
        Duplicate("worker", 2),
        Drop("worker", 4),
        WallJump(at=2, by=-30),
        AppendFailure("other", 1),
    )
    failure = simulate(scenario, seed=3, plan=plan, check=False)
    assert not failure.ok

    smallest = shrink(scenario, failure)

    assert smallest.plan == FaultPlan(Drop("worker", 1))
    assert smallest.scripted == FIFO
    assert str(failure.error).startswith("handled only [1, 2, 2, 3, 5]\n")
    assert str(smallest.error).startswith("handled only [2, 3, 4, 5]\n")


def test_shrink_makes_a_fault_strike_as_early_and_simply_as_it_can() -> None:
    scenario = counting(5)
    failure = simulate(
        scenario, plan=FaultPlan(Crash("worker", 4, point="after")), check=False
    )
    # A crash after handling loses nothing; only "before" fails this scenario.
    assert failure.ok

    failure = simulate(scenario, plan=FaultPlan(Crash("worker", 4)), check=False)
    smallest = shrink(scenario, failure)

    assert smallest.plan == FaultPlan(Crash("worker", 1))


def test_shrink_keeps_the_kind_of_failure_unless_told_otherwise() -> None:
    async def two_ways(world: World) -> None:
        await asyncio.sleep(0)
        crashes = any(isinstance(fault, Crash) for fault in world.plan)
        drops = any(isinstance(fault, Drop) for fault in world.plan)
        if crashes and drops:
            raise ValueError("a crash and a drop")
        if crashes:
            raise KeyError("a crash alone")

    failure = simulate(
        two_ways, plan=FaultPlan(Drop("worker", 2), Crash("worker", 3)), check=False
    )
    assert isinstance(failure.error, ValueError)

    same = shrink(two_ways, failure)
    other = shrink(two_ways, failure, same_error=False)

    assert same.plan == FaultPlan(Drop("worker", 1), Crash("worker", 1))
    assert isinstance(same.error, ValueError)
    assert other.plan == FaultPlan(Crash("worker", 1))
    assert isinstance(other.error, KeyError)


def test_shrink_stops_at_its_budget() -> None:
    exploration = explore(handoff, runs=50, check=False)
    assert exploration.failure is not None

    smallest = shrink(handoff, exploration.failure, max_runs=1)

    assert smallest.scripted is not None
    assert smallest.scripted.reorders <= exploration.failure.reorders


def test_explore_can_shrink_what_it_finds() -> None:
    with pytest.raises(SimulationFailedError) as caught:
        explore(handoff, runs=50, shrink=True)

    message = str(caught.value)
    assert "\nshrunk to the smallest run that fails the same way:\n" in message
    assert message.endswith(caught.value.outcome.replay("handoff"))
    assert caught.value.outcome.scripted is not None
    assert caught.value.outcome.scripted.reorders == 1

    exploration = explore(handoff, runs=50, shrink=True, check=False)
    assert exploration.shrunk is not None
    assert exploration.shrunk.replay() == caught.value.outcome.replay()


def test_shrink_refuses_a_failure_that_does_not_repeat() -> None:
    runs = []

    async def flaky(world: World) -> None:
        runs.append(1)
        await asyncio.sleep(0)
        assert len(runs) > 1, "the first run only"

    failure = simulate(flaky, check=False)

    with pytest.raises(
        SimulationUsageError,
        match=r"^the failure did not repeat on replay \(it passed\); the scenario "
        r"depends on something outside the world: real time, threads, a global "
        r"random generator, or state kept between runs\. Make it take everything "
        r"from the world it is given$",
    ):
        shrink(flaky, failure)


@pytest.mark.parametrize(
    ("failure", "options", "message"),
    [
        (
            "seed=3",
            {},
            r"^failure='seed=3' \(type=str\) is not an Outcome; pass the outcome of "
            r"a failed run \(SimulationFailedError\.outcome\)$",
        ),
        (
            None,
            {},
            r"^failure is the outcome of a run that passed; shrink the outcome of a "
            r"failed run$",
        ),
        (
            None,
            {"max_runs": 0},
            r"^max_runs=0 \(type=int\) is not a number of runs; pass an int, 1 or "
            r"more$",
        ),
    ],
    ids=["not-an-outcome", "passed", "budget"],
)
def test_bad_shrink_arguments_are_refused(
    failure: Any, options: dict[str, Any], message: str
) -> None:
    if failure is None:
        failure = simulate(relay)
        if "max_runs" in options:
            failure = simulate(handoff, seed=1, check=False)
    with pytest.raises(InvalidArgumentError, match=message):
        shrink(relay, failure, **options)


def test_a_scripted_replay_prints_both_forms_of_its_schedule() -> None:
    outcome = simulate(handoff, schedule=Schedule((0, 1)), check=False)

    assert "  scripted:  Schedule(picks=(0, 1)) (1 reordering(s) at choice " in (
        outcome.report()
    )
    assert outcome.replay() == "simulate(scenario, schedule=Schedule(picks=(0, 1)))"
