"""Properties: message order, the intensity window against a model, back-off bounds."""

from __future__ import annotations

import asyncio
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from phyxius.clock import ControlledClock, run
from phyxius.process import (
    Backoff,
    ProcessSpec,
    SupervisorFailedError,
    Tools,
    create_supervisor,
)
from phyxius.process._spec import Backoff as _Backoff

SECOND = 1_000_000_000

operations = st.lists(
    st.tuples(st.sampled_from(["send", "ask"]), st.integers()), max_size=60
)


@given(operations)
@settings(max_examples=60, deadline=None)
def test_every_message_is_handled_once_in_arrival_order(
    ops: list[tuple[str, int]],
) -> None:
    seen: list[int] = []

    async def handle(state: None, msg: int, tools: Tools) -> None:
        if msg % 3 == 0:
            await asyncio.sleep(0.5)
        seen.append(msg)
        tools.reply(len(seen))

    async def main() -> list[int]:
        async with create_supervisor(clock=clock) as supervisor:
            ref = await supervisor.spawn(ProcessSpec(handle=handle))
            asks = []
            for kind, value in ops:
                if kind == "send":
                    ref.send(value)
                else:
                    asks.append(asyncio.ensure_future(ref.ask(value, timeout=None)))
            answers = [await ask for ask in asks]
            await ref.ask(0, timeout=None)
            return answers

    clock = ControlledClock()
    answers = run(main(), clock=clock)

    expected = [value for _, value in ops]
    assert seen == [*expected, 0]
    ask_positions = [i + 1 for i, (kind, _) in enumerate(ops) if kind == "ask"]
    assert answers == ask_positions


def model_give_up(
    crashes_ms: list[int], max_restarts: int, within_ms: int
) -> int | None:
    """The index of the crash that makes the supervisor give up, per OTP's rule."""
    restarts: list[int] = []
    for index, at in enumerate(crashes_ms):
        restarts = [t for t in [*restarts, at] if at - t <= within_ms]
        if len(restarts) > max_restarts:
            return index
    return None


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3_000), min_size=1, max_size=12),
    max_restarts=st.integers(min_value=0, max_value=4),
    within_ms=st.integers(min_value=1, max_value=5_000),
)
@settings(max_examples=60, deadline=None)
def test_the_supervisor_gives_up_exactly_when_the_sliding_window_model_says(
    gaps: list[int], max_restarts: int, within_ms: int
) -> None:
    crashes_ms = []
    total = 0
    for gap in gaps:
        total += gap
        crashes_ms.append(total)
    expected = model_give_up(crashes_ms, max_restarts, within_ms)

    def boom(state: None, msg: str, tools: Tools) -> None:
        raise RuntimeError("boom")

    async def main() -> tuple[int | None, int | None]:
        gave_up_at: list[int] = []
        supervisor = create_supervisor(
            clock=clock,
            max_restarts=max_restarts,
            within=within_ms / 1000,
            emit=lambda e: (
                gave_up_at.append(e.at.mono_ns) if e.type == "process.gave_up" else None
            ),
        )
        ref = await supervisor.spawn(ProcessSpec(handle=boom), name="w")
        for index, at in enumerate(crashes_ms):
            await clock.advance_to_async(at / 1000)
            ref.send("boom")
            while ref.restarts < index + 1 and not gave_up_at:
                await asyncio.sleep(0)
            if gave_up_at:
                try:
                    await supervisor.wait()
                except SupervisorFailedError:
                    return index, gave_up_at[0]
        await supervisor.shutdown()
        return None, None

    clock = ControlledClock()
    index, at_ns = run(main(), clock=clock, autojump=False)

    assert index == expected
    if expected is not None:
        assert at_ns == crashes_ms[expected] * 1_000_000


@given(
    initial_ms=st.integers(min_value=1, max_value=10_000),
    factor=st.floats(min_value=1, max_value=4),
    jitter=st.floats(min_value=0, max_value=1),
    cap_factor=st.integers(min_value=1, max_value=100),
    seed=st.integers(),
)
def test_backoff_delays_stay_within_their_jitter_band_and_the_cap(
    initial_ms: int, factor: float, jitter: float, cap_factor: int, seed: int
) -> None:
    backoff = Backoff(
        initial=initial_ms / 1000,
        maximum=initial_ms * cap_factor / 1000,
        factor=factor,
        jitter=jitter,
    )
    first = Random(seed)
    second = Random(seed)

    for attempt in range(1, 15):
        delay = backoff.delay_ns(attempt, first)
        base = min(initial_ms * cap_factor, initial_ms * factor ** (attempt - 1))
        base_ns = base * 1_000_000
        assert delay <= initial_ms * cap_factor * 1_000_000
        assert base_ns * (1 - jitter) - 1 <= delay <= base_ns * (1 + jitter) + 1
        assert delay == backoff.delay_ns(attempt, second)


def test_backoff_without_jitter_draws_nothing_from_the_generator() -> None:
    generator = Random(1)
    state = generator.getstate()

    delays = [_Backoff(initial=0.5, jitter=0).delay_ns(n, generator) for n in (1, 2, 3)]

    assert delays == [500_000_000, SECOND, 2 * SECOND]
    assert generator.getstate() == state
