"""How children and supervisors end for good: names freed, mail dead, waiters told."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from phyxius.process._cell import _Process
from phyxius.process._errors import ProcessStoppedError
from phyxius.process._status import ProcessStatus, SupervisorStatus

if TYPE_CHECKING:
    from phyxius.process._supervisor import Supervisor

__all__ = ["finalize", "stop_children", "terminate"]


async def stop_children(sup: Supervisor, reason: str, *, final: bool = False) -> None:
    """Stop every child, last started first.

    ``final``: for good (a shutdown); otherwise each child is held, to be
    restarted or finished by the action that stops it (a give-up, or the
    parent restarting this supervisor).
    """
    for child in reversed(list(sup._children)):
        if child.removed:
            continue
        if final:
            if not isinstance(child, _Process):
                await child.shutdown(reason)
                continue
            stopped = child.request_stop_from(None, reason, None)
            # A handler that shuts its own tree down cannot wait for itself.
            if child.task is not asyncio.current_task():
                await stopped
        else:
            child.held = True
            await child.stop_incarnation(reason)


def terminate(sup: Supervisor, status: SupervisorStatus) -> None:
    """Finish a supervisor for good: its children, its waiters, its status."""
    for child in list(sup._children):
        crashed = child is sup._crashed_child
        finalize(
            sup,
            child,
            ProcessStatus.CRASHED if crashed else ProcessStatus.STOPPED,
            "crashed" if crashed else "shutdown",
        )
    sup._status = status
    sup.removed = True
    sup._lifecycle.publish(
        "process.stopped",
        {
            "name": sup._name,
            "supervisor": None if sup._parent is None else sup._parent.name,
            "kind": "supervisor",
            "reason": "gave_up"
            if status is SupervisorStatus.FAILED
            else (sup.final_reason or "shutdown"),
        },
    )
    waiters, sup._waiters = sup._waiters, []
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def finalize(
    sup: Supervisor, child: _Process | Supervisor, status: ProcessStatus, reason: str
) -> None:
    """Remove a child for good: its name, its mailbox, its waiters."""
    if child.removed:
        return
    if child in sup._children:
        sup._children.remove(child)
    public = child.ref if isinstance(child, _Process) else child
    if sup._registry.get(child.name) is public:
        del sup._registry[child.name]
    if not isinstance(child, _Process):
        child.held = False
        terminate(
            child,
            SupervisorStatus.FAILED
            if status is ProcessStatus.CRASHED
            else SupervisorStatus.STOPPED,
        )
        return

    child.removed = True
    child.status = status
    child.accepting = False
    child.held = False
    if child.kill_timer is not None:
        child.kill_timer.cancel()
        child.kill_timer = None
    mailbox = child.mailbox
    while mailbox:
        message, reply = mailbox.popleft()
        if reply is None:
            child.dead_letter(message, "stopped")
        elif not reply.done():
            reply.set_exception(
                ProcessStoppedError(
                    f"process {child.name!r} stopped for good (reason "
                    f"{reason!r}) before it took this ask"
                )
            )
    for deferred in list(child.deferred):
        deferred.fail(
            ProcessStoppedError(
                f"process {child.name!r} stopped for good before answering"
            )
        )
    waiters, child.stop_waiters = child.stop_waiters, []
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
