"""Ok, Err and Interrupted; run, run_or_raise and run_effect."""

from __future__ import annotations

import asyncio

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    Context,
    EffectError,
    EffectInterruptedError,
    Err,
    Exit,
    Interrupted,
    Ok,
    Result,
    effect,
    fail,
    run_effect,
    sleep,
    succeed,
)


def describe(result: Exit[int]) -> str:
    match result:
        case Ok(value):
            return f"ok {value}"
        case Err(ValueError() as error):
            return f"bad value {error}"
        case Err(error):
            return f"error {type(error).__name__}"
        case Interrupted():
            return "interrupted"
    raise AssertionError(result)


def test_results_work_with_match() -> None:
    assert describe(Ok(3)) == "ok 3"
    assert describe(Err(ValueError("x"))) == "bad value x"
    assert describe(Err(KeyError("x"))) == "error KeyError"
    assert describe(Interrupted()) == "interrupted"


def test_results_are_frozen_values() -> None:
    assert Ok(1) == Ok(1)
    assert Ok(1) != Ok(2)
    assert hash(Ok("a")) == hash(Ok("a"))
    with pytest.raises(AttributeError):
        Ok(1).value = 2  # type: ignore[misc]


def test_unwrap_returns_the_value_or_raises() -> None:
    error = KeyError("missing")

    assert Ok(5).unwrap() == 5
    with pytest.raises(KeyError):
        Err(error).unwrap()
    with pytest.raises(
        EffectInterruptedError,
        match=r"^the effect was interrupted before it produced a value",
    ):
        Interrupted().unwrap()


async def test_run_returns_ok_or_err(controlled_clock: ControlledClock) -> None:
    error = OSError("disk full")

    ok: Result[int] = await succeed(1).run(clock=controlled_clock)
    err: Result[int] = await fail(error).run(clock=controlled_clock)

    assert ok == Ok(1)
    assert err == Err(error)


async def test_run_or_raise_returns_the_value_or_raises_the_error(
    controlled_clock: ControlledClock,
) -> None:
    assert await succeed("v").run_or_raise(clock=controlled_clock) == "v"
    with pytest.raises(OSError, match=r"^disk full$"):
        await fail(OSError("disk full")).run_or_raise(clock=controlled_clock)


async def test_run_effect_hands_the_context_to_the_function(
    controlled_clock: ControlledClock,
) -> None:
    async def handler(context: Context) -> str:
        context.set("user", "ada")
        await asyncio.sleep(1)
        return f"hello {context.get('user')}"

    assert await run_effect(handler, clock=controlled_clock) == Ok("hello ada")


async def test_run_effect_accepts_a_function_returning_an_effect(
    controlled_clock: ControlledClock,
) -> None:
    result = await run_effect(
        lambda context: succeed(context["tenant"]).map(str.upper),
        clock=controlled_clock,
        context={"tenant": "acme"},
    )

    assert result == Ok("ACME")


async def test_keyboard_interrupt_propagates_instead_of_becoming_a_result(
    controlled_clock: ControlledClock,
) -> None:
    async def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await effect(lambda env: interrupt()).run(clock=controlled_clock)


async def test_system_exit_propagates_instead_of_becoming_a_result(
    controlled_clock: ControlledClock,
) -> None:
    async def leave() -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        await effect(lambda env: leave()).run_or_raise(clock=controlled_clock)


async def test_a_cancelled_error_from_inside_becomes_an_interrupted_error(
    controlled_clock: ControlledClock,
) -> None:
    cancelled_future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    cancelled_future.cancel()

    result = await effect(lambda env: cancelled_future).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectInterruptedError)
    assert str(result.error).startswith("the effect was interrupted from inside")
    assert isinstance(result.error.__cause__, asyncio.CancelledError) or (
        result.error.__cause__ is None
    )


def test_run_rejects_bad_arguments_before_starting() -> None:
    started: list[bool] = []

    async def work() -> None:
        started.append(True)

    runnable = effect(lambda env: work())
    with pytest.raises(
        InvalidArgumentError,
        match=r"^clock='now' \(type=str\) is not a Clock; pass a SystemClock or a "
        r"ControlledClock$",
    ):
        runnable.run(clock="now")  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError, match=r"^emit=3 \(type=int\) is not callable"
    ):
        runnable.run(emit=3)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError, match=r"^context=\['a'\] \(type=list\) is not a mapping"
    ):
        runnable.run(context=["a"])  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^context key=1 \(type=int\) is not a context key; use a non-empty "
        r"string such as 'request_id'$",
    ):
        runnable.run(context={1: "a"})  # type: ignore[dict-item]
    with pytest.raises(
        InvalidArgumentError, match=r"^name=5 \(type=int\) is not a name"
    ):
        runnable.run(name=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"^run_effect\(\) got fn=None"):
        run_effect(None)  # type: ignore[arg-type]
    assert started == []


def test_run_outside_an_event_loop_says_what_to_do() -> None:
    coroutine = succeed(1).run()
    with pytest.raises(
        EffectError,
        match=r"^Effect\.run\(\) must be awaited inside an asyncio task on a running "
        r"event loop; use asyncio\.run\(effect\.run\(\)\) from synchronous code$",
    ):
        coroutine.send(None)
    coroutine.close()


def test_run_in_a_plain_asyncio_program_uses_the_system_clock() -> None:
    result = asyncio.run(sleep(0.001).map(lambda _: "slept").run())

    assert result == Ok("slept")


def test_effect_error_is_the_root_of_the_effect_errors() -> None:
    assert issubclass(EffectInterruptedError, EffectError)
