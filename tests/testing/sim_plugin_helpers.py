"""What the simulation's pytester tests share: a racy test module and a runner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PLUGINS_OFF = tuple(
    option
    for plugin in (
        "cacheprovider",
        "asyncio",
        "anyio",
        "looptime_plugin",
        "looptime_timeproxies",
        "syrupy",
        "time_machine",
    )
    for option in ("-p", f"no:{plugin}")
)

DIST = [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="xdist")]
"""Parametrize a scenario over: one process, and two pytest-xdist workers."""

RACE = """
import asyncio

import pytest


def note_seed(request):
    # Each test writes its node id and its loop's seed, so that the outer
    # test can compare seeds across processes and runs.
    scheduler = asyncio.get_running_loop().scheduler
    seed = None if scheduler is None else scheduler.seed
    with open("seeds.txt", "a") as file:
        file.write(f"{request.node.nodeid} {seed}\\n")


async def test_handoff(controlled_clock, request):
    note_seed(request)
    box = []

    async def producer():
        await asyncio.sleep(0)
        box.append("item")

    async def consumer():
        await asyncio.sleep(0)
        assert box, "the consumer ran before the producer"

    await asyncio.gather(producer(), consumer())


@pytest.mark.parametrize("n", [1, 2])
async def test_param(controlled_clock, request, n):
    note_seed(request)


@pytest.mark.phyxius(seed=3)
async def test_pinned(controlled_clock, request):
    note_seed(request)


async def test_plain(controlled_clock, request):
    note_seed(request)


def test_sync():
    pass
"""
"""A module with a race in ``test_handoff`` that first-in, first-out order hides."""


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest on the pytester project with only the plugins that matter."""
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        """
    )
    return pytester.runpytest(*PLUGINS_OFF, "--tb=short", *args)


def seeds_seen(pytester: pytest.Pytester) -> dict[str, int | None]:
    """What each test of `RACE` wrote: its node id and its seed."""
    seen: dict[str, int | None] = {}
    path = Path(pytester.path / "seeds.txt")
    for line in path.read_text().splitlines():
        node, seed = line.rsplit(" ", 1)
        seen[node] = None if seed == "None" else int(seed)
    return seen


def failed_ids(result: pytest.RunResult) -> set[str]:
    """The node ids of the failed tests, from the short summary."""
    return set(re.findall(r"^FAILED (\S+)", result.stdout.str(), re.M))
