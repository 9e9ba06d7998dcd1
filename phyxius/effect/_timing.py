"""Time: `sleep`, `Effect.timeout` and `Effect.retry`, all on the effect's clock.

A timeout is a deadline scheduled on the effect's clock that cancels the
task running the block; on the way out, the block's `CancelledError`
becomes `EffectTimeoutError` only if the deadline fired and nothing else
asked for a cancellation (asyncio's counting rule). A retry sleeps on the
same clock, so under a `ControlledClock` neither takes real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, final

from phyxius._events import emit_event, type_name
from phyxius._time import NANOS_PER_SECOND, Duration, format_seconds, to_nanoseconds
from phyxius.clock import Clock, ControlledClock, SystemClock
from phyxius.effect._effect import _NATIVE, Effect
from phyxius.effect._errors import EffectTimeoutError
from phyxius.effect._interpreter import interpret
from phyxius.effect._retry import RetryPolicy

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = ["run_retry", "run_sleep", "run_timeout", "sleep"]

T = TypeVar("T")


def sleep(duration: Duration) -> Effect[None]:
    """The effect that waits ``duration`` on the effect's clock."""
    to_nanoseconds(duration, name="duration")
    return Effect(_NATIVE, run_sleep, duration)


async def run_sleep(env: Env, duration: Duration) -> None:
    """The native node of `sleep`."""
    await env.clock.sleep(duration)


@final
class _Deadline:
    """The deadline of one timeout block.

    Invariant: ``fired`` is True once this deadline cancelled the task, and
    then exactly one cancellation of the task's count is ours to take back
    with ``uncancel``; ``finished`` is True once the block has ended, after
    which the deadline does nothing.
    """

    __slots__ = ("finished", "fired", "loop", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.loop = task.get_loop()
        self.fired = False
        self.finished = False

    def __call__(self) -> None:
        if self.finished:
            return
        # The task is about to resume with a value it was waiting for: let it
        # take that value first, and look again once it has (a value that
        # was ready before the deadline is never dropped).
        waiting_on = getattr(self.task, "_fut_waiter", None)
        if waiting_on is not None and waiting_on.done():
            self.loop.call_soon(self)
            return
        self.fired = True
        self.task.cancel()

    def finish(self) -> bool:
        """End the block; True when our cancellation has to be taken back."""
        self.finished = True
        return self.fired


def _schedule(
    clock: Clock,
    loop: asyncio.AbstractEventLoop,
    delay_ns: int,
    callback: Callable[[], None],
) -> Any:
    """Schedule ``callback`` on ``clock``; return something with ``cancel()``."""
    if type(clock) is ControlledClock:
        # The clock's own internal timers: exact nanoseconds, and no
        # "clock.cancelled" event each time a timeout ends in time.
        return clock._schedule_at(
            clock.monotonic_ns() + delay_ns, callback, (), public=False
        )
    if type(clock) is SystemClock:
        return loop.call_later(delay_ns / NANOS_PER_SECOND, callback)
    return clock.call_later(delay_ns / NANOS_PER_SECOND, callback)


async def run_timeout(env: Env, payload: tuple[Effect[T], int]) -> T:
    """The native node of `Effect.timeout`.

    The interpreter has already raised any interruption requested before this
    point, so every cancellation counted from here on came during the block.
    On exit, the block's `CancelledError` becomes `EffectTimeoutError` only
    when the deadline fired and no other cancellation was requested.
    """
    inner, duration_ns = payload
    task = env._task
    entry = task.cancelling()
    deadline = _Deadline(task)
    handle = _schedule(env.clock, deadline.loop, duration_ns, deadline)
    try:
        value = await interpret(inner, env)
    except asyncio.CancelledError as error:
        handle.cancel()
        if deadline.finish() and task.uncancel() <= entry:
            if env.emit is not None:
                data = env._event_data()
                data["timeout_ns"] = duration_ns
                emit_event(env.emit, "effect.timed_out", env.clock, data)
            raise EffectTimeoutError(
                f"the effect did not finish within timeout="
                f"{format_seconds(duration_ns)} on its clock; allow more time or "
                "make the work faster",
                timeout=duration_ns / NANOS_PER_SECOND,
            ) from error
        raise
    except BaseException:
        handle.cancel()
        if deadline.finish():
            task.uncancel()
        raise
    handle.cancel()
    if deadline.finish():
        task.uncancel()
    return value  # type: ignore[no-any-return]


async def run_retry(env: Env, payload: tuple[Effect[T], RetryPolicy]) -> T:
    """The native node of `Effect.retry`."""
    inner, policy = payload
    clock = env.clock
    rng = policy.new_rng()
    limit_ns = policy.max_elapsed_ns
    started_ns = clock.now().mono_ns if limit_ns is not None else 0
    attempt = 1
    while True:
        try:
            return await interpret(inner, env)  # type: ignore[no-any-return]
        except Exception as error:
            if attempt >= policy.max_attempts or not policy.should_retry(error):
                if attempt > 1:
                    error.add_note(f"phyxius: gave up after {attempt} attempts")
                raise
            delay_ns = policy.delay_ns(attempt, rng)
            if (
                limit_ns is not None
                and clock.now().mono_ns + delay_ns - started_ns > limit_ns
            ):
                error.add_note(
                    f"phyxius: gave up after {attempt} attempts: the next wait "
                    f"({format_seconds(delay_ns)}) would pass max_elapsed="
                    f"{format_seconds(limit_ns)}"
                )
                raise
            if env.emit is not None:
                data = env._event_data()
                data.update(
                    attempt=attempt,
                    delay_ns=delay_ns,
                    error_type=type_name(error),
                    error=str(error),
                )
                emit_event(env.emit, "effect.retry", clock, data)
        await clock.sleep(delay_ns / NANOS_PER_SECOND)
        attempt += 1
