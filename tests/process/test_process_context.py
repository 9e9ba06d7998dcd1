"""Context flows into processes: the spawner's contextvars reach every handler."""

from __future__ import annotations

import contextvars

import pytest

from phyxius.effect import Context as EffectContext
from phyxius.effect import NoEffectContextError, current_context, run_effect
from phyxius.process import ProcessRef, ProcessSpec, Tools
from pytest_phyxius import SupervisorFixture

request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="none"
)


class ContextProbe:
    """Answers with the effect context's request id; crashes on "boom"."""

    def handle(self, msg: str) -> object:
        if msg == "boom":
            raise RuntimeError("boom")
        if msg == "set":
            current_context().set("request_id", "changed inside")
        return current_context().get("request_id")


async def test_context_of_a_running_effect_reaches_the_process_handlers(
    supervisor: SupervisorFixture,
) -> None:
    async def main(context: EffectContext) -> object:
        context.set("request_id", "req-1")
        ref = await supervisor.spawn(ContextProbe(), name="probe")
        return await ref.ask("which request?")

    result = await run_effect(main, clock=supervisor.clock)

    assert result.unwrap() == "req-1"


async def test_a_restarted_process_starts_again_from_the_spawners_context(
    supervisor: SupervisorFixture,
) -> None:
    async def main(context: EffectContext) -> ProcessRef:
        context.set("request_id", "req-2")
        return await supervisor.spawn(ContextProbe(), name="probe")

    ref = (await run_effect(main, clock=supervisor.clock)).unwrap()
    assert await ref.ask("set") == "changed inside"
    assert await ref.ask("again") == "changed inside"

    ref.send("boom")
    await supervisor.wait_for("restarted", ref)

    assert await ref.ask("after the restart") == "req-2"


async def test_a_process_spawned_outside_any_effect_has_no_effect_context(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(ContextProbe(), name="probe")

    with pytest.raises(NoEffectContextError):
        await ref.ask("which request?")


async def test_plain_contextvars_set_around_spawn_reach_init_and_handle(
    supervisor: SupervisorFixture,
) -> None:
    seen: list[str] = []

    def init(ctx: object) -> None:
        seen.append(f"init:{request_id.get()}")

    def handle(state: None, msg: str, tools: Tools) -> None:
        seen.append(f"handle:{request_id.get()}")
        tools.reply(None)

    token = request_id.set("outer")
    try:
        ref = await supervisor.spawn(ProcessSpec(handle=handle, init=init))
    finally:
        request_id.reset(token)
    request_id.set("changed after spawn")
    await ref.ask("go")

    assert seen == ["init:outer", "handle:outer"]


async def test_a_child_spawned_by_a_handler_inherits_the_handlers_context(
    supervisor: SupervisorFixture,
) -> None:
    async def handle(state: None, msg: str, tools: Tools) -> None:
        request_id.set("set in the parent's handler")
        child = await tools.spawn(
            ProcessSpec(handle=lambda s, m, t: t.reply(request_id.get())),
            name="child",
        )
        tools.reply(await child.ask("?"))

    parent = await supervisor.spawn(ProcessSpec(handle=handle), name="parent")

    assert await parent.ask("spawn") == "set in the parent's handler"
