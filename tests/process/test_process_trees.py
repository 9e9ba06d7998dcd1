"""Trees and their edges: nested supervisors, linked children, stops at odd moments."""

from __future__ import annotations

import asyncio

import pytest

from phyxius.process import (
    Backoff,
    ProcessSpec,
    ProcessStatus,
    Reply,
    SupervisorFailedError,
    SupervisorStatus,
    Tools,
)
from pytest_phyxius import SupervisorFixture


def worker() -> ProcessSpec:
    """Answers with its start count; crashes on "boom"."""
    starts = 0

    def init(ctx: object) -> int:
        nonlocal starts
        starts += 1
        return starts

    def handle(state: int, msg: str, tools: Tools) -> int:
        if msg == "boom":
            raise RuntimeError("boom")
        tools.reply(state)
        return state

    return ProcessSpec(handle=handle, init=init)


async def test_one_for_all_restarts_a_nested_supervisor_and_its_children(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(strategy="one_for_all")
    sub = await supervisor.spawn_supervisor(name="sub")
    inner = await sub.spawn(worker(), name="inner")
    crasher = await supervisor.spawn(worker(), name="crasher")

    crasher.send("boom")
    await supervisor.wait_for("restarted", "crasher")

    supervisor.assert_restarted("sub", times=1)
    supervisor.assert_restarted("inner", times=1)
    assert await inner.ask("?") == 2
    assert sub.status is SupervisorStatus.RUNNING


async def test_a_temporary_nested_supervisor_that_gives_up_is_not_restarted(
    supervisor: SupervisorFixture,
) -> None:
    sub = await supervisor.spawn_supervisor(
        name="sub", max_restarts=0, restart="temporary"
    )
    inner = await sub.spawn(worker(), name="inner")
    sibling = await sub.spawn(worker(), name="sibling")

    inner.send("boom")
    with pytest.raises(SupervisorFailedError, match=r"^supervisor 'sub' gave up"):
        await sub.wait()

    assert sub.status is SupervisorStatus.FAILED
    assert inner.status is ProcessStatus.CRASHED
    assert sibling.status is ProcessStatus.STOPPED
    assert supervisor.find("sub") is None
    assert supervisor.status is SupervisorStatus.RUNNING
    supervisor.assert_not_restarted("sub")


async def test_an_init_that_fails_during_a_group_restart_restarts_the_group_again(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(strategy="one_for_all", max_restarts=5)
    failures = [True]

    def flaky_init(ctx: object) -> None:
        # Fails once: on its first restart, right after c's crash.
        if len(supervisor.crashes) == 1 and failures:
            failures.pop()
            raise OSError("not yet")

    a = await supervisor.spawn(
        ProcessSpec(handle=lambda s, m, t: t.reply("a"), init=lambda ctx: None),
        name="a",
    )
    b = await supervisor.spawn(
        ProcessSpec(handle=lambda s, m, t: t.reply("b"), init=flaky_init), name="b"
    )
    c = await supervisor.spawn(worker(), name="c")

    c.send("boom")
    await supervisor.wait_for("restarted", "c")

    during = [e.data["during"] for e in supervisor.crashes]
    assert during == ["handle", "init"]
    assert [await ref.ask("?") for ref in (a, b)] == ["a", "b"]
    assert all(ref.status is ProcessStatus.RUNNING for ref in (a, b, c))
    # a restarted twice (with c's crash, then with b's failed init); b and c once.
    assert [supervisor.restarts(n) for n in "abc"] == [2, 1, 1]


async def test_children_spawned_by_a_process_stop_when_it_stops_for_good(
    supervisor: SupervisorFixture,
) -> None:
    async def handle(state: None, msg: str, tools: Tools) -> None:
        child = await tools.spawn(worker(), name="child")
        tools.reply(child)

    parent = await supervisor.spawn(ProcessSpec(handle=handle), name="parent")
    child = await parent.ask("spawn a child")

    await parent.stop()

    assert child.status is ProcessStatus.STOPPED
    assert supervisor.children == []
    stops = [e.data["name"] for e in supervisor.events if e.type == "process.stopped"]
    assert stops == ["child", "parent"]


async def test_a_stop_during_init_ends_the_process_once_init_is_done(
    supervisor: SupervisorFixture,
) -> None:
    started = asyncio.Event()

    async def init(ctx: object) -> None:
        started.set()
        await asyncio.sleep(1)

    spawning = asyncio.ensure_future(
        supervisor.spawn(ProcessSpec(handle=lambda s, m, t: s, init=init), name="p")
    )
    await started.wait()
    ref = supervisor.find("p")
    assert ref is not None
    assert ref.status is ProcessStatus.STARTING

    await ref.stop()  # type: ignore[union-attr]

    assert await spawning is ref
    assert ref.status is ProcessStatus.STOPPED
    assert supervisor.clock.now().mono_ns == 1_000_000_000


async def test_a_handler_may_shut_down_its_own_tree(
    supervisor: SupervisorFixture,
) -> None:
    async def handle(state: None, msg: str, tools: Tools) -> None:
        await tools.self.supervisor.shutdown()
        tools.reply("shutting down")

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="self-destruct")
    other = await supervisor.spawn(worker(), name="other")

    assert await ref.ask("go") == "shutting down"
    await supervisor.wait()

    assert supervisor.status is SupervisorStatus.STOPPED
    assert ref.status is ProcessStatus.STOPPED
    assert other.status is ProcessStatus.STOPPED


async def test_shutting_down_while_giving_up_still_reports_the_failure(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(max_restarts=0)
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("crashed", ref)

    await supervisor.shutdown()

    assert supervisor.status is SupervisorStatus.FAILED
    with pytest.raises(SupervisorFailedError):
        await supervisor.wait()


async def test_a_process_task_cancelled_by_someone_else_ends_for_good(
    supervisor: SupervisorFixture,
) -> None:
    ref = await supervisor.spawn(worker(), name="w")
    tasks = [
        t for t in asyncio.all_tasks() if t.get_name().startswith("phyxius.process:w")
    ]
    assert len(tasks) == 1

    tasks[0].cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert ref.status is ProcessStatus.STOPPED
    supervisor.assert_not_restarted(ref)
    assert ref.send("x") is False


async def test_an_ask_during_the_backoff_is_answered_after_the_restart(
    supervisor: SupervisorFixture,
) -> None:
    supervisor.configure(backoff=Backoff(initial=3, jitter=0))
    ref = await supervisor.spawn(worker(), name="w")
    ref.send("boom")
    await supervisor.wait_for("restart_scheduled", ref)

    answer = await ref.ask("who?", timeout=10)

    assert answer == 2
    assert supervisor.clock.now().mono_ns == 3_000_000_000


async def test_a_deferred_reply_fails_when_the_process_crashes(
    supervisor: SupervisorFixture,
) -> None:
    kept: list[Reply] = []

    def handle(state: None, msg: str, tools: Tools) -> None:
        if msg == "boom":
            raise RuntimeError("boom")
        kept.append(tools.defer_reply())

    ref = await supervisor.spawn(ProcessSpec(handle=handle), name="p")
    pending = ref.ask("later", timeout=None)
    await asyncio.sleep(0)
    ref.send("boom")

    with pytest.raises(RuntimeError, match=r"^process 'p' crashed"):
        await pending
    assert kept[0].done
    assert kept[0].send("too late") is False


async def test_stop_accepts_its_own_timeout(supervisor: SupervisorFixture) -> None:
    async def hang(state: None, msg: str, tools: Tools) -> None:
        await asyncio.sleep(3600)

    ref = await supervisor.spawn(ProcessSpec(handle=hang), name="slow", shutdown=30)
    ref.send("hang")
    await asyncio.sleep(0)

    await ref.stop(timeout=0.25)

    assert supervisor.clock.now().mono_ns == 250_000_000
    assert supervisor.lifecycle(ref)[-1].data["killed"] is True


async def test_an_async_state_handler_that_crashes_leaves_on_stop_the_last_good_state(
    supervisor: SupervisorFixture,
) -> None:
    seen: list[object] = []

    async def handle(state: int, msg: str, tools: Tools) -> int:
        await asyncio.sleep(0)
        if msg == "boom":
            raise RuntimeError("boom")
        return state + 1

    ref = await supervisor.spawn(
        ProcessSpec(
            handle=handle,
            init=lambda ctx: 0,
            on_stop=lambda state, reason: seen.append(state),
        ),
        name="p",
        restart="temporary",
    )
    ref.send("one")
    ref.send("two")
    ref.send("boom")
    await supervisor.wait_for("crashed", ref)
    await asyncio.sleep(0)

    assert seen == [2]
