"""Simulation in pytest: ``--phyxius-seed``, ``--phyxius-runs``, ``simulation``.

Which tests it concerns: ``async def`` tests that run on the virtual-time loop
(their fixture closure holds ``controlled_clock``) and every test that uses
the ``simulation`` fixture. For those:

* ``--phyxius-runs=N`` runs each such test N times, as N items whose ids end
  in ``phyxius-run-1`` ... ``phyxius-run-N``. Run k's seed is
  ``phyxius.testing.derive_seed(node id without the run part, k)``: it
  depends on the test and the run number only, never on the pytest-xdist
  worker. A test whose ``phyxius`` marker pins a ``seed`` keeps it and runs
  once.
* ``--phyxius-seed=N`` runs each such test once with seed N: the replay of
  one run. It wins over the marker's ``seed``. Other tests (plain ``def``
  tests, async tests off the virtual-time loop) keep their own seed: the
  option replays schedules, and they have none.
* Otherwise the marker's ``seed=`` applies, and with no seed anywhere the
  loop keeps plain first-in, first-out order (no scheduler at all).

The seed of a run drives the loop's `SeededScheduler`, the fault plan the
``simulation`` fixture draws from a `FaultSpace`, and, through
``phyxius_settings.seed``, the jitter of the ``supervisor`` fixture, so
``--phyxius-seed`` replays a run exactly. The ids of the ``journal`` fixtures
stay the test's own (see `own_settings`): every run of a test, and its
replay, hands out the same ids, so each compares with the test's journal
snapshots.

Under ``--phyxius-runs`` or ``--phyxius-seed`` a test runs under a schedule
other than its own: `explored_run` says so, and ``journal_snapshot`` then
compares with the snapshots of the test itself (`base_nodeid`) and never
writes, updates or removes them. ``--phyxius-update`` is therefore refused
with either option: it would record a journal of an arbitrary seed.

A failing run's report gets a ``phyxius simulation`` section with the seed,
the faults and the one command that replays it; the terminal summary lists
those commands again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Final, Literal

import pytest

from phyxius.clock import ControlledClock
from phyxius.testing import (
    SeededScheduler,
    SimulationScheduler,
    SimulationUsageError,
    World,
    derive_seed,
)
from pytest_phyxius._settings import Settings, settings_for

__all__ = [
    "SimulationRun",
    "base_nodeid",
    "explored_run",
    "is_explored",
    "is_simulated",
    "own_settings",
    "phyxius_run",
    "plain_run_command",
    "pytest_addoption_simulation",
    "pytest_configure_simulation",
    "pytest_generate_tests_simulation",
    "pytest_pyfunc_call_simulation",
    "pytest_report_header_simulation",
    "pytest_runtest_makereport_simulation",
    "pytest_terminal_summary_simulation",
    "scheduler_for",
    "settings_with_run_seed",
    "simulation",
    "simulation_run",
]

SECTION: Final = "phyxius simulation"
"""The title of the report section a failing simulated run gets."""

_REPLAY_PROPERTY: Final = "phyxius_replay"
_RUN_FIXTURE: Final = "phyxius_run"

# pytest makes one item per run and builds them all before the first test
# starts: a mistyped count of 10**20 would fill the memory and never start.
_MAX_RUNS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class _Options:
    seed: int | None
    runs: int | None


@dataclass(frozen=True, slots=True)
class SimulationRun:
    """Which seeded run a test item is, and where its seed came from."""

    seed: int | None
    """The seed, or None: first-in, first-out order and the plain ids."""

    source: Literal["option", "runs", "marker"] | None
    """``--phyxius-seed``, ``--phyxius-runs``, the marker, or None."""

    key: str
    """The test's node id without the run part: what the seed derives from."""

    run: int | None
    """The run number under ``--phyxius-runs`` (1 is the first), or None."""

    runs: int | None
    """The number of runs under ``--phyxius-runs``, or None."""


_options_key: Final = pytest.StashKey[_Options]()
_run_key: Final = pytest.StashKey[SimulationRun]()
_scheduler_key: Final = pytest.StashKey[SimulationScheduler | None]()
_world_key: Final = pytest.StashKey[World]()


# -- options ------------------------------------------------------------------------


