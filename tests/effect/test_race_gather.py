"""race and gather: every loser and every sibling is interrupted and awaited."""

from __future__ import annotations

import asyncio

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    Effect,
    EffectInterruptedError,
    Env,
    Err,
    Ok,
    effect,
    fail,
    gather,
    race,
    sleep,
    succeed,
)


def after(delay: float, value: object, log: list[str] | None = None) -> Effect[object]:
    """``value`` after ``delay``; notes its own interruption (after 1 s of cleanup)."""

    async def cleanup() -> None:
        await asyncio.sleep(1)
        if log is not None:
            log.append(f"{value} cleaned up")

    return sleep(delay).map(lambda _: value).on_interrupt(cleanup)


def failing(delay: float, error: Exception) -> Effect[object]:
    return sleep(delay).flat_map(lambda _: fail(error))


async def test_race_returns_the_first_success(
    controlled_clock: ControlledClock,
) -> None:
    fastest = race([after(3, "slow"), after(1, "fast"), after(2, "medium")])

    assert await fastest.run(clock=controlled_clock) == Ok("fast")


async def test_race_has_interrupted_and_awaited_every_loser_before_returning(
    controlled_clock: ControlledClock,
) -> None:
    log: list[str] = []

    async def contest(env: Env) -> object:
        winner = await race(
            [after(5, "b", log), after(1, "a", log), after(9, "c", log)]
        )
        log.append(f"race returned {winner} at {controlled_clock.now().mono:g}")
        return winner

    assert await effect(contest).run(clock=controlled_clock) == Ok("a")
    assert sorted(log[:2]) == ["b cleaned up", "c cleaned up"]
    assert log[2] == "race returned a at 2"


async def test_race_skips_failures_while_one_can_still_succeed(
    controlled_clock: ControlledClock,
) -> None:
    contest = race([failing(1, KeyError("early")), after(3, "late success")])

    assert await contest.run(clock=controlled_clock) == Ok("late success")


async def test_race_with_one_failure_fails_with_it(
    controlled_clock: ControlledClock,
) -> None:
    error = ConnectionError("refused")

    result = await race([failing(1, error)]).run(clock=controlled_clock)

    assert result == Err(error)
    assert error.__notes__ == ["phyxius: race: effect 0 of 1 failed first"]


async def test_race_with_every_effect_failing_raises_the_first_with_the_others_noted(
    controlled_clock: ControlledClock,
) -> None:
    first = ConnectionError("replica 2 refused")
    second = TimeoutError("replica 0 slow")
    third = OSError("replica 1 down")

    result = await race([failing(2, second), failing(3, third), failing(1, first)]).run(
        clock=controlled_clock
    )

    assert result == Err(first)
    assert first.__notes__ == [
        "phyxius: race: effect 2 of 3 failed first",
        "phyxius: race: effect 0 also failed: TimeoutError: replica 0 slow",
        "phyxius: race: effect 1 also failed: OSError: replica 1 down",
    ]


async def test_an_outer_cancel_during_a_race_cleans_up_every_contestant(
    controlled_clock: ControlledClock,
) -> None:
    log: list[str] = []
    task = asyncio.create_task(
        race([after(10, "a", log), after(20, "b", log)]).run(clock=controlled_clock)
    )
    await asyncio.sleep(2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(log) == ["a cleaned up", "b cleaned up"]
    assert controlled_clock.now().mono == 3


def test_race_needs_at_least_one_effect() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^race\(\) got no effects; a race needs at least one \(the first to "
        r"succeed wins\)$",
    ):
        race([])


async def test_gather_returns_every_value_in_the_given_order(
    controlled_clock: ControlledClock,
) -> None:
    everything = gather([after(3, "c"), after(1, "a"), succeed("b")])

    assert await everything.run(clock=controlled_clock) == Ok(["c", "a", "b"])
    assert controlled_clock.now().mono == 3


async def test_gather_of_nothing_is_an_empty_list(
    controlled_clock: ControlledClock,
) -> None:
    assert await gather([]).run(clock=controlled_clock) == Ok([])


async def test_gather_with_one_failure_cancels_and_awaits_the_rest_then_fails(
    controlled_clock: ControlledClock,
) -> None:
    log: list[str] = []
    error = ValueError("bad row 7")

    async def batch(env: Env) -> object:
        try:
            return await gather(
                [after(10, "a", log), failing(2, error), after(20, "b", log)]
            )
        except ValueError as raised:
            log.append(f"gather failed at {controlled_clock.now().mono:g}")
            return raised

    result = await effect(batch).run(clock=controlled_clock)

    assert result == Ok(error)
    assert sorted(log[:2]) == ["a cleaned up", "b cleaned up"]
    assert log[2] == "gather failed at 3"
    assert error.__notes__ == ["phyxius: gather: effect 1 of 3 failed first"]


async def test_gather_with_several_failures_raises_the_first_with_the_others_noted(
    controlled_clock: ControlledClock,
) -> None:
    first = ValueError("row 3")
    second = KeyError("column")
    third = OSError("disk")

    result = await gather(
        [failing(1, second), after(50, "slow"), failing(1, third), failing(0, first)]
    ).run(clock=controlled_clock)

    assert result == Err(first)
    assert first.__notes__ == [
        "phyxius: gather: effect 3 of 4 failed first",
    ]
    result = await gather(
        [failing(1, second), after(50, "slow"), failing(1, third)]
    ).run(clock=controlled_clock)
    assert result == Err(second)
    assert second.__notes__ == [
        "phyxius: gather: effect 0 of 3 failed first",
        "phyxius: gather: effect 2 also failed: OSError: disk",
    ]


async def test_a_gather_failure_keeps_its_type_for_catch(
    controlled_clock: ControlledClock,
) -> None:
    recovered = gather([failing(1, KeyError("k")), after(5, "x")]).catch(
        lambda error: succeed(f"recovered from {type(error).__name__}"), KeyError
    )

    assert await recovered.run(clock=controlled_clock) == Ok("recovered from KeyError")


async def test_a_branch_interrupted_from_inside_fails_the_gather(
    controlled_clock: ControlledClock,
) -> None:
    cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cancelled.cancel()

    result = await gather([effect(lambda env: cancelled), after(5, "x")]).run(
        clock=controlled_clock
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectInterruptedError)


async def test_an_outer_cancel_during_gather_cleans_up_every_branch(
    controlled_clock: ControlledClock,
) -> None:
    log: list[str] = []
    task = asyncio.create_task(
        gather([after(10, "a", log), after(20, "b", log)]).run(clock=controlled_clock)
    )
    await asyncio.sleep(2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(log) == ["a cleaned up", "b cleaned up"]


def test_race_and_gather_reject_what_is_not_a_list_of_effects() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^gather\(\) got effects\[1\]=2 \(type=int\), which is not an Effect; "
        r"wrap async work with effect\(lambda env: \.\.\.\)$",
    ):
        gather([succeed(1), 2])  # type: ignore[list-item]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^race\(\) got <Effect succeed\(1\)> \(type=Effect\), which is not an "
        r"iterable of effects; pass a list such as race\(\[a, b\]\)$",
    ):
        race(succeed(1))  # type: ignore[arg-type]
