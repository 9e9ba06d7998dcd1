"""The errors of `phyxius.process`.

Every one subclasses `ProcessError` (itself a `PhyxiusError`) and the builtin
a caller would already catch: a stopped or crashed process is a
`RuntimeError`, an ask that ran out of time is a `TimeoutError`.
"""

from __future__ import annotations

from phyxius._errors import PhyxiusError

__all__ = [
    "AskTimeoutError",
    "MailboxFullError",
    "NoReplyError",
    "ProcessCrashedError",
    "ProcessError",
    "ProcessStartError",
    "ProcessStoppedError",
    "ProcessUsageError",
    "SupervisorFailedError",
]


class ProcessError(PhyxiusError):
    """Base class of the errors raised by processes and supervisors."""


class ProcessStoppedError(ProcessError, RuntimeError):
    """The process stopped (or is stopping for good) before it could take or answer.

    Raised by `ProcessRef.ask` at once when the process is already stopped, and
    set on every pending ask when the process stops.
    """


class ProcessCrashedError(ProcessError, RuntimeError):
    """The process crashed before it answered this ask.

    The ask whose own message made the handler raise gets that error itself;
    every other ask pending at the crash gets this one, with the crash as its
    ``__cause__``.
    """


class ProcessStartError(ProcessError, RuntimeError):
    """``init`` raised while `Supervisor.spawn` started the process.

    The process is not added to the supervisor; the error ``init`` raised is
    the ``__cause__``.
    """


class MailboxFullError(ProcessError, RuntimeError):
    """The mailbox was full: the ask was rejected, or dropped to make room."""


class NoReplyError(ProcessError, RuntimeError):
    """The handler returned without answering the ask.

    A handler of the ``handle(state, msg, tools)`` form answers an ask with
    ``tools.reply(value)``, or takes ``tools.defer_reply()`` to answer later.
    """


class AskTimeoutError(ProcessError, TimeoutError):
    """No answer came within the ask's ``timeout`` on the supervisor's clock."""


class ProcessUsageError(ProcessError, RuntimeError):
    """A process API was called where it cannot work (for example, ``tools.reply``
    from another task, or ``spawn`` on a supervisor that has stopped)."""


class SupervisorFailedError(ProcessError, RuntimeError):
    """A supervisor gave up: its children crashed more often than its intensity allows.

    ``supervisor`` names the supervisor that gave up, ``child`` the child whose
    crash went past the limit; ``__cause__`` is that crash. A failure escalates
    to the parent supervisor; at the root it reaches the caller through
    `Supervisor.wait` (and ``async with``).
    """

    def __init__(self, message: str, *, supervisor: str, child: str) -> None:
        super().__init__(message)
        self.supervisor = supervisor
        self.child = child
