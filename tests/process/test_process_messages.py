"""Messages: order, one at a time, asks and replies, stops, timers, mailboxes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from phyxius.process import (
    AskTimeoutError,
    MailboxFullError,
    NoReplyError,
    ProcessCrashedError,
    ProcessSpec,
    ProcessStatus,
    ProcessStoppedError,
    ProcessUsageError,
    Reply,
    ScheduledMessage,
    Tools,
)
from pytest_phyxius import SupervisorFixture


class Log:
    """Records every message; answers asks with the list so far."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def handle(self, msg: object) -> list[object]:
        if msg == "boom":
            raise ValueError("boom")
        self.seen.append(msg)
        return list(self.seen)


async def test_messages_are_handled_in_arrival_order(
    supervisor: SupervisorFixture,
) -> None:
    log = Log()
    ref = await supervisor.spawn(log, name="log")

    for number in range(100):
        ref.send(number)

    assert await ref.ask("end") == [*range(100), "end"]


async def test_an_async_handler_takes_one_message_at_a_time(
    supervisor: SupervisorFixture,
) -> None:
    active = 0
    most_active = 0
    order: list[str] = []

    class Slow:
        async def handle(self, msg: str) -> None:
            nonlocal active, most_active
            active += 1
            most_active = max(most_active, active)
            order.append(f"start {msg}")
            await asyncio.sleep(1)
            order.append(f"end {msg}")
            active -= 1

    ref = await supervisor.spawn(Slow(), name="slow")
    ref.send("a")
    ref.send("b")
    await ref.ask("c")

    assert most_active == 1
    assert order == ["start a", "end a", "start b", "end b", "start c", "end c"]


async def test_send_never_blocks_and_says_whether_it_was_accepted(
    supervisor: SupervisorFixture,
) -> None:
    class Stuck:
        async def handle(self, msg: object) -> None:
            await asyncio.sleep(3600)

    ref = await supervisor.spawn(Stuck(), name="stuck")

    results = [ref.send(n) for n in range(1000)]

    assert all(results)
    assert ref.inbox_size == 1000
    await ref.stop(timeout=0)
    assert ref.send("late") is False


async def test_a_sync_state_handler_answers_with_tools_reply(
    supervisor: SupervisorFixture,
) -> None:
    def handle(state: int, msg: str, tools: Tools) -> int:
        tools.reply(state + 1)
        return state + 1

    ref = await supervisor.spawn(ProcessSpec(handle=handle, init=lambda ctx: 0))

    assert [await ref.ask("next") for _ in range(3)] == [1, 2, 3]


async def test_only_the_first_reply_counts(supervisor: SupervisorFixture) -> None:
    answers: list[bool] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        answers.append(tools.reply("first"))
        answers.append(tools.reply("second"))

    ref = await supervisor.spawn(ProcessSpec(handle=handle))

    assert await ref.ask("q") == "first"
    assert answers == [True, False]


async def test_reply_to_a_send_is_ignored(supervisor: SupervisorFixture) -> None:
    answers: list[bool] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        answers.append(tools.reply("nobody asked"))

    ref = await supervisor.spawn(ProcessSpec(handle=handle))
    ref.send("fire and forget")
    await asyncio.sleep(0)

    assert answers == [False]


