"""`to_thread`: blocking work in a worker thread, with the effect's context."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from phyxius.effect._effect import _NATIVE, Effect, _require_callable
from phyxius.effect._interpreter import INTERRUPTED_MESSAGE
from phyxius.effect._shield import wait_done

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = ["run_to_thread", "to_thread"]

T = TypeVar("T")


def to_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Effect[T]:
    """The effect of calling ``fn(*args, **kwargs)`` in a worker thread.

    The thread runs in a copy of the effect's context, so `current_context`
    works there and its writes stay there. A thread cannot be stopped from
    outside: when the effect is interrupted, it waits for the thread to
    finish, discards its result and then ends interrupted. Pass ``env.token``
    to long work so it can stop early. On a virtual-time loop, virtual time
    stands still while the thread runs.
    """
    _require_callable(fn, "fn", "to_thread")
    return Effect(_NATIVE, run_to_thread, (fn, args, kwargs))


async def run_to_thread(
    env: Env, payload: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
) -> Any:
    """The native node of `to_thread`."""
    fn, args, kwargs = payload
    context = contextvars.copy_context()
    future = env._task.get_loop().run_in_executor(
        None, partial(context.run, fn, *args, **kwargs)
    )
    cancelled = False
    while not future.done():
        try:
            await wait_done(future)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        # The interruption wins; the thread's error, if any, stays chained.
        error = None if future.cancelled() else future.exception()
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE) from error
    return future.result()
