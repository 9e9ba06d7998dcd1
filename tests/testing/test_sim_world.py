"""`World`: a fresh world per run, invariants after every step, checked options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock, run
from phyxius.process import ProcessSpec, Tools
from phyxius.testing import (
    FAULTS_JOURNAL,
    LIFECYCLE_JOURNAL,
    FaultPlan,
    FaultSpace,
    InvariantViolationError,
    Schedule,
    SeededScheduler,
    SimulationFailedError,
    SimulationUsageError,
    World,
    simulate,
)

from .sim_scenarios import relay


def counter_spec() -> ProcessSpec:
    def handle(count: int, message: Any, tools: Tools) -> int:
        return count + 1

    return ProcessSpec(init=lambda ctx: 0, handle=handle)


# -- a fresh world ---------------------------------------------------------------------


def test_every_run_gets_a_fresh_clock_journals_and_supervisor() -> None:
    seen: list[tuple[int, float, int]] = []

    async def scenario(world: World) -> None:
        journal = world.journal("events")
        seen.append(
            (len(journal), world.clock.now().mono, len(list(world.supervisor.walk())))
        )
        journal.append({"n": 1})
        await world.supervisor.spawn(counter_spec(), name="counter")
        await asyncio.sleep(60)

    simulate(scenario, seed=3)
    simulate(scenario, seed=3)

    assert seen == [(0, 0.0, 0), (0, 0.0, 0)]


def test_a_world_lists_its_own_journals_and_the_scenarios() -> None:
    async def scenario(world: World) -> list[str]:
        world.journal("orders").append({"id": 1})
        assert world.journal("orders") is world.journal("orders")
        await world.supervisor.spawn(counter_spec(), name="counter")
        return sorted(world.journals)

    outcome = simulate(scenario)

    assert outcome.value == ["orders", FAULTS_JOURNAL, LIFECYCLE_JOURNAL]
    assert sorted(outcome.journals) == ["orders", FAULTS_JOURNAL, LIFECYCLE_JOURNAL]
    assert '"process.spawned"' in outcome.journals[LIFECYCLE_JOURNAL]


def test_the_worlds_random_generator_follows_its_seed() -> None:
    def draws(seed: int) -> list[int]:
        world = World(seed)
        return [world.random.randint(0, 10**6) for _ in range(5)]

    assert draws(4) == draws(4)
    assert draws(4) != draws(5)


def test_a_world_runs_its_supervisors_down_after_the_scenario() -> None:
    kept: list[Any] = []

    async def scenario(world: World) -> None:
        kept.append(await world.supervisor.spawn(counter_spec(), name="counter"))
        other = world.create_supervisor(name="second", strategy="one_for_all")
        kept.append(other)
        kept.append(await other.spawn(counter_spec(), name="second-counter"))

    simulate(scenario)

    assert [part.status.value for part in kept] == ["stopped"] * 3


def test_a_supervisor_that_cannot_stop_in_time_fails_the_run() -> None:
    async def slow(state: None, message: Any, tools: Tools) -> None:
        await asyncio.sleep(3600)

    async def scenario(world: World) -> None:
        ref = await world.supervisor.spawn(
            ProcessSpec(handle=slow), name="slow", shutdown=100
        )
        ref.send("go")
        await asyncio.sleep(1)

    outcome = simulate(scenario, shutdown_deadline=30, check=False)

    assert isinstance(outcome.error, SimulationUsageError)
    assert str(outcome.error) == (
        "the world's supervisors did not shut down within shutdown_deadline=30 "
        "virtual seconds; a handler may never return, or an on_stop may hang"
    )


# -- invariants ---------------------------------------------------------------------


def test_invariants_are_checked_after_every_step() -> None:
    checked: list[int] = []

    def count(world: World) -> None:
        checked.append(world.steps)

    outcome = simulate(relay, seed=2, invariants=[count])

    assert outcome.steps is not None
    assert outcome.steps > 20
    # After every step, and once more when the scenario returns.
    assert checked == [*range(1, outcome.steps + 1), outcome.steps]


def test_without_invariants_steps_are_not_counted() -> None:
    assert simulate(relay).steps is None


def test_a_failing_invariant_ends_the_run_at_that_step() -> None:
    async def scenario(world: World) -> None:
        counter = {"value": 0}

        @world.invariant
        def below_three(world: World) -> bool:
            return counter["value"] < 3

        for _ in range(10):
            counter["value"] += 1
            await asyncio.sleep(1)

    outcome = simulate(scenario, seed=0, check=False)

    error = outcome.error
    assert isinstance(error, InvariantViolationError)
    assert error.invariant == "below_three"
    assert error.__cause__ is None
    assert str(error) == (
        f"invariant 'below_three' failed after step {error.step} at 2s of virtual "
        "time (seed 0, faults: none): it returned False"
    )
    assert outcome.elapsed == 2.0


def test_an_invariant_that_raises_names_its_error() -> None:
    def never_empty(world: World) -> None:
        assert world.steps < 2, "too many steps"

    outcome = simulate(relay, invariants=[never_empty], check=False)

    assert isinstance(outcome.error, InvariantViolationError)
    assert outcome.error.step == 2
    assert "it raised AssertionError: too many steps" in str(outcome.error)
    assert isinstance(outcome.error.__cause__, AssertionError)


def test_an_invariant_can_be_named() -> None:
    async def scenario(world: World) -> None:
        world.invariant(lambda world: False, name="never")
        await asyncio.sleep(0)

    outcome = simulate(scenario, check=False)

    assert isinstance(outcome.error, InvariantViolationError)
    assert outcome.error.invariant == "never"


def test_the_world_checks_invariants_once_more_after_the_scenario() -> None:
    async def scenario(world: World) -> None:
        flags = {"broken": False}
        world.invariant(lambda world: not flags["broken"], name="intact")
        flags["broken"] = True  # no step follows: only the final check sees it

    outcome = simulate(scenario, check=False)

    assert isinstance(outcome.error, InvariantViolationError)
    assert outcome.error.invariant == "intact"


def test_a_failed_run_raises_with_its_report() -> None:
    async def failing(world: World) -> None:
        raise KeyError("order 42")

    with pytest.raises(SimulationFailedError) as caught:
        simulate(failing, seed=9, plan=FaultPlan())

    assert str(caught.value) == (
        "simulated run failed: KeyError: 'order 42'\n"
        "  seed:      9\n"
        "  faults:    none\n"
        "  schedule:  0 choice points, 0 reordered, in 6 loop turns\n"
        "  time:      0s of virtual time\n"
        "  replay:    simulate(failing, seed=9)"
    )
    assert isinstance(caught.value.__cause__, KeyError)
    assert caught.value.outcome.error is caught.value.__cause__
    assert isinstance(caught.value, AssertionError)


# -- running inside a loop -----------------------------------------------------------


def test_run_async_runs_a_scenario_on_the_running_loop() -> None:
    clock = ControlledClock()
    scheduler = SeededScheduler(4)
    world = World(4, clock=clock, scheduler=scheduler)

    async def scenario(world: World) -> float:
        await asyncio.sleep(5)
        return world.clock.now().mono

    async def main() -> float:
        return await world.run_async(scenario)

    assert run(main(), clock=clock, scheduler=scheduler) == 5.0
    assert world.scheduler is scheduler
    assert scheduler.turns > 0


# -- usage errors ----------------------------------------------------------------------


def test_a_world_runs_once() -> None:
    world = World()

    async def scenario(world: World) -> None:
        await asyncio.sleep(0)

    world.run(scenario)
    with pytest.raises(
        SimulationUsageError,
        match=r"^this World has run already; a world serves one run, so make a new "
        r"one \(simulate\(\) does\) for the next$",
    ):
        world.run(scenario)


def test_run_refuses_a_running_loop() -> None:
    async def scenario(world: World) -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        World().run(scenario)

    with pytest.raises(
        SimulationUsageError,
        match=r"^World\.run\(\) was called inside a running event loop; await "
        r"world\.run_async\(scenario\) there instead$",
    ):
        asyncio.run(main())


def test_a_scenario_must_be_an_async_function() -> None:
    outcome = simulate(lambda world: 42, check=False)  # type: ignore[arg-type,return-value]

    assert isinstance(outcome.error, InvalidArgumentError)
    assert str(outcome.error).startswith("scenario=")
    assert str(outcome.error).endswith(
        "returned 42, not an awaitable; make it an async function"
    )

    outcome = World().run(None, check=False)  # type: ignore[arg-type]
    assert str(outcome.error) == (
        "scenario=None (type=NoneType) is not callable; pass an async function "
        "taking the world"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"seed": -2},
            r"^seed=-2 \(type=int\) is not a seed; pass an int, zero or more",
        ),
        (
            {"schedule": (1,)},
            r"^schedule=\(1,\) \(type=tuple\) is not a Schedule; pass "
            r"Schedule\(picks=\(\.\.\.\)\) or None$",
        ),
        (
            {"scheduler": object()},
            r"^scheduler=<object object at .*> \(type=object\) is not a "
            r"SeededScheduler or ScriptedScheduler; pass one, or None$",
        ),
        (
            {"schedule": Schedule(), "scheduler": SeededScheduler()},
            r"^schedule= and scheduler= were both given; pass a schedule to script "
            r"a new scheduler, or a scheduler to use as it is$",
        ),
        (
            {"plan": FaultPlan(), "faults": FaultSpace()},
            r"^plan= and faults= were both given; pass a plan to use as it is, or a "
            r"fault space to draw one from with the seed$",
        ),
        (
            {"plan": "crash(process='db', message=1)"},
            r"^plan=\"crash\(process='db', message=1\)\" \(type=str\) is not a "
            r"FaultPlan; pass FaultPlan\(\.\.\.\) or None$",
        ),
        (
            {"faults": ("db",)},
            r"^faults=\('db',\) \(type=tuple\) is not a FaultSpace; pass "
            r"FaultSpace\(\.\.\.\) or None$",
        ),
        (
            {"clock": object()},
            r"^clock=<object object at .*> \(type=object\) is not a "
            r"ControlledClock; pass one, or None for a new one$",
        ),
        (
            {"clock": ControlledClock(), "start": 0},
            r"^start= and clock= were both given; the clock already has its start, "
            r"so pass one or the other$",
        ),
        (
            {"invariants": [3]},
            r"^invariant=3 \(type=int\) is not callable; pass a function taking the "
            r"world and raising \(or returning False\) when the invariant does not "
            r"hold$",
        ),
        (
            {"shutdown_deadline": -1},
            r"^shutdown_deadline=-1 ",
        ),
    ],
    ids=[
        "seed",
        "schedule",
        "scheduler",
        "schedule-and-scheduler",
        "plan-and-faults",
        "plan",
        "faults",
        "clock",
        "clock-and-start",
        "invariant",
        "deadline",
    ],
)
def test_bad_world_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        World(**options)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "",
            r"^name='' \(type=str\) is not a journal name; pass a non-empty str$",
        ),
        (
            "phyxius.mine",
            r"^name='phyxius\.mine' starts with 'phyxius\.', which is kept for the "
            r"world's own journals; pick another name$",
        ),
    ],
    ids=["empty", "reserved"],
)
def test_bad_journal_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        World().journal(name)


def test_a_bad_invariant_name_is_refused() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^name=7 \(type=int\) is not an invariant name; pass a non-empty str "
        r"or None$",
    ):
        World().invariant(lambda world: True, name=7)  # type: ignore[arg-type]


def test_inject_takes_a_plan_or_a_space() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^faults='none' \(type=str\) is neither a FaultPlan nor a FaultSpace$",
    ):
        World().inject("none")  # type: ignore[arg-type]
