"""The mailbox half of a process: queueing, overflow and dead letters."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from phyxius.process._errors import MailboxFullError, ProcessStoppedError
from phyxius.process._lifecycle import describe_message
from phyxius.process._status import ProcessStatus

if TYPE_CHECKING:
    from phyxius.process._supervisor import Supervisor

__all__ = ["Mailbox"]

Envelope = tuple[object, "asyncio.Future[Any] | None"]


class Mailbox:
    """The messages of one process, kept across its restarts.

    Each entry is ``(message, reply)``: ``reply`` is the asker's future, or
    None for a send. ``waiter`` is set while the incarnation waits for mail,
    and whoever queues a message completes it. `_Process` adds the rest.
    """

    __slots__ = ("accepting", "drop_oldest", "mailbox", "max_inbox", "waiter")

    name: str
    supervisor: Supervisor
    status: ProcessStatus

    def __init__(self, max_inbox: int, drop_oldest: bool) -> None:
        self.mailbox: deque[Envelope] = deque()
        self.max_inbox = max_inbox
        self.drop_oldest = drop_oldest
        self.waiter: asyncio.Future[None] | None = None
        # False once the process stops for good: new messages are refused.
        self.accepting = True

    def enqueue_send(self, message: object) -> bool:
        """Queue a send; return whether it was accepted (see `ProcessRef.send`).

        `ProcessRef.send` inlines these steps on its hot path; this is the
        same delivery for an `Interceptor`'s ``deliver``.
        """
        if not self.accepting:
            self.dead_letter(message, "not_running")
            return False
        mailbox = self.mailbox
        if len(mailbox) >= self.max_inbox:
            return self.overflow(message, None)
        mailbox.append((message, None))
        self.wake()
        return True

    def enqueue_ask(self, message: object, reply: asyncio.Future[Any]) -> None:
        """Queue an ask, or raise at once when the process cannot take it."""
        if not self.accepting:
            raise ProcessStoppedError(
                f"process {self.name!r} is {self.status.value} and takes no more "
                "messages; spawn it again to ask it anything"
            )
        mailbox = self.mailbox
        if len(mailbox) >= self.max_inbox and not self.overflow(message, reply):
            raise MailboxFullError(
                f"process {self.name!r} has a full mailbox (max_inbox="
                f"{self.max_inbox}, policy 'reject'); ask again later or raise "
                "max_inbox"
            )
        mailbox.append((message, reply))
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def overflow(self, message: object, reply: asyncio.Future[Any] | None) -> bool:
        """Apply the mailbox policy to a message that found the mailbox full.

        Returns whether the message is taken (``"drop_oldest"``, after the
        oldest was dropped; an ask is queued by its caller) or refused.
        """
        if not self.drop_oldest:
            self._publish_overflow("rejected", message)
            return False
        dropped, dropped_reply = self.mailbox.popleft()
        if dropped_reply is not None and not dropped_reply.done():
            dropped_reply.set_exception(
                MailboxFullError(
                    f"process {self.name!r} dropped this ask to make room in its "
                    f"full mailbox (max_inbox={self.max_inbox}, policy "
                    "'drop_oldest')"
                )
            )
        self._publish_overflow("dropped_oldest", dropped)
        if reply is None:
            self.mailbox.append((message, None))
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        return True

    def _publish_overflow(self, action: str, message: object) -> None:
        self.supervisor._lifecycle.failure(
            "process.mailbox_overflow",
            self._data(
                action=action,
                message=describe_message(message),
                max_inbox=self.max_inbox,
            ),
            "process %r: mailbox full (max_inbox=%d), %s %s",
            self.name,
            self.max_inbox,
            "rejected" if action == "rejected" else "dropped the oldest message",
            describe_message(message),
            level=30,
        )

    def dead_letter(self, message: object, reason: str) -> None:
        """Report a message that will never be handled.

        The message a handler crashed on is only an event: the crash itself
        is logged, with the message.
        """
        data = self._data(reason=reason, message=describe_message(message))
        if reason == "crashed":
            self.supervisor._lifecycle.publish("process.dead_letter", data)
            return
        self.supervisor._lifecycle.failure(
            "process.dead_letter",
            data,
            "process %r: dead letter (%s): %s",
            self.name,
            reason,
            describe_message(message),
            level=30,
        )

    def wake(self) -> None:
        """Wake the incarnation if it waits for mail."""
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _data(self, **data: Any) -> dict[str, Any]:
        return {"name": self.name, "supervisor": self.supervisor.name, **data}
