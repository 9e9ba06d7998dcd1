"""The environment of a running effect: `Env`, its `CancelToken` and its `Scope`.

One `Env` exists per fiber (the root one started by `Effect.run`, or one
started by `fork`, `race`, `gather` or a resource's acquire). It is what
``effect(fn)`` functions receive, and it also holds the fiber's own state
(its forked children, its deferred finalizers, how it ended), so that a run
allocates as little as possible.

Interruption is asyncio cancellation, counted: a fiber counts as
interrupted once its task's ``cancelling()`` is above what it was when the
fiber started (``Env._base``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit
from phyxius.clock import Clock
from phyxius.effect._context import CONTEXT, Context
from phyxius.effect._effect import Effect, _require_callable, _require_name
from phyxius.effect._errors import EffectError
from phyxius.effect._result import Exit

if TYPE_CHECKING:
    from phyxius.effect._fiber import Fiber

__all__ = ["CancelToken", "Env", "Scope"]

T = TypeVar("T")


@final
class CancelToken:
    """Whether the fiber running an effect has been asked to stop.

    asyncio delivers interruption as `asyncio.CancelledError` at the next
    ``await``; the token is for code that does not await often: a loop of
    synchronous work, or a thread started with `to_thread` (pass it
    ``env.token`` and poll `requested`). Reading it is safe from any thread.
    """

    __slots__ = ("_base", "_task")

    def __init__(self, task: asyncio.Task[Any], base: int) -> None:
        self._task = task
        self._base = base

    @property
    def requested(self) -> bool:
        """True once interruption (a cancel, a timeout, a lost race) was requested."""
        return self._task.cancelling() > self._base

    def raise_if_requested(self) -> None:
        """Raise `asyncio.CancelledError` if interruption was requested."""
        if self._task.cancelling() > self._base:
            raise asyncio.CancelledError("phyxius: the fiber was interrupted")

    def __repr__(self) -> str:
        return f"<CancelToken requested={self.requested}>"


@final
class Env:
    """What an ``effect(fn)`` function receives: the running effect's environment.

    One `Env` exists per fiber; it also holds the fiber's own state (its
    scope, its id, how it ended), so that a run allocates as little as
    possible.
    """

    __slots__ = (
        "_base",
        "_children",
        "_closing",
        "_deferred",
        "_exit",
        "_id",
        "_ids",
        "_name",
        "_parent",
        "_task",
        "clock",
        "emit",
    )

    def __init__(
        self,
        clock: Clock,
        emit: Emit | None,
        task: asyncio.Task[Any],
        base: int,
        fiber_id: int,
        parent: Env | None,
        name: str | None,
        ids: Iterator[int] | None,
    ) -> None:
        self.clock: Clock = clock
        """The clock that sleeps, timeouts and retries of this effect use."""
        self.emit: Emit | None = emit
        """Where this effect's events go (None: nowhere)."""
        self._task = task
        # Invariant: the task's cancelling() count when this fiber started;
        # above it, the fiber has been asked to stop.
        self._base = base
        self._id = fiber_id
        self._parent = parent
        self._name = name
        # The fiber-id counter shared by one top-level run; created on first
        # use, since most runs never fork.
        self._ids = ids
        # Invariant: the forked fibers that are running, or that failed and
        # nobody has joined or polled yet; the others leave as they finish.
        self._children: set[Fiber[Any]] | None = None
        self._deferred: list[Callable[[Exit[Any]], Any]] | None = None
        # True once the fiber's effect has ended: no more forks or defers.
        self._closing = False
        self._exit: Exit[Any] | None = None

    @property
    def context(self) -> Context:
        """The context values visible here (see `Context`)."""
        return CONTEXT

    @property
    def token(self) -> CancelToken:
        """The cancel token of the fiber running this effect."""
        return CancelToken(self._task, self._base)

    @property
    def scope(self) -> Scope:
        """The scope of the fiber running this effect: fork into it, defer cleanup."""
        return Scope(self)

    @property
    def fiber_id(self) -> int:
        """The running fiber's id, as it appears in events."""
        return self._id

    def _next_id(self) -> int:
        ids = self._ids
        if ids is None:
            # Only a top-level root has no counter yet; its own id is 1.
            ids = self._ids = itertools.count(2)
        return next(ids)

    def _event_data(self) -> dict[str, Any]:
        parent = self._parent
        return {
            "fiber": self._id,
            "parent": None if parent is None else parent._id,
            "name": self._name,
        }

    def __repr__(self) -> str:
        return f"<Env fiber={self._id} clock={self.clock!r}>"


@final
class Scope:
    """The scope of a running fiber: the fibers it forked and its deferred cleanup.

    When the fiber ends, however it ends, the scope first interrupts every
    forked fiber still running and waits for each to finish, then runs the
    deferred finalizers, last deferred first, each shielded from the
    interruption and told how the fiber ended.
    """

    __slots__ = ("_env",)

    def __init__(self, env: Env) -> None:
        self._env = env

    def fork(self, effect: Effect[T], *, name: str | None = None) -> Fiber[T]:
        """Start ``effect`` in a new fiber owned by this scope; return it at once."""
        if not isinstance(effect, Effect):
            raise InvalidArgumentError(
                f"effect={effect!r} (type={type(effect).__name__}) is not an "
                "Effect; wrap async work with effect(lambda env: ...)"
            )
        _require_name(name)
        return _fiber.spawn(effect, self._env, name, attach=True)

    def defer(self, finalizer: Callable[[Exit[Any]], Any]) -> None:
        """Run ``finalizer(exit)`` when the fiber ends (last deferred, first run).

        It may return an effect or an awaitable to run. A finalizer that fails
        is reported as an ``effect.error`` event and logged; the others still
        run.
        """
        _require_callable(finalizer, "finalizer", "defer")
        env = self._env
        if env._closing:
            raise EffectError(
                f"fiber {env._id} has already ended, so nothing can be deferred "
                "on its scope any more; defer cleanup while the fiber runs"
            )
        if env._deferred is None:
            env._deferred = []
        env._deferred.append(finalizer)

    @property
    def children(self) -> tuple[Fiber[Any], ...]:
        """The forked fibers that are still running."""
        children = self._env._children
        if not children:
            return ()
        return tuple(
            sorted(
                (child for child in children if child._env._exit is None),
                key=lambda child: child._env._id,
            )
        )

    def __repr__(self) -> str:
        return f"<Scope of fiber {self._env._id}>"


# Bound at the end: spawning a fiber needs the classes above.
from phyxius.effect import _fiber  # noqa: E402
