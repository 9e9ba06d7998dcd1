"""OTP's restart rules: deciding what a child's exit means, restarting, giving up.

These functions are the part of `Supervisor` that implements Erlang/OTP's
supervisor semantics; they work on its private state.

`decide` runs at once, in the task of the child whose incarnation ended,
with no await: it applies the child's restart type, counts the restart
against the intensity window, and either finishes the child for good, begins
a give-up, or holds the children to restart (per the strategy) and queues
`restart_group` on the supervisor's drain task. The drain task runs one
action at a time, as OTP's supervisor handles one exit signal at a time.

Invariants:

* A held child's incarnation end never reaches `decide`: the action that
  holds it restarts it, or a give-up or shutdown finishes it.
* ``_restart_times`` holds the monotonic times of the restarts decided within
  the last ``within`` (inclusive); more than ``max_restarts`` of them ends the
  supervisor.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from phyxius._time import NANOS_PER_SECOND, format_seconds
from phyxius.process._endings import finalize, stop_children, terminate
from phyxius.process._errors import SupervisorFailedError
from phyxius.process._lifecycle import describe_error
from phyxius.process._status import Exit, ProcessStatus, SupervisorStatus

if TYPE_CHECKING:
    from phyxius.process._cell import _Process
    from phyxius.process._supervisor import Supervisor

__all__ = ["abort_backoff", "decide"]


# -- deciding (sync, in the task of the child that ended) ------------------------------


def decide(
    sup: Supervisor,
    child: _Process | Supervisor,
    exit_: Exit,
    carry: list[_Process | Supervisor] | None = None,
) -> None:
    """Apply OTP's rules to a child whose incarnation just ended.

    ``carry`` lists held children a failed restart had not reached yet;
    they are restarted with this decision's group, or on their own.
    """
    carry = [member for member in carry or () if not member.removed]
    if child.held or child.removed:
        restart_later(sup, carry)
        return
    if sup._status is not SupervisorStatus.RUNNING:
        # Shutting down, giving up, or being restarted by the parent: the
        # action doing that finishes or restarts everyone.
        child.held = True
        child.mark_restarting()
        return
    if child.final_reason is not None:
        finalize(sup, child, ProcessStatus.STOPPED, child.final_reason)
        restart_later(sup, carry)
        return
    if child.restart == "temporary" or (
        child.restart == "transient" and not exit_.abnormal
    ):
        finalize(
            sup,
            child,
            ProcessStatus.CRASHED if exit_.error is not None else ProcessStatus.STOPPED,
            exit_.reason,
        )
        restart_later(sup, carry)
        return

    now = sup._clock.now().mono_ns
    times = sup._restart_times
    times.append(now)
    while now - times[0] > sup._within_ns:
        times.popleft()
    if len(times) > sup._max_restarts:
        begin_give_up(sup, child, exit_)
        return

    if now - child.started_ns >= sup._reset_ns:
        child.attempt = 0
    child.attempt += 1
    delay_ns = (
        0 if sup._backoff is None else sup._backoff.delay_ns(child.attempt, sup._random)
    )
    group = _members_to_restart(sup, child, carry)
    for member in group:
        member.held = True
    child.mark_restarting()
    sup._lifecycle.publish(
        "process.restart_scheduled",
        {
            "name": child.name,
            "supervisor": sup._name,
            "delay_ns": delay_ns,
            "attempt": child.attempt,
            "strategy": sup._strategy,
            "group": [member.name for member in group],
            "reason": exit_.reason,
        },
    )
    sup._enqueue(lambda: restart_group(sup, child, group, delay_ns))


def _members_to_restart(
    sup: Supervisor, child: _Process | Supervisor, carry: list[_Process | Supervisor]
) -> list[_Process | Supervisor]:
    if sup._strategy == "one_for_one":
        members = [child]
    elif sup._strategy == "one_for_all":
        members = list(sup._children)
    else:
        members = [c for c in sup._children if c.index >= child.index]
    chosen = {id(member): member for member in [*members, *carry]}
    return sorted((m for m in chosen.values() if not m.removed), key=lambda m: m.index)


def restart_later(sup: Supervisor, carry: list[_Process | Supervisor]) -> None:
    if carry:
        sup._enqueue(lambda: restart_group(sup, None, carry, 0))


# -- restarting (an action on the drain task) ------------------------------------------


async def restart_group(
    sup: Supervisor,
    crashed: _Process | Supervisor | None,
    group: list[_Process | Supervisor],
    delay_ns: int,
) -> None:
    # 1. Stop the rest of the group, last started first.
    for member in reversed(group):
        if member is not crashed and not member.removed:
            await member.stop_incarnation("shutdown")

    # 2. The back-off, on the tree's clock; a give-up or shutdown cuts it short.
    if delay_ns and sup._status is SupervisorStatus.RUNNING:
        await sleep_backoff(sup, delay_ns)

    # 3. Start the group again, in start order, each after the last's init.
    for position, member in enumerate(group):
        if sup._status is not SupervisorStatus.RUNNING:
            return
        if member.removed:
            continue
        if member.restart == "temporary":
            finalize(sup, member, ProcessStatus.STOPPED, "shutdown")
            continue
        exit_ = await member.start()
        if exit_ is not None:
            rest = group[position + 1 :]
            decide(sup, member, exit_, carry=rest)
            return


async def sleep_backoff(sup: Supervisor, delay_ns: int) -> None:
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    sup._backoff_waiter = waiter
    timer = sup._clock.call_later(delay_ns / NANOS_PER_SECOND, _resolve, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        sup._backoff_waiter = None


def abort_backoff(sup: Supervisor) -> None:
    """End the supervisor's back-off wait now, if one is under way."""
    waiter = sup._backoff_waiter
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


