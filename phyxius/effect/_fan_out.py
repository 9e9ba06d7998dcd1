"""`race` and `gather`: several effects at once, each in a fiber of its own.

Neither returns before every fiber it started has ended: losers of a race
and siblings of a failed gather are interrupted, and their finalizers and
releases have run, by the time the result is known to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar, final

from phyxius._errors import InvalidArgumentError
from phyxius.effect._effect import _NATIVE, Effect
from phyxius.effect._errors import EffectInterruptedError
from phyxius.effect._fiber import Fiber, spawn
from phyxius.effect._interpreter import INTERRUPTED_MESSAGE
from phyxius.effect._result import Err, Exit, Ok

if TYPE_CHECKING:
    from phyxius.effect._env import Env

__all__ = ["gather", "race", "run_gather", "run_race"]

T = TypeVar("T")


@final
class _Collector:
    """Follows the fibers of one race or gather as they end.

    ``finished`` lists the fibers in the order they ended. ``decided``
    resolves once the outcome is known: for a race at the first success or
    when the last fiber ends, for gather at the first failure or when the
    last fiber ends. `wait_all` then waits for the rest.
    """

    __slots__ = ("all_done", "decided", "finished", "loop", "race", "remaining")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, remaining: int, race: bool
    ) -> None:
        self.loop = loop
        self.decided: asyncio.Future[None] = loop.create_future()
        self.all_done: asyncio.Future[None] | None = None
        self.remaining = remaining
        self.race = race
        self.finished: list[Fiber[Any]] = []

    def on_done(self, fiber: Fiber[Any]) -> None:
        self.finished.append(fiber)
        self.remaining -= 1
        if self.remaining == 0:
            if self.all_done is not None and not self.all_done.done():
                self.all_done.set_result(None)
        elif (fiber._env._exit.__class__ is Ok) is not self.race:
            return
        if not self.decided.done():
            self.decided.set_result(None)

    async def wait_all(self) -> bool:
        """Wait until every fiber has ended, through cancellation; True if cancelled."""
        cancelled = False
        while self.remaining:
            self.all_done = self.loop.create_future()
            try:
                await self.all_done
            except asyncio.CancelledError:
                cancelled = True
        return cancelled


def _check_effects(effects: object, where: str) -> tuple[Effect[Any], ...]:
    if isinstance(effects, Effect) or not isinstance(effects, Iterable):
        raise InvalidArgumentError(
            f"{where}() got {effects!r} (type={type(effects).__name__}), which is "
            f"not an iterable of effects; pass a list such as {where}([a, b])"
        )
    items = tuple(effects)
    for index, item in enumerate(items):
        if not isinstance(item, Effect):
            raise InvalidArgumentError(
                f"{where}() got effects[{index}]={item!r} "
                f"(type={type(item).__name__}), which is not an Effect; wrap "
                "async work with effect(lambda env: ...)"
            )
    return items


def race(effects: Iterable[Effect[T]]) -> Effect[T]:
    """The first of ``effects`` to succeed; the others are interrupted.

    Every effect starts in its own fiber. When one succeeds, the rest are
    interrupted and awaited (their finalizers and releases have run) before
    its value is returned. If all fail, the race fails with the error of the
    first to fail, with the others attached as notes. At least one effect is
    required.
    """
    items = _check_effects(effects, "race")
    if not items:
        raise InvalidArgumentError(
            "race() got no effects; a race needs at least one (the first to "
            "succeed wins)"
        )
    return Effect(_NATIVE, run_race, items)


def gather(effects: Iterable[Effect[T]]) -> Effect[list[T]]:
    """All of ``effects``, run concurrently; their values in the given order.

    If one fails, the others are interrupted and awaited, then gather fails
    with that first error (its own type, so ``catch`` and ``except`` work as
    usual). Errors of the others that failed too are attached to it as notes,
    in the order they failed. ``gather([])`` produces ``[]``.
    """
    items = _check_effects(effects, "gather")
    return Effect(_NATIVE, run_gather, items)


def _start_all(
    env: Env, effects: tuple[Effect[Any], ...], race: bool, label: str
) -> tuple[list[Fiber[Any]], _Collector]:
    collector = _Collector(env._task.get_loop(), len(effects), race)
    listener = collector.on_done
    parent_name = env._name
    fibers = []
    for index, item in enumerate(effects):
        name = f"{parent_name}/{label}[{index}]" if parent_name else None
        fiber = spawn(item, env, name, attach=False)
        fiber._listener = listener
        fibers.append(fiber)
    return fibers, collector


async def _decide(fibers: list[Fiber[Any]], collector: _Collector) -> None:
    """Wait for the outcome; if cancelled meanwhile, clean every fiber up first."""
    try:
        await collector.decided
    except asyncio.CancelledError:
        for fiber in fibers:
            fiber._request_interrupt()
        await collector.wait_all()
        raise


def _failure_of(exit: Exit[Any]) -> BaseException:
    if exit.__class__ is Err:
        return exit.error
    return EffectInterruptedError(
        "the effect was interrupted from inside before it produced a value"
    )


def _first_error(
    order: list[Fiber[Any]], fibers: list[Fiber[Any]], label: str
) -> BaseException:
    """The first failure in ``order``, with every other error attached as a note.

    Fibers that ended interrupted after the first failure were interrupted by
    the combinator itself and add nothing.
    """
    index_of = {fiber: index for index, fiber in enumerate(fibers)}
    first = next(fiber for fiber in order if fiber._env._exit.__class__ is not Ok)
    error = _failure_of(first._env._exit)  # type: ignore[arg-type]
    error.add_note(
        f"phyxius: {label}: effect {index_of[first]} of {len(fibers)} failed first"
    )
    others = [
        fiber
        for fiber in order
        if fiber is not first and fiber._env._exit.__class__ is Err
    ]
    for other in others:
        other_error = _failure_of(other._env._exit)  # type: ignore[arg-type]
        error.add_note(
            f"phyxius: {label}: effect {index_of[other]} also failed: "
            f"{type(other_error).__name__}: {other_error}"
        )
    return error


async def run_race(env: Env, effects: tuple[Effect[Any], ...]) -> Any:
    """The native node of `race`."""
    fibers, collector = _start_all(env, effects, True, "race")
    await _decide(fibers, collector)

    winner = None
    for fiber in collector.finished:
        if fiber._env._exit.__class__ is Ok:
            winner = fiber
            break
    for fiber in fibers:
        if fiber is not winner:
            fiber._request_interrupt()
    if await collector.wait_all():
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE)
    if winner is not None:
        return winner._env._exit.value  # type: ignore[union-attr]
    raise _first_error(collector.finished, fibers, "race")


async def run_gather(env: Env, effects: tuple[Effect[Any], ...]) -> list[Any]:
    """The native node of `gather`."""
    if not effects:
        return []
    fibers, collector = _start_all(env, effects, False, "gather")
    await _decide(fibers, collector)

    if collector.remaining == 0 and all(
        fiber._env._exit.__class__ is Ok for fiber in fibers
    ):
        return [fiber._env._exit.value for fiber in fibers]  # type: ignore[union-attr]
    for fiber in fibers:
        fiber._request_interrupt()
    cancelled = await collector.wait_all()
    error = _first_error(collector.finished, fibers, "gather")
    if cancelled:
        raise asyncio.CancelledError(INTERRUPTED_MESSAGE) from error
    raise error
