"""Lifecycle events: how a supervision tree reports what happens to it.

Every step (spawned, started, crashed, restart_scheduled, restarted, stopped,
gave_up, mailbox_overflow, dead_letter) becomes an `Event` named
``process.<step>``. One `Lifecycle` is shared by a whole tree: it sends each
event to ``emit``, appends it to the journal, and logs the failures (crashes,
give-ups, overflows and dead letters) to the ``phyxius.process`` logger.

A crash the supervisor handled is *not* a callback error: it is logged
without `CALLBACK_ERROR_ATTRIBUTE`, so the pytest plugin does not fail the test
for a restart that went as designed. An ``emit`` or journal that raises is one,
because its error would otherwise be lost.
"""

from __future__ import annotations

import logging
import reprlib
import traceback
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol, final

from phyxius._events import (
    CALLBACK_ERROR_ATTRIBUTE,
    Emit,
    Event,
    NowSource,
    describe_callable,
    type_name,
)

__all__ = [
    "LOGGER",
    "JournalLike",
    "Lifecycle",
    "describe_error",
    "describe_message",
    "format_traceback",
]

LOGGER: Final = logging.getLogger("phyxius.process")

_message_repr = reprlib.Repr()
_message_repr.maxstring = 120
_message_repr.maxother = 120


class JournalLike(Protocol):
    """What a supervisor needs from a journal: ``append`` taking one `Event`."""

    def append(self, data: Any, /) -> object:
        """Append one entry."""
        ...


def describe_message(message: object) -> str:
    """A short, safe ``repr`` of a message, for event data."""
    try:
        return _message_repr.repr(message)
    except Exception:  # a broken __repr__ must not hide the event
        return f"<{type(message).__name__} with a failing __repr__>"


def describe_error(error: BaseException) -> str:
    """``Type: message`` of an exception."""
    text = str(error)
    return f"{type_name(error)}: {text}" if text else type_name(error)


def format_traceback(error: BaseException) -> str:
    """The formatted traceback of an exception, as one string."""
    return "".join(traceback.format_exception(error)).rstrip()


@final
class Lifecycle:
    """Sends a tree's events to ``emit`` and its journal, and logs the failures."""

    __slots__ = ("_clock", "_emit", "_journal")

    def __init__(
        self, clock: NowSource, emit: Emit | None, journal: JournalLike | None
    ) -> None:
        self._clock = clock
        self._emit = emit
        self._journal = journal

    @property
    def journal(self) -> JournalLike | None:
        """The journal events are appended to, if any."""
        return self._journal

    def publish(self, type: str, data: Mapping[str, Any]) -> Event:
        """Build the event, then hand it to ``emit`` and the journal."""
        event = Event(type, self._clock.now(), MappingProxyType(dict(data)))
        self.record(event)
        return event

    def record(self, event: Event) -> None:
        """Hand an event to ``emit`` and the journal; their errors are logged."""
        for sink in (self._emit, self._journal_append):
            if sink is None:
                continue
            try:
                sink(event)
            except Exception:
                LOGGER.exception(
                    "%s raised while recording event %s",
                    describe_callable(sink),
                    event.type,
                    extra={CALLBACK_ERROR_ATTRIBUTE: event},
                )

    @property
    def _journal_append(self) -> Emit | None:
        journal = self._journal
        return None if journal is None else journal.append

    def failure(
        self,
        type: str,
        data: Mapping[str, Any],
        message: str,
        *args: object,
        level: int = logging.ERROR,
        error: BaseException | None = None,
    ) -> Event:
        """Publish an event that reports a failure, and log it.

        The record deliberately lacks the callback-error attribute: the
        failure was handled (a restart, a give-up reported to the caller), so
        it must not fail a test by itself.
        """
        event = self.publish(type, data)
        exc_info = (
            None if error is None else (error.__class__, error, error.__traceback__)
        )
        LOGGER.log(level, message, *args, exc_info=exc_info)
        return event
