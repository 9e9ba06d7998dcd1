"""Process specs, the options they carry, and how a spec becomes a behaviour.

A spec is any object with a ``handle`` method, in one of two forms, told apart
by how many positional arguments ``handle`` takes:

* the state form, ``handle(state, msg, tools) -> state``, with an optional
  ``init(ctx) -> state`` (or ``init(ctx, tools)``) and ``on_stop(state,
  reason)``. Each start (and restart) begins from a fresh ``init``; the
  handler answers asks with ``tools.reply``.
* the object form, ``handle(msg)`` or ``handle(msg, tools)``: the object is its
  own state, and what ``handle`` returns answers an ask. Its optional
  ``on_stop(reason)`` takes the reason only. A restart reuses the same object,
  so its attributes survive the crash; use the state form when a restart must
  begin from scratch.

Either form may be sync or async. `ProcessSpec` is a ready-made state-form spec.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, Final, Literal, TypeAlias, final

from phyxius._errors import InvalidArgumentError
from phyxius._time import Duration, to_nanoseconds

__all__ = [
    "MAILBOX_POLICIES",
    "RESTART_TYPES",
    "STRATEGIES",
    "Backoff",
    "Behaviour",
    "MailboxPolicy",
    "ProcessSpec",
    "RestartType",
    "Strategy",
    "check_backoff",
    "check_choice",
    "check_restart_limit",
    "check_within",
    "resolve_behaviour",
]

RestartType: TypeAlias = Literal["permanent", "transient", "temporary"]
"""When a child is restarted: always, only after an abnormal exit, or never."""

Strategy: TypeAlias = Literal["one_for_one", "one_for_all", "rest_for_one"]
"""Which children a supervisor restarts when one of them must be restarted."""

MailboxPolicy: TypeAlias = Literal["reject", "drop_oldest"]
"""What a full mailbox does with a new message."""

RESTART_TYPES: Final = ("permanent", "transient", "temporary")
STRATEGIES: Final = ("one_for_one", "one_for_all", "rest_for_one")
MAILBOX_POLICIES: Final = ("reject", "drop_oldest")


def check_choice(value: object, choices: tuple[str, ...], *, name: str) -> str:
    """Return ``value`` when it is one of ``choices``, else raise a clear error."""
    if isinstance(value, str) and value in choices:
        return value
    raise InvalidArgumentError(
        f"{name}={value!r} (type={type(value).__name__}) is not a known "
        f"{name.replace('_', ' ')}; use one of {', '.join(map(repr, choices))}"
    )


def check_restart_limit(value: object) -> int:
    """Validate ``max_restarts``: an int, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(
            f"max_restarts={value!r} (type={type(value).__name__}) is not a "
            "restart limit; pass an int, zero or more (0 means never restart)"
        )
    return value


def check_within(within: Duration) -> None:
    """Validate the intensity window: a positive duration."""
    if to_nanoseconds(within, name="within") == 0:
        raise InvalidArgumentError(
            f"within={within!r} is zero; the intensity window must be a positive "
            "number of seconds"
        )


def check_backoff(backoff: object) -> None:
    """Validate ``backoff``: a `Backoff` or None."""
    if backoff is not None and not isinstance(backoff, Backoff):
        raise InvalidArgumentError(
            f"backoff={backoff!r} (type={type(backoff).__name__}) is not a Backoff; "
            "pass Backoff(initial=..., maximum=...) or None to restart at once"
        )


@final
@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """A state-form process spec built from functions.

    ``handle(state, msg, tools)`` returns the new state (sync or async);
    ``init(ctx)`` (or ``init(ctx, tools)``) returns the first state, and runs
    again on every restart; ``on_stop(state, reason)`` runs when the process
    stops or crashes, with the stop reason or the exception. ``max_inbox``
    bounds the mailbox (None: unbounded) and ``mailbox_policy`` says what a
    full mailbox does: ``"reject"`` the new message or ``"drop_oldest"``.
    ``restart`` is the default restart type and ``name`` the default name,
    both overridable in `Supervisor.spawn`.
    """

    handle: Callable[..., Any]
    init: Callable[..., Any] | None = None
    on_stop: Callable[..., Any] | None = None
    max_inbox: int | None = None
    mailbox_policy: MailboxPolicy = "reject"
    restart: RestartType = "permanent"
    name: str | None = None


