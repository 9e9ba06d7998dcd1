"""Waiting without being cut short: the helpers every cleanup path uses.

Cleanup must finish even when the task waiting for it is cancelled again.
These helpers wait for a future, a set of fibers or a coroutine in a task of
its own, catch the cancellations that arrive meanwhile, and tell the caller
so it can let them go on once everything is cleaned up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, TypeVar, final

from phyxius.effect._effect import Effect
from phyxius.effect._errors import EffectTypeError
from phyxius.effect._result import Err

if TYPE_CHECKING:
    from phyxius.effect._fiber import Fiber

__all__ = ["call_cleanup", "shielded", "wait_all_shielded", "wait_done"]

T = TypeVar("T")


def _wake(waiter: asyncio.Future[None], _done: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def wait_done(future: asyncio.Future[Any]) -> None:
    """Wait until ``future`` is done, without cancelling it if we are cancelled."""
    if future.done():
        return
    waiter: asyncio.Future[None] = future.get_loop().create_future()
    callback = partial(_wake, waiter)
    future.add_done_callback(callback)
    try:
        await waiter
    finally:
        future.remove_done_callback(callback)


@final
class _AllDone:
    """Resolves a waiter once a number of tasks have finished."""

    __slots__ = ("remaining", "waiter")

    def __init__(self, waiter: asyncio.Future[None], remaining: int) -> None:
        self.waiter = waiter
        self.remaining = remaining

    def __call__(self, _task: object) -> None:
        self.remaining -= 1
        if self.remaining == 0 and not self.waiter.done():
            self.waiter.set_result(None)


async def wait_all_shielded(fibers: Iterable[Fiber[Any]]) -> bool:
    """Wait until every fiber has ended, even through cancellation.

    Returns True when the waiting task was cancelled meanwhile, so the caller
    can let that cancellation go on once everything is cleaned up.
    """
    cancelled = False
    while True:
        pending = [fiber._task for fiber in fibers if not fiber._task.done()]
        if not pending:
            return cancelled
        waiter: asyncio.Future[None] = pending[0].get_loop().create_future()
        counter = _AllDone(waiter, len(pending))
        for task in pending:
            task.add_done_callback(counter)
        try:
            await waiter
        except asyncio.CancelledError:
            cancelled = True
        finally:
            for task in pending:
                task.remove_done_callback(counter)


async def shielded(coroutine: Coroutine[Any, Any, T]) -> tuple[T, bool]:
    """Run ``coroutine`` in a task of its own; wait for it, even through cancellation.

    Returns its result and whether the waiting task was cancelled meanwhile.
    The coroutine runs in a copy of the current context.
    """
    inner = asyncio.get_running_loop().create_task(coroutine)
    cancelled = False
    while not inner.done():
        try:
            await wait_done(inner)
        except asyncio.CancelledError:
            cancelled = True
    return inner.result(), cancelled


async def call_cleanup(
    fn: Callable[..., Any], args: tuple[Any, ...]
) -> BaseException | None:
    """Call a release or finalizer and finish what it returns; return its error.

    ``fn`` may return None, an awaitable or an `Effect` (run as a child of
    the current effect, with its clock). Runs inside `shielded`.
    """
    try:
        outcome = fn(*args)
        if outcome is None:
            return None
        if isinstance(outcome, Effect):
            result = await outcome.run()
            return result.error if result.__class__ is Err else None
        if isawaitable(outcome):
            await outcome
            return None
        return EffectTypeError(
            f"cleanup function {fn!r} returned {outcome!r} "
            f"(type={type(outcome).__name__}); return None, an awaitable or an "
            "Effect"
        )
    except Exception as error:
        return error
