"""Building effects: nothing runs until asked, and an effect runs many times."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    EffectError,
    EffectTypeError,
    Env,
    Err,
    Ok,
    effect,
    fail,
    from_awaitable,
    sleep,
    succeed,
)


async def test_building_an_effect_runs_nothing(
    controlled_clock: ControlledClock,
) -> None:
    calls: list[str] = []

    async def work() -> str:
        calls.append("ran")
        return "done"

    description = effect(lambda env: work()).map(str.upper)

    assert calls == []
    assert await description.run(clock=controlled_clock) == Ok("DONE")
    assert calls == ["ran"]


async def test_an_effect_can_be_run_many_times(
    controlled_clock: ControlledClock,
) -> None:
    calls: list[int] = []

    async def work() -> int:
        calls.append(len(calls))
        return len(calls)

    counted = effect(lambda env: work())

    results = [await counted.run(clock=controlled_clock) for _ in range(3)]

    assert results == [Ok(1), Ok(2), Ok(3)]


async def test_the_effect_function_receives_the_environment(
    controlled_clock: ControlledClock,
) -> None:
    seen: list[Env] = []

    async def look(env: Env) -> float:
        seen.append(env)
        return env.clock.now().mono

    assert await effect(look).run(clock=controlled_clock) == Ok(0.0)
    assert seen[0].clock is controlled_clock
    assert seen[0].context.to_dict() == {}
    assert not seen[0].token.requested


async def test_succeed_and_fail(controlled_clock: ControlledClock) -> None:
    error = ValueError("bad input")

    assert await succeed(42).run(clock=controlled_clock) == Ok(42)
    assert await fail(error).run(clock=controlled_clock) == Err(error)


async def test_a_failure_run_many_times_keeps_a_short_traceback(
    controlled_clock: ControlledClock,
) -> None:
    error = ValueError("bad input")
    failing = fail(error)

    for _ in range(50):
        await failing.run(clock=controlled_clock)

    depth = 0
    traceback = error.__traceback__
    while traceback is not None:
        depth += 1
        traceback = traceback.tb_next
    assert depth < 5


async def test_sleep_waits_on_the_effects_clock(
    controlled_clock: ControlledClock,
) -> None:
    nap = sleep(timedelta(minutes=5)).map(lambda _: "rested")

    assert await nap.run(clock=controlled_clock) == Ok("rested")
    assert controlled_clock.now().mono == 300


async def test_from_awaitable_awaits_a_future_as_often_as_asked(
    controlled_clock: ControlledClock,
) -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_result("ready")
    ready = from_awaitable(future)

    assert await ready.run(clock=controlled_clock) == Ok("ready")
    assert await ready.run(clock=controlled_clock) == Ok("ready")


async def test_from_awaitable_with_a_coroutine_runs_once_then_says_why_not(
    controlled_clock: ControlledClock,
) -> None:
    async def fetch() -> str:
        return "data"

    once = from_awaitable(fetch())

    assert await once.run(clock=controlled_clock) == Ok("data")
    result = await once.run(clock=controlled_clock)
    assert isinstance(result, Err)
    assert isinstance(result.error, EffectError)
    assert str(result.error).startswith("this effect awaits the coroutine")
    assert "effect(lambda env: make_coroutine())" in str(result.error)


async def test_an_effect_function_may_return_an_effect(
    controlled_clock: ControlledClock,
) -> None:
    nested = effect(lambda env: succeed(7).map(lambda value: value * 6))

    assert await nested.run(clock=controlled_clock) == Ok(42)


async def test_an_effect_function_returning_a_plain_value_fails_clearly(
    controlled_clock: ControlledClock,
) -> None:
    def not_async(env: Env) -> int:
        return 42

    result = await effect(not_async).run(clock=controlled_clock)  # type: ignore[arg-type]

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTypeError)
    assert isinstance(result.error, TypeError)
    assert re.match(
        r"^effect function .*not_async returned 42 \(type=int\), which is not "
        r"awaitable; use succeed\(\) for a plain value, or return a coroutine$",
        str(result.error),
    )


def test_effect_rejects_what_it_cannot_call() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^effect\(\) got fn=42 \(type=int\), which is not callable; "
        r"pass a function$",
    ):
        effect(42)  # type: ignore[arg-type]


def test_fail_rejects_what_is_not_an_exception_instance() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^error='boom' \(type=str\) is not an exception instance; pass one "
        r"such as ValueError\('bad input'\)",
    ):
        fail("boom")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^error=KeyboardInterrupt\(\)"):
        fail(KeyboardInterrupt())  # type: ignore[arg-type]


def test_sleep_rejects_a_bad_duration() -> None:
    with pytest.raises(InvalidDurationError, match=r"^duration=-1 is negative"):
        sleep(-1)


def test_from_awaitable_rejects_what_cannot_be_awaited() -> None:
    async def fetch() -> None:
        return None

    with pytest.raises(
        InvalidArgumentError,
        match=r"^awaitable=<function .*fetch.*> \(type=function\) is not awaitable; "
        r"pass a coroutine, task or future \(call the async function",
    ):
        from_awaitable(fetch)  # type: ignore[arg-type]


async def test_awaiting_an_effect_outside_any_effect_runs_it(
    controlled_clock: ControlledClock,
) -> None:
    assert await succeed(5).map(lambda value: value + 1) == 6
    with pytest.raises(ValueError, match=r"^nope$"):
        await fail(ValueError("nope"))


def test_repr_describes_the_structure() -> None:
    described = succeed(1).map(str).timeout(1)

    assert repr(described) == "<Effect succeed(1).map(builtins.str).timeout()>"