async def test_a_state_handler_that_does_not_reply_fails_the_ask_at_once(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(
        ProcessSpec(handle=lambda state, msg, tools: state), name="silent"
    )

    with pytest.raises(
        NoReplyError,
        match=r"^the handler of process 'silent' returned without answering this "
        r"ask; call tools.reply\(value\) in the handler, or take "
        r"tools.defer_reply\(\) to answer later$",
    ):
        await ref.ask("anything", timeout=None)
    assert ref.status is ProcessStatus.RUNNING


async def test_a_deferred_reply_is_answered_later_from_another_message(
    supervisor: SupervisorFixture,
) -> None:
    def handle(state: list[Reply], msg: str, tools: Tools) -> list[Reply]:
        if msg == "wait":
            return [*state, tools.defer_reply()]
        for waiting in state:
            waiting.send(f"released by {msg}")
        return []

    ref = await supervisor.spawn(ProcessSpec(handle=handle, init=lambda ctx: []))
    first = asyncio.ensure_future(ref.ask("wait"))
    second = asyncio.ensure_future(ref.ask("wait"))
    await asyncio.sleep(1)
    assert not first.done()

    ref.send("go")

    assert await first == "released by go"
    assert await second == "released by go"


async def test_a_deferred_reply_can_fail_the_ask(supervisor: SupervisorFixture) -> None:
    def handle(state: None, msg: str, tools: Tools) -> None:
        tools.defer_reply().fail(LookupError("no such order"))

    ref = await supervisor.spawn(ProcessSpec(handle=handle))

    with pytest.raises(LookupError, match=r"^no such order$"):
        await ref.ask("order 7")


async def test_reply_from_another_task_is_refused_with_a_pointer_to_defer_reply(
    supervisor: SupervisorFixture,
) -> None:
    errors: list[BaseException] = []

    async def handle(state: None, msg: str, tools: Tools) -> None:
        async def elsewhere() -> None:
            try:
                tools.reply("late")
            except ProcessUsageError as error:
                errors.append(error)

        await asyncio.create_task(elsewhere())
        tools.reply("from the handler")

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")

    assert await ref.ask("q") == "from the handler"
    assert len(errors) == 1
    assert str(errors[0]) == (
        "tools.reply() of process 'p' was called outside its handler; to answer "
        "later or from another task, take tools.defer_reply() in the handler and "
        "call .send(value) on it"
    )


async def test_the_asker_gets_the_handlers_error_and_the_message_is_not_redelivered(
    supervisor: SupervisorFixture,
) -> None:
    log = Log()
    ref = await supervisor.spawn(log, name="log")

    with pytest.raises(ValueError, match=r"^boom$"):
        await ref.ask("boom")
    await supervisor.wait_for("restarted", "log")

    assert await ref.ask("after") == ["after"]
    supervisor.assert_restarted("log", times=1)


async def test_the_failing_message_is_reported_as_a_dead_letter(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(Log(), name="log")

    ref.send("boom")
    event = await supervisor.wait_for("dead_letter", "log")

    assert event.data["reason"] == "crashed"
    assert event.data["message"] == "'boom'"


async def test_every_pending_ask_fails_at_once_when_the_process_crashes(
    supervisor: SupervisorFixture,
) -> None:
    class Crashy:
        async def handle(self, msg: str) -> str:
            await asyncio.sleep(10)
            if msg == "boom":
                raise ValueError("boom")
            return msg

    ref = await supervisor.spawn(Crashy(), name="crashy")
    crashing = asyncio.ensure_future(ref.ask("boom", timeout=3600))
    waiting = [asyncio.ensure_future(ref.ask(n, timeout=3600)) for n in ("a", "b")]
    await asyncio.sleep(0)

    with pytest.raises(ValueError, match=r"^boom$"):
        await crashing
    # Failed at the crash (10 s), not at their one-hour timeout.
    for ask in waiting:
        with pytest.raises(
            ProcessCrashedError,
            match=r"^process 'crashy' crashed \(ValueError: boom\) before answering "
            r"this ask; ask again once it has restarted$",
        ):
            await ask
    assert supervisor.clock.now().mono_ns == 10_000_000_000


async def test_every_pending_ask_fails_at_once_when_the_process_stops(
    supervisor: SupervisorFixture,
) -> None:
    class Busy:
        async def handle(self, msg: str) -> str:
            await asyncio.sleep(10)
            return msg

    ref = await supervisor.spawn(Busy(), name="busy", shutdown=30)
    current = asyncio.ensure_future(ref.ask("current", timeout=None))
    queued = asyncio.ensure_future(ref.ask("queued", timeout=None))
    await asyncio.sleep(1)

    await ref.stop("done")

    # The message being handled finishes; the queued one is never handled.
    assert await current == "current"
    with pytest.raises(
        ProcessStoppedError,
        match=r"^process 'busy' stopped \(reason 'done'\) before answering this ask$",
    ):
        await queued
    assert supervisor.clock.now().mono_ns == 10_000_000_000


async def test_ask_to_a_stopped_process_fails_at_once(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(Log(), name="gone")
    await ref.stop()

    with pytest.raises(
        ProcessStoppedError,
        match=r"^process 'gone' is stopped and takes no more messages; spawn it "
        r"again to ask it anything$",
    ):
        await ref.ask("hello?")


async def test_a_process_asking_itself_is_refused_at_the_call(
    supervisor: SupervisorFixture,
) -> None:
    refusals: list[str] = []

    class Narcissus:
        async def handle(self, msg: str, tools: Tools) -> None:
            if msg == "ask yourself":
                try:
                    await tools.self.ask("mirror")
                except ProcessUsageError as error:
                    refusals.append(str(error))
            tools.reply(msg)

    ref = await supervisor.spawn(ProcessSpec(handle=Narcissus().handle), name="n")

    assert await ref.ask("ask yourself", timeout=None) == "ask yourself"
    assert refusals == [
        "process 'n' asked itself 'mirror' from its own handler, which would "
        "wait for ever; call the logic directly, or use tools.self.send() to "
        "handle it after this message"
    ]
    assert ref.status is ProcessStatus.RUNNING
    supervisor.assert_not_restarted("n")


async def test_send_to_a_stopped_process_is_a_dead_letter(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(Log(), name="gone")
    await ref.stop()

    assert ref.send("hello?") is False
    event = supervisor.lifecycle("gone")[-1]
    assert event.type == "process.dead_letter"
    assert dict(event.data) == {
        "name": "gone",
        "supervisor": "root",
        "reason": "not_running",
        "message": "'hello?'",
    }


async def test_ask_times_out_on_the_supervisors_clock(
    supervisor: SupervisorFixture,
) -> None:
    class Never:
        def handle(self, msg: object, tools: Tools) -> None:
            tools.defer_reply()

    ref = await supervisor.spawn(Never(), name="never")

    with pytest.raises(
        AskTimeoutError,
        match=r"^process 'never' did not answer 'q' within timeout=2\.5 seconds "
        r"on its clock; raise the timeout, or check that the handler calls "
        r"tools\.reply\(\)$",
    ):
        await ref.ask("q", timeout=2.5)
    assert supervisor.clock.now().mono_ns == 2_500_000_000


async def test_a_reply_after_the_asker_gave_up_is_ignored_without_crashing(
    supervisor: SupervisorFixture,
) -> None:
    answered: list[bool] = []

    async def handle(state: None, msg: str, tools: Tools) -> None:
        await asyncio.sleep(5)
        answered.append(tools.reply("too late"))

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="late")

    with pytest.raises(AskTimeoutError):
        await ref.ask("q", timeout=1)
    cancelled = asyncio.ensure_future(ref.ask("r", timeout=None))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(20)

    assert answered == [False, False]
    assert ref.status is ProcessStatus.RUNNING
    supervisor.assert_not_restarted(ref)


async def test_bad_ask_timeout_is_refused_before_sending(
    supervisor: SupervisorFixture,
) -> None:
    log = Log()
    ref = await supervisor.spawn(log, name="log")

    with pytest.raises(
        ValueError,
        match=r"^timeout=-1 is negative; durations must be zero or more seconds$",
    ):
        await ref.ask("q", timeout=-1)
    await ref.ask("probe")
    assert log.seen == ["probe"]


async def test_stop_is_not_starved_by_a_flood_of_timer_messages(
    supervisor: SupervisorFixture,
) -> None:
    handled = 0

    def handle(state: None, msg: str, tools: Tools) -> None:
        nonlocal handled
        if msg == "arm":
            for _ in range(2_000):
                tools.schedule(1, "tick")
            return
        handled += 1
        # Every tick re-arms itself at once: the flood never dries up.
        tools.schedule(0, "tick")

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="flooded")
    ref.send("arm")
    await asyncio.sleep(1)
    while handled < 300:
        await asyncio.sleep(0)

    await ref.stop()

    # The stop went ahead of the ~2,000 ticks still queued.
    assert ref.status is ProcessStatus.STOPPED
    assert handled < 600
    assert supervisor.clock.now().mono_ns == 1_000_000_000
    assert supervisor.clock.pending() == []


async def test_scheduled_messages_arrive_on_the_clock(
    supervisor: SupervisorFixture,
) -> None:
    arrivals: list[tuple[str, int]] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "start":
            tools.schedule(2, "two")
            tools.schedule(1.5, "one and a half")
        else:
            arrivals.append((msg, tools.clock.now().mono_ns))

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="timers")
    ref.send("start")
    await asyncio.sleep(3)

    assert arrivals == [("one and a half", 1_500_000_000), ("two", 2_000_000_000)]


async def test_a_scheduled_message_can_be_cancelled(
    supervisor: SupervisorFixture,
) -> None:
    handles: list[ScheduledMessage] = []
    arrivals: list[str] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "start":
            handles.append(tools.schedule(1, "cancelled"))
            tools.schedule(2, "kept")
        else:
            arrivals.append(msg)

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="timers")
    ref.send("start")
    await asyncio.sleep(0)

    assert handles[0].cancel() is True
    assert handles[0].cancel() is False
    await asyncio.sleep(3)
    assert arrivals == ["kept"]


