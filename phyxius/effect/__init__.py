"""Effect: structured concurrency with context, cancellation, timeouts and retries.

An `Effect` describes work; it runs only when asked, and can run many times.
Build one with `effect`, `succeed`, `fail`, `sleep`, `from_awaitable`,
`to_thread`, `race`, `gather` or `acquire_use_release`; combine with
`Effect.map`, `flat_map`, `catch`, `timeout`, `retry`, `fork`,
`on_interrupt`, `ensuring` and `with_context`; run with ``await
eff.run(clock=...)`` (an `Ok` or `Err`), `Effect.run_or_raise` or
`run_effect`.

Time (sleeps, timeouts, retry back-off) is read from the effect's clock, so
under a `ControlledClock` it takes no real time. Context values live in
`contextvars` and follow the work into awaited calls, fibers, threads and
tasks. Cancellation is never lost: an outer cancel always propagates, and
finalizers and releases run shielded, last-in first-out.
"""

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

from phyxius._events import Emit
from phyxius.clock import Clock
from phyxius.effect._context import Context, ContextLogFilter, current_context
from phyxius.effect._effect import (
    Effect,
    _require_callable,
    effect,
    fail,
    from_awaitable,
    succeed,
)
from phyxius.effect._env import CancelToken, Env, Scope
from phyxius.effect._errors import (
    EffectError,
    EffectInterruptedError,
    EffectTimeoutError,
    EffectTypeError,
    NoEffectContextError,
)
from phyxius.effect._fan_out import gather, race
from phyxius.effect._fiber import Fiber
from phyxius.effect._offload import to_thread
from phyxius.effect._resources import acquire_use_release
from phyxius.effect._result import Err, Exit, Interrupted, Ok, Result
from phyxius.effect._retry import RetryOn, RetryPolicy
from phyxius.effect._timing import sleep

__all__ = [
    "CancelToken",
    "Context",
    "ContextLogFilter",
    "Effect",
    "EffectError",
    "EffectInterruptedError",
    "EffectTimeoutError",
    "EffectTypeError",
    "Env",
    "Err",
    "Exit",
    "Fiber",
    "Interrupted",
    "NoEffectContextError",
    "Ok",
    "Result",
    "RetryOn",
    "RetryPolicy",
    "Scope",
    "acquire_use_release",
    "current_context",
    "effect",
    "fail",
    "from_awaitable",
    "gather",
    "race",
    "run_effect",
    "sleep",
    "succeed",
    "to_thread",
]

_T = TypeVar("_T")


def run_effect(
    fn: Callable[[Context], Awaitable[_T] | Effect[_T]],
    *,
    clock: Clock | None = None,
    emit: Emit | None = None,
    context: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Coroutine[Any, Any, Result[_T]]:
    """Run ``fn(context)`` as an effect and return `Ok(value)` or `Err(error)`.

    The short form of ``effect(lambda env: fn(env.context)).run(...)``:
    ``fn`` receives the `Context`, sets and reads values on it, and returns
    an awaitable (typically it is an ``async def``) or an `Effect`. The
    keyword arguments are those of `Effect.run`.
    """
    _require_callable(fn, "fn", "run_effect")
    return effect(lambda env: fn(env.context)).run(
        clock=clock, emit=emit, context=context, name=name
    )
