"""wait_for: wake on the first committed value that satisfies a predicate."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.atom import Atom, AtomTimeoutError, create_atom
from phyxius.clock import ControlledClock, VirtualTimeEventLoop
from pytest_phyxius import AtomFactory


async def test_returns_at_once_when_the_value_already_satisfies(
    atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    ready = atom("ready")

    assert await ready.wait_for(lambda value: value == "ready", timeout=5) == "ready"
    assert controlled_clock.now().mono == 0


async def test_wakes_when_another_task_writes(
    atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    status = atom("starting")

    async def start() -> None:
        await asyncio.sleep(30)
        status.set("running")

    task = asyncio.create_task(start())
    assert await status.wait_for(lambda value: value == "running", timeout=60) == (
        "running"
    )
    await task
    assert controlled_clock.now().mono == 30


async def test_a_timeout_passes_on_the_atoms_clock_without_real_time(
    atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    jobs = atom(3, name="jobs")

    with pytest.raises(
        AtomTimeoutError,
        match=r"^atom 'jobs' did not satisfy .*<lambda> within 3600s on its clock; "
        r"its value is 3 at version 0\. Allow more time, or check the code that "
        r"should have written it$",
    ):
        await jobs.wait_for(lambda value: value == 0, timeout=3600)

    assert controlled_clock.now().mono == 3600


async def test_a_timedelta_timeout_works(
    atom: AtomFactory, controlled_clock: ControlledClock
) -> None:
    flag = atom(False)

    with pytest.raises(TimeoutError):
        await flag.wait_for(bool, timeout=timedelta(minutes=2))
    assert controlled_clock.now().mono == 120


async def test_returns_the_first_accepted_value_even_if_replaced_since(
    atom: AtomFactory,
) -> None:
    level = atom(0)

    async def spike() -> None:
        await asyncio.sleep(1)
        level.set(9)
        level.set(0)

    task = asyncio.create_task(spike())
    assert await level.wait_for(lambda value: value > 5, timeout=10) == 9
    await task
    assert level.get() == 0


async def test_waits_without_limit_when_timeout_is_none(atom: AtomFactory) -> None:
    count = atom(0)

    async def count_up() -> None:
        for _ in range(5):
            await asyncio.sleep(100)
            count.update(lambda n: n + 1)

    task = asyncio.create_task(count_up())
    assert await count.wait_for(lambda n: n == 5) == 5
    await task


async def test_a_write_from_an_executor_thread_wakes_the_wait(
    atom: AtomFactory,
) -> None:
    done = atom(False)

    def work() -> None:
        done.set(True)

    writer = asyncio.get_running_loop().run_in_executor(None, work)
    assert await done.wait_for(bool, timeout=5) is True
    await writer


async def test_a_write_from_a_thread_the_loop_cannot_see_wakes_the_wait(
    atom: AtomFactory,
) -> None:
    counter = atom(0)
    go = threading.Event()

    def work() -> None:
        go.wait()
        for _ in range(100):
            counter.update(lambda n: n + 1)

    thread = threading.Thread(target=work)
    thread.start()
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    try:
        with loop.real_work():
            go.set()
            assert await counter.wait_for(lambda n: n >= 100, timeout=5) == 100
    finally:
        thread.join()


async def test_an_exception_from_the_predicate_is_raised_by_the_wait(
    atom: AtomFactory,
) -> None:
    data = atom({"ok": 1})

    async def corrupt() -> None:
        await asyncio.sleep(1)
        data.set({})

    task = asyncio.create_task(corrupt())
    with pytest.raises(KeyError, match=r"^'ok'$"):
        await data.wait_for(lambda value: value["ok"] == 2, timeout=10)
    await task


async def test_an_exception_from_the_predicate_on_the_current_value_is_raised(
    atom: AtomFactory,
) -> None:
    data: Atom[Any] = atom(None)

    with pytest.raises(TypeError):
        await data.wait_for(lambda value: value + 1, timeout=1)
    data.set(1)
    assert data.version == 1


async def test_the_wait_leaves_no_watcher_behind(atom: AtomFactory) -> None:
    value = atom(0)
    with pytest.raises(AtomTimeoutError):
        await value.wait_for(lambda n: n > 0, timeout=1)
    assert await value.wait_for(lambda n: n == 0, timeout=1) == 0

    waiting = asyncio.create_task(value.wait_for(lambda n: n > 0))
    await asyncio.sleep(1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert value._outbox.watchers == ()
    assert value._listening is False


async def test_several_waiters_wake_on_their_own_values(atom: AtomFactory) -> None:
    progress = atom(0)
    woken: list[int] = []

    async def wait_until(target: int) -> None:
        woken.append(await progress.wait_for(lambda n: n >= target, timeout=100))

    waiters = [asyncio.create_task(wait_until(t)) for t in (3, 1, 2)]
    for _ in range(3):
        await asyncio.sleep(1)
        progress.update(lambda n: n + 1)
    await asyncio.gather(*waiters)

    assert sorted(woken) == [1, 2, 3]


async def test_bad_arguments_raise_before_waiting(atom: AtomFactory) -> None:
    value = atom(0)

    with pytest.raises(
        InvalidArgumentError,
        match=r"^predicate=3 \(type=int\) is not callable; pass a function that "
        r"takes the value and returns a bool$",
    ):
        await value.wait_for(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidDurationError, match=r"^timeout=-1 is negative"):
        await value.wait_for(bool, timeout=-1)

    assert value._outbox.watchers == ()


def test_wait_for_on_the_system_clock_with_real_threads() -> None:
    flag = create_atom(False)

    async def main() -> bool:
        def later() -> None:
            flag.set(True)

        timer = threading.Timer(0.01, later)
        timer.start()
        try:
            return await flag.wait_for(bool, timeout=30)
        finally:
            timer.join()

    assert asyncio.run(main()) is True


def test_a_system_clock_timeout_raises_atom_timeout_error() -> None:
    never = create_atom(0, name="never")

    async def main() -> None:
        await never.wait_for(lambda n: n == 1, timeout=0.01)

    with pytest.raises(AtomTimeoutError, match=r"^atom 'never' did not satisfy"):
        asyncio.run(main())


async def test_the_predicate_is_not_consulted_after_it_accepted_a_value(
    atom: AtomFactory, caplog: pytest.LogCaptureFixture
) -> None:
    value = atom(0)
    calls: list[int] = []

    def odd_then_broken(n: int) -> bool:
        calls.append(n)
        if n == 2:
            raise ArithmeticError("cannot judge 2")
        return n == 1

    async def writes() -> None:
        await asyncio.sleep(1)
        value.set(1)
        value.set(2)

    task = asyncio.create_task(writes())
    assert await value.wait_for(odd_then_broken, timeout=5) == 1
    await task
    await asyncio.sleep(0)

    assert calls == [0, 1]
    assert "never retrieved" not in caplog.text
