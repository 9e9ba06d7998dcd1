"""retry: capped exponential back-off with seeded jitter, all on the effect's clock."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    Effect,
    EffectTimeoutError,
    Env,
    Err,
    Ok,
    RetryPolicy,
    effect,
    succeed,
)

if TYPE_CHECKING:
    from tests.effect.conftest import Recorder


class Flaky:
    """Fails the first ``failures`` attempts, then succeeds; records when each ran."""

    def __init__(
        self,
        clock: ControlledClock,
        failures: int,
        error: type[BaseException] = ConnectionError,
        duration: float = 0,
    ) -> None:
        self.clock = clock
        self.failures = failures
        self.error = error
        self.duration = duration
        self.attempts: list[float] = []

    @property
    def effect(self) -> Effect[str]:
        async def attempt(env: Env) -> str:
            self.attempts.append(self.clock.now().mono)
            await asyncio.sleep(self.duration)
            if len(self.attempts) <= self.failures:
                raise self.error(f"attempt {len(self.attempts)} failed")
            return f"ok after {len(self.attempts)} attempts"

        return effect(attempt)


async def test_a_five_attempt_retry_waits_exactly_the_computed_delays(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=4)
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.5)

    result = await flaky.effect.retry(policy).run(clock=controlled_clock)

    assert result == Ok("ok after 5 attempts")
    assert policy.delays() == [0.1, 0.2, 0.4, 0.5]
    assert flaky.attempts == [0, 0.1, 0.3, 0.7, 1.2]
    assert controlled_clock.now().mono_ns == 1_200_000_000


async def test_the_retry_waits_on_the_effects_clock_not_in_real_time(
    controlled_clock: ControlledClock,
) -> None:
    """With a clock only the test moves, nothing happens until the test moves it."""
    effect_clock = ControlledClock()
    flaky = Flaky(effect_clock, failures=2)
    policy = RetryPolicy(max_attempts=3, base_delay=60, factor=2)
    task = asyncio.create_task(flaky.effect.retry(policy).run(clock=effect_clock))

    await effect_clock.advance_async(59)
    assert flaky.attempts == [0]
    await effect_clock.advance_async(1)
    assert flaky.attempts == [0, 60]
    await effect_clock.advance_async(120)

    assert await task == Ok("ok after 3 attempts")
    assert flaky.attempts == [0, 60, 180]
    assert controlled_clock.now().mono == 0


async def test_jitter_comes_from_a_seeded_generator(
    controlled_clock: ControlledClock,
) -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1, factor=3, jitter=0.5, seed=42)
    rng = random.Random(42)
    expected = [
        int(1_000_000_000 * 3**n * (1 - 0.5 * rng.random())) / 1e9 for n in range(3)
    ]

    first = Flaky(controlled_clock, failures=3)
    await first.effect.retry(policy).run(clock=controlled_clock)
    second = Flaky(controlled_clock, failures=3)
    start = controlled_clock.now().mono
    await second.effect.retry(policy).run(clock=controlled_clock)

    waits = [b - a for a, b in zip(first.attempts, first.attempts[1:], strict=False)]
    assert waits == pytest.approx(expected, abs=1e-9)
    assert [t - start for t in second.attempts] == pytest.approx(first.attempts)
    assert policy.delays() == pytest.approx(expected, abs=1e-9)


def test_jitter_only_ever_shortens_a_wait_and_the_cap_holds() -> None:
    policy = RetryPolicy(
        max_attempts=30, base_delay=0.5, max_delay=8, jitter=1.0, seed=7
    )

    delays = policy.delays()

    assert len(delays) == 29
    assert all(0 <= delay <= 8 for delay in delays)
    assert all(delay <= min(8, 0.5 * 2**n) for n, delay in enumerate(delays))
    assert len(set(delays)) > 20


async def test_a_policy_of_one_attempt_never_retries(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=1)

    result = await flaky.effect.retry(RetryPolicy(max_attempts=1, base_delay=1)).run(
        clock=controlled_clock
    )

    assert isinstance(result, Err)
    assert flaky.attempts == [0]
    assert not hasattr(result.error, "__notes__")


async def test_giving_up_raises_the_last_error_with_a_note(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=10)

    result = await flaky.effect.retry(RetryPolicy(max_attempts=3, base_delay=1)).run(
        clock=controlled_clock
    )

    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert str(result.error) == "attempt 3 failed"
    assert result.error.__notes__ == ["phyxius: gave up after 3 attempts"]


async def test_only_the_errors_retry_on_accepts_are_retried(
    controlled_clock: ControlledClock,
) -> None:
    by_type = Flaky(controlled_clock, failures=2, error=KeyError)
    by_predicate = Flaky(controlled_clock, failures=2, error=ConnectionError)

    typed = RetryPolicy(max_attempts=5, base_delay=1, retry_on=(OSError, ValueError))
    picky = RetryPolicy(
        max_attempts=5,
        base_delay=1,
        retry_on=lambda error: "attempt 1" in str(error),
    )

    assert isinstance(
        await by_type.effect.retry(typed).run(clock=controlled_clock), Err
    )
    assert by_type.attempts == [0]
    assert isinstance(
        await by_predicate.effect.retry(picky).run(clock=controlled_clock), Err
    )
    assert len(by_predicate.attempts) == 2


async def test_max_elapsed_stops_before_a_wait_that_would_pass_it(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=10, duration=1)
    policy = RetryPolicy(
        max_attempts=10, base_delay=1, factor=2, max_elapsed=timedelta(seconds=10)
    )

    result = await flaky.effect.retry(policy).run(clock=controlled_clock)

    # Each attempt takes 1 s. Waits of 1, 2 and 4 s end at 2, 5 and 10, within
    # max_elapsed; the fourth attempt fails at 11 and a wait of 8 s would pass it.
    assert flaky.attempts == [0, 2, 5, 10]
    assert isinstance(result, Err)
    assert result.error.__notes__ == [
        "phyxius: gave up after 4 attempts: the next wait (8s) would pass "
        "max_elapsed=10s"
    ]


async def test_trap_interruption_is_never_retried_under_a_timeout(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=0, duration=1)
    policy = RetryPolicy(max_attempts=5, base_delay=0.01)

    result = await flaky.effect.retry(policy).timeout(0.1).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    assert flaky.attempts == [0]
    assert controlled_clock.now().mono == 0.1


async def test_trap_an_outer_cancel_is_never_retried(
    controlled_clock: ControlledClock,
) -> None:
    flaky = Flaky(controlled_clock, failures=0, duration=10)
    policy = RetryPolicy(max_attempts=5, base_delay=1)
    task = asyncio.create_task(flaky.effect.retry(policy).run(clock=controlled_clock))
    await asyncio.sleep(1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert flaky.attempts == [0]


@pytest.mark.parametrize("fatal", [KeyboardInterrupt, SystemExit])
async def test_keyboard_interrupt_and_system_exit_are_never_retried(
    controlled_clock: ControlledClock, fatal: type[BaseException]
) -> None:
    flaky = Flaky(controlled_clock, failures=3, error=fatal)
    policy = RetryPolicy(max_attempts=5, base_delay=1)

    with pytest.raises(fatal):
        await flaky.effect.retry(policy).run(clock=controlled_clock)
    assert flaky.attempts == [0]


async def test_a_per_attempt_timeout_is_retried(
    controlled_clock: ControlledClock,
) -> None:
    attempts: list[float] = []

    async def slow_then_fast(env: Env) -> str:
        attempts.append(controlled_clock.now().mono)
        await asyncio.sleep(10 if len(attempts) < 3 else 0)
        return "fast enough"

    policy = RetryPolicy(max_attempts=5, base_delay=1)
    result = (
        await effect(slow_then_fast)
        .timeout(2)
        .retry(policy)
        .run(clock=controlled_clock)
    )

    assert result == Ok("fast enough")
    assert attempts == [0, 3, 7]


async def test_every_retry_is_an_event_with_attempt_and_delay(
    controlled_clock: ControlledClock, recorder: Recorder
) -> None:
    flaky = Flaky(controlled_clock, failures=2)
    policy = RetryPolicy(max_attempts=5, base_delay=0.5)

    await flaky.effect.retry(policy).run(clock=controlled_clock, emit=recorder)

    assert recorder.of("effect.retry") == [
        {
            "fiber": 1,
            "parent": None,
            "name": None,
            "attempt": 1,
            "delay_ns": 500_000_000,
            "error_type": "ConnectionError",
            "error": "attempt 1 failed",
        },
        {
            "fiber": 1,
            "parent": None,
            "name": None,
            "attempt": 2,
            "delay_ns": 1_000_000_000,
            "error_type": "ConnectionError",
            "error": "attempt 2 failed",
        },
    ]


async def test_a_retried_effect_can_be_run_again_with_the_same_schedule(
    controlled_clock: ControlledClock,
) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=2)
    flaky = Flaky(controlled_clock, failures=100)
    retried = flaky.effect.retry(policy)

    await retried.run(clock=controlled_clock)
    await retried.run(clock=controlled_clock)

    assert flaky.attempts == [0, 2, 6, 6, 8, 12]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"max_attempts": 0},
            r"^max_attempts=0 \(type=int\) is not a whole number of attempts; pass 1 "
            r"or more \(1 means no retry\)$",
        ),
        ({"max_attempts": True}, r"^max_attempts=True \(type=bool\)"),
        (
            {"max_delay": 0.5},
            r"^max_delay=0\.5 is shorter than base_delay=1; the cap must be at least "
            r"the first wait$",
        ),
        (
            {"factor": 0.5},
            r"^factor=0\.5 \(type=float\) is not a growth factor; pass a finite "
            r"number >= 1 \(1 for a constant wait\)$",
        ),
        ({"factor": float("inf")}, r"^factor=inf \(type=float\)"),
        (
            {"jitter": 1.5},
            r"^jitter=1\.5 \(type=float\) is not a fraction; pass a number from 0 "
            r"\(no jitter\) to 1 \(full jitter\)$",
        ),
        (
            {"seed": "abc"},
            r"^seed='abc' \(type=str\) is not a seed; pass an int, or None",
        ),
        (
            {"retry_on": asyncio.CancelledError},
            r"^retry_on contains CancelledError, which is never retried: "
            r"interruption, KeyboardInterrupt and SystemExit always propagate; pass "
            r"Exception subclasses$",
        ),
        (
            {"retry_on": (ValueError, "OSError")},
            r"^retry_on contains 'OSError' \(type=str\), which is not an exception "
            r"type; pass Exception subclasses$",
        ),
        (
            {"retry_on": 3},
            r"^retry_on=3 \(type=int\) is neither exception types nor a predicate",
        ),
        (
            {"max_attempts": 5000, "factor": 10},
            r"^max_attempts=5000 with factor=10 and no max_delay makes the last wait "
            r"overflow; set max_delay$",
        ),
    ],
)
def test_a_bad_policy_is_refused_with_a_clear_message(
    arguments: dict[str, object], message: str
) -> None:

    settings: dict[str, object] = {"max_attempts": 3, "base_delay": 1}
    settings.update(arguments)

    with pytest.raises(InvalidArgumentError, match=message):
        RetryPolicy(**settings)  # type: ignore[arg-type]


def test_a_bad_delay_is_refused_by_the_duration_parser() -> None:
    with pytest.raises(InvalidDurationError, match=r"^base_delay=-1 is negative"):
        RetryPolicy(max_attempts=3, base_delay=-1)
    with pytest.raises(
        InvalidDurationError, match=r"^max_elapsed=nan is not a finite duration"
    ):
        RetryPolicy(max_attempts=3, base_delay=1, max_elapsed=float("nan"))


def test_retry_needs_a_policy() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^policy=3 \(type=int\) is not a RetryPolicy; pass "
        r"RetryPolicy\(max_attempts=\.\.\., base_delay=\.\.\.\)$",
    ):
        succeed(1).retry(3)  # type: ignore[arg-type]


def test_a_policy_is_a_frozen_value() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=1)

    assert policy == RetryPolicy(max_attempts=3, base_delay=1)
    with pytest.raises(AttributeError):
        policy.max_attempts = 4  # type: ignore[misc]