async def test_scheduled_messages_are_cancelled_when_the_process_stops(
    supervisor: SupervisorFixture,
) -> None:
    def handle(state: None, msg: str, tools: Tools) -> None:
        tools.schedule(10, "later")
        tools.reply("scheduled")

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="stopper")
    await ref.ask("go")
    assert len(supervisor.clock.pending()) == 1

    await ref.stop()

    assert supervisor.clock.pending() == []


async def test_scheduled_messages_are_cancelled_when_the_process_restarts(
    supervisor: SupervisorFixture,
) -> None:
    arrivals: list[str] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "arm":
            tools.schedule(10, "from the first incarnation")
        elif msg == "boom":
            raise RuntimeError("boom")
        else:
            arrivals.append(msg)

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="restarter")
    ref.send("arm")
    ref.send("boom")
    await supervisor.wait_for("restarted", ref)
    await asyncio.sleep(20)

    assert arrivals == []
    assert supervisor.clock.pending() == []


async def test_old_tools_refuse_to_schedule_after_a_restart(
    supervisor: SupervisorFixture,
) -> None:
    kept: list[Tools] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        kept.append(tools)
        raise RuntimeError("crash")

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")
    ref.send("x")
    await supervisor.wait_for("restarted", ref)

    with pytest.raises(
        ProcessUsageError,
        match=r"^tools\.schedule\(\) of process 'p' belongs to an incarnation that "
        r"has ended; use the tools passed to the current handler call$",
    ):
        kept[0].schedule(1, "x")


