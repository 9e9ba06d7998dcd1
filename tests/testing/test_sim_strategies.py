"""Hypothesis strategies: valid values, a fresh world per example, minimal failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.clock import ControlledClock, run
from phyxius.testing import (
    FIFO,
    Advance,
    ClockProgram,
    Crash,
    Delay,
    Drop,
    FaultPlan,
    FaultSpace,
    JumpWall,
    Schedule,
    World,
    simulate,
)
from phyxius.testing.strategies import (
    clock_programs,
    durations,
    fault_plans,
    faults,
    schedules,
    seeds,
)

from .sim_scenarios import handoff, relay

# `find` explores from a fixed seed, so what it reports is the same on every
# run; no example database, so nothing carries over between runs.
SEARCH = settings(
    database=None,
    derandomize=True,
    max_examples=500,
    suppress_health_check=[HealthCheck.too_slow],
)

SPACE = FaultSpace(processes=("worker",), journals=("log",), max_faults=3)


def lossy(world: World) -> Any:
    """Five messages to a worker; failing when any of them is lost."""

    async def scenario(world: World) -> None:
        handled: list[int] = []
        ref = await world.supervisor.spawn(
            type(
                "Worker", (), {"handle": lambda self, message: handled.append(message)}
            )(),
            name="worker",
        )
        for number in range(1, 6):
            ref.send(number)
            await asyncio.sleep(1)
        assert sorted(set(handled)) == [1, 2, 3, 4, 5], f"handled {handled}"

    return scenario(world)


# -- a fresh world per example, invariants after every step ----------------------------


seen_journal_lengths: list[int] = []


@given(schedule=schedules(max_picks=40, max_pick=4), seed=seeds(max_value=1000))
@settings(max_examples=40, database=None)
def test_each_example_runs_in_a_fresh_world(schedule: Schedule, seed: int) -> None:
    def fresh(world: World) -> None:
        # Checked after every step: the journal holds this run's hops only.
        assert len(world.journal("relay")) <= 200

    async def scenario(world: World) -> list[Any]:
        seen_journal_lengths.append(len(world.journal("relay")))
        return await relay(world)

    outcome = simulate(scenario, seed=seed, schedule=schedule, invariants=[fresh])

    assert outcome.ok
    assert outcome.steps is not None
    assert outcome.steps > 0
    assert set(seen_journal_lengths) == {0}


# -- shrinking to the smallest failure -------------------------------------------------


def test_hypothesis_shrinks_a_race_to_one_reordering() -> None:
    def fails(schedule: Schedule) -> bool:
        return not simulate(handoff, schedule=schedule, check=False).ok

    smallest = find(schedules(), fails, settings=SEARCH)

    assert smallest.reorders == 1
    assert sum(smallest.picks) == 1


def test_hypothesis_shrinks_a_fault_plan_to_one_early_fault() -> None:
    def fails(plan: FaultPlan) -> bool:
        return not simulate(lossy, plan=plan, check=False).ok

    smallest = find(fault_plans(SPACE), fails, settings=SEARCH)

    (fault,) = smallest
    assert isinstance(fault, Crash | Drop)
    assert fault.message == 1
    assert str(smallest) in (
        "crash(process='worker', message=1)",
        "drop(to='worker', message=1)",
    )


def test_hypothesis_shrinks_schedule_and_plan_together() -> None:
    def fails(case: tuple[Schedule, FaultPlan]) -> bool:
        schedule, plan = case
        return not simulate(lossy, schedule=schedule, plan=plan, check=False).ok

    schedule, plan = find(
        st.tuples(schedules(), fault_plans(SPACE)), fails, settings=SEARCH
    )

    assert schedule == FIFO
    assert plan in (FaultPlan(Crash("worker", 1)), FaultPlan(Drop("worker", 1)))


# -- what the strategies draw ----------------------------------------------------------


@given(schedules(max_picks=5, max_pick=3))
def test_schedules_stay_within_their_limits(schedule: Schedule) -> None:
    assert len(schedule.picks) <= 5
    assert all(0 <= pick <= 3 for pick in schedule.picks)


@given(fault_plans(SPACE))
def test_fault_plans_stay_within_their_space(plan: FaultPlan) -> None:
    assert len(plan) <= 3
    for fault in plan:
        assert fault.kind in SPACE.available_kinds
        if isinstance(fault, Delay):
            assert 0.001 <= fault.by <= SPACE.max_delay


@given(faults(FaultSpace(links=(("api", "db"),), kinds=("delay",), max_delay=0.01)))
def test_faults_on_links_name_their_sender(fault: Any) -> None:
    assert isinstance(fault, Delay)
    assert (fault.sender, fault.to) == ("api", "db")
    assert fault.by in {n / 1000 for n in range(1, 11)}


@given(fault_plans(processes=["db"], kinds=["crash"], max_faults=1))
def test_fault_plans_take_a_spaces_fields_as_keywords(plan: FaultPlan) -> None:
    assert all(isinstance(fault, Crash) for fault in plan)


def test_a_space_without_faults_gives_the_empty_plan() -> None:
    everything = find(fault_plans(max_faults=0), lambda plan: True, settings=SEARCH)

    assert everything == FaultPlan()


@given(durations(min_value=1, max_value=timedelta(minutes=1), resolution=0.5))
def test_durations_are_values_every_duration_argument_takes(value: Any) -> None:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    assert type(value) in (float, int, timedelta)
    assert 1 <= seconds <= 60
    assert (seconds * 2) == int(seconds * 2)


@given(clock_programs(max_steps=8, max_advance=100, max_wall_jump=1000))
def test_a_clock_program_moves_a_clock_by_its_totals(program: ClockProgram) -> None:
    clock = ControlledClock(0)
    fired: list[float] = []
    clock.call_later(50, lambda: fired.append(clock.now().mono))

    program.apply(clock)

    assert clock.now().mono == pytest.approx(program.total_advance)
    assert clock.now().wall == pytest.approx(
        program.total_advance + program.total_wall_jump
    )
    assert fired == ([50.0] if program.total_advance >= 50 else [])
    assert len(program) == len(list(program))


@given(clock_programs(max_steps=6, max_advance=10, wall_jumps=False))
def test_a_clock_program_runs_on_a_loop_too(program: ClockProgram) -> None:
    clock = ControlledClock(0)

    async def main() -> list[float]:
        woke: list[float] = []

        async def sleeper() -> None:
            await asyncio.sleep(5)
            woke.append(clock.now().mono)

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        await program.apply_async(clock)
        task.cancel()
        return woke

    woke = run(main(), clock=clock, autojump=False)

    assert all(isinstance(step, Advance) for step in program)
    assert woke == ([5.0] if program.total_advance >= 5 else [])


def test_clock_steps_take_durations_and_check_them() -> None:
    assert Advance(timedelta(seconds=2)).by == 2.0
    assert JumpWall(-5).by == -5.0
    assert ClockProgram([Advance(1), JumpWall(-2)]).total_wall_jump == -2.0
    with pytest.raises(InvalidDurationError, match=r"^by=-1 "):
        Advance(-1)
    with pytest.raises(
        InvalidArgumentError,
        match=r"^steps\[0\]=1 \(type=int\) is not a clock step; pass Advance\(by\) "
        r"or JumpWall\(by\)$",
    ):
        ClockProgram([1])  # type: ignore[list-item]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^steps='a' \(type=str\) is not a sequence of steps; pass Advance and "
        r"JumpWall records$",
    ):
        ClockProgram("a")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^clock=None \(type=NoneType\) is not a ControlledClock; clock "
        r"programs move controlled clocks only$",
    ):
        ClockProgram().apply(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: schedules(max_picks=-1),
            r"^max_picks=-1 \(type=int\) is not a limit; pass an int, 0 or more$",
        ),
        (
            lambda: schedules(max_pick=0),
            r"^max_pick=0 \(type=int\) is not a limit; pass an int, 1 or more$",
        ),
        (
            lambda: seeds(min_value=5, max_value=4),
            r"^max_value=4 \(type=int\) is not a limit; pass an int, 5 or more$",
        ),
        (
            lambda: durations(resolution=0),
            r"^resolution=0 is zero; pass a positive duration such as 0\.001$",
        ),
        (
            lambda: durations(min_value=5, max_value=1),
            r"^max_value=1 is below min_value=5; pass a range that is not empty$",
        ),
        (
            lambda: durations(kinds=(str,)),
            r"^kinds=\(<class 'str'>,\) must name some of float, int and timedelta$",
        ),
        (
            lambda: durations(min_value=0.1, max_value=0.2, resolution=1),
            r"^no multiple of resolution=1 lies between min_value=0\.1 and "
            r"max_value=0\.2$",
        ),
        (
            lambda: faults("db"),
            r"^space='db' \(type=str\) is not a FaultSpace; pass "
            r"FaultSpace\(processes=\.\.\., journals=\.\.\.\)$",
        ),
        (
            lambda: fault_plans(SPACE, max_faults=1),
            r"^fault_plans\(\) got a FaultSpace and keyword options; pass one or the "
            r"other$",
        ),
        (
            lambda: clock_programs(max_steps=-1),
            r"^max_steps=-1 \(type=int\) is not a limit; pass an int, 0 or more$",
        ),
    ],
    ids=[
        "max-picks",
        "max-pick",
        "seed-range",
        "zero-resolution",
        "empty-range",
        "kinds",
        "no-multiple",
        "faults-space",
        "space-and-options",
        "max-steps",
    ],
)
def test_bad_strategy_arguments_are_refused(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()
