"""`Effect`: a description of work, and its constructors.

An `Effect` is an immutable tree of nodes. Building one runs nothing; running
it (`Effect.run`, `run_or_raise`, ``await effect``) walks the tree with the
interpreter in `phyxius.effect._interpreter`. Sequencing (`map`,
`flat_map`, `catch`) is plain nodes; everything that needs its own
``try``/``finally`` (timeouts, retries, context scopes, resources, fibers) is
a "native" node: an async function of the environment and a payload, which
the interpreter awaits.
"""

from __future__ import annotations

import asyncio
import reprlib
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from inspect import isawaitable, iscoroutinefunction
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, final

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit, describe_callable
from phyxius._time import Duration, to_nanoseconds
from phyxius.effect._context import check_key
from phyxius.effect._result import Exit, Result
from phyxius.effect._retry import RetryPolicy

if TYPE_CHECKING:
    from phyxius.clock import Clock
    from phyxius.effect._env import Env
    from phyxius.effect._fiber import Fiber

__all__ = [
    "Effect",
    "effect",
    "fail",
    "from_awaitable",
    "succeed",
]

T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")

# Node tags. Leaves produce a value or an error; composites (>= _MAP) wrap an
# inner effect in ``_a`` and leave a continuation frame on the stack.
_SUCCEED: Final = 0  # _a: the value
_FAIL: Final = 1  # _a: the exception; _b: True to drop its old traceback
_SUSPEND: Final = 2  # _a: fn(env) returning an awaitable
_NATIVE: Final = 3  # _a: async fn(env, payload); _b: the payload
_AWAIT: Final = 4  # _a: an awaitable; _b: [consumed] for a coroutine, else None
_MAP: Final = 5  # _a: inner; _b: fn(value) -> value
_FLAT_MAP: Final = 6  # _a: inner; _b: fn(value) -> Effect | awaitable
_CATCH: Final = 7  # _a: inner; _b: (handler, exception types)

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40


