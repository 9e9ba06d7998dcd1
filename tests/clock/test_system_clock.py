"""`SystemClock`: the real clock, scheduling on the running asyncio loop.

These tests wait for real, but only a few milliseconds, and never assert on how
long anything took: only on order, on values read between two real readings,
and on what was reported.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from phyxius import Event, InvalidArgumentError
from phyxius.clock import (
    DEADLINE_RECHECK,
    Clock,
    ClockError,
    ClockTimeoutError,
    Handle,
    SystemClock,
    SystemInterval,
    SystemTimer,
    create_system_clock,
    default_clock,
)
from pytest_phyxius import CallbackErrors

SECOND = 1_000_000_000


def make_clock() -> tuple[SystemClock, list[Event]]:
    events: list[Event] = []
    return SystemClock(emit=events.append), events


def test_now_reads_the_system_clocks() -> None:
    clock = SystemClock()

    mono_before, wall_before = time.monotonic_ns(), time.time_ns()
    now = clock.now()
    mono_after, wall_after = time.monotonic_ns(), time.time_ns()

    assert mono_before <= now.mono_ns <= mono_after
    assert wall_before <= now.wall_ns <= wall_after
    assert now.datetime.tzinfo is UTC


def test_monotonic_readings_never_decrease() -> None:
    clock = SystemClock()
    readings = [clock.now().mono_ns for _ in range(10_000)]

    assert readings == sorted(readings)


def test_default_clock_is_one_shared_system_clock() -> None:
    assert isinstance(default_clock(), SystemClock)
    assert default_clock() is default_clock()
    assert isinstance(default_clock(), Clock)
    assert isinstance(create_system_clock(), SystemClock)
    assert create_system_clock() is not default_clock()


def test_repr_shows_the_reading() -> None:
    assert repr(SystemClock()).startswith("<SystemClock now=Instant(wall=")


@pytest.mark.parametrize(
    ("schedule", "operation"),
    [
        (lambda c: c.call_later(1, print), "call_later"),
        (lambda c: c.interval(1, print), "interval"),
    ],
    ids=["call_later", "interval"],
)
def test_scheduling_needs_a_running_loop(
    schedule: Callable[[SystemClock], object], operation: str
) -> None:
    with pytest.raises(
        ClockError,
        match=rf"^SystemClock\.{operation}\(\) schedules on the running asyncio "
        r"event loop, and none is running; call it from async code",
    ):
        schedule(SystemClock())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.call_later(-1, print), r"^delay=-1 is negative; "),
        (lambda c: c.call_later(math.nan, print), r"^delay=nan is not a finite "),
        (lambda c: c.call_later(1, 42), r"^callback=42 \(type=int\) is not callable"),
        (lambda c: c.interval(0, print), r"^every=0 is zero; an interval needs a "),
        (lambda c: c.interval(True, print), r"^every=True \(type=bool\) is not a "),
        (lambda c: c.timeout(-0.1), r"^duration=-0\.1 is negative; "),
    ],
    ids=["delay-negative", "delay-nan", "not-callable", "every-zero", "every-bool",
         "timeout-negative"],
)  # fmt: skip
def test_bad_input_is_rejected_before_anything_is_scheduled(
    call: Callable[[SystemClock], object], message: str
) -> None:
    clock, events = make_clock()

    async def scenario() -> None:
        with pytest.raises(InvalidArgumentError, match=message):
            call(clock)
        # Nothing was left on the loop: it has no timer to run.
        loop = asyncio.get_running_loop()
        assert not loop._scheduled  # type: ignore[attr-defined]

    asyncio.run(scenario())

    assert events == []


def test_rejects_an_emit_that_is_not_callable() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^emit='log' \(type=str\) is not callable; pass a function taking "
        r"one Event, or None$",
    ):
        SystemClock(emit="log")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wait", "message"),
    [
        (lambda c: c.sleep(-1), r"^duration=-1 is negative; "),
        (lambda c: c.deadline(math.inf), r"^wall=inf is not a finite wall time; "),
        (lambda c: c.deadline(0, tolerance="1"), r"^tolerance='1' \(type=str\) is "),
    ],
    ids=["sleep-negative", "deadline-infinite", "tolerance-str"],
)
def test_bad_waits_are_rejected_before_waiting(
    wait: Callable[[SystemClock], object], message: str
) -> None:
    clock, events = make_clock()

    async def scenario() -> None:
        with pytest.raises(InvalidArgumentError, match=message):
            await wait(clock)  # type: ignore[misc]

    asyncio.run(scenario())

    assert events == []


def test_call_later_fires_once_with_its_arguments_and_in_order() -> None:
    clock = SystemClock()
    seen: list[str] = []

    async def scenario() -> SystemTimer:
        done = asyncio.Event()
        clock.call_later(0.002, seen.append, "second")
        first = clock.call_later(0, seen.append, "first")
        clock.call_later(0.004, done.set)
        await done.wait()
        return first

    first = asyncio.run(scenario())

    assert seen == ["first", "second"]
    assert isinstance(first, Handle)
    assert first.fired
    assert not first.cancelled
    assert first.cancel() is False


def test_a_cancelled_timer_does_not_fire_and_is_an_event() -> None:
    clock, events = make_clock()
    seen: list[str] = []

    async def scenario() -> SystemTimer:
        done = asyncio.Event()
        doomed = clock.call_later(0.001, seen.append, "doomed")
        assert doomed.cancel() is True
        assert doomed.cancel() is False
        clock.call_later(0.003, done.set)
        await done.wait()
        return doomed

    doomed = asyncio.run(scenario())

    assert seen == []
    assert doomed.cancelled
    assert not doomed.fired
    assert [(event.type, event.data["kind"]) for event in events] == [
        ("clock.cancelled", "timer")
    ]


def test_interval_ticks_until_cancelled_and_reports_each_tick() -> None:
    clock, events = make_clock()
    ticks: list[int] = []

    async def scenario() -> SystemInterval:
        three = asyncio.Event()

        def tick() -> None:
            ticks.append(clock.now().mono_ns)
            if len(ticks) == 3:
                three.set()

        interval = clock.interval(timedelta(milliseconds=1), tick)
        await three.wait()
        interval.cancel()
        await asyncio.sleep(0.005)
        return interval

    interval = asyncio.run(scenario())

    assert len(ticks) == 3
    assert ticks == sorted(ticks)
    assert interval.ticks == 3
    assert interval.cancelled
    assert interval.cancel() is False
    assert [event.type for event in events] == [
        "clock.interval_set",
        "clock.tick",
        "clock.tick",
        "clock.tick",
        "clock.cancelled",
    ]
    assert [event.data.get("tick") for event in events[1:4]] == [1, 2, 3]
    assert events[0].data["every_ns"] == 1_000_000


def exploding_tick() -> None:
    raise ValueError("sensor unplugged")


def test_an_interval_whose_callback_raises_keeps_ticking_and_reports_each_error(
    callback_errors: CallbackErrors,
) -> None:
    clock, events = make_clock()

    async def scenario() -> SystemInterval:
        interval = clock.interval(0.001, exploding_tick)
        while interval.ticks < 2:
            await asyncio.sleep(0.001)
        interval.cancel()
        return interval

    interval = asyncio.run(scenario())

    errors = callback_errors.take()
    assert len(errors) == interval.ticks >= 2
    assert errors[0].type == "clock.error"
    assert errors[0].data["callback"] == f"{__name__}.exploding_tick"
    assert errors[0].data["error"] == "sensor unplugged"
    assert [e for e in events if e.type == "clock.error"] == errors


def test_sleep_waits_at_least_its_duration_and_is_two_events() -> None:
    clock, events = make_clock()

    async def scenario() -> tuple[int, int]:
        before = time.monotonic_ns()
        await clock.sleep(0.002)
        return before, time.monotonic_ns()

    before, after = asyncio.run(scenario())

    assert after - before >= 2_000_000
    assert [(event.type, dict(event.data)) for event in events] == [
        ("clock.sleep_started", {"duration_ns": 2_000_000}),
        ("clock.sleep_finished", {"duration_ns": 2_000_000}),
    ]
    assert events[0].at.mono_ns <= events[1].at.mono_ns


def test_deadline_in_the_past_is_late_by_at_least_the_gap() -> None:
    clock, events = make_clock()
    target = datetime.now(UTC) - timedelta(seconds=30)

    result = asyncio.run(clock.deadline(target))

    assert result.late
    assert result.late_ns >= 30 * SECOND
    assert result.fired_at.wall_ns >= result.target_wall_ns
    assert [event.type for event in events] == ["clock.deadline_late"]
    assert events[0].data["late_ns"] == result.late_ns


def test_deadline_ahead_is_reached_and_judged_against_its_tolerance() -> None:
    clock, events = make_clock()
    target_ns = time.time_ns() + 3_000_000

    result = asyncio.run(clock.deadline(target_ns / SECOND, tolerance=60))

    # A real wake-up is never exact; a minute of tolerance makes it on time.
    assert result.fired_at.wall_ns >= result.target_wall_ns
    assert result.late_ns >= 0
    assert result.on_time
    assert result.tolerance_ns == 60 * SECOND
    assert [event.type for event in events] == ["clock.deadline_on_time"]


def test_deadline_recheck_is_a_second() -> None:
    # Documented: an NTP correction is noticed within this many seconds.
    assert DEADLINE_RECHECK == 1.0


def test_timeout_cancels_a_block_that_runs_too_long() -> None:
    clock = SystemClock()

    async def scenario() -> bool:
        with pytest.raises(
            ClockTimeoutError,
            match=r"^block did not finish within 0\.002s on its clock; allow more "
            r"time or make the work faster$",
        ):
            async with clock.timeout(0.002) as timeout:
                await asyncio.sleep(60)
        return timeout.expired()

    assert asyncio.run(scenario()) is True


def test_timeout_is_a_timeout_error_for_code_that_does_not_know_phyxius() -> None:
    clock = SystemClock()

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            async with clock.timeout(timedelta(milliseconds=1)):
                await asyncio.sleep(60)

    asyncio.run(scenario())


def test_timeout_that_is_not_reached_changes_nothing() -> None:
    clock = SystemClock()

    async def scenario() -> str:
        async with clock.timeout(60) as timeout:
            await asyncio.sleep(0)
        assert not timeout.expired()
        scheduled = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
        assert all(handle.cancelled() for handle in scheduled)
        return repr(timeout)

    assert asyncio.run(scenario()) == "<Timeout finished delay=60s>"


def test_timeout_does_not_swallow_an_outer_cancellation() -> None:
    clock = SystemClock()

    async def scenario() -> None:
        async def guarded() -> None:
            async with clock.timeout(60):
                await asyncio.sleep(60)

        task = asyncio.create_task(guarded())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_an_interval_that_falls_behind_catches_up_tick_by_tick() -> None:
    clock = SystemClock()
    ticks: list[int] = []

    async def scenario() -> None:
        interval = clock.interval(0.001, lambda: ticks.append(len(ticks) + 1))
        # Block the loop: at least five periods pass with no tick run.
        time.sleep(0.0055)
        for _ in range(20):
            await asyncio.sleep(0)
        interval.cancel()

    asyncio.run(scenario())

    # The missed ticks ran back to back instead of being skipped.
    assert len(ticks) >= 5
    assert ticks == list(range(1, len(ticks) + 1))