@pytest.hookimpl(specname="pytest_addoption")
def pytest_addoption_simulation(parser: pytest.Parser) -> None:
    """Register ``--phyxius-seed`` and ``--phyxius-runs``."""
    group = parser.getgroup("phyxius", "Phyxius")
    group.addoption(
        "--phyxius-seed",
        dest="phyxius_seed",
        default=None,
        metavar="N",
        help="simulation: run each async Phyxius test (and each test using the "
        "simulation fixture) once with seed N, replaying that run: the "
        "scheduling order, the fault plan, ids and jitter",
    )
    group.addoption(
        "--phyxius-runs",
        dest="phyxius_runs",
        default=None,
        metavar="N",
        help="simulation: run each async Phyxius test (and each test using the "
        "simulation fixture) N times, each with its own seed derived from the "
        "test id and the run number",
    )


def _parse(value: object, option: str, minimum: int, what: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise pytest.UsageError(
            f"{option}={value!r} is not {what}; pass an integer, {minimum} or more"
        )
    return number


@pytest.hookimpl(specname="pytest_configure")
def pytest_configure_simulation(config: pytest.Config) -> None:
    """Check ``--phyxius-seed`` and ``--phyxius-runs`` once, before any test."""
    seed = _parse(config.getoption("phyxius_seed"), "--phyxius-seed", 0, "a seed")
    runs = _parse(
        config.getoption("phyxius_runs"), "--phyxius-runs", 1, "a number of runs"
    )
    if runs is not None and runs > _MAX_RUNS:
        raise pytest.UsageError(
            f"--phyxius-runs={runs} is more runs than pytest can hold as test "
            f"items (one item per run); pass at most {_MAX_RUNS:,}, or call "
            "explore(scenario, runs=...) in a test for longer explorations"
        )
    if seed is not None and runs is not None:
        raise pytest.UsageError(
            f"--phyxius-seed={seed} replays one run and --phyxius-runs={runs} "
            "explores many; pass one of them"
        )
    if config.getoption("phyxius_update", False) and (
        seed is not None or runs is not None
    ):
        given = (
            f"--phyxius-seed={seed}" if seed is not None else f"--phyxius-runs={runs}"
        )
        raise pytest.UsageError(
            f"--phyxius-update with {given}: journal snapshots record a test's "
            "own schedule, and these runs follow other seeds, so they only "
            "compare; run pytest --phyxius-update without "
            f"{given.partition('=')[0]} to record or update snapshots"
        )
    config.stash[_options_key] = _Options(seed, runs)


def _options(config: pytest.Config) -> _Options:
    return config.stash.get(_options_key, _Options(None, None))


@pytest.hookimpl(specname="pytest_report_header")
def pytest_report_header_simulation(config: pytest.Config) -> list[str]:
    """Say in the header when a run replays a seed or explores several."""
    options = _options(config)
    if options.seed is not None:
        return [f"phyxius: simulation replays seed {options.seed} (--phyxius-seed)"]
    if options.runs is not None:
        return [
            f"phyxius: simulation explores {options.runs} seeded run(s) per async "
            "Phyxius test (--phyxius-runs)"
        ]
    return []


# -- runs ---------------------------------------------------------------------------


def _is_async_test(function: object) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    return inspect.iscoroutinefunction(inner)


def is_simulated(item: pytest.Item) -> bool:
    """Whether the simulation options concern ``item`` (see the module docstring)."""
    names = getattr(item, "fixturenames", ())
    return "simulation" in names or (
        "controlled_clock" in names and _is_async_test(getattr(item, "obj", None))
    )


def _pins_seed(definition: pytest.Item) -> bool:
    return any("seed" in mark.kwargs for mark in definition.iter_markers("phyxius"))


@pytest.hookimpl(specname="pytest_generate_tests", trylast=True)
def pytest_generate_tests_simulation(metafunc: pytest.Metafunc) -> None:
    """Under ``--phyxius-runs=N``, make N items of every simulated test."""
    runs = _options(metafunc.config).runs
    if runs is None:
        return
    names = metafunc.fixturenames
    simulated = "simulation" in names or (
        "controlled_clock" in names and _is_async_test(metafunc.function)
    )
    if not simulated or _pins_seed(metafunc.definition):
        return
    # Last, after the test's own parametrization, so that the run part ends
    # the id and the rest of the id stays the test's own.
    names.append(_RUN_FIXTURE)
    metafunc.parametrize(
        _RUN_FIXTURE,
        range(1, runs + 1),
        indirect=True,
        ids=lambda run: f"phyxius-run-{run}",
    )


@pytest.fixture
def phyxius_run(request: pytest.FixtureRequest) -> int | None:
    """This item's run number under ``--phyxius-runs`` (1 is the first), or None."""
    run: int | None = getattr(request, "param", None)
    return run


def _key(nodeid: str, run: int) -> str:
    """The node id without the ``phyxius-run-<run>`` part of its parameter id."""
    part = re.escape(f"phyxius-run-{run}")
    key = re.sub(rf"\[{part}\]$", "", nodeid)
    if key == nodeid:
        key = re.sub(rf"-{part}(?=[-\]])|(?<=\[){part}-", "", nodeid, count=1)
    return key


def _run_number(item: pytest.Item) -> int | None:
    callspec = getattr(item, "callspec", None)
    run: int | None = None if callspec is None else callspec.params.get(_RUN_FIXTURE)
    return run


def base_nodeid(item: pytest.Item) -> str:
    """The node id of the test ``item`` runs: without its ``phyxius-run-k`` part.

    An item of ``--phyxius-runs`` is the same test under another schedule,
    so its journal snapshots are the test's own, named by this id.
    """
    run = _run_number(item)
    return item.nodeid if run is None else _key(item.nodeid, run)


def is_explored(item: pytest.Item) -> bool:
    """Whether ``item`` runs under ``--phyxius-runs`` or ``--phyxius-seed``.

    The same answer as ``explored_run(item) is not None``, without reading
    the test's settings: safe while collecting.
    """
    if _run_number(item) is not None:
        return True
    return _options(item.config).seed is not None and is_simulated(item)


def explored_run(item: pytest.Item) -> SimulationRun | None:
    """The run of ``item`` when it follows a seed other than the test's own.

    That is a run of ``--phyxius-runs`` or ``--phyxius-seed``; None for a test
    run as it is (its marker's seed, or first-in, first-out order).
    """
    info = simulation_run(item)
    return info if info.source in ("option", "runs") else None


def simulation_run(item: pytest.Item) -> SimulationRun:
    """The `SimulationRun` of a test item: its seed and where it came from."""
    cached = item.stash.get(_run_key, None)
    if cached is not None:
        return cached
    options = _options(item.config)
    run = _run_number(item)
    key = base_nodeid(item)
    info: SimulationRun
    if options.seed is not None and is_simulated(item):
        info = SimulationRun(options.seed, "option", key, None, None)
    elif run is not None:
        info = SimulationRun(derive_seed(key, run), "runs", key, run, options.runs)
    else:
        seed = settings_for(item).seed
        source: Literal["marker"] | None = None if seed is None else "marker"
        info = SimulationRun(seed, source, key, None, None)
    item.stash[_run_key] = info
    return info


def scheduler_for(item: pytest.Item) -> SimulationScheduler | None:
    """The scheduler of a test's virtual-time loop, or None for plain FIFO order.

    A test with a seed gets a `SeededScheduler`; so does a test using the
    ``simulation`` fixture (seed 0 without one), whose invariants the
    scheduler checks after every step. The same object serves the loop and
    the fixture.
    """
    if _scheduler_key in item.stash:
        return item.stash[_scheduler_key]
    info = simulation_run(item)
    uses_world = "simulation" in getattr(item, "fixturenames", ())
    scheduler: SimulationScheduler | None = None
    if info.seed is not None or uses_world:
        scheduler = SeededScheduler(info.seed or 0, record=uses_world)
    item.stash[_scheduler_key] = scheduler
    return scheduler


def settings_with_run_seed(settings: Settings, item: pytest.Item) -> Settings:
    """``settings`` with the seed of ``--phyxius-seed`` or ``--phyxius-runs``.

    The fixtures that seed ids and jitter from ``phyxius_settings.seed`` then
    follow the run's seed, which is what makes a replay exact.
    """
    info = simulation_run(item)
    if info.source in ("option", "runs") and info.seed != settings.seed:
        return dataclasses.replace(settings, seed=info.seed)
    return settings


def own_settings(settings: Settings, item: pytest.Item) -> Settings:
    """``settings`` with the test's own seed in place of an explored run's.

    The ``journal`` fixtures seed their ids from it, so that the runs of
    ``--phyxius-runs`` and a ``--phyxius-seed`` replay hand out the ids of
    the test run as it is, and compare with its journal snapshots.
    """
    if not is_explored(item):
        return settings
    return dataclasses.replace(settings, seed=settings_for(item).seed)


# -- the fixture ----------------------------------------------------------------------


@pytest.fixture
def simulation(
    request: pytest.FixtureRequest, controlled_clock: ControlledClock
) -> Iterator[World]:
    """A `phyxius.testing.World` for this test, on ``controlled_clock``.

    Its seed is the test's (``--phyxius-seed``, the run's under
    ``--phyxius-runs``, the marker's, else 0), and it shares the test
    loop's scheduler. In an ``async def`` test, use its `World.supervisor`,
    `World.journal`, `World.inject` and `World.invariant` directly, or
    ``await simulation.run_async(scenario)``; in a plain test call
    ``simulation.run(scenario)``, which makes its own loop and raises
    `SimulationFailedError` when the scenario fails. An invariant that fails
    ends the test with `InvariantViolationError`. At teardown its
    supervisors are shut down on the test's loop.
    """
    item = request.node
    runner: asyncio.Runner | None = None
    if "phyxius_runner" in item.fixturenames:
        # Set up before the world, so that the loop outlives its teardown.
        runner = request.getfixturevalue("phyxius_runner")
    info = simulation_run(item)
    world = World(info.seed or 0, clock=controlled_clock, scheduler=scheduler_for(item))
    item.stash[_world_key] = world
    yield world

    if runner is not None:
        try:
            runner.run(world.shutdown())
        except SimulationUsageError as error:
            pytest.fail(f"simulation fixture teardown: {error}", pytrace=False)


@pytest.hookimpl(specname="pytest_pyfunc_call", wrapper=True)
def pytest_pyfunc_call_simulation(
    pyfuncitem: pytest.Function,
) -> Generator[None, object, object]:
    """Report a failed invariant as itself, not as the cancellation it caused."""
    __tracebackhide__ = True  # the failure is the test's, not this hook's
    try:
        return (yield)
    except (Exception, asyncio.CancelledError) as error:
        world = pyfuncitem.stash.get(_world_key, None)
        violation = None if world is None else world.violation
        if violation is None or violation is error:
            raise
        raise violation from violation.__cause__


# -- reporting ------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def plain_run_command(item: pytest.Item) -> str:
    """The command line that runs the test of ``item`` as it is, with no seed option.

    From the invocation directory, naming the test without its run part.
    """
    path, _, rest = base_nodeid(item).partition("::")
    invocation = item.config.invocation_params.dir
    target = os.path.relpath(item.config.rootpath / path, invocation)
    if rest:
        target += "::" + rest
    return f"pytest {_quote(target)}"


def replay_command(item: pytest.Item) -> str:
    """The command line that replays this item's run, from the invocation directory."""
    info = simulation_run(item)
    command = plain_run_command(item)
    if info.source in ("option", "runs"):
        command += f" --phyxius-seed={info.seed}"
    return command


def _describe(item: pytest.Item) -> str | None:
    info = simulation_run(item)
    world = item.stash.get(_world_key, None)
    if info.seed is None and world is None:
        return None
    seed = "0 (first-in, first-out order)" if info.seed is None else str(info.seed)
    if info.source == "runs":
        seed += f" (run {info.run} of {info.runs}, --phyxius-runs)"
    elif info.source == "option":
        seed += " (--phyxius-seed)"
    elif info.source == "marker":
        seed += " (the phyxius marker)"
    lines = [f"seed: {seed}"]
    scheduler = item.stash.get(_scheduler_key, None)
    if world is not None:
        lines.append(f"faults: {world.plan}")
        for index, injection in enumerate(world.injections):
            label = "injected: " if index == 0 else "          "
            lines.append(f"{label}{injection}")
        if world.violation is not None:
            lines.append(f"invariant: {world.violation}")
    if scheduler is not None:
        lines.append(
            f"schedule: {scheduler.decisions} choice points, {scheduler.reorders} "
            f"reordered, in {scheduler.turns} loop turns"
        )
    lines.append(f"replay: {replay_command(item)}")
    return "\n".join(lines)


@pytest.hookimpl(specname="pytest_runtest_makereport", wrapper=True)
def pytest_runtest_makereport_simulation(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the seed, the faults and the replay command to a failing run's report."""
    report = yield
    if report.failed:
        text = _describe(item)
        if text is not None:
            report.sections.append((SECTION, text))
            report.user_properties.append((_REPLAY_PROPERTY, replay_command(item)))
    return report


@pytest.hookimpl(specname="pytest_terminal_summary")
def pytest_terminal_summary_simulation(
    terminalreporter: pytest.TerminalReporter,
) -> None:
    """List the command that replays each failing simulated run."""
    commands: list[str] = []
    for report in terminalreporter.stats.get("failed", []) + terminalreporter.stats.get(
        "error", []
    ):
        for name, value in getattr(report, "user_properties", ()):
            if name == _REPLAY_PROPERTY and value not in commands:
                commands.append(value)
    if not commands:
        return
    terminalreporter.write_sep("=", "phyxius simulation: replay a failing run")
    for command in commands:
        terminalreporter.write_line(command)
