"""Fibers: effects running in tasks of their own, and how every fiber ends.

A forked fiber (`fork`, a branch of `race` or `gather`, a resource's
acquire) runs `drive` as its task. When its effect ends, however it ends,
its scope is closed: forked children still running are interrupted and
awaited, then deferred finalizers run last-in first-out. That cleanup runs
in a task of its own that the ending fiber waits for (`shielded`), so the
cancellation that caused it can never cut it short, and it can await.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar, final

from phyxius._events import emit_event, report_callback_error, type_name
from phyxius.effect._context import _ENV
from phyxius.effect._effect import _NATIVE, Effect
from phyxius.effect._env import Env
from phyxius.effect._errors import EffectError, EffectInterruptedError
from phyxius.effect._interpreter import interpret
from phyxius.effect._result import INTERRUPTED, Err, Exit, Interrupted, Ok
from phyxius.effect._shield import call_cleanup, shielded, wait_all_shielded, wait_done

__all__ = [
    "Fiber",
    "as_interrupted",
    "close",
    "drive",
    "emit_exit",
    "ok",
    "run_fork",
    "spawn",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_set_ok_value = Ok.__dict__["value"].__set__
_new_ok = Ok.__new__


def ok(value: Any) -> Ok[Any]:
    """Build ``Ok(value)`` the fast way: no __init__, no frozen __setattr__."""
    result = _new_ok(Ok)
    _set_ok_value(result, value)
    return result


@final
class Fiber(Generic[T_co]):
    """A running effect, started by `Effect.fork`: join it, interrupt it or poll it.

    A fiber lives at most as long as the fiber that forked it. Its failure
    is kept until someone looks (`join` or `poll`); a failure nobody looked
    at by the time the parent ends is reported as an ``effect.error`` event
    and logged, so it does not vanish.
    """

    __slots__ = ("_env", "_listener", "_observed", "_task")

    def __init__(self, env: Env, task: asyncio.Task[Any]) -> None:
        self._env = env
        self._task = task
        self._observed = False
        # Called with this fiber once it has ended (race and gather use it):
        # one done-callback per task instead of two.
        self._listener: Callable[[Fiber[Any]], None] | None = None

    @property
    def id(self) -> int:
        """This fiber's id: unique within one top-level run, as in its events."""
        return self._env._id

    @property
    def name(self) -> str | None:
        """The name given to `fork`, if any."""
        return self._env._name

    @property
    def done(self) -> bool:
        """True once the fiber has ended and its cleanup has finished."""
        return self._task.done()

    def poll(self) -> Exit[T_co] | None:
        """How the fiber ended (`Ok`, `Err` or `Interrupted`), or None while it runs."""
        if not self._task.done():
            return None
        self._mark_observed()
        return self._env._exit

    def join(self) -> Effect[T_co]:
        """The effect that waits for this fiber and produces its value.

        It raises the fiber's error if it failed, and `EffectInterruptedError`
        if it was interrupted. Interrupting the joiner does not interrupt the
        fiber.
        """
        return Effect(_NATIVE, _join, self)

    def interrupt(self) -> Effect[Exit[T_co]]:
        """The effect that interrupts this fiber and waits until it has ended.

        It produces the fiber's `Exit`: `Interrupted`, or `Ok`/`Err` if the
        fiber had already ended. The fiber's finalizers have run by then.
        """
        return Effect(_NATIVE, _interrupt, self)

    def _request_interrupt(self) -> None:
        task = self._task
        if not task.done():
            task.cancel()

    def _mark_observed(self) -> None:
        self._observed = True
        parent = self._env._parent
        if parent is not None and parent._children is not None:
            parent._children.discard(self)

    def _on_done(self, _task: object) -> None:
        env = self._env
        # A task cancelled before its first step never ran its effect.
        if env._exit is None:
            env._exit = INTERRUPTED
            env._closing = True
            if env.emit is not None:
                emit_event(env.emit, "effect.interrupted", env.clock, env._event_data())
        parent = env._parent
        if (
            parent is not None
            and parent._children is not None
            and (self._observed or env._exit.__class__ is not Err)
        ):
            parent._children.discard(self)
        if self._listener is not None:
            self._listener(self)

    def __repr__(self) -> str:
        exit = self._env._exit
        state = "running" if exit is None else type(exit).__name__
        label = f" {self._env._name!r}" if self._env._name else ""
        return f"<Fiber {self._env._id}{label} {state}>"


def spawn(effect: Effect[T], env: Env, name: str | None, *, attach: bool) -> Fiber[T]:
    """Start ``effect`` in a new task as a child fiber of ``env``'s fiber.

    ``attach`` puts it in the parent's scope, which interrupts it when the
    parent ends; combinators that await their fibers themselves leave it out.
    """
    if env._closing and attach:
        raise EffectError(
            f"fiber {env._id} has already ended, so it cannot fork any more; "
            "fork while the fiber runs"
        )
    fiber_id = env._next_id()
    # The child's Env exists before its task; it gets the task right after.
    child = Env(env.clock, env.emit, env._task, 0, fiber_id, env, name, env._ids)
    task = env._task.get_loop().create_task(drive(effect, child))
    child._task = task
    fiber: Fiber[T] = Fiber(child, task)
    task.add_done_callback(fiber._on_done)
    if attach:
        if env._children is None:
            env._children = set()
        env._children.add(fiber)
    return fiber


