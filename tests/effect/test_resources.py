"""acquire_use_release, on_interrupt and ensuring: cleanup that always runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock, run
from phyxius.effect import (
    Effect,
    EffectTimeoutError,
    Env,
    Err,
    Exit,
    Interrupted,
    Ok,
    acquire_use_release,
    effect,
    fail,
    gather,
    race,
    sleep,
    succeed,
)
from pytest_phyxius import CallbackErrors


@dataclass
class Pool:
    """Counts acquisitions and releases, and remembers how each use ended."""

    clock: ControlledClock
    acquired: int = 0
    released: int = 0
    log: list[str] = field(default_factory=list)
    exits: list[Exit[object]] = field(default_factory=list)

    def resource(
        self,
        name: str,
        acquire_for: float = 0,
        release_for: float = 0,
    ) -> tuple[Effect[str], object]:
        async def acquire() -> str:
            await asyncio.sleep(acquire_for)
            self.acquired += 1
            self.log.append(f"acquire {name} at {self.clock.now().mono:g}")
            return name

        async def release(resource: str, exit: Exit[object]) -> None:
            await asyncio.sleep(release_for)
            self.released += 1
            self.exits.append(exit)
            self.log.append(f"release {resource} at {self.clock.now().mono:g}")

        return effect(lambda env: acquire()), release

    def bracket(
        self,
        name: str,
        use: object,
        acquire_for: float = 0,
        release_for: float = 0,
    ) -> Effect[object]:
        acquire, release = self.resource(name, acquire_for, release_for)
        return acquire_use_release(acquire, use, release)  # type: ignore[arg-type]


@pytest.fixture
def pool(controlled_clock: ControlledClock) -> Pool:
    return Pool(controlled_clock)


async def test_release_learns_the_use_succeeded(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    guarded = pool.bracket("db", lambda conn: succeed(f"query on {conn}"))

    assert await guarded.run(clock=controlled_clock) == Ok("query on db")
    assert pool.exits == [Ok("query on db")]
    assert (pool.acquired, pool.released) == (1, 1)


async def test_release_learns_the_use_failed_and_the_error_goes_on(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    error = ConnectionError("dropped")
    guarded = pool.bracket("db", lambda conn: fail(error))

    assert await guarded.run(clock=controlled_clock) == Err(error)
    assert pool.exits == [Err(error)]


async def test_release_learns_the_use_was_interrupted(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    guarded = pool.bracket("db", lambda conn: sleep(100)).timeout(5)

    result = await guarded.run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    assert pool.exits == [Interrupted()]


async def test_use_may_be_an_async_function(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    async def use(conn: str) -> str:
        await asyncio.sleep(2)
        return conn.upper()

    assert await pool.bracket("db", use).run(clock=controlled_clock) == Ok("DB")
    assert pool.log == ["acquire db at 0", "release db at 2"]


async def test_a_release_can_await_on_virtual_time_while_interrupted(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    guarded = pool.bracket("socket", lambda conn: sleep(100), release_for=30)
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(10)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.log == ["acquire socket at 0", "release socket at 40"]
    assert controlled_clock.now().mono == 40


async def test_nested_resources_are_released_last_acquired_first(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    def use_outer(outer: str) -> Effect[object]:
        return pool.bracket(
            "inner",
            lambda inner: pool.bracket("innermost", lambda _: sleep(100)),
            release_for=1,
        )

    guarded = pool.bracket("outer", use_outer, release_for=1).timeout(10)
    await guarded.run(clock=controlled_clock)

    assert pool.log == [
        "acquire outer at 0",
        "acquire inner at 0",
        "acquire innermost at 0",
        "release innermost at 10",
        "release inner at 11",
        "release outer at 12",
    ]
    assert pool.exits == [Interrupted(), Interrupted(), Interrupted()]


async def test_acquire_finishes_even_when_interrupted_and_then_is_released(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    used: list[str] = []
    guarded = pool.bracket(
        "slow", lambda conn: succeed(used.append(conn)), acquire_for=10
    )
    task = asyncio.create_task(guarded.run(clock=controlled_clock))
    await asyncio.sleep(4)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert used == []
    assert pool.log == ["acquire slow at 10", "release slow at 10"]
    assert pool.exits == [Interrupted()]


async def test_a_failed_acquire_releases_nothing(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    error = TimeoutError("pool exhausted")
    _, release = pool.resource("db")
    guarded = acquire_use_release(fail(error), lambda conn: succeed(conn), release)  # type: ignore[arg-type]

    assert await guarded.run(clock=controlled_clock) == Err(error)
    assert pool.released == 0


async def test_a_release_failing_after_success_fails_the_effect(
    controlled_clock: ControlledClock,
) -> None:
    error = OSError("close failed")

    def release(conn: str, exit: Exit[object]) -> Effect[None]:
        return fail(error)

    guarded = acquire_use_release(succeed("db"), lambda conn: succeed(1), release)

    assert await guarded.run(clock=controlled_clock) == Err(error)


async def test_a_release_failing_after_a_failure_is_attached_as_a_note(
    controlled_clock: ControlledClock,
) -> None:
    primary = ValueError("bad row")

    def release(conn: str, exit: Exit[object]) -> None:
        raise OSError("close failed")

    guarded = acquire_use_release(succeed("db"), lambda conn: fail(primary), release)

    assert await guarded.run(clock=controlled_clock) == Err(primary)
    assert primary.__notes__[-1].startswith("phyxius: cleanup ")
    assert primary.__notes__[-1].endswith("also failed: OSError: close failed")


async def test_a_release_failing_during_interruption_is_reported(
    controlled_clock: ControlledClock, callback_errors: CallbackErrors
) -> None:
    def release(conn: str, exit: Exit[object]) -> None:
        raise OSError("close failed")

    guarded = acquire_use_release(succeed("db"), lambda conn: sleep(100), release)

    result = await guarded.timeout(1).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, EffectTimeoutError)
    [event] = callback_errors.take()
    assert event.type == "effect.error"
    assert event.data["error"] == "close failed"
    assert event.data["reason"] == "cleanup failed during interruption"


async def test_a_use_function_that_raises_still_releases(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    def use(conn: str) -> Effect[object]:
        raise RuntimeError("use broke before starting")

    result = await pool.bracket("db", use).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert pool.released == 1
    assert isinstance(pool.exits[0], Err)


async def test_a_release_may_return_an_effect(
    controlled_clock: ControlledClock,
) -> None:
    log: list[str] = []

    def release(conn: str, exit: Exit[object]) -> Effect[None]:
        return sleep(2).map(lambda _: log.append(f"closed {conn}"))

    guarded = acquire_use_release(succeed("db"), lambda conn: succeed(conn), release)

    assert await guarded.run(clock=controlled_clock) == Ok("db")
    assert log == ["closed db"]
    assert controlled_clock.now().mono == 2


def test_acquire_use_release_rejects_bad_arguments() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^acquire='db' \(type=str\) is not an Effect; wrap async acquisition "
        r"with effect\(lambda env: open_connection\(\)\)$",
    ):
        acquire_use_release("db", lambda conn: succeed(1), lambda c, e: None)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^acquire_use_release\(\) got release=None \(type=NoneType\)",
    ):
        acquire_use_release(succeed(1), lambda conn: succeed(1), None)  # type: ignore[arg-type]


async def test_on_interrupt_runs_only_when_interrupted(
    controlled_clock: ControlledClock,
) -> None:
    calls: list[str] = []

    async def note() -> None:
        calls.append("interrupted")

    error = KeyError("k")

    assert await succeed(1).on_interrupt(note).run(clock=controlled_clock) == Ok(1)
    assert await fail(error).on_interrupt(note).run(clock=controlled_clock) == Err(
        error
    )
    assert calls == []
    await sleep(10).on_interrupt(note).timeout(1).run(clock=controlled_clock)
    assert calls == ["interrupted"]


async def test_ensuring_runs_however_the_effect_ends(
    controlled_clock: ControlledClock,
) -> None:
    exits: list[Exit[object]] = []
    error = KeyError("k")

    def record(exit: Exit[object]) -> None:
        exits.append(exit)

    await succeed(1).ensuring(record).run(clock=controlled_clock)
    await fail(error).ensuring(record).run(clock=controlled_clock)
    await sleep(10).ensuring(record).timeout(1).run(clock=controlled_clock)

    assert exits == [Ok(1), Err(error), Interrupted()]


async def test_finalizers_run_last_registered_first(
    controlled_clock: ControlledClock,
) -> None:
    order: list[str] = []

    def note(name: str) -> object:
        async def run() -> None:
            await asyncio.sleep(1)
            order.append(name)

        return run

    layered = (
        sleep(100)
        .on_interrupt(note("innermost"))  # type: ignore[arg-type]
        .on_interrupt(note("middle"))  # type: ignore[arg-type]
        .ensuring(lambda exit: note("outermost")())  # type: ignore[operator]
    )
    await layered.timeout(5).run(clock=controlled_clock)

    assert order == ["innermost", "middle", "outermost"]
    assert controlled_clock.now().mono == 8


async def test_a_finalizer_error_after_success_fails_the_effect(
    controlled_clock: ControlledClock,
) -> None:
    def broken(exit: Exit[object]) -> None:
        raise RuntimeError("finalizer broke")

    result = await succeed(1).ensuring(broken).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert str(result.error) == "finalizer broke"


async def test_a_finalizer_returning_nonsense_is_a_clear_failure(
    controlled_clock: ControlledClock,
) -> None:
    result = await succeed(1).ensuring(lambda exit: 42).run(clock=controlled_clock)

    assert isinstance(result, Err)
    assert isinstance(result.error, TypeError)
    assert "returned 42 (type=int); return None, an awaitable or an Effect" in str(
        result.error
    )


# -- property: every acquisition is released, whatever interrupts it ---------------


@st.composite
def programs(draw: st.DrawFn) -> dict[str, object]:
    return {
        "acquire_for": draw(st.integers(0, 5)),
        "use_for": draw(st.integers(0, 10)),
        "release_for": draw(st.integers(0, 5)),
        "depth": draw(st.integers(1, 3)),
        "branches": draw(st.integers(1, 3)),
        "fail_use": draw(st.booleans()),
        "interrupt_at": draw(st.one_of(st.none(), st.integers(0, 25))),
        "how": draw(st.sampled_from(["cancel", "timeout", "race", "interrupt"])),
    }


@settings(max_examples=150, deadline=None)
@given(program=programs())
def test_acquires_and_releases_are_equal_under_random_interruption(
    program: dict[str, object],
) -> None:
    clock = ControlledClock()
    pool = Pool(clock)
    depth = int(program["depth"])  # type: ignore[call-overload]
    interrupt_at = program["interrupt_at"]

    def nested(level: int) -> Effect[object]:
        def use(conn: str) -> Effect[object]:
            if level < depth:
                return nested(level + 1)
            work: Effect[object] = sleep(program["use_for"])  # type: ignore[arg-type]
            if program["fail_use"]:
                work = work.flat_map(lambda _: fail(RuntimeError("use failed")))
            return work

        return pool.bracket(
            f"r{level}",
            use,
            acquire_for=program["acquire_for"],  # type: ignore[arg-type]
            release_for=program["release_for"],  # type: ignore[arg-type]
        )

    branches = int(program["branches"])  # type: ignore[call-overload]
    body: Effect[object] = gather([nested(1) for _ in range(branches)])  # type: ignore[assignment]

    async def main() -> None:
        how = program["how"]
        if interrupt_at is None:
            await body.run(clock=clock)
        elif how == "timeout":
            await body.timeout(interrupt_at).run(clock=clock)  # type: ignore[arg-type]
        elif how == "race":
            await race([body, sleep(interrupt_at)]).run(clock=clock)  # type: ignore[list-item,arg-type]
        elif how == "interrupt":

            async def parent(env: Env) -> None:
                fiber = await body.fork()
                await asyncio.sleep(interrupt_at)  # type: ignore[arg-type]
                await fiber.interrupt()

            await effect(parent).run(clock=clock)
        else:
            task = asyncio.create_task(body.run(clock=clock))
            asyncio.get_running_loop().call_later(interrupt_at, task.cancel)  # type: ignore[arg-type]
            try:
                await task
            except asyncio.CancelledError:
                pass

    run(main(), clock=clock)

    assert pool.acquired == pool.released
    assert pool.acquired >= 1 or (interrupt_at is not None)


async def test_keyboard_interrupt_still_releases_before_it_propagates(
    controlled_clock: ControlledClock, pool: Pool
) -> None:
    async def use(conn: str) -> None:
        await asyncio.sleep(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await pool.bracket("db", use, release_for=2).run(clock=controlled_clock)

    assert pool.log == ["acquire db at 0", "release db at 3"]
    assert isinstance(pool.exits[0], Err)
    assert isinstance(pool.exits[0].error, KeyboardInterrupt)
