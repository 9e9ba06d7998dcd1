"""Spawning processes: the spec forms, names, ctx, and the errors of bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from phyxius.clock import ControlledClock
from phyxius.process import (
    ProcessSpec,
    ProcessStartError,
    ProcessStatus,
    Tools,
    create_supervisor,
)
from pytest_phyxius import SupervisorFixture


class Recorder:
    """An object with only handle(msg): the README's first example."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def handle(self, msg: object) -> object:
        self.seen.append(msg)
        return f"got {msg}"


async def test_readme_first_example_translated_line_by_line(
    controlled_clock: ControlledClock,
) -> None:
    # const supervisor = createSupervisor();
    supervisor = create_supervisor(clock=controlled_clock)

    # const orderProcessor = await supervisor.spawn({ async handle(message) {...} });
    class OrderProcessor:
        def __init__(self) -> None:
            self.orders: list[dict[str, Any]] = []

        async def handle(self, message: dict[str, Any]) -> object:
            if message["type"] == "process_order":
                self.orders.append(message["order"])
                return {"processed": message["order"]["id"]}
            if message["type"] == "get_status":
                return {"processed": len(self.orders)}
            raise ValueError(f"unknown message type {message['type']!r}")

    order_processor = await supervisor.spawn(OrderProcessor())

    # await orderProcessor.send({
    #   type: "process_order", order: { id: "order123", items: [...] } });
    accepted = order_processor.send(
        {"type": "process_order", "order": {"id": "order123", "items": []}}
    )

    assert accepted is True
    assert await order_processor.ask({"type": "get_status"}) == {"processed": 1}
    await supervisor.shutdown()


async def test_object_with_only_handle_gets_each_message_and_its_return_answers(
    supervisor: SupervisorFixture,
) -> None:
    recorder = Recorder()
    ref = await supervisor.spawn(recorder, name="recorder")

    assert ref.send("a") is True
    answer = await ref.ask("b")

    assert recorder.seen == ["a", "b"]
    assert answer == "got b"
    assert ref.status is ProcessStatus.RUNNING


async def test_object_handle_may_take_tools(supervisor: SupervisorFixture) -> None:
    class Named:
        def handle(self, msg: object, tools: Tools) -> None:
            tools.reply(f"{tools.name}:{msg}")

    ref = await supervisor.spawn(Named(), name="named")

    assert await ref.ask("x") == "named:x"


async def test_state_form_threads_state_from_init_through_handle(
    supervisor: SupervisorFixture,
) -> None:
    def init(ctx: dict[str, int]) -> int:
        return ctx["start"]

    def handle(state: int, msg: object, tools: Tools) -> int:
        if msg == "get":
            tools.reply(state)
            return state
        assert isinstance(msg, int)
        return state + msg

    ref = await supervisor.spawn(
        ProcessSpec(handle=handle, init=init), name="counter", ctx={"start": 10}
    )
    ref.send(1)
    ref.send(2)

    assert await ref.ask("get") == 13


async def test_async_init_and_async_handle_are_awaited(
    supervisor: SupervisorFixture,
) -> None:
    class Slow:
        async def init(self, ctx: object) -> list[str]:
            await asyncio.sleep(1)
            return ["init"]

        async def handle(self, state: list[str], msg: str, tools: Tools) -> list[str]:
            await asyncio.sleep(1)
            tools.reply([*state, msg])
            return [*state, msg]

    ref = await supervisor.spawn(Slow(), name="slow")

    assert await ref.ask("m") == ["init", "m"]
    assert supervisor.clock.now().mono_ns == 2_000_000_000


async def test_init_may_take_tools(supervisor: SupervisorFixture) -> None:
    seen: list[str] = []

    def init(ctx: object, tools: Tools) -> None:
        seen.append(tools.name)

    def handle(state: None, msg: object, tools: Tools) -> None:
        tools.reply(msg)

    await supervisor.spawn(ProcessSpec(handle=handle, init=init), name="with-tools")

    assert seen == ["with-tools"]


async def test_tools_carry_clock_ctx_self_and_journal(
    supervisor: SupervisorFixture,
) -> None:
    captured: dict[str, Any] = {}

    class Probe:
        def handle(self, msg: object, tools: Tools) -> None:
            captured.update(
                clock=tools.clock, ctx=tools.ctx, self=tools.self, journal=tools.journal
            )

    ref = await supervisor.spawn(Probe(), name="probe", ctx={"tenant": "t1"})
    await ref.ask("go")

    assert captured == {
        "clock": supervisor.clock,
        "ctx": {"tenant": "t1"},
        "self": ref,
        "journal": supervisor.journal,
    }


async def test_generated_names_use_the_spec_name_and_a_counter(
    supervisor: SupervisorFixture,
) -> None:
    first = await supervisor.spawn(Recorder())
    second = await supervisor.spawn(Recorder())
    from_spec = await supervisor.spawn(
        ProcessSpec(handle=lambda s, m, t: s, name="worker")
    )

    assert [first.name, second.name, from_spec.name] == [
        "Recorder-1",
        "Recorder-2",
        "worker-1",
    ]
    assert supervisor.find("Recorder-2") is second


async def test_spawn_returns_after_init_and_reports_spawned_then_started(
    supervisor: SupervisorFixture,
) -> None:
    await supervisor.spawn(Recorder(), name="r")

    assert [e.type for e in supervisor.lifecycle("r")] == [
        "process.spawned",
        "process.started",
    ]