async def drive(effect: Effect[T], env: Env) -> Exit[T]:
    """Run a forked fiber's effect, close its scope and record how it ended.

    Runs as the fiber's task, in its own copy of the context. Never raises,
    except for `KeyboardInterrupt` and `SystemExit`, which propagate once the
    scope is closed.
    """
    _ENV.set(env)
    emit = env.emit
    if emit is not None:
        emit_event(emit, "effect.started", env.clock, env._event_data())

    fatal: BaseException | None = None
    exit: Exit[T]
    try:
        exit = ok(await interpret(effect, env))
    except asyncio.CancelledError:
        exit = INTERRUPTED
    except Exception as error:
        exit = Err(error)
    except BaseException as error:
        exit = Err(error)
        fatal = error

    # An interruption requested while the effect finished still wins: the
    # fiber was asked to stop, so it ends interrupted (keeping any error).
    if exit.__class__ is not Interrupted and env._task.cancelling() > env._base:
        exit = as_interrupted(exit)
    if env._children or env._deferred:
        exit = await close(env, exit)
    env._closing = True
    env._exit = exit

    if emit is not None:
        emit_exit(env, exit)
    if fatal is not None:
        raise fatal
    return exit


def as_interrupted(exit: Exit[Any]) -> Interrupted:
    """The exit of a fiber interrupted as it ended: an error it raised is kept."""
    if exit.__class__ is Err:
        return Interrupted(exit.error)
    return INTERRUPTED  # type: ignore[no-any-return]


def emit_exit(env: Env, exit: Exit[Any]) -> None:
    """Emit how the fiber ended: succeeded, failed (with the error) or interrupted."""
    data = env._event_data()
    if exit.__class__ is Ok:
        emit_event(env.emit, "effect.succeeded", env.clock, data)
    elif exit.__class__ is Err:
        error = exit.error
        data["error_type"] = type_name(error)
        data["error"] = str(error)
        emit_event(env.emit, "effect.failed", env.clock, data)
    else:
        emit_event(env.emit, "effect.interrupted", env.clock, data)


async def close(env: Env, exit: Exit[T]) -> Exit[T]:
    """Close the fiber's scope, shielded; an interruption meanwhile wins."""
    env._closing = True
    _, cancelled = await shielded(_close_scope(env, exit))
    if cancelled and exit.__class__ is not Interrupted:
        return as_interrupted(exit)
    return exit


async def _close_scope(env: Env, exit: Exit[Any]) -> None:
    """Interrupt and await the forked fibers, then run deferred finalizers LIFO."""
    children = env._children
    if children:
        running = [child for child in children if child._env._exit is None]
        for child in running:
            child._request_interrupt()
        await wait_all_shielded(running)
        for child in sorted(children, key=lambda child: child._env._id):
            child_exit = child._env._exit
            if child_exit.__class__ is Err and not child._observed:
                child._observed = True
                report_callback_error(
                    env.emit,
                    "effect.error",
                    env.clock,
                    child,
                    child_exit.error,
                    {"fiber": child._env._id, "reason": "unobserved fiber failure"},
                )
        children.clear()

    deferred = env._deferred
    while deferred:
        finalizer = deferred.pop()
        error = await call_cleanup(finalizer, (exit,))
        if error is not None:
            report_callback_error(
                env.emit,
                "effect.error",
                env.clock,
                finalizer,
                error,
                {"fiber": env._id, "reason": "deferred finalizer failed"},
            )


# -- fiber operations -------------------------------------------------------------


async def run_fork(env: Env, payload: tuple[Effect[Any], str | None]) -> Fiber[Any]:
    """The native node of `Effect.fork`."""
    effect, name = payload
    return spawn(effect, env, name, attach=True)


async def _join(env: Env, fiber: Fiber[T]) -> T:
    """The native node of `Fiber.join`."""
    await wait_done(fiber._task)
    fiber._mark_observed()
    exit = fiber._env._exit
    if exit.__class__ is Ok:
        return exit.value  # type: ignore[no-any-return]
    if exit.__class__ is Err:
        raise exit.error
    raise EffectInterruptedError(
        f"fiber {fiber._env._id} was interrupted before it produced a value, so join() "
        "has nothing to return; check fiber.poll() first to tell the cases apart"
    ) from exit.error  # type: ignore[union-attr]


async def _interrupt(env: Env, fiber: Fiber[T]) -> Exit[T]:
    """The native node of `Fiber.interrupt`."""
    fiber._request_interrupt()
    await wait_done(fiber._task)
    fiber._mark_observed()
    return fiber._env._exit  # type: ignore[return-value]
