"""`acquire_use_release`: a resource released exactly once, however its use ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phyxius._errors import InvalidArgumentError
from phyxius.effect._effect import _NATIVE, Effect, _require_callable
from phyxius.effect._errors import EffectInterruptedError
from phyxius.effect._fiber import spawn
from phyxius.effect._interpreter import INTERRUPTED_MESSAGE, interpret, lift
from phyxius.effect._result import INTERRUPTED, Err, Exit, Ok
from phyxius.effect._scoped import (
    cleanup_interrupted,
    finish_ok,
    interruption_requested,
    note_cleanup_error,
)
from phyxius.effect._shield import call_cleanup, shielded, wait_all_shielded

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = ["acquire_use_release", "run_acquire_use_release"]

T = TypeVar("T")
R = TypeVar("R")


def acquire_use_release(
    acquire: Effect[R],
    use: Callable[[R], Effect[T] | Awaitable[T]],
    release: Callable[[R, Exit[T]], Effect[Any] | Awaitable[Any] | None],
) -> Effect[T]:
    """Acquire a resource, use it, and always release it.

    ``release(resource, exit)`` runs exactly once for every resource that
    ``acquire`` produced, however ``use`` ended; ``exit`` says how: `Ok`,
    `Err` or `Interrupted`. It may await (on virtual time too) and may return
    an effect to run.

    * ``acquire`` runs to completion even if an interruption arrives
      meanwhile (put a `timeout` on it if it can hang), so a resource is
      never lost between being acquired and being handed to ``use``; if the
      interruption arrived during ``acquire``, the resource goes straight to
      ``release`` with `Interrupted`.
    * ``release`` is shielded from the interruption that caused it; nested
      resources are released in reverse order of acquisition.
    * If ``release`` fails after ``use`` succeeded, the effect fails with the
      release's error; after ``use`` failed, the release's error is added to
      the original as a note; during an interruption it is reported as an
      ``effect.error`` event and logged.
    """
    if not isinstance(acquire, Effect):
        raise InvalidArgumentError(
            f"acquire={acquire!r} (type={type(acquire).__name__}) is not an Effect; "
            "wrap async acquisition with effect(lambda env: open_connection())"
        )
    _require_callable(use, "use", "acquire_use_release")
    _require_callable(release, "release", "acquire_use_release")
    return Effect(_NATIVE, run_acquire_use_release, (acquire, use, release))


async def run_acquire_use_release(
    env: Env, payload: tuple[Effect[Any], Callable[[Any], Any], Callable[..., Any]]
) -> Any:
    """The native node of `acquire_use_release`."""
    acquire, use, release = payload

    # 1. Acquire in a fiber of its own that we wait for through any
    # interruption: whatever it acquires is either used or released.
    acquirer = spawn(acquire, env, None, attach=False)
    cancelled = await wait_all_shielded((acquirer,))
    acquired = acquirer._env._exit
    if acquired.__class__ is not Ok:
        error = (
            acquired.error
            if acquired.__class__ is Err
            else EffectInterruptedError(
                "acquire was interrupted from inside before it produced a resource"
            )
        )
        if cancelled:
            raise asyncio.CancelledError(INTERRUPTED_MESSAGE) from error
        raise error
    resource = acquired.value
    if cancelled or interruption_requested(env):
        await cleanup_interrupted(env, release, (resource, INTERRUPTED))
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE)

    # 2. Use it; 3. release it, whatever happened.
    try:
        used = use(resource)
        if used.__class__ is not Effect:
            used = lift(used, use)
        value = await interpret(used, env)
    except asyncio.CancelledError:
        await cleanup_interrupted(env, release, (resource, INTERRUPTED))
        raise
    except BaseException as error:
        release_error, _ = await shielded(call_cleanup(release, (resource, Err(error))))
        if release_error is not None:
            note_cleanup_error(error, release, release_error)
        raise
    return await finish_ok(env, release, (resource, Ok(value)), value)
