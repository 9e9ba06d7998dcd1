"""map, flat_map and catch: sequencing and recovery, stack-safe."""

from __future__ import annotations

import asyncio
import re

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    Effect,
    EffectTypeError,
    Err,
    Ok,
    effect,
    fail,
    sleep,
    succeed,
)


async def test_map_transforms_the_value(controlled_clock: ControlledClock) -> None:
    doubled = succeed(21).map(lambda value: value * 2)

    assert await doubled.run(clock=controlled_clock) == Ok(42)


async def test_flat_map_continues_with_an_effect(
    controlled_clock: ControlledClock,
) -> None:
    async def fetch_user(user_id: int) -> str:
        await asyncio.sleep(1)
        return f"user-{user_id}"

    chain = succeed(7).flat_map(lambda user_id: effect(lambda env: fetch_user(user_id)))

    assert await chain.run(clock=controlled_clock) == Ok("user-7")
    assert controlled_clock.now().mono == 1


async def test_flat_map_accepts_an_async_function(
    controlled_clock: ControlledClock,
) -> None:
    async def add_one(value: int) -> int:
        await asyncio.sleep(1)
        return value + 1

    chain = succeed(0).flat_map(add_one).flat_map(add_one).flat_map(add_one)

    assert await chain.run(clock=controlled_clock) == Ok(3)
    assert await chain.run(clock=controlled_clock) == Ok(3)
    assert controlled_clock.now().mono == 6


async def test_a_failure_skips_the_rest_of_the_chain(
    controlled_clock: ControlledClock,
) -> None:
    calls: list[str] = []
    error = KeyError("missing")

    def record(value: object) -> object:
        calls.append("map")
        return value

    chain = fail(error).map(record).flat_map(lambda value: succeed(value))

    assert await chain.run(clock=controlled_clock) == Err(error)
    assert calls == []


async def test_an_error_raised_by_a_map_function_is_a_failure(
    controlled_clock: ControlledClock,
) -> None:
    result = await succeed("x").map(int).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, ValueError)


async def test_catch_recovers_with_the_handlers_effect(
    controlled_clock: ControlledClock,
) -> None:
    recovered = fail(KeyError("k")).catch(lambda error: succeed(f"default for {error}"))

    assert await recovered.run(clock=controlled_clock) == Ok("default for 'k'")


async def test_catch_takes_only_the_given_types(
    controlled_clock: ControlledClock,
) -> None:
    error = ValueError("not a key error")
    handled = fail(error).catch(lambda _: succeed("handled"), KeyError, IndexError)

    assert await handled.run(clock=controlled_clock) == Err(error)
    assert await fail(IndexError("i")).catch(
        lambda _: succeed("handled"), KeyError, IndexError
    ).run(clock=controlled_clock) == Ok("handled")


async def test_catch_lets_the_chain_continue_after_recovery(
    controlled_clock: ControlledClock,
) -> None:
    chain = (
        succeed(1)
        .flat_map(lambda _: fail(ValueError("inner")))
        .catch(lambda _: succeed(10))
        .map(lambda value: value + 1)
    )

    assert await chain.run(clock=controlled_clock) == Ok(11)


async def test_a_catch_does_not_see_errors_raised_after_it(
    controlled_clock: ControlledClock,
) -> None:
    error = RuntimeError("later")
    chain = succeed(1).catch(lambda _: succeed(0)).flat_map(lambda _: fail(error))

    assert await chain.run(clock=controlled_clock) == Err(error)


async def test_an_error_in_a_handler_goes_to_the_next_catch(
    controlled_clock: ControlledClock,
) -> None:
    def broken_handler(error: Exception) -> Effect[str]:
        raise RuntimeError("handler broke") from error

    chain = (
        fail(KeyError("k"))
        .catch(broken_handler)
        .catch(lambda error: succeed(f"outer saw {type(error).__name__}"))
    )

    assert await chain.run(clock=controlled_clock) == Ok("outer saw RuntimeError")


