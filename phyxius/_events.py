"""Events: what every primitive reports about itself, and how errors are kept.

Every primitive takes ``emit=``, a callable that receives one `Event` per
step worth knowing about. ``emit=journal.append`` works, so telemetry can be
journaled. Routine events go to ``emit`` only. An error that could otherwise be
lost (a watcher, subscriber or timer callback that raised) is emitted as a
``*.error`` event *and* logged to ``logging.getLogger("phyxius.<primitive>")``;
the pytest plugin listens on that logger and fails the test that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeAlias

from phyxius._errors import InvalidArgumentError
from phyxius._time import Instant

__all__ = [
    "CALLBACK_ERROR_ATTRIBUTE",
    "Emit",
    "Event",
    "NowSource",
    "check_emit",
    "describe_callable",
    "emit_event",
    "report_callback_error",
]

CALLBACK_ERROR_ATTRIBUTE = "phyxius_callback_error"
"""Name of the `logging.LogRecord` attribute that carries a callback error's event."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened inside a primitive.

    ``type`` is a dotted name such as ``"clock.tick"`` or ``"process.restarted"``;
    ``at`` is the emitting clock's reading; ``data`` holds plain values only
    (strings, numbers, booleans, None, lists and dicts of them), so an event can
    be journaled or serialised as it is.
    """

    type: str
    at: Instant
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


Emit: TypeAlias = Callable[[Event], object]
"""The ``emit=`` callable every primitive accepts: it receives one `Event`."""


class NowSource(Protocol):
    """Anything with a ``now()`` returning an `Instant`; every clock is one."""

    def now(self) -> Instant:
        """Return the current reading."""
        ...


def check_emit(emit: object) -> None:
    """Refuse an ``emit=`` that is neither None nor callable, naming it.

    Raises:
        InvalidArgumentError: ``emit`` cannot be called.
    """
    if emit is not None and not callable(emit):
        raise InvalidArgumentError(
            f"emit={emit!r} (type={type(emit).__name__}) is not callable; "
            "pass a function taking one Event, or None"
        )


def describe_callable(fn: object) -> str:
    """Name a callback for messages: ``module.qualname`` when it has one."""
    qualname = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if qualname is None:
        return repr(fn)
    return f"{module}.{qualname}" if module else str(qualname)


def emit_event(
    emit: Emit | None,
    type: str,
    clock: NowSource,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Send one event to ``emit`` if there is one.

    An ``emit`` that raises must not break the primitive that reported the
    event, and its error must not vanish either: it is logged to
    ``phyxius.<primitive>`` with the event it failed on.
    """
    if emit is None:
        return
    event = Event(type, clock.now(), _EMPTY if data is None else data)
    try:
        emit(event)
    except Exception:
        _logger_for(type).exception(
            "emit callable %s raised while handling event %s",
            describe_callable(emit),
            type,
            extra={CALLBACK_ERROR_ATTRIBUTE: event},
        )


def report_callback_error(
    emit: Emit | None,
    type: str,
    clock: NowSource,
    callback: object,
    error: BaseException,
    data: Mapping[str, Any] | None = None,
) -> Event:
    """Keep a user callback's error: emit it as a ``*.error`` event and log it.

    The record logged to ``phyxius.<primitive>`` carries the event in the
    attribute named by `CALLBACK_ERROR_ATTRIBUTE`, which is how the pytest
    plugin recognises it and fails the test that caused it.
    """
    payload: dict[str, Any] = {
        "callback": describe_callable(callback),
        "error_type": type_name(error),
        "error": str(error),
    }
    if data:
        payload.update(data)
    event = Event(type, clock.now(), MappingProxyType(payload))
    if emit is not None:
        try:
            emit(event)
        except Exception:
            _logger_for(type).exception(
                "emit callable %s raised while reporting %s",
                describe_callable(emit),
                type,
            )
    _logger_for(type).error(
        "callback %s raised %s: %s",
        payload["callback"],
        payload["error_type"],
        error,
        exc_info=(type_of(error), error, error.__traceback__),
        extra={CALLBACK_ERROR_ATTRIBUTE: event},
    )
    return event


def type_name(error: BaseException) -> str:
    """Qualified name of an exception's type, for event data."""
    cls = type_of(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def type_of(error: BaseException) -> type[BaseException]:
    """The exception's class (a helper, since ``type`` is shadowed above)."""
    return error.__class__


def _logger_for(event_type: str) -> logging.Logger:
    primitive = event_type.split(".", 1)[0]
    return logging.getLogger(f"phyxius.{primitive}")
