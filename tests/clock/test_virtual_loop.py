"""`VirtualTimeEventLoop` and `run`: asyncio's own timers on a controlled clock."""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phyxius import InvalidArgumentError, InvalidDurationError, to_nanoseconds
from phyxius.clock import (
    DEFAULT_IO_GRACE,
    ClockError,
    ControlledClock,
    DeadlockError,
    ReadyScheduler,
    SystemClock,
    VirtualTimeEventLoop,
    run,
)

SECOND = 1_000_000_000


def loop_time() -> float:
    return asyncio.get_running_loop().time()


# -- the loop's time is the clock's ---------------------------------------------


def test_loop_time_is_the_clocks_monotonic_time() -> None:
    clock = ControlledClock()
    clock.advance(7)
    loop = VirtualTimeEventLoop(clock)
    try:
        assert loop.time() == 7.0
        clock.advance(0.5)
        assert loop.time() == 7.5
        assert loop.clock is clock
    finally:
        loop.close()


def test_run_returns_the_result_and_leaves_the_clock_where_the_program_took_it() -> (
    None
):
    clock = ControlledClock()

    async def main() -> str:
        await asyncio.sleep(90)
        return "done"

    assert run(main(), clock=clock) == "done"
    assert clock.monotonic_ns() == 90 * SECOND


def test_run_without_a_clock_uses_a_fresh_one_starting_at_zero() -> None:
    async def main() -> float:
        await asyncio.sleep(5)
        return loop_time()

    assert run(main()) == 5.0
    assert run(main()) == 5.0


def test_run_closes_its_loop_and_cancels_leftover_tasks() -> None:
    seen: dict[str, Any] = {}

    async def forever() -> None:
        try:
            await asyncio.sleep(math.inf)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    async def main() -> None:
        seen["loop"] = asyncio.get_running_loop()
        seen["task"] = asyncio.create_task(forever())
        await asyncio.sleep(1)

    run(main())
    assert seen["cancelled"] is True
    assert seen["loop"].is_closed()


def test_a_loop_timer_due_exactly_where_ten_tenths_land_does_not_drift() -> None:
    clock = ControlledClock()

    async def main() -> None:
        for _ in range(10):
            await asyncio.sleep(0.1)

    run(main(), clock=clock)
    assert clock.monotonic_ns() == SECOND


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.one_of(
        st.floats(min_value=1e-9, max_value=1e8, allow_nan=False),
        st.decimals(min_value=0, max_value=10**7, places=9).map(float),
        st.integers(1, 10**9).map(lambda ms: ms / 1000),
    )
)
def test_the_loop_and_the_clock_turn_every_delay_into_the_same_nanoseconds(
    seconds: float,
) -> None:
    clock = ControlledClock()
    loop = VirtualTimeEventLoop(clock)
    try:
        loop.call_later(seconds, print)
        clock.call_later(seconds, print)
        assert [timer.due.mono_ns for timer in clock.pending()] == [
            to_nanoseconds(seconds)
        ] * 2
    finally:
        loop.close()


def test_sleep_accepts_any_real_number_as_asyncio_does() -> None:
    # asyncio takes any real number of seconds, negative ones included.
    clock = ControlledClock()

    async def main() -> None:
        await asyncio.sleep(-3)
        await asyncio.sleep(True)
        await asyncio.sleep(0.25)

    run(main(), clock=clock)
    assert clock.monotonic_ns() == SECOND + SECOND // 4


# -- point 2: autojump --------------------------------------------------------


def test_sleeping_an_hour_leaves_the_clock_exactly_an_hour_later() -> None:
    clock = ControlledClock()

    async def main() -> None:
        await asyncio.sleep(3600)

    run(main(), clock=clock)
    assert clock.monotonic_ns() == 3600 * SECOND
    assert clock.now().wall_ns - ControlledClock().now().wall_ns == 3600 * SECOND


def test_sleep_inside_a_timeout_returns_normally_one_second_later() -> None:
    clock = ControlledClock()

    async def main() -> str:
        async with asyncio.timeout(9):
            await asyncio.sleep(1)
        return "returned"

    assert run(main(), clock=clock) == "returned"
    assert clock.monotonic_ns() == SECOND


def test_a_timeout_fires_at_its_virtual_deadline() -> None:
    clock = ControlledClock()

    async def main() -> None:
        async with asyncio.timeout(9):
            await asyncio.sleep(60)

    with pytest.raises(TimeoutError):
        run(main(), clock=clock)
    assert clock.monotonic_ns() == 9 * SECOND


def test_wait_for_returns_the_result_when_it_comes_before_the_deadline() -> None:
    clock = ControlledClock()

    async def answer() -> int:
        await asyncio.sleep(2)
        return 42

    async def main() -> int:
        return await asyncio.wait_for(answer(), timeout=5)

    assert run(main(), clock=clock) == 42
    assert clock.monotonic_ns() == 2 * SECOND


