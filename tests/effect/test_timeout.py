"""timeout: on the effect's clock, and never confused with another cancellation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from phyxius import InvalidDurationError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    EffectTimeoutError,
    Env,
    Err,
    Ok,
    effect,
    from_awaitable,
    sleep,
    succeed,
)

if TYPE_CHECKING:
    from tests.effect.conftest import Recorder


async def test_a_slow_effect_fails_with_a_timeout_at_the_exact_instant(
    controlled_clock: ControlledClock,
) -> None:
    result = await sleep(10).timeout(3).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    assert isinstance(result.error, TimeoutError)
    assert str(result.error) == (
        "the effect did not finish within timeout=3s on its clock; allow more time "
        "or make the work faster"
    )
    assert result.error.timeout == 3
    assert controlled_clock.now().mono == 3


async def test_an_effect_that_finishes_in_time_keeps_its_value(
    controlled_clock: ControlledClock,
) -> None:
    quick = sleep(2).map(lambda _: "done").timeout(timedelta(seconds=3))

    assert await quick.run(clock=controlled_clock) == Ok("done")
    assert controlled_clock.now().mono == 2
    assert controlled_clock.pending() == []


async def test_the_timed_out_effect_has_cleaned_up_before_the_error(
    controlled_clock: ControlledClock,
) -> None:
    steps: list[tuple[str, float]] = []

    async def cleanup() -> None:
        steps.append(("cleanup started", controlled_clock.now().mono))
        await asyncio.sleep(2)
        steps.append(("cleanup finished", controlled_clock.now().mono))

    slow = sleep(10).on_interrupt(cleanup).timeout(3)
    result = await slow.run(clock=controlled_clock)
    steps.append(("error seen", controlled_clock.now().mono))

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    assert steps == [
        ("cleanup started", 3),
        ("cleanup finished", 5),
        ("error seen", 5),
    ]


async def test_a_timeout_error_can_be_caught_like_any_failure(
    controlled_clock: ControlledClock,
) -> None:
    guarded = sleep(10).timeout(1).catch(lambda _: succeed("fallback"), TimeoutError)

    assert await guarded.run(clock=controlled_clock) == Ok("fallback")


async def test_nested_timeouts_each_report_their_own_expiry(
    controlled_clock: ControlledClock,
) -> None:
    inner_first = await sleep(10).timeout(2).timeout(5).run(clock=controlled_clock)
    outer_first = await sleep(10).timeout(5).timeout(2).run(clock=controlled_clock)

    assert isinstance(inner_first, Err)
    assert isinstance(inner_first.error, EffectTimeoutError)
    assert inner_first.error.timeout == 2
    assert isinstance(outer_first, Err)
    assert isinstance(outer_first.error, EffectTimeoutError)
    assert outer_first.error.timeout == 2
    assert controlled_clock.now().mono == 4


async def test_trap_an_outer_cancel_during_a_timeout_propagates(
    controlled_clock: ControlledClock,
) -> None:
    """asyncio's trap: a timeout turning an unrelated cancel into a normal return."""
    fallback_used: list[bool] = []

    def fallback(error: Exception) -> object:
        fallback_used.append(True)
        return succeed("fallback")

    guarded = sleep(10).timeout(5).catch(fallback)  # type: ignore[arg-type]
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert fallback_used == []


async def test_trap_an_outer_cancel_at_the_deadline_instant_still_propagates(
    controlled_clock: ControlledClock,
) -> None:
    guarded = sleep(10).timeout(5).catch(lambda _: succeed("fallback"))
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(5, task.cancel)

    with pytest.raises(asyncio.CancelledError):
        await task
    assert controlled_clock.now().mono == 5


async def test_trap_a_cancel_requested_before_the_timeout_began_is_not_the_timeout(
    controlled_clock: ControlledClock,
) -> None:
    reached: list[str] = []

    async def body(env: Env) -> str:
        current = asyncio.current_task()
        assert current is not None
        current.cancel()
        reached.append("requested")
        try:
            return await sleep(1).timeout(0).map(lambda _: "finished")
        except TimeoutError:
            reached.append("timeout")
            return "timed out"

    task = asyncio.create_task(effect(body).run(clock=controlled_clock))

    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached == ["requested"]


async def test_trap_a_cancel_pending_when_the_run_starts_is_not_the_timeout(
    controlled_clock: ControlledClock,
) -> None:
    current = asyncio.current_task()
    assert current is not None

    current.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleep(1).timeout(0).run(clock=controlled_clock)
    assert current.uncancel() == 0


async def test_trap_a_value_ready_before_the_deadline_is_never_dropped(
    controlled_clock: ControlledClock,
) -> None:
    """The value arrives at the deadline instant, but before the deadline fires."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    loop.call_later(3, answer.set_result, "the value")

    result = await from_awaitable(answer).timeout(3).run(clock=controlled_clock)

    assert result == Ok("the value")
    assert controlled_clock.now().mono == 3


async def test_a_timeout_follows_the_effects_clock_not_the_loops(
    controlled_clock: ControlledClock,
) -> None:
    effect_clock = ControlledClock()
    task = asyncio.create_task(sleep(100).timeout(5).run(clock=effect_clock))

    await effect_clock.advance_async(4)
    assert not task.done()
    await effect_clock.advance_async(1)
    result = await task

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    assert controlled_clock.now().mono == 0


async def test_a_timeout_emits_a_timed_out_event(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:

    await sleep(10).timeout(0.25).run(clock=controlled_clock, emit=recorder)

    assert recorder.of("effect.timed_out") == [
        {"fiber": 1, "parent": None, "name": None, "timeout_ns": 250_000_000}
    ]
    assert recorder.types() == [
        "effect.started",
        "effect.timed_out",
        "effect.failed",
    ]


def test_a_timeout_on_the_system_clock_uses_real_time() -> None:
    result = asyncio.run(sleep(5).timeout(0.01).run())

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)


def test_timeout_rejects_a_bad_duration() -> None:
    with pytest.raises(
        InvalidDurationError,
        match=r"^duration='1s' \(type=str\) is not a duration; pass seconds as an "
        r"int or float, or a datetime\.timedelta$",
    ):
        succeed(1).timeout("1s")  # type: ignore[arg-type]
