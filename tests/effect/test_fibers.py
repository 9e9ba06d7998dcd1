"""Fibers: fork, join, interrupt, poll; a fiber never outlives its parent."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    EffectError,
    EffectInterruptedError,
    Env,
    Err,
    Exit,
    Fiber,
    Interrupted,
    Ok,
    effect,
    fail,
    sleep,
    succeed,
)
from pytest_phyxius import CallbackErrors

if TYPE_CHECKING:
    from tests.effect.conftest import Recorder


async def test_fork_starts_the_effect_and_returns_the_fiber_at_once(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> tuple[float, int, float]:
        fiber = await sleep(5).map(lambda _: 42).fork()
        forked_at = controlled_clock.now().mono
        value = await fiber.join()
        return forked_at, value, controlled_clock.now().mono

    assert await effect(parent).run(clock=controlled_clock) == Ok((0, 42, 5))


async def test_fork_then_join_in_combinator_style(
    controlled_clock: ControlledClock,
) -> None:
    chain = (
        sleep(3)
        .map(lambda _: "child value")
        .fork(name="worker")
        .flat_map(lambda fiber: fiber.join())
    )

    assert await chain.run(clock=controlled_clock) == Ok("child value")


async def test_join_raises_the_fibers_error(controlled_clock: ControlledClock) -> None:
    error = LookupError("gone")

    async def parent(env: Env) -> str:
        fiber = await fail(error).fork()
        try:
            await fiber.join()
        except LookupError as raised:
            return f"caught {raised is error}"
        return "not raised"

    assert await effect(parent).run(clock=controlled_clock) == Ok("caught True")


async def test_poll_reports_running_then_the_exit(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> list[Exit[int] | None]:
        fiber = await sleep(2).map(lambda _: 7).fork()
        polls = [fiber.poll()]
        await asyncio.sleep(3)
        polls.append(fiber.poll())
        return polls

    assert await effect(parent).run(clock=controlled_clock) == Ok([None, Ok(7)])


async def test_interrupt_stops_the_fiber_and_waits_for_its_cleanup(
    controlled_clock: ControlledClock,
) -> None:
    steps: list[str] = []

    async def cleanup() -> None:
        await asyncio.sleep(1)
        steps.append(f"cleaned at {controlled_clock.now().mono:g}")

    async def parent(env: Env) -> tuple[object, ...]:
        fiber = await sleep(100).on_interrupt(cleanup).fork()
        await asyncio.sleep(2)
        exit = await fiber.interrupt()
        steps.append(f"interrupt returned at {controlled_clock.now().mono:g}")
        return exit, fiber.done, fiber.poll()

    result = await effect(parent).run(clock=controlled_clock)

    assert result == Ok((Interrupted(), True, Interrupted()))
    assert steps == ["cleaned at 3", "interrupt returned at 3"]


async def test_interrupting_a_finished_fiber_returns_its_exit(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> Exit[str]:
        fiber = await succeed("done").fork()
        await asyncio.sleep(1)
        return await fiber.interrupt()

    assert await effect(parent).run(clock=controlled_clock) == Ok(Ok("done"))


async def test_interrupting_a_fiber_before_it_starts(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    started: list[bool] = []

    async def work() -> None:
        started.append(True)

    async def parent(env: Env) -> Exit[None]:
        fiber = env.scope.fork(effect(lambda env: work()))
        return await fiber.interrupt()

    result = await effect(parent).run(clock=controlled_clock, emit=recorder)

    assert result == Ok(Interrupted())
    assert started == []
    assert recorder.of("effect.interrupted") == [
        {"fiber": 2, "parent": 1, "name": None}
    ]


async def test_join_of_an_interrupted_fiber_raises_an_interrupted_error(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> str:
        fiber = await sleep(100).fork()
        await fiber.interrupt()
        with pytest.raises(
            EffectInterruptedError,
            match=r"^fiber 2 was interrupted before it produced a value, so join\(\) "
            r"has nothing to return; check fiber\.poll\(\) first",
        ):
            await fiber.join()
        return "checked"

    assert await effect(parent).run(clock=controlled_clock) == Ok("checked")


async def test_interrupting_the_joiner_leaves_the_fiber_running(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> tuple[object, object]:
        fiber = await sleep(10).map(lambda _: "finished").fork()
        waited = await fiber.join().timeout(1).catch(lambda _: succeed("gave up"))
        return waited, await fiber.join()

    assert await effect(parent).run(clock=controlled_clock) == Ok(
        ("gave up", "finished")
    )


async def test_a_fiber_still_running_when_its_parent_ends_is_interrupted_and_awaited(
    controlled_clock: ControlledClock,
) -> None:
    steps: list[str] = []
    forked: list[Fiber[None]] = []

    async def cleanup() -> None:
        await asyncio.sleep(2)
        steps.append(f"child cleaned at {controlled_clock.now().mono:g}")

    async def parent(env: Env) -> str:
        forked.append(await sleep(100).on_interrupt(cleanup).fork())
        await asyncio.sleep(1)
        return "parent done"

    result = await effect(parent).run(clock=controlled_clock)
    steps.append(f"run returned at {controlled_clock.now().mono:g}")

    assert result == Ok("parent done")
    assert steps == ["child cleaned at 3", "run returned at 3"]
    assert forked[0].poll() == Interrupted()


async def test_grandchildren_are_interrupted_with_their_parent(
    controlled_clock: ControlledClock,
) -> None:
    cleaned: list[str] = []

    def mark(name: str) -> object:
        async def note() -> None:
            cleaned.append(name)

        return note

    async def child(env: Env) -> None:
        await sleep(100).on_interrupt(mark("grandchild")).fork()  # type: ignore[arg-type]
        await asyncio.sleep(100)

    async def parent(env: Env) -> str:
        await effect(child).on_interrupt(mark("child")).fork()  # type: ignore[arg-type]
        await asyncio.sleep(1)
        return "done"

    assert await effect(parent).run(clock=controlled_clock) == Ok("done")
    assert sorted(cleaned) == ["child", "grandchild"]


async def test_a_failure_nobody_looked_at_is_reported_when_the_parent_ends(
    controlled_clock: ControlledClock,
    callback_errors: CallbackErrors,
    recorder: Recorder,
) -> None:
    async def parent(env: Env) -> str:
        await fail(RuntimeError("lost in a fiber")).fork(name="sync")
        await asyncio.sleep(1)
        return "parent done"

    result = await effect(parent).run(clock=controlled_clock, emit=recorder)

    assert result == Ok("parent done")
    events = callback_errors.take()
    assert [event.type for event in events] == ["effect.error"]
    assert events[0].data["error"] == "lost in a fiber"
    assert events[0].data["reason"] == "unobserved fiber failure"
    assert events[0].data["fiber"] == 2


async def test_a_failure_that_was_joined_is_not_reported_again(
    controlled_clock: ControlledClock, callback_errors: CallbackErrors
) -> None:
    async def parent(env: Env) -> str:
        fiber = await fail(RuntimeError("seen")).fork()
        await asyncio.sleep(1)
        assert isinstance(fiber.poll(), Err)
        return "done"

    assert await effect(parent).run(clock=controlled_clock) == Ok("done")
    assert callback_errors.take() == []


async def test_scope_children_lists_the_running_fibers(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> tuple[list[int], list[int]]:
        short = env.scope.fork(sleep(1), name="short")
        long = env.scope.fork(sleep(5), name="long")
        before = [fiber.id for fiber in env.scope.children]
        await short.join()
        after = [fiber.id for fiber in env.scope.children]
        assert long.name == "long"
        return before, after

    assert await effect(parent).run(clock=controlled_clock) == Ok(([2, 3], [3]))


async def test_deferred_finalizers_run_last_first_with_the_exit(
    controlled_clock: ControlledClock,
) -> None:
    calls: list[tuple[str, Exit[object], float]] = []

    def finalizer(name: str) -> object:
        async def run(exit: Exit[object]) -> None:
            await asyncio.sleep(1)
            calls.append((name, exit, controlled_clock.now().mono))

        return run

    async def body(env: Env) -> str:
        env.scope.defer(finalizer("first"))  # type: ignore[arg-type]
        env.scope.defer(finalizer("second"))  # type: ignore[arg-type]
        env.scope.defer(lambda exit: succeed(calls.append(("third", exit, -1))))
        return "value"

    assert await effect(body).run(clock=controlled_clock) == Ok("value")
    assert calls == [
        ("third", Ok("value"), -1),
        ("second", Ok("value"), 1),
        ("first", Ok("value"), 2),
    ]


async def test_a_failing_deferred_finalizer_is_reported_and_the_others_run(
    controlled_clock: ControlledClock, callback_errors: CallbackErrors
) -> None:
    ran: list[str] = []

    def broken(exit: Exit[object]) -> None:
        raise RuntimeError("finalizer broke")

    async def body(env: Env) -> str:
        env.scope.defer(lambda exit: ran.append("first"))  # type: ignore[func-returns-value]
        env.scope.defer(broken)
        return "value"

    assert await effect(body).run(clock=controlled_clock) == Ok("value")
    assert ran == ["first"]
    [event] = callback_errors.take()
    assert event.data["error"] == "finalizer broke"
    assert event.data["reason"] == "deferred finalizer failed"


async def test_a_scope_that_has_ended_refuses_new_work(
    controlled_clock: ControlledClock,
) -> None:
    kept: list[Env] = []

    async def body(env: Env) -> None:
        kept.append(env)

    await effect(body).run(clock=controlled_clock)

    with pytest.raises(
        EffectError,
        match=r"^fiber 1 has already ended, so nothing can be deferred on its scope "
        r"any more; defer cleanup while the fiber runs$",
    ):
        kept[0].scope.defer(lambda exit: None)
    with pytest.raises(
        EffectError,
        match=r"^fiber 1 has already ended, so it cannot fork any more; fork while "
        r"the fiber runs$",
    ):
        kept[0].scope.fork(succeed(1))


async def test_scope_fork_rejects_what_is_not_an_effect(
    controlled_clock: ControlledClock,
) -> None:
    async def body(env: Env) -> None:
        with pytest.raises(
            InvalidArgumentError,
            match=r"^effect=42 \(type=int\) is not an Effect; wrap async work with "
            r"effect\(lambda env: \.\.\.\)$",
        ):
            env.scope.fork(42)  # type: ignore[arg-type]
        assert env.scope.children == ()

    assert await effect(body).run(clock=controlled_clock) == Ok(None)


async def test_the_cancel_token_reports_an_interruption_request(
    controlled_clock: ControlledClock,
) -> None:
    observed: list[bool] = []

    async def watcher(env: Env) -> None:
        observed.append(env.token.requested)
        try:
            await asyncio.sleep(100)
        finally:
            observed.append(env.token.requested)
            with pytest.raises(asyncio.CancelledError):
                env.token.raise_if_requested()

    async def parent(env: Env) -> None:
        fiber = await effect(watcher).fork()
        await asyncio.sleep(1)
        await fiber.interrupt()

    await effect(parent).run(clock=controlled_clock)
    assert observed == [False, True]


async def test_fibers_are_numbered_in_the_order_they_start(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:

    async def parent(env: Env) -> list[int]:
        first = await succeed(1).fork(name="a")
        second = await succeed(2).fork(name="b")
        await first.join()
        await second.join()
        return [env.fiber_id, first.id, second.id]

    assert await effect(parent).run(clock=controlled_clock, emit=recorder) == Ok(
        [1, 2, 3]
    )
    assert [
        (event["fiber"], event["parent"], event["name"])
        for event in recorder.of("effect.started")
    ] == [(1, None, None), (2, 1, "a"), (3, 1, "b")]


def test_fork_rejects_a_bad_name() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^name=3 \(type=int\)"):
        succeed(1).fork(name=3)  # type: ignore[arg-type]