async def test_a_handler_may_stop_its_own_process_without_deadlocking(
    supervisor: SupervisorFixture,
) -> None:
    async def handle(state: None, msg: str, tools: Tools) -> None:
        await tools.self.stop("finished")
        tools.reply("stopping")

    ref = await supervisor.spawn(
        ProcessSpec(handle=handle), name="quitter", restart="transient"
    )

    assert await ref.ask("quit") == "stopping"
    await supervisor.wait_for("stopped", ref)
    # "finished" is not a normal reason, so a transient process is restarted.
    await supervisor.wait_for("restarted", ref)


async def test_a_sync_handler_may_stop_its_own_process_without_awaiting(
    supervisor: SupervisorFixture,
) -> None:
    def handle(state: None, msg: str, tools: Tools) -> None:
        tools.self.stop()

    ref = await supervisor.spawn(
        ProcessSpec(handle=handle), name="quitter", restart="transient"
    )
    ref.send("quit")
    await supervisor.wait_for("stopped", ref)

    assert ref.status is ProcessStatus.STOPPED
    supervisor.assert_not_restarted(ref)


async def test_the_mailbox_survives_a_restart(supervisor: SupervisorFixture) -> None:
    from phyxius.process import Backoff

    supervisor.configure(backoff=Backoff(initial=1, jitter=0))
    seen: list[str] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "boom":
            raise RuntimeError("boom")
        seen.append(msg)

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="survivor")
    ref.send("boom")
    ref.send("queued before the crash")
    await supervisor.wait_for("crashed", ref)
    assert ref.status is ProcessStatus.RESTARTING
    ref.send("sent during the back-off")
    await supervisor.wait_for("restarted", ref)
    await asyncio.sleep(0)

    assert seen == ["queued before the crash", "sent during the back-off"]