async def test_init_that_raises_fails_spawn_and_adds_nothing(
    supervisor: SupervisorFixture,
) -> None:
    def init(ctx: object) -> None:
        raise KeyError("missing config")

    spec = ProcessSpec(handle=lambda s, m, t: s, init=init)

    with pytest.raises(
        ProcessStartError,
        match=r"^process 'broken' did not start: init raised KeyError: "
        r"'missing config'; it was not added to supervisor 'root'$",
    ) as caught:
        await supervisor.spawn(spec, name="broken")

    assert isinstance(caught.value.__cause__, KeyError)
    assert supervisor.children == []
    assert supervisor.find("broken") is None
    supervisor.assert_not_restarted("broken")
    # The name is free again.
    await supervisor.spawn(Recorder(), name="broken")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            object(),
            r"^spec=<object object at 0x[0-9a-f]+> \(type=object\) has no handle\(\) "
            r"method; pass an object with handle\(msg\), or handle\(state, msg, "
            r"tools\) with init\(ctx\), or a ProcessSpec\(handle=\.\.\.\)$",
            id="no-handle",
        ),
        pytest.param(
            ProcessSpec(handle=42),  # type: ignore[arg-type]
            r"^spec\.handle=42 \(type=int\) is not callable; pass a function "
            r"handle\(msg\), or handle\(state, msg, tools\) with init\(ctx\)$",
            id="handle-not-callable",
        ),
        pytest.param(
            Recorder,
            r"^spec=Recorder is a class; spawn an instance of it "
            r"\(spawn\(Recorder\(\)\)\) or a ProcessSpec$",
            id="class-not-instance",
        ),
        pytest.param(
            ProcessSpec(handle=lambda msg: None, init=lambda ctx: 0),
            r"^spec\.handle=.*<lambda> takes 1 positional argument\(s\); a spec "
            r"with init\(\) needs handle\(state, msg, tools\)$",
            id="init-with-one-arg-handle",
        ),
        pytest.param(
            ProcessSpec(handle=lambda: None),
            r"^spec\.handle=.*<lambda> takes 0 positional argument\(s\); use "
            r"handle\(msg\), handle\(msg, tools\), or handle\(state, msg, tools\) "
            r"with init\(ctx\)$",
            id="handle-without-arguments",
        ),
        pytest.param(
            ProcessSpec(handle=lambda s, m, t: s, init=lambda: 0),
            r"^spec\.init=.*<lambda> takes 0 positional argument\(s\); use "
            r"init\(ctx\) or init\(ctx, tools\)$",
            id="init-without-ctx",
        ),
        pytest.param(
            ProcessSpec(handle=lambda s, m, t: s, on_stop=lambda: None),
            r"^spec\.on_stop=.*<lambda> takes 0 positional argument\(s\); this "
            r"spec needs on_stop\(state, reason\)$",
            id="on-stop-shape",
        ),
        pytest.param(
            ProcessSpec(handle=lambda s, m, t: s, max_inbox=0),
            r"^spec\.max_inbox=0 \(type=int\) is not a mailbox size; pass an int, "
            r"1 or more, or None for unbounded$",
            id="max-inbox-zero",
        ),
        pytest.param(
            ProcessSpec(handle=lambda s, m, t: s, mailbox_policy="drop_newest"),  # type: ignore[arg-type]
            r"^mailbox_policy='drop_newest' \(type=str\) is not a known mailbox "
            r"policy; use one of 'reject', 'drop_oldest'$",
            id="unknown-mailbox-policy",
        ),
        pytest.param(
            ProcessSpec(handle=lambda s, m, t: s, restart="always"),  # type: ignore[arg-type]
            r"^restart='always' \(type=str\) is not a known restart; use one of "
            r"'permanent', 'transient', 'temporary'$",
            id="unknown-restart-in-spec",
        ),
    ],
)
async def test_bad_spec_is_refused_before_anything_changes(
    supervisor: SupervisorFixture, spec: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await supervisor.spawn(spec, name="bad")

    assert supervisor.children == []
    assert supervisor.events == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"restart": "sometimes"},
            r"^restart='sometimes' \(type=str\) is not a known restart; use one of "
            r"'permanent', 'transient', 'temporary'$",
            id="restart",
        ),
        pytest.param(
            {"shutdown": -1},
            r"^shutdown=-1 is negative; durations must be zero or more seconds$",
            id="negative-shutdown",
        ),
        pytest.param(
            {"name": ""},
            r"^name='' \(type=str\) is not a process name; pass a non-empty str, "
            r"or None for a generated one$",
            id="empty-name",
        ),
    ],
)
async def test_bad_spawn_option_is_refused_before_anything_changes(
    supervisor: SupervisorFixture, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await supervisor.spawn(Recorder(), **options)

    assert supervisor.children == []
    assert supervisor.events == []


async def test_duplicate_name_is_refused_and_the_first_process_is_untouched(
    supervisor: SupervisorFixture,
) -> None:
    first = await supervisor.spawn(Recorder(), name="dup")
    events_before = supervisor.events

    with pytest.raises(
        ValueError,
        match=r"^name='dup' is already taken in this supervision tree \(by "
        r"<ProcessRef 'dup' running restarts=0>\); names are unique per tree: "
        r"pick another, or stop the other one first$",
    ):
        await supervisor.spawn(Recorder(), name="dup")

    assert supervisor.children == [first]
    assert supervisor.events == events_before
    assert await first.ask("still here") == "got still here"


async def test_a_name_is_free_again_once_its_process_stopped(
    supervisor: SupervisorFixture,
) -> None:
    first = await supervisor.spawn(Recorder(), name="reused")
    await first.stop()

    second = await supervisor.spawn(Recorder(), name="reused")

    assert second is not first
    assert supervisor.find("reused") is second