def test_wait_for_times_out_at_its_virtual_deadline() -> None:
    clock = ControlledClock()
    cancelled_at: list[float] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(600)
        except asyncio.CancelledError:
            cancelled_at.append(loop_time())
            raise

    async def main() -> None:
        await asyncio.wait_for(slow(), timeout=5)

    with pytest.raises(TimeoutError):
        run(main(), clock=clock)
    assert cancelled_at == [5.0]
    assert clock.monotonic_ns() == 5 * SECOND


def test_call_later_fires_at_its_virtual_due_time() -> None:
    clock = ControlledClock()
    fired: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(2.5, lambda: fired.append(loop.time()))
        loop.call_at(loop.time() + 4, lambda: fired.append(loop.time()))
        await asyncio.sleep(10)

    run(main(), clock=clock)
    assert fired == [2.5, 4.0]


def test_a_thousand_zero_sleeps_do_not_move_time() -> None:
    clock = ControlledClock()

    async def main() -> None:
        for _ in range(1000):
            await asyncio.sleep(0)
        # A timer pending all along must not have been jumped to.
        assert loop_time() == 0.0

    async def with_timer_pending() -> None:
        asyncio.get_running_loop().call_later(60, lambda: None)
        await main()

    run(with_timer_pending(), clock=clock)
    assert clock.monotonic_ns() == 0


