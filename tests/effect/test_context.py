"""Context: values flow down into everything an effect starts, never back up."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading

import pytest

from phyxius import InvalidArgumentError
from phyxius.clock import ControlledClock
from phyxius.effect import (
    ContextLogFilter,
    Env,
    NoEffectContextError,
    Ok,
    current_context,
    effect,
    gather,
    race,
    run_effect,
    sleep,
    succeed,
    to_thread,
)


async def deep_inside() -> str:
    """A helper three calls down that knows nothing of effects."""
    await asyncio.sleep(1)
    return str(current_context()["request_id"])


async def handler(env: Env) -> str:
    return await middle()


async def middle() -> str:
    return await deep_inside()


async def test_a_value_set_at_the_edge_is_read_deep_inside(
    controlled_clock: ControlledClock,
) -> None:
    result = await effect(handler).run(
        clock=controlled_clock, context={"request_id": "req-1"}
    )

    assert result == Ok("req-1")


async def test_a_value_set_in_one_step_is_seen_by_the_next(
    controlled_clock: ControlledClock,
) -> None:
    async def remember(env: Env) -> None:
        env.context.set("user", "ada")

    async def recall(env: Env) -> str:
        return str(env.context["user"])

    chain = effect(remember).flat_map(lambda _: effect(recall))

    assert await chain.run(clock=controlled_clock) == Ok("ada")


async def test_writes_inside_a_run_never_reach_the_caller(
    controlled_clock: ControlledClock,
) -> None:
    async def outer(env: Env) -> tuple[object, object]:
        env.context.set("level", "outer")

        async def inner(context: object) -> None:
            current_context().set("level", "inner")
            current_context().set("only_inner", True)

        await run_effect(inner)
        return env.context.get("level"), env.context.get("only_inner")

    assert await effect(outer).run(clock=controlled_clock) == Ok(("outer", None))


async def test_values_flow_into_a_forked_fiber_and_its_writes_stay_there(
    controlled_clock: ControlledClock,
) -> None:
    async def child(env: Env) -> str:
        seen = str(env.context["request_id"])
        env.context.set("request_id", "changed by child")
        return seen

    async def parent(env: Env) -> tuple[str, str]:
        env.context.set("request_id", "req-7")
        fiber = await effect(child).fork()
        seen_by_child = await fiber.join()
        return seen_by_child, str(env.context["request_id"])

    assert await effect(parent).run(clock=controlled_clock) == Ok(("req-7", "req-7"))


async def test_a_fiber_sees_the_values_as_they_were_when_it_was_forked(
    controlled_clock: ControlledClock,
) -> None:
    async def child(env: Env) -> object:
        await asyncio.sleep(5)
        return env.context.get("stage")

    async def parent(env: Env) -> object:
        env.context.set("stage", "before fork")
        fiber = await effect(child).fork()
        env.context.set("stage", "after fork")
        return await fiber.join()

    assert await effect(parent).run(clock=controlled_clock) == Ok("before fork")


async def test_with_context_scopes_a_value_to_one_effect(
    controlled_clock: ControlledClock,
) -> None:
    async def read(env: Env) -> object:
        env.context.set("written_inside", True)
        return env.context.get("tenant")

    async def outer(env: Env) -> tuple[object, object, object]:
        inside = await effect(read).with_context("tenant", "acme")
        return inside, env.context.get("tenant"), env.context.get("written_inside")

    assert await effect(outer).run(clock=controlled_clock) == Ok(("acme", None, None))


async def test_with_context_scope_ends_even_when_the_effect_fails(
    controlled_clock: ControlledClock,
) -> None:
    async def fails(env: Env) -> None:
        raise RuntimeError("boom")

    async def outer(env: Env) -> object:
        try:
            await effect(fails).with_context("tenant", "acme")
        except RuntimeError:
            pass
        return env.context.get("tenant")

    assert await effect(outer).run(clock=controlled_clock) == Ok(None)


async def test_branches_of_race_and_gather_write_to_their_own_copies(
    controlled_clock: ControlledClock,
) -> None:
    def branch(name: str, delay: float) -> object:
        async def run(env: Env) -> str:
            seen = str(env.context["shared"])
            env.context.set("shared", name)
            await asyncio.sleep(delay)
            return f"{name} saw {seen}"

        return effect(run)

    async def outer(env: Env) -> tuple[object, object, object]:
        env.context.set("shared", "parent")
        gathered = await gather([branch("a", 1), branch("b", 2)])  # type: ignore[list-item]
        raced = await race([branch("c", 1), branch("d", 2)])  # type: ignore[list-item]
        return gathered, raced, env.context["shared"]

    assert await effect(outer).run(clock=controlled_clock) == Ok(
        (["a saw parent", "b saw parent"], "c saw parent", "parent")
    )


async def test_values_flow_into_a_thread_offload_and_its_writes_stay_there(
    controlled_clock: ControlledClock,
) -> None:
    def blocking_work() -> tuple[str, str]:
        context = current_context()
        seen = str(context["request_id"])
        context.set("request_id", "written in thread")
        return seen, threading.current_thread().name

    async def outer(env: Env) -> tuple[str, bool, object]:
        env.context.set("request_id", "req-9")
        seen, thread_name = await to_thread(blocking_work)
        return (
            seen,
            thread_name != threading.current_thread().name,
            env.context["request_id"],
        )

    assert await effect(outer).run(clock=controlled_clock) == Ok(
        ("req-9", True, "req-9")
    )


async def test_values_flow_into_asyncio_tasks_started_inside(
    controlled_clock: ControlledClock,
) -> None:
    async def background() -> object:
        await asyncio.sleep(1)
        current_context().set("request_id", "written by task")
        return current_context().get("request_id"), current_context().get("origin")

    async def outer(env: Env) -> tuple[object, object]:
        env.context.set("origin", "handler")
        task = asyncio.create_task(background())
        from_task = await task
        return from_task, env.context.get("request_id")

    assert await effect(outer).run(clock=controlled_clock) == Ok(
        (("written by task", "handler"), None)
    )


async def test_a_copied_context_keeps_the_values_later_and_elsewhere(
    controlled_clock: ControlledClock,
) -> None:
    """What the Process primitive relies on: contextvars.copy_context() semantics."""

    async def outer(env: Env) -> contextvars.Context:
        env.context.set("tenant", "acme")
        return contextvars.copy_context()

    result = await effect(outer).run(clock=controlled_clock)
    assert isinstance(result, Ok)
    copied = result.value

    assert copied.run(lambda: current_context().get("tenant")) == "acme"
    with pytest.raises(NoEffectContextError):
        current_context()


async def test_an_effect_awaited_in_a_task_started_inside_inherits_the_clock(
    controlled_clock: ControlledClock,
) -> None:
    other_clock = ControlledClock()

    async def background() -> float:
        sleeper = asyncio.ensure_future(sleep(3).map(lambda _: other_clock.now().mono))
        for _ in range(10):
            await asyncio.sleep(0)
        await other_clock.advance_async(3)
        return await sleeper

    async def outer(env: Env) -> float:
        return await asyncio.create_task(background())

    assert await effect(outer).run(clock=other_clock) == Ok(3.0)


def test_current_context_outside_any_effect_says_what_to_do() -> None:
    with pytest.raises(
        NoEffectContextError,
        match=r"^current_context\(\) was called where no effect is running; start the "
        r"work with run_effect\(fn\) or effect\.run\(\), and start threads with "
        r"phyxius\.effect\.to_thread so the context follows them$",
    ):
        current_context()
    assert issubclass(NoEffectContextError, LookupError)


async def test_a_thread_started_by_hand_has_no_context(
    controlled_clock: ControlledClock,
) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            current_context()
        except NoEffectContextError as error:
            errors.append(error)

    async def outer(env: Env) -> None:
        thread = threading.Thread(target=work)
        thread.start()
        await asyncio.to_thread(thread.join)

    await effect(outer).run(clock=controlled_clock)
    assert len(errors) == 1


async def test_the_context_reads_like_a_mapping(
    controlled_clock: ControlledClock,
) -> None:
    async def read(env: Env) -> dict[str, object]:
        context = env.context
        with pytest.raises(KeyError):
            context["missing"]
        return {
            "get": context.get("a"),
            "default": context.get("missing", "fallback"),
            "contains": "a" in context,
            "keys": sorted(context),
            "len": len(context),
            "dict": context.to_dict(),
            "same": context is current_context(),
        }

    result = await effect(read).run(clock=controlled_clock, context={"a": 1, "b": 2})

    assert result == Ok(
        {
            "get": 1,
            "default": "fallback",
            "contains": True,
            "keys": ["a", "b"],
            "len": 2,
            "dict": {"a": 1, "b": 2},
            "same": True,
        }
    )


async def test_setting_a_bad_key_fails_clearly_and_changes_nothing(
    controlled_clock: ControlledClock,
) -> None:
    async def write(env: Env) -> dict[str, object]:
        with pytest.raises(
            InvalidArgumentError,
            match=r"^key='' \(type=str\) is not a context key; use a non-empty string "
            r"such as 'request_id'$",
        ):
            env.context.set("", "value")
        with pytest.raises(InvalidArgumentError, match=r"^key=3 \(type=int\)"):
            env.context.set(3, "value")  # type: ignore[arg-type]
        return env.context.to_dict()

    assert await effect(write).run(clock=controlled_clock, context={"a": 1}) == Ok(
        {"a": 1}
    )


def test_with_context_rejects_a_bad_key() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^key=None \(type=NoneType\)"):
        succeed(1).with_context(None, "x")  # type: ignore[arg-type]


# -- logging ----------------------------------------------------------------------


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def request_log() -> ListHandler:
    handler = ListHandler()
    handler.addFilter(ContextLogFilter("request_id", "tenant"))
    handler.setFormatter(logging.Formatter("%(request_id)s %(tenant)s %(message)s"))
    logger = logging.getLogger("tests.effect.requests")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield handler
    logger.removeHandler(handler)


async def test_the_log_filter_stamps_context_values_on_records(
    controlled_clock: ControlledClock, request_log: ListHandler
) -> None:
    log = logging.getLogger("tests.effect.requests")

    def log_from_thread() -> None:
        log.info("in a thread")

    async def handle(env: Env) -> None:
        log.info("received")
        env.context.set("tenant", "acme")
        await asyncio.sleep(1)
        log.info("loaded tenant")
        await to_thread(log_from_thread)

    await effect(handle).run(clock=controlled_clock, context={"request_id": "r-42"})
    log.info("outside any effect")

    assert request_log.lines == [
        "r-42 - received",
        "r-42 acme loaded tenant",
        "r-42 acme in a thread",
        "- - outside any effect",
    ]


async def test_the_log_filter_keeps_values_passed_with_extra(
    controlled_clock: ControlledClock, request_log: ListHandler
) -> None:
    log = logging.getLogger("tests.effect.requests")

    async def handle(env: Env) -> None:
        log.info("explicit", extra={"request_id": "from-extra"})

    await effect(handle).run(clock=controlled_clock, context={"request_id": "r-1"})

    assert request_log.lines == ["from-extra - explicit"]


def test_the_log_filter_refuses_keys_that_would_overwrite_the_record() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^key='name' is a standard LogRecord attribute and would be "
        r"overwritten; store the value under another name, such as 'ctx_name'$",
    ):
        ContextLogFilter("request_id", "name")
    with pytest.raises(
        InvalidArgumentError,
        match=r"^ContextLogFilter\(\) got no keys; name the context values to stamp",
    ):
        ContextLogFilter()
    with pytest.raises(InvalidArgumentError, match=r"^key=1 \(type=int\)"):
        ContextLogFilter(1)  # type: ignore[arg-type]


def test_the_log_filter_names_its_keys_and_never_drops_a_record() -> None:
    stamp = ContextLogFilter("request_id", "request_id", "tenant", default=None)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)

    assert stamp.keys == ("request_id", "tenant")
    assert stamp.filter(record) is True
    assert record.request_id is None