async def test_a_full_mailbox_rejects_new_messages_under_reject(
    supervisor: SupervisorFixture,
) -> None:
    class Gate:
        max_inbox = 2
        mailbox_policy = "reject"

        def __init__(self) -> None:
            self.seen: list[object] = []

        async def handle(self, msg: object) -> None:
            self.seen.append(msg)
            await asyncio.sleep(1)

    gate = Gate()
    ref = await supervisor.spawn(gate, name="gate")
    ref.send("taken at once")
    await asyncio.sleep(0)

    assert [ref.send(n) for n in ("a", "b", "c")] == [True, True, False]
    with pytest.raises(
        MailboxFullError,
        match=r"^process 'gate' has a full mailbox \(max_inbox=2, policy "
        r"'reject'\); ask again later or raise max_inbox$",
    ):
        await ref.ask("d")
    overflow = await supervisor.wait_for("mailbox_overflow", ref)
    assert overflow.data["action"] == "rejected"
    assert overflow.data["message"] == "'c'"
    await asyncio.sleep(5)
    assert gate.seen == ["taken at once", "a", "b"]


async def test_a_full_mailbox_drops_its_oldest_message_under_drop_oldest(
    supervisor: SupervisorFixture,
) -> None:
    seen: list[object] = []

    async def handle(state: None, msg: object, tools: Tools) -> None:
        seen.append(msg)
        await asyncio.sleep(1)

    ref = await supervisor.spawn(
        ProcessSpec(handle=handle, max_inbox=2, mailbox_policy="drop_oldest"),
        name="lossy",
    )
    ref.send("taken at once")
    await asyncio.sleep(0)
    oldest_ask = asyncio.ensure_future(ref.ask("oldest", timeout=None))
    await asyncio.sleep(0)

    assert [ref.send(n) for n in ("a", "b")] == [True, True]
    with pytest.raises(
        MailboxFullError,
        match=r"^process 'lossy' dropped this ask to make room in its full mailbox "
        r"\(max_inbox=2, policy 'drop_oldest'\)$",
    ):
        await oldest_ask
    await asyncio.sleep(5)
    assert seen == ["taken at once", "a", "b"]
    dropped = [
        e.data["message"]
        for e in supervisor.lifecycle(ref)
        if e.type == "process.mailbox_overflow"
    ]
    assert dropped == ["'oldest'"]


async def test_mailbox_overflow_is_logged_as_a_warning(
    supervisor: SupervisorFixture, caplog: pytest.LogCaptureFixture
) -> None:
    async def handle(state: None, msg: object, tools: Tools) -> None:
        await asyncio.sleep(1)

    ref = await supervisor.spawn(ProcessSpec(handle=handle, max_inbox=1), name="tiny")
    ref.send(1)
    await asyncio.sleep(0)
    ref.send(2)

    with caplog.at_level(logging.WARNING, logger="phyxius.process"):
        ref.send(3)

    assert [r.getMessage() for r in caplog.records] == [
        "process 'tiny': mailbox full (max_inbox=1), rejected 3"
    ]


async def test_queued_messages_become_dead_letters_when_the_process_stops(
    supervisor: SupervisorFixture,
) -> None:
    async def handle(state: None, msg: object, tools: Tools) -> None:
        await asyncio.sleep(1)

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")
    for n in range(3):
        ref.send(n)
    await asyncio.sleep(0)

    await ref.stop()

    letters: list[Any] = [
        (e.data["reason"], e.data["message"])
        for e in supervisor.lifecycle(ref)
        if e.type == "process.dead_letter"
    ]
    assert letters == [("stopped", "1"), ("stopped", "2")]


