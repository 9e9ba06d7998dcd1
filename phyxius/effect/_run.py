"""Running an effect: `Effect.run` and ``await effect``.

`run_root` runs an effect as the root fiber of the calling task. It is
`drive` written out for that case, because it is the hot path of every run:
one `Env`, two context-variable bindings, the interpreter, and the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit, emit_event
from phyxius.clock import Clock, default_clock
from phyxius.effect._context import _ENV, _VALUES, check_key
from phyxius.effect._effect import Effect, _require_name
from phyxius.effect._env import Env
from phyxius.effect._errors import EffectError, EffectInterruptedError
from phyxius.effect._fiber import as_interrupted, close, emit_exit, ok
from phyxius.effect._interpreter import interpret
from phyxius.effect._result import INTERRUPTED, Err, Exit, Interrupted

__all__ = ["await_effect", "check_run_arguments", "run_root"]

T = TypeVar("T")

_DEFAULT_CLOCK = default_clock()


class _CurrentTasks:
    """Stands in for asyncio's table of current tasks where it does not exist."""

    def get(self, loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
        return asyncio.current_task(loop)


def check_run_arguments(
    clock: object, emit: object, context: object, name: object
) -> None:
    """Reject bad arguments to `Effect.run` before anything starts."""
    if clock is not None and not isinstance(clock, Clock):
        raise InvalidArgumentError(
            f"clock={clock!r} (type={type(clock).__name__}) is not a Clock; pass a "
            "SystemClock or a ControlledClock"
        )
    if emit is not None and not callable(emit):
        raise InvalidArgumentError(
            f"emit={emit!r} (type={type(emit).__name__}) is not callable; pass a "
            "function taking one Event, such as journal.append"
        )
    if context is not None:
        if not isinstance(context, Mapping):
            raise InvalidArgumentError(
                f"context={context!r} (type={type(context).__name__}) is not a "
                "mapping; pass initial values as a dict such as "
                "{'request_id': 'r-1'}"
            )
        for key in context:
            check_key(key, name="context key")
    _require_name(name)


_current_task = asyncio.current_task
_running_loop = asyncio.get_running_loop
# The table asyncio.current_task() reads; before Python 3.12 that function is
# written in Python, and reading the table directly saves a call per run.
_current_tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] | _CurrentTasks
_table = getattr(asyncio.tasks, "_current_tasks", None)
_current_tasks = _CurrentTasks() if not isinstance(_table, dict) else _table


async def run_root(
    effect: Effect[T],
    clock: Clock | None,
    emit: Emit | None,
    context: Mapping[str, Any] | None,
    name: str | None,
    raise_errors: bool = False,
) -> Any:
    """Run ``effect`` as a fiber in the current task; see `Effect.run`.

    Returns a `Result`, or with ``raise_errors`` the value (raising the
    error). This is `drive` written out for the root fiber, which runs in
    the caller's task, with a fast path for the common case: it is the hot
    path of every run.
    """
    try:
        task = _current_tasks.get(_running_loop())
    except RuntimeError:
        task = None
    if task is None:
        raise EffectError(
            "Effect.run() must be awaited inside an asyncio task on a running "
            "event loop; use asyncio.run(effect.run()) from synchronous code"
        ) from None

    # Inherit clock, emit and fiber numbering from an enclosing effect.
    outer = _ENV.get()
    if outer is None:
        fiber_id = 1
        ids = None
        if clock is None:
            clock = _DEFAULT_CLOCK
    else:
        fiber_id = outer._next_id()
        ids = outer._ids
        if clock is None:
            clock = outer.clock
        if emit is None:
            emit = outer.emit

    # A cancel requested before the run began is delivered now, so that it is
    # never mistaken for something that happened inside the effect.
    if task.cancelling():
        await asyncio.sleep(0)
    base = task.cancelling()

    env = Env(clock, emit, task, base, fiber_id, outer, name, ids)
    env_token = _ENV.set(env)
    # Writes to the context inside the run are undone when it ends.
    saved_values = _VALUES.get()
    if context is not None:
        _VALUES.set({**saved_values, **context})
    if emit is not None:
        emit_event(emit, "effect.started", clock, env._event_data())

    fatal: BaseException | None = None
    exit: Exit[T] | None = None
    try:
        value = await interpret(effect, env)
    except asyncio.CancelledError:
        exit = INTERRUPTED
    except Exception as error:
        exit = Err(error)
    except BaseException as error:
        exit = Err(error)
        fatal = error
    finally:
        if _VALUES.get() is not saved_values:
            _VALUES.set(saved_values)

    # The fast path: it succeeded, nobody asked it to stop, and there is no
    # scope to close and nobody to tell.
    if (
        exit is None
        and emit is None
        and task.cancelling() <= base
        and not (env._children or env._deferred)
    ):
        env._closing = True
        _ENV.reset(env_token)
        return value if raise_errors else ok(value)

    try:
        if exit is None:
            exit = ok(value)
        if exit.__class__ is not Interrupted and task.cancelling() > base:
            exit = as_interrupted(exit)
        if env._children or env._deferred:
            exit = await close(env, exit)
        env._closing = True
        env._exit = exit
        if emit is not None:
            emit_exit(env, exit)
    finally:
        _ENV.reset(env_token)
    if fatal is not None:
        raise fatal

    if isinstance(exit, Interrupted):
        displaced = exit.error
        if task.cancelling() > base:
            raise asyncio.CancelledError() from displaced
        interrupted = EffectInterruptedError(
            "the effect was interrupted from inside (it awaited something that "
            "was cancelled, or raised CancelledError itself) while the caller "
            "was not cancelled"
        )
        interrupted.__cause__ = displaced
        exit = Err(interrupted)
    if not raise_errors:
        return exit
    if isinstance(exit, Err):
        raise exit.error
    return exit.value


async def await_effect(node: Effect[T]) -> T:
    """``await effect``: inside a running effect, run in its fiber; else run alone."""
    env = _ENV.get()
    if env is not None and env._task is _current_task():
        return await interpret(node, env)  # type: ignore[no-any-return]
    return await run_root(node, None, None, None, None, True)  # type: ignore[no-any-return]