@final
class Effect(Generic[T_co]):
    """A description of work that produces a ``T_co``; it runs only when asked.

    Build effects with `effect`, `succeed`, `fail`, `sleep`,
    `from_awaitable`, `to_thread`, `race`, `gather` and
    `acquire_use_release`, and combine them with the methods below. Each
    method returns a new effect and leaves this one unchanged, so one effect
    can be shared, combined in several ways and run any number of times.

    Run one with ``await eff.run(clock=...)`` (an `Ok` or `Err`), with
    ``await eff.run_or_raise()`` (the value, or the error raised), or with
    ``await eff`` inside another effect, where it shares that effect's clock,
    context and fiber.
    """

    __slots__ = ("_a", "_b", "_tag")

    def __init__(self, tag: int, a: Any, b: Any = None) -> None:
        # Internal: build effects with the constructors, not with Effect(...).
        self._tag = tag
        self._a = a
        self._b = b

    # -- sequencing -----------------------------------------------------------

    def map(self, fn: Callable[[T_co], U]) -> Effect[U]:
        """Transform the value with ``fn`` once this effect succeeds.

        ``fn`` returns the new value itself; an ``async def`` function is
        refused here, since its coroutine would become the value unawaited
        (use `flat_map` for it).
        """
        _require_callable(fn, "fn", "map")
        if iscoroutinefunction(fn):
            raise InvalidArgumentError(
                f"map() got the async function {describe_callable(fn)}, whose "
                "coroutine would become the value without being awaited; use "
                "flat_map() for async functions"
            )
        return Effect(_MAP, self, fn)

    def flat_map(self, fn: Callable[[T_co], Effect[U] | Awaitable[U]]) -> Effect[U]:
        """Continue with the effect (or awaitable) ``fn`` returns for the value."""
        _require_callable(fn, "fn", "flat_map")
        return Effect(_FLAT_MAP, self, fn)

    def catch(
        self,
        handler: Callable[[Exception], Effect[U] | Awaitable[U]],
        *types: type[Exception],
    ) -> Effect[T_co | U]:
        """Recover from a failure: continue with what ``handler(error)`` returns.

        Only errors of the given ``types`` are caught (every `Exception` when
        none is given). Interruption, `KeyboardInterrupt` and `SystemExit` are
        never caught: they are not failures of the effect but requests to stop
        it.
        """
        _require_callable(handler, "handler", "catch")
        for kind in types:
            if not isinstance(kind, type) or not issubclass(kind, BaseException):
                raise InvalidArgumentError(
                    f"catch() got {kind!r} (type={type(kind).__name__}), which is "
                    "not an exception type; pass Exception subclasses such as "
                    "ValueError"
                )
            if not issubclass(kind, Exception):
                raise InvalidArgumentError(
                    f"catch() got {kind.__name__}, which is never caught: "
                    "interruption, KeyboardInterrupt and SystemExit always "
                    "propagate; use on_interrupt() or ensuring() to clean up"
                )
        return Effect(_CATCH, self, (handler, types or Exception))

    # -- time -----------------------------------------------------------------

    def timeout(self, duration: Duration) -> Effect[T_co]:
        """Fail with `EffectTimeoutError` unless done within ``duration`` on the clock.

        The effect is interrupted when the duration runs out, and its
        finalizers have run before the error is raised. A cancellation that
        does not come from this timeout (an outer cancel, or one requested
        before the timeout began) is never reported as the timeout: it
        propagates as `asyncio.CancelledError`. A value that was ready before
        the deadline came is returned, never dropped.
        """
        duration_ns = to_nanoseconds(duration, name="duration")
        return Effect(_NATIVE, _timing.run_timeout, (self, duration_ns))

    def retry(self, policy: RetryPolicy) -> Effect[T_co]:
        """Run again after a failure, as ``policy`` says; see `RetryPolicy`."""
        if not isinstance(policy, RetryPolicy):
            raise InvalidArgumentError(
                f"policy={policy!r} (type={type(policy).__name__}) is not a "
                "RetryPolicy; pass RetryPolicy(max_attempts=..., base_delay=...)"
            )
        return Effect(_NATIVE, _timing.run_retry, (self, policy))

    # -- concurrency and cleanup ----------------------------------------------

    def fork(self, *, name: str | None = None) -> Effect[Fiber[T_co]]:
        """Start this effect in a new fiber and return the `Fiber` at once.

        The fiber belongs to the fiber that forked it: when that one ends, a
        fiber still running is interrupted and awaited before it returns. Its
        context starts as a copy of the parent's.
        """
        _require_name(name)
        return Effect(_NATIVE, _fiber.run_fork, (self, name))

    def on_interrupt(
        self, finalizer: Callable[[], Effect[Any] | Awaitable[Any] | None]
    ) -> Effect[T_co]:
        """Run ``finalizer()`` if this effect is interrupted, then go on interrupting.

        The finalizer is shielded from the interruption that caused it, may
        await (also on virtual time) and may return an effect to run. If it
        fails, its error is reported as an ``effect.error`` event and logged;
        the interruption still propagates.
        """
        _require_callable(finalizer, "finalizer", "on_interrupt")
        return Effect(_NATIVE, _scoped.run_on_interrupt, (self, finalizer))

    def ensuring(
        self, finalizer: Callable[[Exit[T_co]], Effect[Any] | Awaitable[Any] | None]
    ) -> Effect[T_co]:
        """Run ``finalizer(exit)`` however the effect ends: `Ok`, `Err`, `Interrupted`.

        Shielded like `on_interrupt`. If the finalizer fails after a success,
        the effect fails with the finalizer's error; after a failure, the
        finalizer's error is attached to the original as a note.
        """
        _require_callable(finalizer, "finalizer", "ensuring")
        return Effect(_NATIVE, _scoped.run_ensuring, (self, finalizer))

    def with_context(self, key: str, value: Any) -> Effect[T_co]:
        """Run this effect with the context value ``key`` set to ``value``.

        The value is visible to everything below (awaited calls, forked
        fibers, threads); it and any other value set inside are gone once the
        effect ends.
        """
        check_key(key)
        return Effect(_NATIVE, _scoped.run_with_context, (self, key, value))

    # -- running --------------------------------------------------------------

    def run(
        self,
        *,
        clock: Clock | None = None,
        emit: Emit | None = None,
        context: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> Coroutine[Any, Any, Result[T_co]]:
        """Run the effect and return `Ok(value)` or `Err(error)`.

        ``clock`` is the clock its sleeps, timeouts and retries use; ``emit``
        receives its events; ``context`` gives initial context values; ``name``
        labels its events. Run inside another effect, it inherits that
        effect's clock and emit unless given its own.

        A cancellation of the calling task is never turned into a result: it
        propagates as `asyncio.CancelledError`, after every finalizer has run.
        `KeyboardInterrupt` and `SystemExit` propagate the same way.
        """
        if not (clock is None and emit is None and context is None and name is None):
            _run.check_run_arguments(clock, emit, context, name)
        return _run.run_root(self, clock, emit, context, name)

    def run_or_raise(
        self,
        *,
        clock: Clock | None = None,
        emit: Emit | None = None,
        context: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> Coroutine[Any, Any, T_co]:
        """Run the effect and return its value, or raise its error (see `run`)."""
        if not (clock is None and emit is None and context is None and name is None):
            _run.check_run_arguments(clock, emit, context, name)
        return _run.run_root(self, clock, emit, context, name, True)

    def __await__(self) -> Generator[Any, None, T_co]:
        """Run inside the current effect (its clock, context and fiber), or alone."""
        return _run.await_effect(self).__await__()

    def __repr__(self) -> str:
        return f"<Effect {_describe(self, 3)}>"


# -- constructors ---------------------------------------------------------------


def effect(fn: Callable[[Env], Awaitable[U]]) -> Effect[U]:
    """The effect of calling ``fn(env)`` and awaiting what it returns.

    ``env`` is the `Env` of the running effect: ``env.clock``,
    ``env.context``, ``env.token`` (the cancel token) and ``env.scope``. ``fn``
    is called afresh on every run, so ``effect(lambda env: fetch(url))`` can
    be run many times. ``fn`` may also return an `Effect`, which then runs in
    place.
    """
    _require_callable(fn, "fn", "effect")
    return Effect(_SUSPEND, fn)


def succeed(value: U) -> Effect[U]:
    """The effect that produces ``value``."""
    return Effect(_SUCCEED, value)


def fail(error: Exception) -> Effect[Any]:
    """The effect that fails with ``error`` (an exception instance).

    Every run raises this same instance; its traceback is reset on each run
    so it does not grow.
    """
    if not isinstance(error, Exception):
        raise InvalidArgumentError(
            f"error={error!r} (type={type(error).__name__}) is not an exception "
            "instance; pass one such as ValueError('bad input') (interruption, "
            "KeyboardInterrupt and SystemExit cannot be failures)"
        )
    return Effect(_FAIL, error, True)


def from_awaitable(awaitable: Awaitable[U]) -> Effect[U]:
    """The effect of awaiting ``awaitable``.

    A future or task can be awaited by any number of runs. A coroutine can be
    awaited only once, so a second run fails with `EffectError`: use
    ``effect(lambda env: make_coroutine())`` for an effect that runs many
    times. Interrupting the effect cancels what it awaits, as asyncio does.
    """
    if not isawaitable(awaitable):
        raise InvalidArgumentError(
            f"awaitable={awaitable!r} (type={type(awaitable).__name__}) is not "
            "awaitable; pass a coroutine, task or future (call the async "
            "function: from_awaitable(fetch()) rather than from_awaitable(fetch))"
        )
    guard = [False] if asyncio.iscoroutine(awaitable) else None
    return Effect(_AWAIT, awaitable, guard)


# -- validation and description -------------------------------------------------


def _require_callable(fn: object, name: str, where: str) -> None:
    if not callable(fn):
        raise InvalidArgumentError(
            f"{where}() got {name}={fn!r} (type={type(fn).__name__}), which is not "
            "callable; pass a function"
        )


def _require_name(name: object) -> None:
    if name is not None and type(name) is not str:
        raise InvalidArgumentError(
            f"name={name!r} (type={type(name).__name__}) is not a name; pass a "
            "string or None"
        )


def _describe(node: Effect[Any], depth: int) -> str:
    tag = node._tag
    if tag == _SUCCEED:
        return f"succeed({_repr.repr(node._a)})"
    if tag == _FAIL:
        return f"fail({node._a!r})"
    if tag == _SUSPEND:
        return f"effect({describe_callable(node._a)})"
    if tag == _AWAIT:
        return f"from_awaitable({_repr.repr(node._a)})"
    if tag == _NATIVE:
        label = node._a.__name__.removeprefix("run_")
        payload = node._b
        if isinstance(payload, tuple) and payload and type(payload[0]) is Effect:
            inner = _describe(payload[0], depth - 1) if depth > 0 else "..."
            return f"{inner}.{label}()"
        return f"{label}()"
    inner = _describe(node._a, depth - 1) if depth > 0 else "..."
    if tag == _CATCH:
        return f"{inner}.catch({describe_callable(node._b[0])})"
    label = "map" if tag == _MAP else "flat_map"
    return f"{inner}.{label}({describe_callable(node._b)})"


# Bound at the end: these modules build on the names above.
from phyxius.effect import _fiber, _run, _scoped, _timing  # noqa: E402
