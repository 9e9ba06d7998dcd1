"""Effects that run inside a scope: `with_context`, `on_interrupt`, `ensuring`.

Each runs an inner effect and does something when it ends: restore the
context, or run a finalizer. Finalizers run through `shielded`, so the
interruption that caused them cannot cut them short; one that arrives
meanwhile is re-raised once they are done. A finalizer's error never
vanishes: after a success it becomes the effect's error, after a failure it
is a note on the original, during an interruption it is reported as an
``effect.error`` event and logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phyxius._events import describe_callable, report_callback_error
from phyxius.effect._context import _VALUES
from phyxius.effect._effect import Effect
from phyxius.effect._interpreter import INTERRUPTED_MESSAGE, interpret
from phyxius.effect._result import INTERRUPTED, Err, Exit, Ok
from phyxius.effect._shield import call_cleanup, shielded

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = [
    "cleanup_interrupted",
    "finish_ok",
    "interruption_requested",
    "note_cleanup_error",
    "run_ensuring",
    "run_on_interrupt",
    "run_with_context",
]

T = TypeVar("T")


def interruption_requested(env: Env) -> bool:
    """True once the fiber running in ``env`` has been asked to stop."""
    return env._task.cancelling() > env._base


async def run_with_context(env: Env, payload: tuple[Effect[T], str, Any]) -> T:
    """The native node of `Effect.with_context`."""
    inner, key, value = payload
    token = _VALUES.set({**_VALUES.get(), key: value})
    try:
        return await interpret(inner, env)  # type: ignore[no-any-return]
    finally:
        _VALUES.reset(token)


def _report_cleanup_error(
    env: Env, fn: object, error: BaseException, reason: str
) -> None:
    report_callback_error(
        env.emit,
        "effect.error",
        env.clock,
        fn,
        error,
        {"fiber": env._id, "reason": reason},
    )


def note_cleanup_error(
    error: BaseException, fn: object, cleanup: BaseException
) -> None:
    """Keep a cleanup's error on the error that caused the cleanup, as a note."""
    error.add_note(
        f"phyxius: cleanup {describe_callable(fn)} also failed: "
        f"{type(cleanup).__name__}: {cleanup}"
    )


async def cleanup_interrupted(
    env: Env, fn: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    """Run the cleanup of an interrupted effect; report its error, if any.

    The interruption goes on afterwards whatever happens, so the error cannot
    propagate: it is emitted as ``effect.error`` and logged instead.
    """
    error, _ = await shielded(call_cleanup(fn, args))
    if error is not None:
        _report_cleanup_error(env, fn, error, "cleanup failed during interruption")


async def run_on_interrupt(env: Env, payload: tuple[Effect[T], Callable[[], Any]]) -> T:
    """The native node of `Effect.on_interrupt`."""
    inner, finalizer = payload
    try:
        value = await interpret(inner, env)
    except asyncio.CancelledError:
        await cleanup_interrupted(env, finalizer, ())
        raise
    if interruption_requested(env):
        await cleanup_interrupted(env, finalizer, ())
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
    return value  # type: ignore[no-any-return]


async def run_ensuring(
    env: Env, payload: tuple[Effect[T], Callable[[Exit[T]], Any]]
) -> T:
    """The native node of `Effect.ensuring`."""
    inner, finalizer = payload
    try:
        value = await interpret(inner, env)
    except asyncio.CancelledError:
        await cleanup_interrupted(env, finalizer, (INTERRUPTED,))
        raise
    except BaseException as error:
        cleanup_error, _ = await shielded(call_cleanup(finalizer, (Err(error),)))
        if cleanup_error is not None:
            note_cleanup_error(error, finalizer, cleanup_error)
        raise
    return await finish_ok(env, finalizer, (Ok(value),), value)  # type: ignore[no-any-return]


async def finish_ok(
    env: Env, fn: Callable[..., Any], args: tuple[Any, ...], value: Any
) -> Any:
    """Run the cleanup of an effect that succeeded, unless it was interrupted."""
    if interruption_requested(env):
        await cleanup_interrupted(env, fn, (*args[:-1], INTERRUPTED))
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
    cleanup_error, cancelled = await shielded(call_cleanup(fn, args))
    if cleanup_error is not None:
        if cancelled:
            _report_cleanup_error(env, fn, cleanup_error, "cleanup failed")
            raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
        raise cleanup_error
    if cancelled:
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
    return value
