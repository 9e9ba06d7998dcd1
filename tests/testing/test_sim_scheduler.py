"""The seeded and scripted schedulers: FIFO at seed 0, one run per seed."""

from __future__ import annotations

import asyncio

import pytest

from phyxius import InvalidArgumentError, PhyxiusError
from phyxius.clock import ControlledClock, ReadyScheduler, VirtualTimeEventLoop
from phyxius.testing import (
    FIFO,
    FaultSpace,
    Schedule,
    ScriptedScheduler,
    SeededScheduler,
    World,
    simulate,
)

from .sim_scenarios import NODES, relay, trace_steps


def run_on_plain_loop(log: list[str]) -> None:
    clock = ControlledClock()
    loop = VirtualTimeEventLoop(clock)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        runner.run(trace_steps(log)(World()))


def handles(count: int) -> list[asyncio.Handle]:
    loop = asyncio.new_event_loop()
    try:
        return [asyncio.Handle(print, (index,), loop) for index in range(count)]
    finally:
        loop.close()


# -- seed 0 is first-in, first-out ---------------------------------------------------


def test_seed_zero_runs_every_turn_in_the_plain_loops_order() -> None:
    plain: list[str] = []
    run_on_plain_loop(plain)
    seeded: list[str] = []

    outcome = simulate(trace_steps(seeded), seed=0)

    assert seeded == plain
    assert seeded[:4] == ["a0", "b0", "c0", "d0"]
    assert outcome.reorders == 0
    assert outcome.decisions > 0
    assert outcome.schedule == FIFO


def test_seed_zero_leaves_a_batch_as_it_is() -> None:
    batch = handles(6)
    before = list(batch)
    scheduler = SeededScheduler(0)

    scheduler.order(batch)

    assert batch == before
    assert (scheduler.turns, scheduler.decisions, scheduler.reorders) == (1, 5, 0)


def test_no_seed_is_seed_zero() -> None:
    assert SeededScheduler().seed == 0
    assert simulate(relay).journals == simulate(relay, seed=0).journals


# -- the same seed gives the same run -------------------------------------------------


def test_one_seed_gives_byte_identical_journals_over_many_seeds() -> None:
    orders: set[str] = set()
    for seed in range(200):
        first = simulate(relay, seed=seed)
        second = simulate(relay, seed=seed)

        assert first.journals == second.journals, f"seed {seed}"
        assert first.value == second.value, f"seed {seed}"
        assert first.schedule == second.schedule, f"seed {seed}"
        orders.add(first.journals["relay"])

    # Other seeds really reorder: far more distinct runs than one.
    assert len(orders) > 150


def test_one_seed_gives_byte_identical_journals_with_faults_too() -> None:
    space = FaultSpace(processes=NODES, journals=("relay",), max_faults=3)
    struck = 0
    for seed in range(1, 201):
        first = simulate(relay, seed=seed, faults=space, check=False)
        second = simulate(relay, seed=seed, faults=space, check=False)

        assert first.plan == second.plan, f"seed {seed}"
        assert first.journals == second.journals, f"seed {seed}"
        assert first.injections == second.injections, f"seed {seed}"
        assert str(first.error) == str(second.error), f"seed {seed}"
        struck += bool(first.injections)

    assert struck > 100


def test_a_shuffled_turn_is_a_permutation_of_its_batch() -> None:
    for seed in range(1, 50):
        batch = handles(7)
        before = list(batch)

        SeededScheduler(seed).order(batch)

        assert sorted(map(id, batch)) == sorted(map(id, before))


def test_some_seed_moves_every_position_of_a_batch() -> None:
    firsts = set()
    for seed in range(1, 200):
        batch = handles(4)
        before = list(batch)
        SeededScheduler(seed).order(batch)
        firsts.add(before.index(batch[0]))

    assert firsts == {0, 1, 2, 3}


def test_the_recorded_schedule_replays_a_seeded_run() -> None:
    for seed in range(1, 30):
        seeded = simulate(relay, seed=seed)

        # The seed still decides the world's other streams; the schedule
        # alone decides the order.
        scripted = simulate(relay, seed=seed, schedule=seeded.schedule)

        assert scripted.journals == seeded.journals
        assert scripted.schedule == seeded.schedule


