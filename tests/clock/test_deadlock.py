"""Deadlock detection, and the real work that must never be mistaken for one."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator

import pytest

from phyxius.clock import (
    BlockedTask,
    ControlledClock,
    DeadlockError,
    VirtualTimeEventLoop,
    run,
)

SECOND = 1_000_000_000


def line_of(marker: str) -> int:
    """The line number in this file of the line containing ``marker``."""
    lines, _ = inspect.findsource(sys.modules[__name__])
    return next(n for n, line in enumerate(lines, 1) if marker in line)


def running_loop() -> VirtualTimeEventLoop:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    return loop


# -- the error ------------------------------------------------------------------


async def consumer(queue: asyncio.Queue[int]) -> None:
    await queue.get()  # consumer waits here


async def waiter(event: asyncio.Event) -> None:
    await event.wait()  # waiter waits here


def test_the_error_lists_every_blocked_task_and_the_line_where_it_waits() -> None:
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        event = asyncio.Event()
        tasks = [
            asyncio.create_task(consumer(queue), name="consumer"),
            asyncio.create_task(waiter(event), name="waiter"),
        ]
        await asyncio.gather(*tasks)  # main waits here

    with pytest.raises(DeadlockError) as caught:
        run(main())

    blocked = {
        "main" if entry.name.startswith("Task-") else entry.name: entry
        for entry in caught.value.blocked
    }
    assert set(blocked) == {"main", "consumer", "waiter"}
    assert blocked["consumer"].lineno == line_of("# consumer waits here")
    assert blocked["consumer"].function == "consumer"
    assert blocked["consumer"].source == "await queue.get()  # consumer waits here"
    assert blocked["consumer"].inside == "asyncio.queues.Queue.get"
    assert blocked["waiter"].lineno == line_of("# waiter waits here")
    assert blocked["waiter"].inside == "asyncio.locks.Event.wait"
    assert blocked["main"].lineno == line_of("# main waits here")
    assert blocked["main"].function.endswith("main")
    assert blocked["main"].filename == __file__


def test_the_error_message_says_what_happened_where_and_what_to_do() -> None:
    async def main() -> None:
        event = asyncio.Event()
        await event.wait()  # the only wait

    with pytest.raises(DeadlockError) as caught:
        run(main())

    where = f"tests/clock/test_deadlock.py:{line_of('# the only wait')}"
    expected = "\n".join(
        [
            r"deadlock: 1 task\(s\) blocked and nothing can wake them: no timer is "
            r"pending, and no thread, subprocess or socket is in flight\.",
            rf"  task 'Task-\d+' waits at {where} in test_the_error_message_says_"
            r"what_happened_where_and_what_to_do\.<locals>\.main: await "
            r"event\.wait\(\)  # the only wait  \(inside asyncio\.locks\.Event\.wait\)",
            r"Every awaited future must be completed by a task, a timer, an "
            r"executor job \(run_in_executor, to_thread\), a subprocess or socket "
            r"I/O; wrap a wait on work the loop cannot see \(a thread you started, "
            r"another library's worker\) in `with loop\.real_work\(\):`\.",
        ]
    )
    assert re.fullmatch(expected, str(caught.value))


def test_the_error_is_raised_at_the_await_where_each_task_waits() -> None:
    cleaned_up: list[str] = []

    async def main() -> None:
        try:
            await asyncio.Event().wait()  # raised here
        finally:
            cleaned_up.append("finally ran")

    with pytest.raises(DeadlockError) as caught:
        run(main())

    frames = traceback.extract_tb(caught.value.__traceback__)
    assert any(
        frame.filename == __file__ and frame.lineno == line_of("# raised here")
        for frame in frames
    )
    assert cleaned_up == ["finally ran"]


def test_background_tasks_failed_by_the_deadlock_are_not_reported_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        background = asyncio.create_task(waiter(asyncio.Event()), name="background")
        await asyncio.Event().wait()
        await background

    with pytest.raises(DeadlockError, match=r"task 'background' waits at"):
        run(main())
    gc.collect()
    assert "never retrieved" not in caplog.text


def test_a_deadlock_in_manual_mode_names_the_pending_timer() -> None:
    async def main() -> None:
        await asyncio.sleep(5)

    with pytest.raises(
        DeadlockError,
        match=r"^deadlock: 1 task\(s\) blocked and nothing can wake them: autojump "
        r"is off, so time moves only when the test advances the clock \(next timer "
        r"due at monotonic 5s\), and no thread",
    ):
        run(main(), autojump=False)


def test_a_future_no_task_will_complete_gets_the_error_from_the_loop() -> None:
    # No task waits, so there is no await to raise it at.
    loop = VirtualTimeEventLoop()
    try:
        with pytest.raises(
            DeadlockError,
            match=r"^deadlock: no task can run and nothing can complete the "
            r"future the loop runs until: no timer is pending",
        ):
            loop.run_until_complete(loop.create_future())
    finally:
        loop.close()


def test_a_deadlock_swallowed_and_repeated_is_raised_from_the_loop() -> None:
    attempts: list[int] = []

    async def main() -> None:
        event = asyncio.Event()
        while True:
            try:
                await event.wait()
            except DeadlockError:
                attempts.append(1)  # swallowed, then waits again

    with pytest.raises(DeadlockError, match=r"^deadlock: 1 task\(s\) blocked"):
        run(main())
    assert attempts == [1]


def test_a_listening_server_alone_is_not_real_work() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        async with server:
            await asyncio.Event().wait()

    with pytest.raises(
        DeadlockError, match=r"\(1 listening socket\(s\) open: a server waiting"
    ):
        run(main())


# -- real work: no deadlock, no jumping past it --------------------------------------


def test_a_50ms_thread_job_finishes_before_a_1s_virtual_timeout() -> None:
    clock = ControlledClock()

    async def main() -> str:
        return await asyncio.wait_for(asyncio.to_thread(_slow_job, 0.05), timeout=1)

    assert run(main(), clock=clock) == "finished after 0.05 real seconds"
    assert clock.monotonic_ns() == 0


def _slow_job(seconds: float) -> str:
    time.sleep(seconds)
    return f"finished after {seconds} real seconds"


def test_no_deadlock_while_waiting_on_to_thread() -> None:
    async def main() -> str:
        return await asyncio.to_thread(_slow_job, 0.02)

    assert run(main()) == "finished after 0.02 real seconds"


def test_no_deadlock_while_waiting_on_run_in_executor_with_a_custom_executor() -> None:
    clock = ControlledClock()

    async def main() -> str:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            job = loop.run_in_executor(pool, _slow_job, 0.02)
            return await asyncio.wait_for(job, timeout=0.5)

    assert run(main(), clock=clock) == "finished after 0.02 real seconds"
    assert clock.monotonic_ns() == 0


def test_virtual_time_resumes_once_the_thread_job_is_done() -> None:
    clock = ControlledClock()

    async def main() -> None:
        await asyncio.gather(asyncio.to_thread(_slow_job, 0.02), asyncio.sleep(3600))

    run(main(), clock=clock)
    assert clock.monotonic_ns() == 3600 * SECOND


def test_no_deadlock_while_waiting_on_a_subprocess() -> None:
    clock = ControlledClock()
    script = "import time; time.sleep(0.1); print('from the child')"

    async def main() -> bytes:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=1)
        return output

    assert run(main(), clock=clock) == b"from the child\n"
    assert clock.monotonic_ns() == 0


def test_no_deadlock_while_waiting_for_a_subprocess_to_exit() -> None:
    clock = ControlledClock()

    async def main() -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(0.1)"
        )
        return await asyncio.wait_for(process.wait(), timeout=1)

    assert run(main(), clock=clock) == 0
    assert clock.monotonic_ns() == 0


def test_a_background_subprocess_without_pipes_does_not_stop_time() -> None:
    clock = ControlledClock()

    async def main() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(30)"
        )
        try:
            await asyncio.sleep(3600)
        finally:
            process.kill()
            await process.wait()

    run(main(), clock=clock)
    assert clock.monotonic_ns() == 3600 * SECOND


@pytest.fixture
def peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected socket pair: (ours, the peer's, driven by a plain thread)."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def _answer_after(sock: socket.socket, seconds: float) -> threading.Thread:
    # A thread the loop does not know about, as another process would be.
    def answer() -> None:
        time.sleep(seconds)
        sock.sendall(b"pong")

    thread = threading.Thread(target=answer)
    thread.start()
    return thread


def test_no_deadlock_while_waiting_on_a_socket(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection(sock=ours)
        thread = _answer_after(theirs, 0.05)
        try:
            return await reader.readexactly(4)
        finally:
            writer.close()
            thread.join()

    assert run(main()) == b"pong"


def test_socket_io_within_the_grace_period_beats_a_virtual_timeout(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer
    clock = ControlledClock()

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection(sock=ours)
        thread = _answer_after(theirs, 0.02)
        try:
            return await asyncio.wait_for(reader.readexactly(4), timeout=1)
        finally:
            writer.close()
            thread.join()

    assert run(main(), clock=clock, io_grace=30) == b"pong"
    assert clock.monotonic_ns() == 0


def test_time_jumps_once_a_silent_socket_has_had_its_grace_period(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = peer
    clock = ControlledClock()

    async def main() -> None:
        reader, writer = await asyncio.open_connection(sock=ours)
        try:
            await asyncio.wait_for(reader.read(4), timeout=10)
        finally:
            writer.close()

    with pytest.raises(TimeoutError):
        run(main(), clock=clock, io_grace=0)
    assert clock.monotonic_ns() == 10 * SECOND


def test_real_work_keeps_time_still_until_a_thread_of_your_own_answers() -> None:
    clock = ControlledClock()

    async def main() -> str:
        loop = running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def work() -> None:
            time.sleep(0.05)
            loop.call_soon_threadsafe(answer.set_result, "answered")

        thread = threading.Thread(target=work)
        with loop.real_work():
            thread.start()
            result = await asyncio.wait_for(answer, timeout=1)
        thread.join()
        return result

    assert run(main(), clock=clock) == "answered"
    assert clock.monotonic_ns() == 0


def test_a_blocked_task_record_describes_itself() -> None:
    entry = BlockedTask("worker", None, None, None, "", None)
    assert entry.location == "<unknown location>"
    assert entry.describe() == "task 'worker' waits at <unknown location>"
