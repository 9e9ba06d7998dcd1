"""Cancellation that is never lost: one test per asyncio trap.

Each test names the trap it guards against. In every one, the Effect version
must end the way structured concurrency says: a cancel of the caller
propagates as `asyncio.CancelledError`, a value is never silently dropped,
and nothing keeps running after its scope.
"""

from __future__ import annotations

import asyncio

import pytest

from phyxius.clock import ControlledClock
from phyxius.effect import (
    Env,
    Exit,
    Interrupted,
    Ok,
    acquire_use_release,
    effect,
    fail,
    from_awaitable,
    gather,
    sleep,
    succeed,
)


async def test_trap_an_outer_cancel_always_propagates_out_of_run(
    controlled_clock: ControlledClock,
) -> None:
    task = asyncio.create_task(sleep(10).run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_trap_a_swallowed_cancel_is_raised_again_at_the_next_step(
    controlled_clock: ControlledClock,
) -> None:
    """Code that catches CancelledError and carries on cannot keep running."""
    steps: list[str] = []

    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            steps.append("swallowed")
        return "carried on"

    async def next_step() -> None:
        steps.append("next step ran")

    chain = effect(lambda env: stubborn()).flat_map(lambda _: next_step())
    task = asyncio.create_task(chain.run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["swallowed"]


async def test_trap_a_swallowed_cancel_on_the_last_step_still_propagates(
    controlled_clock: ControlledClock,
) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        return "carried on"

    task = asyncio.create_task(
        effect(lambda env: stubborn()).run(clock=controlled_clock)
    )
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_trap_wait_for_style_a_joined_value_never_swallows_the_cancel(
    controlled_clock: ControlledClock,
) -> None:
    """asyncio.wait_for (3.11) returned the inner result and dropped the cancel."""
    loop = asyncio.get_running_loop()

    async def parent(env: Env) -> str:
        fiber = await sleep(5).map(lambda _: "result").fork()
        return await fiber.join()

    task = asyncio.create_task(effect(parent).run(clock=controlled_clock))
    await asyncio.sleep(0)
    loop.call_later(5, task.cancel)

    with pytest.raises(asyncio.CancelledError):
        await task
    assert controlled_clock.now().mono == 5


async def test_trap_wait_for_style_a_result_is_kept_by_the_fiber_not_dropped(
    controlled_clock: ControlledClock,
) -> None:
    """The joiner gave up (timeout), but the fiber's value is still there."""

    async def parent(env: Env) -> tuple[object, Exit[str] | None]:
        fiber = await sleep(5).map(lambda _: "late result").fork()
        waited = await fiber.join().timeout(5).catch(lambda _: succeed("timed out"))
        await asyncio.sleep(0)
        return waited, fiber.poll()

    result = await effect(parent).run(clock=controlled_clock)

    assert result == Ok(("timed out", Ok("late result")))


async def test_trap_a_fiber_cancelled_while_its_value_is_ready_ends_cancelled(
    controlled_clock: ControlledClock,
) -> None:
    async def parent(env: Env) -> Exit[str]:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        fiber = await from_awaitable(answer).fork()
        await asyncio.sleep(1)
        answer.set_result("ready")  # the fiber's wake-up is now queued...
        return await fiber.interrupt()  # ...and the interrupt arrives with it

    assert await effect(parent).run(clock=controlled_clock) == Ok(Interrupted())


async def test_trap_a_fiber_whose_code_returns_the_value_anyway_ends_cancelled(
    controlled_clock: ControlledClock,
) -> None:
    async def grab(answer: asyncio.Future[str]) -> str:
        try:
            return await asyncio.shield(answer)
        except asyncio.CancelledError:
            return answer.result()

    async def parent(env: Env) -> Exit[str]:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        fiber = await effect(lambda env: grab(answer)).fork()
        await asyncio.sleep(1)
        answer.set_result("ready")
        return await fiber.interrupt()

    assert await effect(parent).run(clock=controlled_clock) == Ok(Interrupted())


async def test_trap_a_joiner_interrupted_as_its_child_finishes_ends_cancelled(
    controlled_clock: ControlledClock,
) -> None:
    async def joiner(env: Env) -> str:
        child = await sleep(2).map(lambda _: "value").fork()
        return await child.join()

    async def parent(env: Env) -> Exit[str]:
        fiber = await effect(joiner).fork()
        await asyncio.sleep(2)  # the child finishes at this instant too
        return await fiber.interrupt()

    assert await effect(parent).run(clock=controlled_clock) == Ok(Interrupted())


async def test_trap_a_value_and_a_cancel_together_the_value_goes_to_release(
    controlled_clock: ControlledClock,
) -> None:
    released: list[tuple[str, Exit[object]]] = []
    used: list[str] = []

    async def release(resource: str, exit: Exit[object]) -> None:
        released.append((resource, exit))

    async def use(resource: str) -> str:
        used.append(resource)
        return resource

    guarded = acquire_use_release(sleep(3).map(lambda _: "connection"), use, release)
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(3, task.cancel)  # with the acquire

    with pytest.raises(asyncio.CancelledError):
        await task
    assert used == []
    assert released == [("connection", Interrupted())]


async def test_trap_nested_groups_never_swallow_the_parents_cancel(
    controlled_clock: ControlledClock,
) -> None:
    """A child failing at the instant the parent is cancelled: the cancel wins."""
    interrupted: list[str] = []

    def watched(name: str, delay: float) -> object:
        async def note() -> None:
            interrupted.append(name)

        return sleep(delay).on_interrupt(note)

    inner = gather(
        [
            sleep(4).flat_map(lambda _: fail(RuntimeError("inner failure"))),
            watched("inner sibling", 100),  # type: ignore[list-item]
        ]
    )
    outer = gather([inner, watched("outer sibling", 100)])  # type: ignore[list-item]
    task = asyncio.create_task(outer.run(clock=controlled_clock))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(4, task.cancel)

    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(interrupted) == ["inner sibling", "outer sibling"]


async def test_trap_nested_groups_propagate_an_outer_cancel_through_every_level(
    controlled_clock: ControlledClock,
) -> None:
    interrupted: list[int] = []

    def leaf(index: int) -> object:
        async def note() -> None:
            await asyncio.sleep(1)
            interrupted.append(index)

        return sleep(100).on_interrupt(note)

    tree = gather(
        [gather([leaf(0), leaf(1)]), gather([leaf(2), gather([leaf(3)])])]  # type: ignore[list-item]
    )
    task = asyncio.create_task(tree.run(clock=controlled_clock))
    await asyncio.sleep(5)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(interrupted) == [0, 1, 2, 3]
    assert controlled_clock.now().mono == 6


async def test_trap_cleanup_is_not_cut_short_by_a_second_cancel(
    controlled_clock: ControlledClock,
) -> None:
    steps: list[str] = []

    async def slow_cleanup() -> None:
        await asyncio.sleep(5)
        steps.append("cleanup finished")

    task = asyncio.create_task(
        sleep(100).on_interrupt(slow_cleanup).run(clock=controlled_clock)
    )
    await asyncio.sleep(1)
    task.cancel()
    await asyncio.sleep(1)
    task.cancel()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["cleanup finished"]
    assert controlled_clock.now().mono == 6


async def test_trap_a_cancel_during_a_forked_fibers_cleanup_is_still_delivered(
    controlled_clock: ControlledClock,
) -> None:
    """The parent waits for its children's cleanup, then ends cancelled."""
    steps: list[str] = []

    async def child_cleanup() -> None:
        await asyncio.sleep(3)
        steps.append("child cleaned")

    async def parent(env: Env) -> str:
        await sleep(100).on_interrupt(child_cleanup).fork()
        await asyncio.sleep(100)
        return "finished"

    task = asyncio.create_task(effect(parent).run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["child cleaned"]
    assert controlled_clock.now().mono == 4


async def test_cleanup_after_catching_a_cancel_runs_as_a_fiber_of_its_own(
    controlled_clock: ControlledClock,
) -> None:
    """Inline ``await effect`` re-raises; ``await effect.run()`` starts afresh."""
    steps: list[str] = []

    async def cleanup(env: Env) -> None:
        await asyncio.sleep(2)
        steps.append(f"cleaned at {controlled_clock.now().mono:g}")

    async def body(env: Env) -> None:
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            with pytest.raises(asyncio.CancelledError):
                await effect(cleanup)
            steps.append("inline await refused")
            await effect(cleanup).run()
            raise

    task = asyncio.create_task(effect(body).run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["inline await refused", "cleaned at 3"]
