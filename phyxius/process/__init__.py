"""Process: actor-like units with mailboxes, under OTP-style supervision trees.

Create a root supervisor with `create_supervisor`, start processes with
`Supervisor.spawn` and talk to them through the `ProcessRef` it returns:
`ProcessRef.send` never blocks, `ProcessRef.ask` waits for the handler's
``tools.reply``, `ProcessRef.stop` ends a process for good. Each process takes
its messages one at a time, in arrival order, on its own asyncio task.

When a handler raises, the process crashes and its supervisor applies Erlang/
OTP's rules: the strategy (``one_for_one``, ``one_for_all``,
``rest_for_one``) picks who restarts with it, the restart type
(``permanent``, ``transient``, ``temporary``) whether it restarts at all, and
the intensity (``max_restarts`` within ``within`` seconds) when the
supervisor gives up instead, escalating to its parent. Restarts can be spaced
by an exponential `Backoff` with seeded jitter. Every step is an `Event`
(``process.spawned``, ``process.started``, ``process.crashed``,
``process.restart_scheduled``, ``process.restarted``, ``process.stopped``,
``process.gave_up``, ``process.mailbox_overflow``, ``process.dead_letter``)
sent to ``emit`` and appended to the supervisor's journal.
"""

from phyxius.process._create import create_supervisor
from phyxius.process._errors import (
    AskTimeoutError,
    MailboxFullError,
    NoReplyError,
    ProcessCrashedError,
    ProcessError,
    ProcessStartError,
    ProcessStoppedError,
    ProcessUsageError,
    SupervisorFailedError,
)
from phyxius.process._intercept import (
    Delivery,
    Interceptor,
    current_process,
)
from phyxius.process._lifecycle import JournalLike
from phyxius.process._ref import DEFAULT_ASK_TIMEOUT, ProcessRef
from phyxius.process._spec import (
    Backoff,
    MailboxPolicy,
    ProcessSpec,
    RestartType,
    Strategy,
)
from phyxius.process._status import ProcessStatus, SupervisorStatus
from phyxius.process._supervisor import DEFAULT_SHUTDOWN, Supervisor
from phyxius.process._tools import Reply, ScheduledMessage, Tools

__all__ = [
    "DEFAULT_ASK_TIMEOUT",
    "DEFAULT_SHUTDOWN",
    "AskTimeoutError",
    "Backoff",
    "Delivery",
    "Interceptor",
    "JournalLike",
    "MailboxFullError",
    "MailboxPolicy",
    "NoReplyError",
    "ProcessCrashedError",
    "ProcessError",
    "ProcessRef",
    "ProcessSpec",
    "ProcessStartError",
    "ProcessStatus",
    "ProcessStoppedError",
    "ProcessUsageError",
    "Reply",
    "RestartType",
    "ScheduledMessage",
    "Strategy",
    "Supervisor",
    "SupervisorFailedError",
    "SupervisorStatus",
    "Tools",
    "create_supervisor",
    "current_process",
]
