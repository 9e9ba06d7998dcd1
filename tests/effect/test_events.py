"""Events: every fiber's start and end, retries and timeouts go to ``emit``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from phyxius import Event
from phyxius.clock import ControlledClock
from phyxius.effect import (
    Env,
    RetryPolicy,
    effect,
    fail,
    gather,
    race,
    sleep,
    succeed,
)
from pytest_phyxius import CallbackErrors

if TYPE_CHECKING:
    from tests.effect.conftest import Recorder


async def test_a_run_emits_started_then_succeeded(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    await sleep(2).run(clock=controlled_clock, emit=recorder, name="job")

    started, succeeded = [e for e in recorder.events if e.type.startswith("effect.")]
    assert started.type == "effect.started"
    assert dict(started.data) == {"fiber": 1, "parent": None, "name": "job"}
    assert started.at.mono == 0
    assert succeeded.type == "effect.succeeded"
    assert succeeded.at.mono == 2


async def test_a_failure_is_emitted_with_its_error(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    await fail(PermissionError("denied")).run(clock=controlled_clock, emit=recorder)

    assert recorder.of("effect.failed") == [
        {
            "fiber": 1,
            "parent": None,
            "name": None,
            "error_type": "PermissionError",
            "error": "denied",
        }
    ]


async def test_an_interruption_is_emitted(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    task = asyncio.create_task(sleep(10).run(clock=controlled_clock, emit=recorder))
    await asyncio.sleep(1)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass

    assert recorder.types() == ["effect.started", "effect.interrupted"]
    assert recorder.events[-1].at.mono == 1


async def test_forks_and_branches_are_fibers_with_their_own_events(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    async def parent(env: Env) -> None:
        fiber = await sleep(1).fork(name="side")
        await race([sleep(1), sleep(5)])
        await gather([succeed(1)])
        await fiber.join()

    await effect(parent).run(clock=controlled_clock, emit=recorder, name="main")

    assert [
        (event.type, event.data["fiber"], event.data["parent"], event.data["name"])
        for event in recorder.events
        if event.type.startswith("effect.")
    ] == [
        ("effect.started", 1, None, "main"),
        ("effect.started", 2, 1, "side"),
        ("effect.started", 3, 1, "main/race[0]"),
        ("effect.started", 4, 1, "main/race[1]"),
        ("effect.succeeded", 2, 1, "side"),
        ("effect.succeeded", 3, 1, "main/race[0]"),
        ("effect.interrupted", 4, 1, "main/race[1]"),
        ("effect.started", 5, 1, "main/gather[0]"),
        ("effect.succeeded", 5, 1, "main/gather[0]"),
        ("effect.succeeded", 1, None, "main"),
    ]


async def test_retry_and_timeout_events_carry_their_numbers(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    flaky = fail(ConnectionError("refused")).retry(
        RetryPolicy(max_attempts=3, base_delay=1)
    )

    await flaky.timeout(2).run(clock=controlled_clock, emit=recorder)

    assert recorder.types() == [
        "effect.started",
        "effect.retry",
        "effect.retry",
        "effect.timed_out",
        "effect.failed",
    ]
    assert [event["attempt"] for event in recorder.of("effect.retry")] == [1, 2]
    assert [event["delay_ns"] for event in recorder.of("effect.retry")] == [
        1_000_000_000,
        2_000_000_000,
    ]
    assert recorder.of("effect.timed_out")[0]["timeout_ns"] == 2_000_000_000


async def test_event_data_holds_plain_values_only(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    async def parent(env: Env) -> None:
        await fail(ValueError("x")).catch(lambda _: succeed(0))
        await sleep(5).timeout(1).catch(lambda _: succeed(0))

    await effect(parent).run(clock=controlled_clock, emit=recorder)

    plain = (str, int, float, bool, type(None))
    for event in recorder.events:
        assert isinstance(event, Event)
        assert all(isinstance(value, plain) for value in event.data.values())


async def test_an_emit_that_raises_breaks_nothing_and_is_reported(
    controlled_clock: ControlledClock, callback_errors: CallbackErrors
) -> None:
    def broken_emit(event: Event) -> None:
        raise RuntimeError("telemetry down")

    result = await succeed(3).run(clock=controlled_clock, emit=broken_emit)

    assert result.unwrap() == 3
    reported = callback_errors.take()
    assert [event.type for event in reported] == ["effect.started", "effect.succeeded"]


async def test_without_emit_nothing_is_emitted_and_nothing_breaks(
    controlled_clock: ControlledClock,
) -> None:

    assert (await sleep(1).timeout(5).run(clock=controlled_clock)).unwrap() is None
