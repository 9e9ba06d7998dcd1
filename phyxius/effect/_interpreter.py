"""The interpreter: runs an effect's tree in one task, on an explicit stack.

`interpret` keeps sequencing (`map`, `flat_map`, `catch`) on a list rather
than on Python's stack, so a chain of a hundred thousand steps, or an effect
that loops by returning itself from `flat_map`, never overflows it. Native
nodes (timeouts, retries, fibers, resources) are async functions it awaits.
"""

from __future__ import annotations

import asyncio
from inspect import isawaitable
from types import CoroutineType as _Coroutine
from typing import TYPE_CHECKING, Any, Final

from phyxius._events import describe_callable
from phyxius.effect._effect import (
    _AWAIT,
    _CATCH,
    _FAIL,
    _FLAT_MAP,
    _MAP,
    _NATIVE,
    _SUCCEED,
    _SUSPEND,
    Effect,
    _repr,
)
from phyxius.effect._errors import EffectError, EffectTypeError

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = ["INTERRUPTED_MESSAGE", "interpret", "lift"]

INTERRUPTED_MESSAGE: Final = "phyxius: the fiber was interrupted"
"""The message of the `CancelledError` raised for a requested interruption."""


async def interpret(node: Effect[Any], env: Env) -> Any:
    """Run ``node`` in ``env`` (whose task must be the current one); return its value.

    Invariant: ``stack`` holds the composite nodes (map, flat_map, catch)
    whose inner effect is running, innermost last. A value pops frames,
    applying maps and entering flat_maps and skipping catches; an
    `Exception` pops frames down to the first matching catch. Anything else
    (interruption, `KeyboardInterrupt`, `SystemExit`) leaves at once: the
    frames hold no resources, native nodes clean up after themselves.

    Before each step that can suspend, the interpreter checks whether an
    interruption was requested since the fiber started (the task's
    ``cancelling()`` count went up). Code that swallowed a `CancelledError`
    therefore cannot keep a fiber running: the next step raises it again.
    """
    cancelling = env._task.cancelling
    base = env._base
    stack: list[Effect[Any]] = []
    push = stack.append
    pop = stack.pop
    value: Any = None
    while True:
        try:
            tag = node._tag
            while tag >= _MAP:
                push(node)
                node = node._a
                tag = node._tag

            if tag == _SUSPEND:
                if cancelling() > base:
                    raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
                awaitable = node._a(env)
                if awaitable.__class__ is not _Coroutine and not isawaitable(awaitable):
                    raise _not_awaitable(node._a, awaitable)
                value = await awaitable
            elif tag == _SUCCEED:
                value = node._a
            elif tag == _NATIVE:
                if cancelling() > base:
                    raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
                value = await node._a(env, node._b)
            elif tag == _AWAIT:
                if cancelling() > base:
                    raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
                value = await _await_once(node)
            else:
                error = node._a
                if node._b:
                    error.__traceback__ = None
                raise error

            while stack:
                frame = pop()
                frame_tag = frame._tag
                if frame_tag == _FLAT_MAP:
                    following = frame._b(value)
                    kind = following.__class__
                    if kind is _Coroutine:
                        # The common case of flat_map(async_fn): await it
                        # here rather than wrapping it in a node.
                        if cancelling() > base:
                            following.close()
                            raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
                        value = await following
                        continue
                    node = following if kind is Effect else lift(following, frame._b)
                    break
                if frame_tag == _MAP:
                    value = frame._b(value)
            else:
                return value
        except Exception as error:
            recovered = _recover(stack, error)
            if recovered is None:
                raise
            node = recovered


def _recover(stack: list[Effect[Any]], error: Exception) -> Effect[Any] | None:
    """Pop frames down to a catch that takes ``error``; return its handler's effect."""
    while stack:
        frame = stack.pop()
        if frame._tag == _CATCH:
            handler, types = frame._b
            if isinstance(error, types):
                try:
                    outcome = handler(error)
                except Exception as handler_error:
                    return Effect(_FAIL, handler_error, False)
                if outcome.__class__ is Effect:
                    return outcome
                return lift(outcome, handler)
    return None


def lift(outcome: object, fn: object) -> Effect[Any]:
    """Turn what a flat_map function or handler returned into an effect."""
    if isawaitable(outcome):
        return Effect(_AWAIT, outcome, None)
    return Effect(
        _FAIL,
        EffectTypeError(
            f"{describe_callable(fn)} returned {_repr.repr(outcome)} "
            f"(type={type(outcome).__name__}), which is neither an Effect nor an "
            "awaitable; return succeed(value) for a plain value, or use map()"
        ),
        False,
    )


def _not_awaitable(fn: object, outcome: object) -> EffectTypeError:
    if asyncio.iscoroutinefunction(outcome):
        hint = "it returned an async function: call it (lambda env: fetch())"
    else:
        hint = "use succeed() for a plain value, or return a coroutine"
    return EffectTypeError(
        f"effect function {describe_callable(fn)} returned {_repr.repr(outcome)} "
        f"(type={type(outcome).__name__}), which is not awaitable; {hint}"
    )


async def _await_once(node: Effect[Any]) -> Any:
    guard = node._b
    if guard is not None:
        if guard[0]:
            raise EffectError(
                f"this effect awaits the coroutine {node._a!r}, which was already "
                "awaited by an earlier run; a coroutine runs once, so build the "
                "effect with effect(lambda env: make_coroutine()) to run it again"
            )
        guard[0] = True
    return await node._a
