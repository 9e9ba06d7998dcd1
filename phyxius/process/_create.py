"""`create_supervisor`: the root of a supervision tree."""

from __future__ import annotations

from random import Random

from phyxius._errors import InvalidArgumentError
from phyxius._events import Emit
from phyxius._time import Duration, to_nanoseconds
from phyxius.clock import Clock, default_clock
from phyxius.process._intercept import Interceptor
from phyxius.process._lifecycle import JournalLike, Lifecycle
from phyxius.process._spec import (
    STRATEGIES,
    Backoff,
    Strategy,
    check_backoff,
    check_choice,
    check_restart_limit,
    check_within,
)
from phyxius.process._supervisor import DEFAULT_SHUTDOWN, Supervisor

__all__ = ["create_supervisor"]


def create_supervisor(
    *,
    clock: Clock | None = None,
    journal: JournalLike | None = None,
    emit: Emit | None = None,
    strategy: Strategy = "one_for_one",
    max_restarts: int = 3,
    within: Duration = 5.0,
    backoff: Backoff | None = None,
    seed: int | None = None,
    name: str = "root",
    shutdown: Duration = DEFAULT_SHUTDOWN,
    interceptor: Interceptor | None = None,
) -> Supervisor:
    """Create the root supervisor of a supervision tree.

    ``clock`` (default: the shared `SystemClock`) measures everything: ask
    timeouts, shutdown timeouts, back-off and the intensity window.
    Lifecycle events go to ``emit`` and are appended to ``journal``.
    ``strategy`` picks which children restart with a crashed one;
    ``max_restarts`` restarts are allowed within ``within`` seconds, one more
    and the supervisor gives up. ``backoff`` (a `Backoff`, or None to restart
    at once) spaces restarts; its jitter comes from a generator seeded with
    ``seed``. ``shutdown`` is the default time a child gets to stop.
    ``interceptor`` (an `Interceptor`, default None) is consulted on every
    delivery and around every handler call in the whole tree; it is how
    `phyxius.testing` injects faults.
    """
    chosen_clock = default_clock() if clock is None else clock
    if not isinstance(chosen_clock, Clock):
        raise InvalidArgumentError(
            f"clock={clock!r} (type={type(clock).__name__}) is not a Clock; pass a "
            "SystemClock or a ControlledClock"
        )
    if journal is not None and not callable(getattr(journal, "append", None)):
        raise InvalidArgumentError(
            f"journal={journal!r} (type={type(journal).__name__}) has no append(); "
            "pass a Journal (create_journal(...)) or None"
        )
    if emit is not None and not callable(emit):
        raise InvalidArgumentError(
            f"emit={emit!r} (type={type(emit).__name__}) is not callable; pass a "
            "function taking one Event, or None"
        )
    strategy = check_choice(strategy, STRATEGIES, name="strategy")  # type: ignore[assignment]
    max_restarts = check_restart_limit(max_restarts)
    check_within(within)
    check_backoff(backoff)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidArgumentError(
            f"seed={seed!r} (type={type(seed).__name__}) is not a seed; pass an int "
            "or None"
        )
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(
            f"name={name!r} (type={type(name).__name__}) is not a supervisor name; "
            "pass a non-empty str"
        )
    to_nanoseconds(shutdown, name="shutdown")
    if interceptor is not None and not (
        callable(getattr(interceptor, "on_send", None))
        and callable(getattr(interceptor, "on_handle", None))
    ):
        raise InvalidArgumentError(
            f"interceptor={interceptor!r} (type={type(interceptor).__name__}) has "
            "no on_send() and on_handle(); pass an Interceptor or None"
        )

    supervisor = Supervisor(
        clock=chosen_clock,
        lifecycle=Lifecycle(chosen_clock, emit, journal),
        strategy=strategy,
        max_restarts=max_restarts,
        within=within,
        backoff=backoff,
        random=Random(seed),
        name=name,
        shutdown=shutdown,
        parent=None,
        restart="permanent",
        index=0,
        registry=None,
    )
    supervisor._registry[name] = supervisor
    supervisor._interceptor = interceptor
    return supervisor