# -- giving up -------------------------------------------------------------------------


def begin_give_up(sup: Supervisor, child: _Process | Supervisor, exit_: Exit) -> None:
    sup._status = SupervisorStatus.STOPPING
    sup._crashed_child = child
    child.held = True
    child.mark_restarting()
    abort_backoff(sup)
    sup._enqueue(lambda: give_up(sup, child, exit_))


async def give_up(sup: Supervisor, child: _Process | Supervisor, exit_: Exit) -> None:
    await stop_children(sup, "shutdown")

    restarts = len(sup._restart_times)
    error = SupervisorFailedError(
        f"supervisor {sup._name!r} gave up: {restarts} restarts within "
        f"{format_seconds(sup._within_ns)} exceed max_restarts="
        f"{sup._max_restarts}; the last was {child.name!r} "
        f"({_describe_exit(exit_)})",
        supervisor=sup._name,
        child=child.name,
    )
    error.__cause__ = exit_.error
    sup._failure = error
    sup._lifecycle.failure(
        "process.gave_up",
        {
            "name": sup._name,
            "supervisor": None if sup._parent is None else sup._parent.name,
            "child": child.name,
            "restarts": restarts,
            "max_restarts": sup._max_restarts,
            "within_ns": sup._within_ns,
            "error": _describe_exit(exit_),
        },
        "supervisor %r gave up after %d restarts within %s (max_restarts=%d); "
        "last crash: %r (%s)",
        sup._name,
        restarts,
        format_seconds(sup._within_ns),
        sup._max_restarts,
        child.name,
        _describe_exit(exit_),
    )

    parent = sup._parent
    if parent is None or sup.removed:
        terminate(sup, SupervisorStatus.FAILED)
        return
    if sup.final_reason is not None:
        # It was being shut down anyway: leave the parent without a restart.
        finalize(parent, sup, ProcessStatus.CRASHED, "gave_up")
        return
    # Escalate: to the parent this is a crash of one of its children.
    sup._status = SupervisorStatus.RESTARTING
    parent._decide(sup, Exit("crashed", error))


def _describe_exit(exit_: Exit) -> str:
    if exit_.error is not None:
        return describe_error(exit_.error)
    return f"exited with reason {exit_.reason!r}"


def _resolve(future: asyncio.Future[Any], value: object = None) -> None:
    if not future.done():
        future.set_result(value)
