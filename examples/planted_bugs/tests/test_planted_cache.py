"""The read-through cache: plain tests pass; exploring schedules finds a stale fill."""

from __future__ import annotations

import asyncio

from hypothesis import find, given, settings

from examples.planted_bugs import (
    ReadThroughCache,
    read,
    read_while_writing,
    read_while_writing_fixed,
    start_database,
    write,
)
from phyxius.testing import FaultPlan, Schedule, explore, shrink, simulate
from phyxius.testing.strategies import schedules
from pytest_phyxius import SupervisorFixture

FOUND_WITHIN = 20
"""Seeded runs of `read_while_writing` that `explore` needs to find the stale
fill (the README says so; the first failing run is run 7)."""


# -- the plain tests: they pass with the bug in place ---------------------------------


async def test_a_read_fills_the_cache(supervisor: SupervisorFixture) -> None:
    database = await start_database(supervisor)
    cache = ReadThroughCache(versioned=False)
    await write(cache, database, "price", 100)

    assert await read(cache, database, "price") == 100
    assert cache.entries == {"price": (100, 1)}


async def test_a_write_invalidates_what_a_read_filled(
    supervisor: SupervisorFixture,
) -> None:
    database = await start_database(supervisor)
    cache = ReadThroughCache(versioned=False)
    await write(cache, database, "price", 100)
    await read(cache, database, "price")

    await write(cache, database, "price", 120)

    assert cache.entries == {}
    assert await read(cache, database, "price") == 120


async def test_a_read_and_a_write_at_once_leave_no_stale_value(
    supervisor: SupervisorFixture,
) -> None:
    database = await start_database(supervisor)
    cache = ReadThroughCache(versioned=False)
    await write(cache, database, "price", 100)

    await asyncio.gather(
        read(cache, database, "price"), write(cache, database, "price", 120)
    )

    assert cache.entries.get("price") in (None, (120, 2))


# -- the simulation finds the bug, and shrinks it --------------------------------------


def test_exploring_schedules_finds_the_stale_fill() -> None:
    assert simulate(read_while_writing).ok

    exploration = explore(read_while_writing, runs=FOUND_WITHIN, check=False)

    assert exploration.failure is not None
    assert exploration.failure.plan == FaultPlan()
    assert str(exploration.failure.error).startswith(
        "the cache holds (100, 1), the database (120, 2)"
    )


def test_the_failure_shrinks_to_one_reordering() -> None:
    exploration = explore(read_while_writing, runs=FOUND_WITHIN, check=False)
    assert exploration.failure is not None

    smallest = shrink(read_while_writing, exploration.failure)

    assert smallest.scripted is not None
    assert smallest.scripted.reorders == 1
    assert smallest.reorders == 1


def test_hypothesis_finds_one_reordering_too() -> None:
    def stale(schedule: Schedule) -> bool:
        return not simulate(read_while_writing, schedule=schedule, check=False).ok

    smallest = find(
        schedules(),
        stale,
        settings=settings(database=None, derandomize=True, max_examples=500),
    )

    assert smallest.reorders == 1


# -- the fix holds under the same exploration ------------------------------------------


def test_the_versioned_cache_survives_every_explored_schedule() -> None:
    exploration = explore(read_while_writing_fixed, runs=500)

    assert exploration.failure is None


@given(schedules(max_picks=32, max_pick=6))
@settings(max_examples=200, database=None)
def test_the_versioned_cache_survives_any_schedule(schedule: Schedule) -> None:
    assert simulate(read_while_writing_fixed, schedule=schedule).ok