def test_an_overdue_timer_fires_without_moving_time() -> None:
    clock = ControlledClock()
    clock.advance(100)
    fired: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_at(40.0, lambda: fired.append(loop.time()))
        loop.call_later(-5, lambda: fired.append(loop.time()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(main(), clock=clock)
    assert fired == [100.0, 100.0]
    assert clock.monotonic_ns() == 100 * SECOND


def test_a_timer_overtaken_by_a_synchronous_advance_fires_at_the_new_time() -> None:
    clock = ControlledClock()
    fired: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(1, lambda: fired.append(loop.time()))
        clock.advance(30)  # jumps past the timer without running the loop
        await asyncio.sleep(0)

    run(main(), clock=clock)
    assert fired == [30.0]
    assert clock.monotonic_ns() == 30 * SECOND


def test_a_sleep_of_infinity_never_fires_but_can_be_cancelled() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        handle = loop.call_later(math.inf, lambda: None)
        assert handle.when() == math.inf
        handle.cancel()
        sleeper = asyncio.create_task(asyncio.sleep(math.inf))
        await asyncio.sleep(3600)
        assert not sleeper.done()
        sleeper.cancel()
        return "ok"

    assert run(main()) == "ok"


# Operations of a random program: (kind, seconds).
_operation = st.one_of(
    st.tuples(st.just("sleep"), st.integers(0, 5_000).map(lambda ms: ms / 1000)),
    st.tuples(st.just("past"), st.integers(0, 5_000).map(lambda ms: ms / 1000)),
    st.tuples(st.just("later"), st.integers(-2_000, 5_000).map(lambda ms: ms / 1000)),
    st.tuples(st.just("advance"), st.integers(0, 3_000).map(lambda ms: ms / 1000)),
)


@settings(max_examples=60, deadline=None)
@given(programs=st.lists(st.lists(_operation, max_size=8), min_size=1, max_size=5))
def test_time_never_goes_backwards_and_no_timer_fires_early(
    programs: list[list[tuple[str, float]]],
) -> None:
    clock = ControlledClock()
    readings: list[float] = []
    early: list[tuple[float, float]] = []

    def check(due: float) -> None:
        now = asyncio.get_running_loop().time()
        readings.append(now)
        if now < due - 1e-9:
            early.append((due, now))

    async def program(index: int, operations: list[tuple[str, float]]) -> None:
        # One task drives the clock with advance_async; the others move it
        # with synchronous advances from inside the running loop.
        loop = asyncio.get_running_loop()
        for kind, seconds in operations:
            readings.append(loop.time())
            if kind == "sleep":
                await asyncio.sleep(seconds)
            elif kind == "past":
                loop.call_at(loop.time() - seconds, check, loop.time() - seconds)
            elif kind == "later":
                loop.call_later(seconds, check, loop.time() + seconds)
            elif index == 0:
                await clock.advance_async(seconds)
            else:
                clock.advance(seconds)
            readings.append(loop.time())

    async def main() -> None:
        await asyncio.gather(
            *(program(index, operations) for index, operations in enumerate(programs))
        )
        await asyncio.sleep(10)

    run(main(), clock=clock)
    assert readings == sorted(readings)
    assert early == []


# -- point 1: ties and instants ---------------------------------------------------


def test_timers_due_at_one_instant_run_in_the_order_they_were_scheduled() -> None:
    order: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for index in range(50):
            loop.call_later(1, order.append, index)
        await asyncio.sleep(2)

    run(main())
    assert order == list(range(50))


def test_timers_reaching_one_instant_from_different_delays_keep_scheduling_order() -> (
    None
):
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(3, order.append, "first, from t=0")
        await asyncio.sleep(1)
        loop.call_at(3.0, order.append, "second, call_at from t=1")
        await asyncio.sleep(1)
        loop.call_later(1, order.append, "third, from t=2")
        await asyncio.sleep(5)

    run(main())
    assert order == [
        "first, from t=0",
        "second, call_at from t=1",
        "third, from t=2",
    ]


def test_clock_timers_and_loop_timers_at_one_instant_share_one_order() -> None:
    clock = ControlledClock()
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(1, order.append, "loop a")
        clock.call_later(1, order.append, "clock b")
        loop.call_later(1, order.append, "loop c")
        clock.call_later(1, order.append, "clock d")
        await asyncio.sleep(1)
        order.append("sleeper woke")

    run(main(), clock=clock)
    assert order == ["loop a", "clock b", "loop c", "clock d", "sleeper woke"]


def test_tasks_woken_at_one_instant_wake_in_the_order_they_went_to_sleep() -> None:
    woke: list[int] = []

    async def sleeper(index: int) -> None:
        await asyncio.sleep(5)
        woke.append(index)

    async def main() -> None:
        await asyncio.gather(*(sleeper(index) for index in range(20)))

    run(main())
    assert woke == list(range(20))


def test_everything_due_at_one_instant_runs_before_time_moves_on() -> None:
    seen: list[tuple[str, float]] = []

    async def chatty() -> None:
        await asyncio.sleep(1)
        for step in range(5):
            seen.append((f"chatty {step}", loop_time()))
            await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(lambda: seen.append(("soon", loop_time())))

    async def later() -> None:
        await asyncio.sleep(2)
        seen.append(("later", loop_time()))

    async def main() -> None:
        await asyncio.gather(chatty(), later())

    run(main())
    chatty_steps = [(f"chatty {step}", 1.0) for step in range(5)]
    assert seen == [*chatty_steps, ("soon", 1.0), ("later", 2.0)]


def test_a_clock_drives_one_open_loop_at_a_time() -> None:
    clock = ControlledClock()
    first = VirtualTimeEventLoop(clock)
    try:
        with pytest.raises(ClockError, match=r"^this ControlledClock already drives"):
            VirtualTimeEventLoop(clock)
    finally:
        first.close()
    second = VirtualTimeEventLoop(clock)
    second.close()


def test_closing_the_loop_drops_its_timers_but_keeps_the_clocks_own() -> None:
    clock = ControlledClock()
    fired: list[str] = []
    loop = VirtualTimeEventLoop(clock)
    loop.call_later(5, fired.append, "loop")
    clock.call_later(5, fired.append, "clock")
    loop.close()
    clock.advance(10)
    assert fired == ["clock"]
    assert clock.pending() == []


# -- the scheduler hook ---------------------------------------------------------


class Reversing:
    """A scheduler that runs each turn's batch back to front."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def order(self, batch: list[asyncio.Handle]) -> None:
        self.batches.append(len(batch))
        batch.reverse()


def test_a_scheduler_reorders_each_turns_ready_callbacks() -> None:
    scheduler = Reversing()
    order: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for index in range(4):
            loop.call_later(1, order.append, index)
        await asyncio.sleep(2)

    run(main(), scheduler=scheduler)
    assert order == [3, 2, 1, 0]
    assert isinstance(scheduler, ReadyScheduler)


def test_callbacks_scheduled_during_a_turn_wait_for_the_next_one() -> None:
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def first() -> None:
            order.append("first")
            loop.call_soon(order.append, "scheduled by first")

        loop.call_soon(first)
        loop.call_soon(order.append, "second")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(main(), scheduler=Reversing())
    # Reversed within the first turn, but the callback "first" scheduled still
    # runs in a later turn, never in the same one.
    assert order.index("scheduled by first") > order.index("first")
    assert order.index("scheduled by first") > order.index("second")


# -- asyncio debug mode -----------------------------------------------------------


def test_debug_mode_runs_on_virtual_time_too() -> None:
    async def main() -> float:
        await asyncio.sleep(30)
        return loop_time()

    assert run(main(), debug=True) == 30.0


# -- bad input: clear errors, nothing changed ------------------------------------------


def test_run_refuses_an_async_function_that_was_not_called() -> None:
    async def main() -> None:
        pass

    with pytest.raises(
        InvalidArgumentError,
        match=r"^main=<function .*main.*> \(type=function\) is not",
    ):
        run(main)  # type: ignore[arg-type]


def test_run_refuses_a_clock_that_is_not_controlled_and_closes_the_coroutine() -> None:
    async def main() -> None:
        raise AssertionError("must never run")

    coroutine = main()
    with pytest.raises(
        InvalidArgumentError,
        match=r"^clock=<.*> \(type=SystemClock\) is not a ControlledClock; pass one",
    ):
        run(coroutine, clock=SystemClock())  # type: ignore[arg-type]
    # Closed, so Python does not also warn that it was never awaited.
    assert coroutine.cr_frame is None


def test_the_loop_refuses_a_clock_that_is_not_controlled_and_opens_nothing() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^clock=<.*> \(type=SystemClock\) is not a ControlledClock",
    ):
        VirtualTimeEventLoop(SystemClock())  # type: ignore[arg-type]
    gc.collect()  # a leaked self-pipe would warn here, and warnings are errors


@pytest.mark.parametrize("grace", [-0.1, math.nan, "fast"])
def test_the_loop_refuses_a_bad_io_grace_and_leaves_the_clock_free(
    grace: object,
) -> None:
    clock = ControlledClock()
    with pytest.raises(InvalidDurationError, match=r"^io_grace="):
        VirtualTimeEventLoop(clock, io_grace=grace)  # type: ignore[arg-type]
    loop = VirtualTimeEventLoop(clock)  # the clock is not held by the failed loop
    loop.close()


def test_the_loop_refuses_a_scheduler_without_an_order_method() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^scheduler=\[\] \(type=list\) has no order\(batch\) method",
    ):
        VirtualTimeEventLoop(scheduler=[])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param(
            lambda loop: loop.call_later(math.nan, print),
            r"^delay=nan is not a number; pass seconds",
            id="nan delay",
        ),
        pytest.param(
            lambda loop: loop.call_later("1", print),
            r"^delay='1' \(type=str\) is not a delay; pass seconds",
            id="text delay",
        ),
        pytest.param(
            lambda loop: loop.call_at(math.nan, print),
            r"^when=nan is not a loop time; pass a finite number",
            id="nan when",
        ),
        pytest.param(
            lambda loop: loop.call_at(timedelta(seconds=1), print),
            r"^when=datetime\.timedelta\(seconds=1\) \(type=timedelta\) is not a "
            r"loop time",
            id="timedelta when",
        ),
    ],
)
def test_bad_timer_arguments_are_refused_and_schedule_nothing(
    schedule: Callable[[VirtualTimeEventLoop], object], message: str
) -> None:
    clock = ControlledClock()
    loop = VirtualTimeEventLoop(clock)
    try:
        with pytest.raises(InvalidDurationError, match=message):
            schedule(loop)
        assert clock.pending() == []
    finally:
        loop.close()


def test_none_delays_raise_type_errors_as_in_asyncio() -> None:
    loop = VirtualTimeEventLoop()
    try:
        with pytest.raises(TypeError, match=r"^delay must not be None$"):
            loop.call_later(None, print)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^when cannot be None$"):
            loop.call_at(None, print)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_the_loop_reports_its_settings() -> None:
    scheduler = Reversing()
    loop = VirtualTimeEventLoop(io_grace=0.5, autojump=False, scheduler=scheduler)
    try:
        assert loop.io_grace == 0.5
        assert loop.autojump is False
        assert loop.scheduler is scheduler
        loop.autojump = True
        assert loop.autojump is True
    finally:
        loop.close()
    default = VirtualTimeEventLoop()
    default.close()
    assert default.io_grace == DEFAULT_IO_GRACE


# -- manual mode at the loop level -------------------------------------------------


def test_manual_mode_moves_time_only_when_the_program_advances_it() -> None:
    clock = ControlledClock()
    log: list[tuple[str, float]] = []

    async def worker(name: str, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            log.append((name, loop_time()))

    async def main() -> None:
        tasks = [
            asyncio.create_task(worker("fast", 1)),
            asyncio.create_task(worker("slow", 3)),
        ]
        await asyncio.sleep(0)
        assert log == []

        await clock.advance_async(2)
        assert log == [("fast", 1.0), ("fast", 2.0)]

        await clock.advance_async(1)
        # Both wake at 3 s; "slow" scheduled its timer first (at 0 s, "fast"
        # at 2 s), so it wakes first.
        assert log[-2:] == [("slow", 3.0), ("fast", 3.0)]
        assert loop_time() == 3.0
        for task in tasks:
            task.cancel()

    run(main(), clock=clock, autojump=False)
    assert clock.monotonic_ns() == 3 * SECOND


def test_manual_mode_deadlocks_when_the_program_waits_on_time_it_never_moves() -> None:
    async def main() -> None:
        await asyncio.sleep(1)

    with pytest.raises(DeadlockError, match=r"autojump is off"):
        run(main(), autojump=False)