def test_record_false_keeps_no_picks() -> None:
    scheduler = SeededScheduler(3, record=False)
    scheduler.order(handles(5))

    assert scheduler.decisions == 4
    assert scheduler.schedule == FIFO


def test_schedulers_are_ready_schedulers_for_the_loop() -> None:
    assert isinstance(SeededScheduler(1), ReadyScheduler)
    assert isinstance(ScriptedScheduler(FIFO), ReadyScheduler)
    assert repr(SeededScheduler(5)) == (
        "<SeededScheduler seed=5 turns=0 decisions=0 reorders=0>"
    )


# -- scripted schedules -------------------------------------------------------------


def test_a_pick_moves_that_waiting_callback_to_the_front() -> None:
    batch = handles(4)
    a, b, c, d = batch

    ScriptedScheduler(Schedule((2, 0, 1))).order(batch)

    # Choice point 1 takes c (pick 2), point 2 keeps a, point 3 takes d.
    assert batch == [c, a, d, b]


def test_picks_wrap_around_the_number_of_waiting_callbacks() -> None:
    batch = handles(3)
    a, b, c = batch

    ScriptedScheduler(Schedule((4,))).order(batch)

    assert batch == [b, a, c]


def test_fifo_order_resumes_when_the_picks_run_out() -> None:
    scheduler = ScriptedScheduler(Schedule((1,)))
    first, second = handles(3), handles(3)
    expected_second = list(second)

    scheduler.order(first)
    scheduler.order(second)

    assert second == expected_second
    assert scheduler.reorders == 1
    assert scheduler.schedule == Schedule((1,))


def test_a_schedule_drops_trailing_zeros_and_counts_its_reorderings() -> None:
    schedule = Schedule([0, 3, 0, 1, 0, 0])

    assert schedule.picks == (0, 3, 0, 1)
    assert schedule.reorders == 2
    assert schedule == Schedule((0, 3, 0, 1))
    assert Schedule((0, 0)) == FIFO
    assert repr(schedule) == "Schedule(picks=(0, 3, 0, 1))"
    assert str(schedule) == "2 reordering(s) at choice point->pick: 2->3, 4->1"
    assert str(FIFO) == "first-in, first-out"


@pytest.mark.parametrize(
    ("picks", "message"),
    [
        (
            "12",
            r"^picks='12' \(type=str\) is not a sequence of picks; pass a tuple of "
            r"ints, zero or more$",
        ),
        (
            5,
            r"^picks=5 \(type=int\) is not a sequence of picks; pass a tuple of "
            r"ints, zero or more$",
        ),
        (
            (1, -1),
            r"^picks\[1\]=-1 \(type=int\) is not a pick; each pick is an int, zero "
            r"or more$",
        ),
        (
            (True,),
            r"^picks\[0\]=True \(type=bool\) is not a pick; each pick is an int, "
            r"zero or more$",
        ),
    ],
    ids=["str", "int", "negative", "bool"],
)
def test_a_bad_schedule_is_refused(picks: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Schedule(picks)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seed", "shown"),
    [(-1, "-1 (type=int)"), (1.5, "1.5 (type=float)"), (True, "True (type=bool)")],
    ids=["negative", "float", "bool"],
)
def test_a_bad_seed_is_refused(seed: object, shown: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^seed=") as caught:
        SeededScheduler(seed)  # type: ignore[arg-type]

    assert str(caught.value) == (
        f"seed={shown} is not a seed; pass an int, zero or more (0 keeps plain "
        "first-in, first-out order)"
    )
    assert isinstance(caught.value, PhyxiusError)
    assert isinstance(caught.value, ValueError)


def test_a_scripted_scheduler_needs_a_schedule() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^schedule=\(1, 2\) \(type=tuple\) is not a Schedule; pass "
        r"Schedule\(picks=\(\.\.\.\)\) or phyxius\.testing\.FIFO$",
    ):
        ScriptedScheduler((1, 2))  # type: ignore[arg-type]
