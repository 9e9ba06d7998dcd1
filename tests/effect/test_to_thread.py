"""to_thread: blocking work in a worker thread, with the context and the token."""

from __future__ import annotations

import asyncio
import threading

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    CancelToken,
    Env,
    Err,
    Interrupted,
    Ok,
    effect,
    to_thread,
)


async def test_to_thread_returns_what_the_function_returns(
    controlled_clock: ControlledClock,
) -> None:
    def work(a: int, b: int, *, scale: int) -> tuple[int, bool]:
        return (a + b) * scale, threading.current_thread() is threading.main_thread()

    result = await to_thread(work, 1, 2, scale=10).run(clock=controlled_clock)

    assert result == Ok((30, False))


async def test_an_error_in_the_thread_is_the_effects_failure(
    controlled_clock: ControlledClock,
) -> None:
    def work() -> None:
        raise FileNotFoundError("/data/missing.csv")

    result = await to_thread(work).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, FileNotFoundError)


async def test_interruption_waits_for_the_thread_which_can_watch_the_token(
    controlled_clock: ControlledClock,
) -> None:
    started = threading.Event()
    steps: list[str] = []

    def work(token: CancelToken) -> str:
        started.set()
        while not token.requested:
            threading.Event().wait(0.001)
        steps.append("thread saw the request and stopped")
        return "partial"

    async def parent(env: Env) -> object:
        fiber = await effect(lambda env: to_thread(work, env.token)).fork()
        await asyncio.to_thread(started.wait)
        exit = await fiber.interrupt()
        steps.append("interrupt returned")
        return exit

    result = await effect(parent).run(clock=controlled_clock)

    assert result == Ok(Interrupted())
    assert steps == ["thread saw the request and stopped", "interrupt returned"]


def test_to_thread_rejects_what_it_cannot_call() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^to_thread\(\) got fn='work' \(type=str\), which is not callable",
    ):
        to_thread("work")  # type: ignore[arg-type]
