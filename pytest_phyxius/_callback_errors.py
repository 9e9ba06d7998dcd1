"""Collect the errors of callbacks that could not raise, and fail the test for them.

A watcher, subscriber or timer callback that raises cannot propagate its error
to the test: it runs inside the primitive. Phyxius logs such an error to the
``phyxius`` logger with the event attached. While a test runs (setup, call
and teardown), a handler on that logger keeps those records; when the phase
ends with any left unclaimed, the phase fails, naming every callback.
"""

from __future__ import annotations

import logging
import traceback
from typing import final

from phyxius._events import CALLBACK_ERROR_ATTRIBUTE, Event

__all__ = ["CallbackErrors", "CollectingHandler"]


@final
class CallbackErrors:
    """The callback errors of the running test, as the ``callback_errors`` fixture.

    A test that provokes a callback error on purpose claims it with `take`,
    so the test does not fail for it.
    """

    def __init__(self) -> None:
        self._records: list[logging.LogRecord] = []

    @property
    def events(self) -> list[Event]:
        """The ``*.error`` events collected and not yet taken."""
        return [getattr(record, CALLBACK_ERROR_ATTRIBUTE) for record in self._records]

    def take(self) -> list[Event]:
        """Return the collected events and forget them, so they fail nothing."""
        events = self.events
        self._records.clear()
        return events

    def __len__(self) -> int:
        return len(self._records)

    def _add(self, record: logging.LogRecord) -> None:
        self._records.append(record)

    def _failure_message(self, phase: str) -> str:
        lines = [
            f"{len(self._records)} Phyxius callback error(s) during {phase}; a "
            "callback that raised cannot fail the test by itself, so the plugin "
            "does (claim expected ones with the callback_errors fixture's take()):"
        ]
        for record in self._records:
            event: Event = getattr(record, CALLBACK_ERROR_ATTRIBUTE)
            callback = event.data.get("callback", "<unknown callback>")
            lines.append(f"\n{event.type} from {callback}: {record.getMessage()}")
            if record.exc_info and record.exc_info[1] is not None:
                lines.append(
                    "".join(traceback.format_exception(record.exc_info[1])).rstrip()
                )
        return "\n".join(lines)


@final
class CollectingHandler(logging.Handler):
    """A logging handler that hands Phyxius callback errors to a `CallbackErrors`."""

    def __init__(self, errors: CallbackErrors) -> None:
        super().__init__(level=logging.ERROR)
        self._errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record when it carries a Phyxius callback error.

        When pytest runs inside pytest in one process (``pytester.runpytest``),
        the outer test's handler and the inner test's both sit on the
        ``phyxius`` logger; the error belongs to the inner test, whose handler
        was added last, so only that one keeps it.
        """
        if getattr(record, CALLBACK_ERROR_ATTRIBUTE, None) is None:
            return
        innermost = next(
            (
                handler
                for handler in reversed(logging.getLogger("phyxius").handlers)
                if isinstance(handler, CollectingHandler)
            ),
            self,
        )
        if innermost is self:
            self._errors._add(record)