async def test_stop_kills_a_handler_that_overruns_the_timeout(
    supervisor: SupervisorFixture,
) -> None:
    cleaned: list[object] = []

    async def handle(state: None, msg: object, tools: Tools) -> None:
        await asyncio.sleep(3600)

    def on_stop(state: None, reason: object) -> None:
        cleaned.append(reason)

    ref = await supervisor.spawn(
        ProcessSpec(handle=handle, on_stop=on_stop), name="hung", shutdown=2
    )
    ref.send("hang")
    await asyncio.sleep(0)

    await ref.stop()

    stopped = supervisor.lifecycle(ref)[-1]
    assert stopped.type == "process.stopped"
    assert stopped.data["killed"] is True
    assert stopped.at.mono_ns == 2_000_000_000
    assert cleaned == []
    assert ref.status is ProcessStatus.STOPPED


async def test_on_stop_gets_the_state_and_the_reason(
    supervisor: SupervisorFixture,
) -> None:
    stops: list[tuple[object, object]] = []

    async def on_stop(state: str, reason: object) -> None:
        await asyncio.sleep(1)
        stops.append((state, reason))

    ref = await supervisor.spawn(
        ProcessSpec(handle=lambda s, m, t: s, init=lambda ctx: "state", on_stop=on_stop)
    )
    await ref.stop("bye")

    assert stops == [("state", "bye")]


async def test_on_stop_after_a_crash_gets_the_exception(
    supervisor: SupervisorFixture,
) -> None:
    reasons: list[object] = []

    class Cleaner:
        def handle(self, msg: object) -> None:
            raise KeyError(msg)

        def on_stop(self, reason: object) -> None:
            reasons.append(reason)

    ref = await supervisor.spawn(Cleaner(), name="cleaner", restart="temporary")
    ref.send("k")
    await supervisor.wait_for("crashed", ref)
    await asyncio.sleep(0)

    assert len(reasons) == 1
    assert isinstance(reasons[0], KeyError)
    assert ref.status is ProcessStatus.CRASHED


async def test_bad_stop_reason_is_refused(supervisor: SupervisorFixture) -> None:
    ref = await supervisor.spawn(Log(), name="p")

    with pytest.raises(
        ValueError,
        match=r"^reason=3 \(type=int\) is not a stop reason; pass a str such as "
        r'"normal"$',
    ):
        ref.stop(3)  # type: ignore[arg-type]
    assert ref.status is ProcessStatus.RUNNING


async def test_stopping_twice_is_harmless(supervisor: SupervisorFixture) -> None:
    ref = await supervisor.spawn(Log(), name="p")

    await ref.stop()
    await ref.stop()

    assert [e.type for e in supervisor.lifecycle(ref)].count("process.stopped") == 1


async def test_bad_schedule_delay_is_refused_and_nothing_is_scheduled(
    supervisor: SupervisorFixture,
) -> None:
    errors: list[BaseException] = []

    def handle(state: None, msg: object, tools: Tools) -> None:
        try:
            tools.schedule(-1, "never")
        except ValueError as error:
            errors.append(error)
        tools.reply(len(supervisor.clock.pending()))

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")

    assert await ref.ask("go", timeout=None) == 0
    assert [str(e) for e in errors] == [
        "after=-1 is negative; durations must be zero or more seconds"
    ]


async def test_a_deferred_reply_refuses_to_fail_with_a_non_exception(
    supervisor: SupervisorFixture,
) -> None:
    deferred: list[Reply] = []

    def handle(state: None, msg: object, tools: Tools) -> None:
        deferred.append(tools.defer_reply())

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")
    pending = ref.ask("q")
    await asyncio.sleep(0)

    with pytest.raises(
        ValueError,
        match=r"^error='nope' \(type=str\) is not an exception; pass an exception "
        r"instance such as ValueError\('unknown order'\)$",
    ):
        deferred[0].fail("nope")  # type: ignore[arg-type]
    assert not deferred[0].done
    assert deferred[0].send("fine") is True
    assert await pending == "fine"
