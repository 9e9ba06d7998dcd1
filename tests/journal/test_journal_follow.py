"""follow(): catch up on stored entries, then stream new ones live."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from phyxius import ControlledClock, InvalidArgumentError
from phyxius.clock import SystemClock
from phyxius.journal import (
    Entry,
    EntryNotFoundError,
    Journal,
    SqliteStore,
    create_journal,
)

MakeJournal = Callable[..., Journal]


async def collect(journal: Journal, count: int, start: int | None = None) -> list[int]:
    """The sequences of the first ``count`` entries ``follow(start)`` yields."""
    seen: list[int] = []
    async with contextlib.aclosing(journal.follow(start)) as entries:
        async for entry in entries:
            seen.append(entry.sequence)
            if len(seen) == count:
                break
    return seen


async def test_follow_catches_up_then_goes_live(
    make_journal: MakeJournal, controlled_clock: ControlledClock
) -> None:
    journal = make_journal()
    journal.extend(["a", "b", "c"])
    follower = asyncio.create_task(collect(journal, 6))

    await asyncio.sleep(1)
    journal.append("d")
    await asyncio.sleep(1)
    journal.extend(["e", "f"])

    assert await follower == [0, 1, 2, 3, 4, 5]


async def test_a_live_entry_reaches_the_follower_at_once(journal: Journal) -> None:
    received: list[tuple[str, float]] = []
    clock = journal.clock

    async def follow() -> None:
        async for entry in journal.follow():
            received.append((entry.data, clock.now().mono))
            return

    task = asyncio.create_task(follow())
    await asyncio.sleep(5)
    journal.append("now")
    await task

    assert received == [("now", 5.0)]


async def test_follow_from_a_given_sequence(make_journal: MakeJournal) -> None:
    journal = make_journal()
    journal.extend(range(5))

    assert await collect(journal, 2, start=3) == [3, 4]


async def test_follow_from_a_future_sequence_waits_for_it(journal: Journal) -> None:
    follower = asyncio.create_task(collect(journal, 1, start=2))
    for n in range(3):
        await asyncio.sleep(1)
        journal.append(n)

    assert await follower == [2]


async def test_follow_without_start_begins_at_the_first_retained_entry(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")
    journal.extend(range(5))

    assert await collect(journal, 2) == [3, 4]


async def test_follow_from_a_dropped_sequence_raises(make_journal: MakeJournal) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")
    journal.extend(range(5))

    with pytest.raises(
        EntryNotFoundError,
        match=r"^journal 'default': follow needs entry 1 but retention dropped "
        r"entries up to 2 before it was read; follow from journal.first_sequence "
        r"\(3\) or keep more entries \(max_entries\)$",
    ):
        await collect(journal, 1, start=1)


async def test_a_follower_that_falls_behind_retention_raises(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal(max_entries=2, overflow="drop_oldest")
    journal.append("a")
    follower = journal.follow()

    first = await anext(follower)
    journal.extend(["b", "c", "d"])

    assert first.sequence == 0
    with pytest.raises(
        EntryNotFoundError,
        match=r"^journal 'default': follow needs entry 1 but retention dropped "
        r"entries up to 1 before it was read; follow from journal\.first_sequence "
        r"\(2\) or keep more entries \(max_entries\)$",
    ):
        await anext(follower)


async def test_closing_the_journal_ends_its_followers(journal: Journal) -> None:
    journal.append("a")
    seen: list[Entry] = []

    async def follow() -> None:
        async for entry in journal.follow():
            seen.append(entry)

    task = asyncio.create_task(follow())
    await asyncio.sleep(1)
    journal.close()
    await task

    assert [entry.data for entry in seen] == ["a"]


async def test_follow_refuses_a_bad_start(journal: Journal) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^start=-1 is negative"):
        await anext(journal.follow(-1))


async def test_many_followers_each_see_every_entry(journal: Journal) -> None:
    followers = [asyncio.create_task(collect(journal, 3)) for _ in range(5)]
    await asyncio.sleep(0)
    journal.extend(["a", "b"])
    await asyncio.sleep(1)
    journal.append("c")

    assert await asyncio.gather(*followers) == [[0, 1, 2]] * 5


def test_an_append_from_another_thread_wakes_a_follower() -> None:
    journal = create_journal(clock=SystemClock())

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        follower = asyncio.create_task(collect(journal, 3))
        await asyncio.sleep(0.01)
        await loop.run_in_executor(None, journal.extend, ["a", "b", "c"])
        async with asyncio.timeout(10):
            return await follower

    assert asyncio.run(main()) == [0, 1, 2]


def _append_later(path: str, count: int) -> None:
    # Runs in a child process.
    time.sleep(0.2)
    with SqliteStore(path) as store:
        journal = create_journal(store, name="shared")
        for n in range(count):
            journal.append({"from": "child", "n": n})
            time.sleep(0.01)


def test_follow_on_sqlite_sees_entries_appended_by_another_process(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.sqlite3")
    store = SqliteStore(path, poll_interval=0.02)
    journal = create_journal(store, name="shared", clock=SystemClock())
    journal.append({"from": "parent"})
    child = multiprocessing.get_context("spawn").Process(
        target=_append_later, args=(path, 3)
    )

    async def main() -> list[Entry]:
        seen = []
        async with asyncio.timeout(30):
            async for entry in journal.follow():
                seen.append(entry)
                if len(seen) == 4:
                    return seen
        raise AssertionError("follow ended early")

    child.start()
    try:
        seen = asyncio.run(main())
    finally:
        child.join(30)
        store.close()

    assert child.exitcode == 0
    assert [entry.sequence for entry in seen] == [0, 1, 2, 3]
    assert [entry.data["from"] for entry in seen] == ["parent"] + ["child"] * 3


async def test_follow_on_sqlite_polls_on_the_journal_clock(
    controlled_clock: ControlledClock, tmp_path: Path
) -> None:
    path = tmp_path / "polled.sqlite3"
    with SqliteStore(path, poll_interval=2.0) as reader_store:
        journal = create_journal(reader_store, clock=controlled_clock)
        # A second store on the same file: its appends reach `journal` only by
        # polling, as another process's would.
        with SqliteStore(path) as writer_store:
            writer = create_journal(writer_store)
            follower = asyncio.create_task(collect(journal, 1))
            await asyncio.sleep(0)
            writer.append("elsewhere")
            assert await follower == [0]

    # The follower found it at its first poll, 2 s of virtual time later.
    assert controlled_clock.now().mono == 2.0
