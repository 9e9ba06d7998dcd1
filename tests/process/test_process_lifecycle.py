"""Lifecycle as data: events through emit and the journal, and what gets logged."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from phyxius._events import CALLBACK_ERROR_ATTRIBUTE, Event
from phyxius.clock import ControlledClock
from phyxius.process import (
    Backoff,
    ProcessSpec,
    SupervisorFailedError,
    Tools,
    create_supervisor,
)
from pytest_phyxius import CallbackErrors, SupervisorFixture


class ListJournal:
    """The one method a supervisor needs from a journal."""

    def __init__(self) -> None:
        self.entries: list[Any] = []

    def append(self, data: Any) -> object:
        self.entries.append(data)
        return data


def crashy() -> ProcessSpec:
    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "boom":
            raise ValueError("kaput")
        tools.reply(msg)

    return ProcessSpec(handle=handle)


async def test_every_step_of_a_crash_and_restart_is_an_event(
    controlled_clock: ControlledClock,
) -> None:
    events: list[Event] = []
    journal = ListJournal()
    supervisor = create_supervisor(
        clock=controlled_clock,
        emit=events.append,
        journal=journal,
        backoff=Backoff(initial=0.25, jitter=0),
    )
    ref = await supervisor.spawn(crashy(), name="w")
    ref.send("boom")
    await asyncio.sleep(1)
    await supervisor.shutdown()

    summary = [(e.type, e.at.mono_ns, e.data["name"]) for e in events]
    assert summary == [
        ("process.spawned", 0, "w"),
        ("process.started", 0, "w"),
        ("process.dead_letter", 0, "w"),
        ("process.crashed", 0, "w"),
        ("process.restart_scheduled", 0, "w"),
        ("process.restarted", 250_000_000, "w"),
        ("process.stopped", 1_000_000_000, "w"),
        ("process.stopped", 1_000_000_000, "root"),
    ]
    assert journal.entries == events


async def test_the_crashed_event_carries_the_error_and_its_traceback(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(crashy(), name="w")

    ref.send("boom")
    crashed = await supervisor.wait_for("crashed", ref)

    assert crashed.data["error_type"] == "ValueError"
    assert crashed.data["error"] == "ValueError: kaput"
    assert crashed.data["during"] == "handle"
    assert crashed.data["message"] == "'boom'"
    assert crashed.data["incarnation"] == 1
    traceback_text = crashed.data["traceback"]
    assert traceback_text.startswith("Traceback (most recent call last):")
    assert 'raise ValueError("kaput")' in traceback_text
    assert traceback_text.endswith("ValueError: kaput")


async def test_restart_scheduled_carries_the_delay_and_the_attempt(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(backoff=Backoff(initial=2, jitter=0))
    ref = await supervisor.spawn(crashy(), name="w")

    ref.send("boom")
    scheduled = await supervisor.wait_for("restart_scheduled", ref)
    restarted = await supervisor.wait_for("restarted", ref)

    assert dict(scheduled.data) == {
        "name": "w",
        "supervisor": "root",
        "delay_ns": 2_000_000_000,
        "attempt": 1,
        "strategy": "one_for_one",
        "group": ["w"],
        "reason": "crashed",
    }
    assert dict(restarted.data) == {
        "name": "w",
        "supervisor": "root",
        "incarnation": 2,
        "attempt": 1,
    }
    assert restarted.at.mono_ns - scheduled.at.mono_ns == 2_000_000_000


async def test_stopped_carries_the_reason(supervisor: SupervisorFixture) -> None:
    ref = await supervisor.spawn(crashy(), name="w")

    await ref.stop("maintenance")

    stopped = supervisor.lifecycle(ref)[-1]
    assert dict(stopped.data) == {
        "name": "w",
        "supervisor": "root",
        "reason": "maintenance",
        "incarnation": 1,
        "killed": False,
    }


async def test_gave_up_carries_the_count_and_the_last_crash(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0, within=7)
    ref = await supervisor.spawn(crashy(), name="w")

    ref.send("boom")
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()

    gave_up = await supervisor.wait_for("gave_up")
    assert dict(gave_up.data) == {
        "name": "root",
        "supervisor": None,
        "child": "w",
        "restarts": 1,
        "max_restarts": 0,
        "within_ns": 7_000_000_000,
        "error": "ValueError: kaput",
    }


async def test_a_handled_crash_is_logged_but_is_not_a_callback_error(
    supervisor: SupervisorFixture,
    caplog: pytest.LogCaptureFixture,
    callback_errors: CallbackErrors,
) -> None:
    ref = await supervisor.spawn(crashy(), name="w")

    with caplog.at_level(logging.WARNING, logger="phyxius.process"):
        ref.send("boom")
        await supervisor.wait_for("restarted", ref)

    crash_records = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert [r.getMessage() for r in crash_records] == [
        "process 'w' crashed in handle: ValueError: kaput"
    ]
    assert crash_records[0].levelno == logging.ERROR
    assert crash_records[0].exc_info is not None
    assert all(not hasattr(r, CALLBACK_ERROR_ATTRIBUTE) for r in caplog.records)
    assert len(callback_errors) == 0


async def test_giving_up_is_logged_as_an_error(
    supervisor: SupervisorFixture, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(crashy(), name="w")

    with caplog.at_level(logging.ERROR, logger="phyxius.process"):
        ref.send("boom")
        with pytest.raises(SupervisorFailedError):
            await supervisor.wait()

    assert (
        "supervisor 'root' gave up after 1 restarts within 5s (max_restarts=0); last "
        "crash: 'w' (ValueError: kaput)"
    ) in [r.getMessage() for r in caplog.records]


async def test_routine_steps_are_not_logged(
    supervisor: SupervisorFixture, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="phyxius.process"):
        ref = await supervisor.spawn(crashy(), name="w")
        await ref.ask("hello")
        await ref.stop()

    assert caplog.records == []


async def test_on_stop_that_raises_is_a_callback_error(
    supervisor: SupervisorFixture, callback_errors: CallbackErrors
) -> None:
    def on_stop(state: None, reason: object) -> None:
        raise OSError("could not close")

    ref = await supervisor.spawn(
        ProcessSpec(handle=lambda s, m, t: s, on_stop=on_stop), name="w"
    )
    await ref.stop()

    [event] = callback_errors.take()
    assert event.type == "process.error"
    assert event.data["name"] == "w"
    assert event.data["error"] == "could not close"
    assert "on_stop" in event.data["callback"]


async def test_an_emit_that_raises_is_a_callback_error_and_changes_nothing(
    controlled_clock: ControlledClock, callback_errors: CallbackErrors
) -> None:
    def broken_emit(event: Event) -> None:
        raise RuntimeError("sink down")

    supervisor = create_supervisor(clock=controlled_clock, emit=broken_emit)
    ref = await supervisor.spawn(crashy(), name="w")

    assert await ref.ask("still works") == "still works"
    await supervisor.shutdown()
    errors = callback_errors.take()
    assert [e.type for e in errors] == [
        "process.spawned",
        "process.started",
        "process.stopped",
        "process.stopped",
    ]


async def test_tools_emit_publishes_a_handler_event(
    supervisor: SupervisorFixture,
) -> None:
    def handle(state: None, msg: str, tools: Tools) -> None:
        tools.emit("order.placed", {"order": msg})

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="orders")
    ref.send("o-1")
    event = await supervisor.wait_for("order.placed")

    assert dict(event.data) == {"name": "orders", "order": "o-1"}
    assert supervisor.events[-1] is event
    with pytest.raises(
        ValueError,
        match=r"^type='' is not an event type; pass a dotted str such as "
        r'"order.placed"$',
    ):
        ref_tools_emit(ref)


def ref_tools_emit(ref: object) -> None:
    from phyxius.process._tools import Tools as _Tools

    _Tools(ref._cell).emit("")  # type: ignore[attr-defined]
