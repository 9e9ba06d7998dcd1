"""`Event`, the ``emit=`` contract, and how callback errors are kept."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from phyxius import Event, Instant
from phyxius._events import (
    CALLBACK_ERROR_ATTRIBUTE,
    describe_callable,
    emit_event,
    report_callback_error,
)
from phyxius.clock import ControlledClock
from pytest_phyxius import CallbackErrors


def on_price_change() -> None:
    """A module-level callback, to check how callbacks are named."""


class Watcher:
    def notify(self) -> None:
        """A method callback."""


def test_event_is_a_frozen_slotted_record_with_empty_data_by_default() -> None:
    at = Instant(mono_ns=0, wall_ns=0)
    event = Event("clock.tick", at)

    assert event.type == "clock.tick"
    assert event.at is at
    assert dict(event.data) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.type = "other"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_emit_event_stamps_the_clock_reading_and_passes_the_data() -> None:
    clock = ControlledClock(start=1_000)
    clock.advance(2.5)
    received: list[Event] = []

    emit_event(received.append, "atom.changed", clock, {"version": 3})

    assert received == [Event("atom.changed", clock.now(), {"version": 3})]


def test_emit_event_without_an_emit_does_nothing() -> None:
    emit_event(None, "atom.changed", ControlledClock(), {"version": 3})


def test_an_emit_that_raises_breaks_nothing_and_is_logged_with_its_event(
    caplog: pytest.LogCaptureFixture, callback_errors: CallbackErrors
) -> None:
    def broken_sink(event: Event) -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="phyxius"):
        emit_event(broken_sink, "journal.appended", ControlledClock())

    (record,) = caplog.records
    assert record.name == "phyxius.journal"
    assert record.getMessage() == (
        f"emit callable {__name__}."
        "test_an_emit_that_raises_breaks_nothing_and_is_logged_with_its_event."
        "<locals>.broken_sink raised while handling event journal.appended"
    )
    assert getattr(record, CALLBACK_ERROR_ATTRIBUTE).type == "journal.appended"
    assert [event.type for event in callback_errors.take()] == ["journal.appended"]


def test_report_callback_error_emits_an_error_event_and_logs_it(
    caplog: pytest.LogCaptureFixture, callback_errors: CallbackErrors
) -> None:
    clock = ControlledClock()
    received: list[Event] = []
    try:
        raise KeyError("price")
    except KeyError as error:
        caught = error

    with caplog.at_level(logging.ERROR, logger="phyxius"):
        event = report_callback_error(
            received.append, "atom.error", clock, on_price_change, caught, {"v": 2}
        )

    assert received == [event]
    assert event.type == "atom.error"
    assert event.at == clock.now()
    assert dict(event.data) == {
        "callback": f"{__name__}.on_price_change",
        "error_type": "KeyError",
        "error": "'price'",
        "v": 2,
    }
    (record,) = caplog.records
    assert record.name == "phyxius.atom"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[1] is caught
    assert getattr(record, CALLBACK_ERROR_ATTRIBUTE) is event
    assert callback_errors.take() == [event]


def test_report_callback_error_is_logged_even_when_emit_raises(
    caplog: pytest.LogCaptureFixture, callback_errors: CallbackErrors
) -> None:
    def broken_sink(event: Event) -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="phyxius"):
        report_callback_error(
            broken_sink, "clock.error", ControlledClock(), on_price_change, ValueError()
        )

    messages = [record.getMessage() for record in caplog.records]
    assert any("raised while reporting clock.error" in text for text in messages)
    assert [event.type for event in callback_errors.take()] == ["clock.error"]


def test_error_types_outside_builtins_are_qualified(
    callback_errors: CallbackErrors,
) -> None:
    class QuotaExceeded(Exception):
        pass

    event = report_callback_error(
        None, "clock.error", ControlledClock(), on_price_change, QuotaExceeded("x")
    )

    assert event.data["error_type"] == (
        f"{__name__}."
        "test_error_types_outside_builtins_are_qualified.<locals>.QuotaExceeded"
    )
    callback_errors.take()


@pytest.mark.parametrize(
    ("callback", "name"),
    [
        (on_price_change, f"{__name__}.on_price_change"),
        (Watcher().notify, f"{__name__}.Watcher.notify"),
        (len, "builtins.len"),
        ([].append, "list.append"),
        (Watcher, f"{__name__}.Watcher"),
    ],
    ids=["function", "method", "builtin", "builtin-method", "class"],
)
def test_describe_callable_uses_module_and_qualified_name(
    callback: object, name: str
) -> None:
    assert describe_callable(callback) == name


def test_describe_callable_falls_back_to_repr() -> None:
    class NoNames:
        def __repr__(self) -> str:
            return "<no names>"

    assert describe_callable(NoNames()) == "<no names>"
