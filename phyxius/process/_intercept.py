"""Interceptors: an extension point that sees every message of a supervision tree.

A root supervisor created with ``create_supervisor(interceptor=...)`` (and
every supervisor below it) consults its `Interceptor` at two places:

* on every delivery, when `ProcessRef.send` or `ProcessRef.ask` hands a
  message to a process (a message from ``tools.schedule`` included):
  `Interceptor.on_send` gets a `Delivery` and a ``deliver`` function that
  queues the message. Calling ``deliver`` once is the normal course; not at
  all drops the message, twice duplicates it, later (from a timer) delays it.
* around every handler call: `Interceptor.on_handle` is called with stage
  ``"before"`` just before the handler gets the message and ``"after"`` just
  after it returned. Raising there crashes the process exactly as if the
  handler had raised.

`phyxius.testing` injects its faults through it; a tracer could record the
message flow. Without an interceptor nothing of this runs.

`current_process` names the process whose handler is running; it is how a
`Delivery` knows its sender.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeAlias, final

from phyxius.process._errors import ProcessError

if TYPE_CHECKING:
    from phyxius.process._cell import _Process

__all__ = [
    "CURRENT_PROCESS",
    "Delivery",
    "HandleStage",
    "Interceptor",
    "current_process",
    "intercept_ask",
    "intercept_send",
]

CURRENT_PROCESS: Final[ContextVar[str | None]] = ContextVar(
    "phyxius_current_process", default=None
)
"""The name of the process whose incarnation runs in this context, or None."""

HandleStage: TypeAlias = Literal["before", "after"]
"""When `Interceptor.on_handle` is called: before or after the handler runs."""


def current_process() -> str | None:
    """The name of the process whose handler (or ``init``) is running, or None.

    It is set in each incarnation's task, so tasks a handler starts inherit
    it: their messages count as sent by that process.
    """
    return CURRENT_PROCESS.get()


@final
@dataclass(frozen=True, slots=True)
class Delivery:
    """One message on its way to a process, as an `Interceptor` sees it."""

    sender: str | None
    """The process that sent it (see `current_process`), or None from outside."""

    recipient: str
    """The name of the process it is sent to."""

    message: object
    """The message itself."""

    ask: bool
    """True for `ProcessRef.ask` (an answer is awaited), False for a send."""


class Interceptor(Protocol):
    """Sees every message of a supervision tree; see the module docstring."""

    def on_send(self, delivery: Delivery, deliver: Callable[[], bool]) -> bool:
        """Decide what happens to ``delivery``; return what `send` returns.

        ``deliver()`` queues the message and returns whether the mailbox took
        it. Called while the sender's call is running, it raises what `ask`
        would raise at the call (a stopped process, a full mailbox); called
        later, it never raises: an ask that cannot be queued then fails its
        awaiting caller instead.
        """
        ...

    def on_handle(self, process: str, message: object, stage: HandleStage) -> None:
        """Called before and after process ``process`` handles ``message``.

        Raising crashes the process as if its handler had raised.
        """
        ...


def intercept_send(interceptor: Interceptor, cell: _Process, message: object) -> bool:
    """`ProcessRef.send` with an interceptor: let it decide about the delivery."""
    delivery = Delivery(CURRENT_PROCESS.get(), cell.name, message, False)
    return interceptor.on_send(delivery, lambda: cell.enqueue_send(message))


def intercept_ask(
    interceptor: Interceptor,
    cell: _Process,
    message: object,
    reply: asyncio.Future[Any],
) -> None:
    """`ProcessRef.ask` with an interceptor: let it decide about the delivery."""
    calling = True

    def deliver() -> bool:
        try:
            cell.enqueue_ask(message, reply)
        except ProcessError as error:
            if calling:
                raise
            # Delivered late (a delay) to a process that cannot take it any
            # more: the caller has returned, so its future carries the error.
            if not reply.done():
                reply.set_exception(error)
            return False
        return True

    delivery = Delivery(CURRENT_PROCESS.get(), cell.name, message, True)
    try:
        interceptor.on_send(delivery, deliver)
    finally:
        calling = False