@final
@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off between restarts, with jitter from a seeded generator.

    The n-th consecutive restart of a child waits ``initial * factor**(n-1)``,
    capped at ``maximum``, then multiplied by a factor drawn uniformly from
    ``[1 - jitter, 1 + jitter)`` with the supervisor's seeded generator (and
    capped at ``maximum`` again), so the same seed gives the same delays. A
    child that stayed up for ``reset_after`` (default: the supervisor's
    ``within``) starts again from ``initial``.
    """

    initial: Duration = 0.1
    maximum: Duration = 30.0
    factor: float = 2.0
    jitter: float = 0.1
    reset_after: Duration | None = None

    def __post_init__(self) -> None:
        initial_ns = to_nanoseconds(self.initial, name="initial")
        maximum_ns = to_nanoseconds(self.maximum, name="maximum")
        if initial_ns == 0:
            raise InvalidArgumentError(
                f"initial={self.initial!r} is zero; pass a positive first delay, "
                "or backoff=None to restart at once"
            )
        if maximum_ns < initial_ns:
            raise InvalidArgumentError(
                f"maximum={self.maximum!r} is below initial={self.initial!r}; "
                "the cap must be at least the first delay"
            )
        if (
            isinstance(self.factor, bool)
            or not isinstance(self.factor, int | float)
            or not math.isfinite(self.factor)
            or self.factor < 1
        ):
            raise InvalidArgumentError(
                f"factor={self.factor!r} (type={type(self.factor).__name__}) is "
                "not a growth factor; pass a finite number, 1 or more"
            )
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter <= 1
        ):
            raise InvalidArgumentError(
                f"jitter={self.jitter!r} (type={type(self.jitter).__name__}) is "
                "not a jitter fraction; pass a number from 0 to 1"
            )
        if self.reset_after is not None:
            to_nanoseconds(self.reset_after, name="reset_after")

    def delay_ns(self, attempt: int, random: Random) -> int:
        """The delay before restart number ``attempt`` (1, 2, ...), in nanoseconds.

        Draws one number from ``random`` when ``jitter`` is not zero.
        """
        initial_ns = to_nanoseconds(self.initial)
        maximum_ns = to_nanoseconds(self.maximum)
        base = min(float(maximum_ns), initial_ns * float(self.factor) ** (attempt - 1))
        if self.jitter:
            base *= 1 - self.jitter + 2 * self.jitter * random.random()
        return min(maximum_ns, round(base))


@final
class Behaviour:
    """A spec resolved once at spawn: which form it has and how to call it."""

    __slots__ = (
        "handle",
        "handle_is_async",
        "init",
        "init_takes_tools",
        "max_inbox",
        "name",
        "on_stop",
        "on_stop_takes_state",
        "policy",
        "restart",
        "spec",
        "stateful",
        "takes_tools",
    )

    def __init__(self, spec: object) -> None:
        self.spec = spec
        self.handle: Callable[..., Any] = _no_handler
        self.handle_is_async = False
        self.stateful = False
        self.takes_tools = False
        self.init: Callable[..., Any] | None = None
        self.init_takes_tools = False
        self.on_stop: Callable[..., Any] | None = None
        self.on_stop_takes_state = False
        self.max_inbox: int | None = None
        self.policy: MailboxPolicy = "reject"
        self.restart: RestartType = "permanent"
        self.name = "process"


def resolve_behaviour(spec: object) -> Behaviour:
    """Check a spec and work out how to call it; raise before anything starts."""
    if isinstance(spec, type):
        raise InvalidArgumentError(
            f"spec={spec.__qualname__} is a class; spawn an instance of it "
            f"(spawn({spec.__qualname__}())) or a ProcessSpec"
        )
    behaviour = Behaviour(spec)
    handle = getattr(spec, "handle", None)
    if handle is not None and not callable(handle):
        raise InvalidArgumentError(
            f"spec.handle={handle!r} (type={type(handle).__name__}) is not "
            "callable; pass a function handle(msg), or handle(state, msg, tools) "
            "with init(ctx)"
        )
    if not callable(handle):
        raise InvalidArgumentError(
            f"spec={spec!r} (type={type(spec).__name__}) has no handle() method; "
            "pass an object with handle(msg), or handle(state, msg, tools) "
            "with init(ctx), or a ProcessSpec(handle=...)"
        )
    init = getattr(spec, "init", None)
    if init is not None and not callable(init):
        raise InvalidArgumentError(
            f"spec.init={init!r} (type={type(init).__name__}) is not callable; "
            "pass a function init(ctx) returning the first state, or None"
        )

    low, high = _positional_range(handle)
    if init is not None or low >= 3:
        if not low <= 3 <= high:
            raise InvalidArgumentError(
                f"spec.handle={_describe(handle)} takes {_arity_text(low, high)}; "
                "a spec with init() needs handle(state, msg, tools)"
            )
        behaviour.stateful = True
        behaviour.takes_tools = True
    elif low <= 2 <= high:
        behaviour.takes_tools = True
    elif not low <= 1 <= high:
        raise InvalidArgumentError(
            f"spec.handle={_describe(handle)} takes {_arity_text(low, high)}; "
            "use handle(msg), handle(msg, tools), or handle(state, msg, tools) "
            "with init(ctx)"
        )
    behaviour.handle = handle
    behaviour.handle_is_async = inspect.iscoroutinefunction(handle)

    if init is not None:
        init_low, init_high = _positional_range(init)
        if not init_low <= 1 <= init_high and not init_low <= 2 <= init_high:
            raise InvalidArgumentError(
                f"spec.init={_describe(init)} takes {_arity_text(init_low, init_high)}"
                "; use init(ctx) or init(ctx, tools)"
            )
        behaviour.init = init
        behaviour.init_takes_tools = not init_low <= 1 <= init_high

    on_stop = getattr(spec, "on_stop", None)
    if on_stop is not None:
        if not callable(on_stop):
            raise InvalidArgumentError(
                f"spec.on_stop={on_stop!r} (type={type(on_stop).__name__}) is not "
                "callable; pass a function on_stop(state, reason), or None"
            )
        wanted = 2 if behaviour.stateful else 1
        stop_low, stop_high = _positional_range(on_stop)
        if not stop_low <= wanted <= stop_high:
            shape = "on_stop(state, reason)" if wanted == 2 else "on_stop(reason)"
            raise InvalidArgumentError(
                f"spec.on_stop={_describe(on_stop)} takes "
                f"{_arity_text(stop_low, stop_high)}; this spec needs {shape}"
            )
        behaviour.on_stop = on_stop
        behaviour.on_stop_takes_state = behaviour.stateful

    max_inbox = _option(spec, "max_inbox")
    if max_inbox is not None and (
        isinstance(max_inbox, bool) or not isinstance(max_inbox, int) or max_inbox < 1
    ):
        raise InvalidArgumentError(
            f"spec.max_inbox={max_inbox!r} (type={type(max_inbox).__name__}) is "
            "not a mailbox size; pass an int, 1 or more, or None for unbounded"
        )
    behaviour.max_inbox = max_inbox
    policy = _option(spec, "mailbox_policy")
    if policy is not None:
        behaviour.policy = check_choice(  # type: ignore[assignment]
            policy, MAILBOX_POLICIES, name="mailbox_policy"
        )
    restart = _option(spec, "restart")
    if restart is not None:
        behaviour.restart = check_choice(  # type: ignore[assignment]
            restart, RESTART_TYPES, name="restart"
        )
    name = _option(spec, "name")
    if name is not None and not isinstance(name, str):
        raise InvalidArgumentError(
            f"spec.name={name!r} (type={type(name).__name__}) is not a name; "
            "pass a str or None"
        )
    behaviour.name = name or _default_name(spec)
    return behaviour


def _option(spec: object, attribute: str) -> Any:
    # Only plain values count as options: an object whose class happens to
    # have a method called `restart` or `name` has not asked for anything.
    value = getattr(spec, attribute, None)
    return None if callable(value) else value


def _default_name(spec: object) -> str:
    if isinstance(spec, ProcessSpec):
        return "process"
    return type(spec).__name__


def _positional_range(fn: Callable[..., Any]) -> tuple[int, float]:
    """How many positional arguments ``fn`` needs at least and takes at most."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        # Builtins without a signature: accept any shape and let the call tell.
        return 0, math.inf
    low = 0
    high: float = 0
    for parameter in signature.parameters.values():
        if parameter.kind in (
            parameter.POSITIONAL_ONLY,
            parameter.POSITIONAL_OR_KEYWORD,
        ):
            high += 1
            if parameter.default is parameter.empty:
                low += 1
        elif parameter.kind is parameter.VAR_POSITIONAL:
            high = math.inf
    return low, high


def _arity_text(low: int, high: float) -> str:
    if low == high:
        return f"{low} positional argument(s)"
    if high == math.inf:
        return f"{low} or more positional arguments"
    return f"{low} to {int(high)} positional arguments"


def _describe(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def _no_handler(*_args: object) -> None:
    raise AssertionError("behaviour used before it was resolved")