async def test_a_handler_may_return_an_awaitable(
    controlled_clock: ControlledClock,
) -> None:
    async def fallback(error: Exception) -> str:
        await asyncio.sleep(2)
        return "fallback"

    chain = fail(OSError("down")).catch(fallback)

    assert await chain.run(clock=controlled_clock) == Ok("fallback")
    assert controlled_clock.now().mono == 2


async def test_catch_never_catches_interruption(
    controlled_clock: ControlledClock,
) -> None:
    handled: list[BaseException] = []

    def handler(error: Exception) -> Effect[str]:
        handled.append(error)
        return succeed("swallowed")

    guarded = sleep(10).catch(handler)
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert handled == []


def test_catch_refuses_interruption_types() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^catch\(\) got CancelledError, which is never caught: interruption, "
        r"KeyboardInterrupt and SystemExit always propagate; use on_interrupt\(\) "
        r"or ensuring\(\) to clean up$",
    ):
        succeed(1).catch(lambda _: succeed(0), asyncio.CancelledError)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^catch\(\) got KeyboardInterrupt"):
        succeed(1).catch(lambda _: succeed(0), KeyboardInterrupt)  # type: ignore[arg-type]


def test_catch_refuses_what_is_not_an_exception_type() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^catch\(\) got 'ValueError' \(type=str\), which is not an exception "
        r"type; pass Exception subclasses such as ValueError$",
    ):
        succeed(1).catch(lambda _: succeed(0), "ValueError")  # type: ignore[arg-type]


def test_combinators_refuse_functions_they_cannot_call() -> None:
    base = succeed(1)

    for method in ("map", "flat_map", "catch", "on_interrupt", "ensuring"):
        with pytest.raises(
            InvalidArgumentError,
            match=rf"^{method}\(\) got \w+=None \(type=NoneType\), which is not "
            r"callable; pass a function$",
        ):
            getattr(base, method)(None)


def test_map_refuses_an_async_function_and_points_to_flat_map() -> None:
    async def fetch_price(order: str) -> int:
        return len(order)

    with pytest.raises(
        InvalidArgumentError,
        match=r"^map\(\) got the async function "
        r"tests\.effect\.test_sequencing\.test_map_refuses_an_async_function_and_"
        r"points_to_flat_map\.<locals>\.fetch_price, whose coroutine would become "
        r"the value without being awaited; use flat_map\(\) for async functions$",
    ):
        succeed("o-1").map(fetch_price)


def test_combinators_leave_the_original_effect_unchanged() -> None:
    base = succeed(1)
    before = repr(base)

    base.map(str)
    base.flat_map(lambda value: succeed(value))
    base.catch(lambda error: succeed(0))
    base.timeout(1)

    assert repr(base) == before == "<Effect succeed(1)>"


async def test_a_flat_map_returning_a_plain_value_fails_clearly(
    controlled_clock: ControlledClock,
) -> None:
    result = (
        await succeed(1)
        .flat_map(lambda value: value + 1)
        .run(  # type: ignore[arg-type,return-value]
            clock=controlled_clock
        )
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTypeError)
    assert re.match(
        r"^.*<lambda> returned 2 \(type=int\), which is neither an Effect nor an "
        r"awaitable; return succeed\(value\) for a plain value, or use map\(\)$",
        str(result.error),
    )


async def test_a_long_left_nested_chain_does_not_overflow_the_stack(
    controlled_clock: ControlledClock,
) -> None:
    chain: Effect[int] = succeed(0)
    for _ in range(100_000):
        chain = chain.map(lambda value: value + 1)

    assert await chain.run(clock=controlled_clock) == Ok(100_000)


async def test_an_effect_that_loops_through_flat_map_does_not_overflow_the_stack(
    controlled_clock: ControlledClock,
) -> None:
    def count_down(n: int) -> Effect[str]:
        if n == 0:
            return succeed("lift-off")
        return succeed(n - 1).flat_map(count_down)

    assert await count_down(100_000).run(clock=controlled_clock) == Ok("lift-off")


async def test_awaiting_an_effect_inside_an_effect_shares_its_clock(
    controlled_clock: ControlledClock,
) -> None:
    async def outer(env: object) -> float:
        await sleep(5)
        return controlled_clock.now().mono

    assert await effect(outer).run(clock=controlled_clock) == Ok(5.0)
