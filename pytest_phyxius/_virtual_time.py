"""Running tests on virtual time: the async runner, async fixtures, frozen wall time.

A *Phyxius test* is one whose fixture closure contains ``controlled_clock``
(requested directly or through another fixture such as ``atom``). For those:

* an ``async def`` test runs on a `VirtualTimeEventLoop` driven by the
  test's clock (the ``phyxius_runner`` fixture), autojump on unless the
  marker or ini says otherwise;
* its function-scoped ``async def`` fixtures run on that same loop, so what
  they create (tasks, futures, servers) belongs to the test's loop;
* ``freeze_time`` (marker or ini) makes ``datetime.now()`` and friends read
  the clock for the test's whole duration, setup and teardown included.

Other async plugins are left alone for every other test. For a Phyxius test
they may still be active (pytest-asyncio in auto mode, a test marked
``@pytest.mark.asyncio`` or ``@pytest.mark.anyio``), so the hooks here are
wrappers that run outside theirs: while the test function is called, the
item's function is a synchronous stand-in that runs the coroutine on the
virtual-time loop, which every async plugin recognises as "not mine". An
async fixture is turned into a synchronous one before their hooks see it.
When such a plugin asks for several variants of a test (pytest-asyncio's
``pytest_asyncio_loop_factories`` returning several loops, anyio's backends),
the variants of a Phyxius test would all run the same way, on virtual time,
so only the first is kept and the rest are deselected.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any, Final

import pytest

from phyxius.clock import ControlledClock, DeadlockError, VirtualTimeEventLoop
from phyxius.clock._deadlock import _blocked_task
from pytest_phyxius._settings import (
    Settings,
    parse_autojump,
    parse_freeze_time,
    parse_io_grace,
    settings_for,
)
from pytest_phyxius._simulation import scheduler_for

__all__ = [
    "phyxius_frozen_wall_time",
    "phyxius_runner",
    "pytest_collection_modifyitems_virtual_time",
    "pytest_configure_virtual_time",
    "pytest_fixture_setup",
    "pytest_pyfunc_call",
    "pytest_runtest_setup_virtual_time",
    "uses_phyxius",
]

_async_test_key = pytest.StashKey[Callable[..., Any]]()
_async_hypothesis_key = pytest.StashKey[Callable[..., Any]]()

LEFTOVER_GRACE: Final = 60.0
"""Seconds of the test's clock that tasks left running get to end once cancelled."""

# Parameters through which other plugins multiply an async test; see
# `_collapse_variants`.
_VARIANT_PARAMS = ("_asyncio_loop_factory", "anyio_backend")


def uses_phyxius(node: object) -> bool:
    """Whether a test item's fixture closure contains ``controlled_clock``."""
    return "controlled_clock" in getattr(node, "fixturenames", ())


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def phyxius_runner(
    controlled_clock: ControlledClock,
    phyxius_settings: Settings,
    request: pytest.FixtureRequest,
) -> Iterator[asyncio.Runner]:
    """The `asyncio.Runner` whose virtual-time loop runs this test's coroutines.

    ``async def`` Phyxius tests and their function-scoped async fixtures run
    on it; a fixture that must run async code on the test's loop (for
    example to stop processes at teardown) requests it and is torn down
    before it. While it is open its loop is also the thread's current event
    loop, for synchronous code that calls ``asyncio.get_event_loop()``. With
    a seed (see ``pytest_phyxius._simulation``) the loop has a seeded
    scheduler.
    """
    scheduler = scheduler_for(request.node)
    runner = asyncio.Runner(
        loop_factory=lambda: VirtualTimeEventLoop(
            controlled_clock,
            autojump=phyxius_settings.autojump,
            io_grace=phyxius_settings.io_grace,
            scheduler=scheduler,
        )
    )
    with runner:
        _set_event_loop(runner.get_loop())
        try:
            yield runner
        finally:
            _set_event_loop(None)
            stubborn = _cancel_leftover_tasks(runner)
    if stubborn:
        pytest.fail(
            f"{len(stubborn)} task(s) still ran {LEFTOVER_GRACE:g} seconds of the "
            "clock after the test's loop cancelled them at teardown, so their "
            "coroutines were closed instead; let CancelledError propagate (clean "
            "up in finally, then re-raise):\n"
            + "\n".join(f"  {line}" for line in stubborn),
            pytrace=False,
        )


@pytest.fixture
def phyxius_frozen_wall_time(
    controlled_clock: ControlledClock, phyxius_settings: Settings
) -> Iterator[ControlledClock]:
    """Make ``datetime.now()``, ``time.time()`` and friends read ``controlled_clock``.

    Requested by any test, it freezes wall time with the backend its settings
    name (freezegun unless ``freeze_time="time-machine"``). The
    ``freeze_time`` marker option and the ``phyxius_freeze_time`` ini option
    add it to a test automatically, ahead of its other fixtures.
    """
    backend = phyxius_settings.freeze_time or "freezegun"
    with controlled_clock.freeze_wall_time(backend=backend):
        yield controlled_clock


# -- configuration and collection -------------------------------------------


@pytest.hookimpl(specname="pytest_configure")
def pytest_configure_virtual_time(config: pytest.Config) -> None:
    """Reject bad ``phyxius_autojump``/``freeze_time``/``io_grace`` ini values once."""
    parse_autojump(config.getini("phyxius_autojump"), source="phyxius_autojump")
    parse_freeze_time(
        config.getini("phyxius_freeze_time"), source="phyxius_freeze_time"
    )
    parse_io_grace(config.getini("phyxius_io_grace"), source="phyxius_io_grace")


@pytest.hookimpl(specname="pytest_collection_modifyitems", trylast=True)
def pytest_collection_modifyitems_virtual_time(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the wall-time freeze where asked, and keep one variant of each test."""
    ini_freeze = parse_freeze_time(
        config.getini("phyxius_freeze_time"), source="phyxius_freeze_time"
    )
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        marked = item.get_closest_marker("phyxius") is not None
        if not marked and not (ini_freeze and uses_phyxius(item)):
            continue
        if settings_for(item).freeze_time is None:
            continue
        # First among the test's function-scoped fixtures, so that all of
        # them, set up and torn down, see the frozen wall time; after the
        # broader-scoped ones, which outlive this test and must not be
        # created under its freeze.
        names = item.fixturenames
        if "phyxius_frozen_wall_time" in names:
            continue
        definitions = item._fixtureinfo.name2fixturedefs
        first = next(
            (
                index
                for index, name in enumerate(names)
                if name not in definitions or definitions[name][-1].scope == "function"
            ),
            len(names),
        )
        names.insert(first, "phyxius_frozen_wall_time")
        if "controlled_clock" not in names:
            names.insert(first + 1, "controlled_clock")

    _collapse_variants(config, items)


def _collapse_variants(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect all but one variant of an async Phyxius test multiplied by a plugin."""
    seen: dict[tuple[object, ...], pytest.Item] = {}
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is None
            or not isinstance(item, pytest.Function)
            or not any(name in callspec.params for name in _VARIANT_PARAMS)
            or not uses_phyxius(item)
            or not inspect.iscoroutinefunction(item.obj)
        ):
            continue
        others = tuple(
            sorted(
                (name, index)
                for name, index in callspec.indices.items()
                if name not in _VARIANT_PARAMS
            )
        )
        key = (item.parent, item.originalname, others)
        if key in seen:
            dropped.append(item)
        else:
            seen[key] = item
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        kept = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in kept]


# -- running async tests and fixtures -----------------------------------------


@pytest.hookimpl(specname="pytest_runtest_setup", tryfirst=True)
def pytest_runtest_setup_virtual_time(item: pytest.Item) -> None:
    """Note an async Phyxius test's coroutine function and give it a runner.

    This runs before any fixture is set up, and before another plugin could
    swap the test function for a wrapper of its own.
    """
    if not isinstance(item, pytest.Function) or not uses_phyxius(item):
        return
    test = item.obj
    # A Hypothesis test is a synchronous function that calls the async one,
    # `inner_test`, once per example.
    inner = getattr(getattr(test, "hypothesis", None), "inner_test", None)
    if inspect.iscoroutinefunction(test):
        item.stash[_async_test_key] = test
    elif inner is not None and inspect.iscoroutinefunction(inner):
        item.stash[_async_hypothesis_key] = inner
    else:
        return
    if "phyxius_runner" not in item.fixturenames:
        item.fixturenames.append("phyxius_runner")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Call an async Phyxius test through a stand-in that runs it on virtual time.

    For a Hypothesis test, the stand-in replaces the async function Hypothesis
    calls per example; every example then runs on the test's loop and clock,
    which carry over from one example to the next like any function-scoped
    fixture.
    """
    test = pyfuncitem.stash.get(_async_test_key, None)
    inner = pyfuncitem.stash.get(_async_hypothesis_key, None)
    if test is None and inner is None:
        return (yield)
    runner: asyncio.Runner = pyfuncitem.funcargs["phyxius_runner"]  # type: ignore[assignment]
    target: object
    if test is not None:
        target, attribute, coroutine_function = pyfuncitem, "obj", test
    else:
        assert inner is not None
        hypothesis: object = pyfuncitem.obj.hypothesis
        target, attribute, coroutine_function = hypothesis, "inner_test", inner

    # `wraps` sets __wrapped__, through which pytest finds the test's own
    # code and cuts the failure traceback there.
    @functools.wraps(coroutine_function)
    def run_on_virtual_time(*args: object, **kwargs: object) -> None:
        runner.run(coroutine_function(*args, **kwargs))

    replaced = getattr(target, attribute)
    setattr(target, attribute, run_on_virtual_time)
    try:
        return (yield)
    finally:
        setattr(target, attribute, replaced)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Run a Phyxius test's function-scoped async fixtures on its virtual-time loop."""
    func = fixturedef.func
    if (
        fixturedef.scope != "function"
        or not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))
        or not uses_phyxius(request.node)
    ):
        return (yield)

    runner: asyncio.Runner = request.getfixturevalue("phyxius_runner")
    # The runner must outlive this fixture's async teardown. (pytest hands
    # this hook its private SubRequest type.)
    subrequest: Any = request
    subrequest._get_active_fixturedef("phyxius_runner").addfinalizer(
        functools.partial(fixturedef.finish, request=subrequest)
    )
    bound = _resolve_fixture_function(fixturedef, request)
    fixturedef.func = _synchronous_fixture(bound, runner, fixturedef.argname)  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = func  # type: ignore[misc]


def _synchronous_fixture(
    func: Callable[..., Any], runner: asyncio.Runner, name: str
) -> Callable[..., Any]:
    """A plain function (or generator) that runs an async fixture on ``runner``.

    It deliberately does not copy the fixture's attributes: pytest-asyncio
    marks its own fixtures with one, and must not claim this stand-in.
    """
    if inspect.isasyncgenfunction(func):

        def set_up_and_tear_down(**arguments: object) -> Iterator[object]:
            generator = func(**arguments)

            async def step() -> object:
                return await generator.__anext__()

            yield runner.run(step())
            try:
                runner.run(step())
            except StopAsyncIteration:
                return
            runner.run(generator.aclose())
            pytest.fail(
                f"async fixture {name!r} yielded more than once; an async "
                "generator fixture yields exactly one value",
                pytrace=False,
            )

        return set_up_and_tear_down

    def set_up(**arguments: object) -> object:
        return runner.run(func(**arguments))

    return set_up


def _resolve_fixture_function(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    # pytest binds a fixture defined as a method to the test's instance; do
    # as it does, with its own helper when it has one.
    try:
        from _pytest.fixtures import resolve_fixture_function
    except ImportError:  # pragma: no cover - a pytest without the helper
        return fixturedef.func
    subrequest: Any = request
    return resolve_fixture_function(fixturedef, subrequest)


def _cancel_leftover_tasks(runner: asyncio.Runner) -> list[str]:
    """Cancel the tasks a test left running; close those that will not end.

    `asyncio.Runner.close` cancels leftover tasks and waits for them without
    limit, so a task that swallows its cancellation and waits again would
    keep the test's loop jumping through virtual time for ever. Here they get
    `LEFTOVER_GRACE` seconds of the clock (their cleanup may sleep); a task
    still running after that has its coroutine closed, which ends it, and is
    returned, described, for the caller to fail the test. Errors raised by
    tasks while they were cancelled are reported as ``Runner.close`` reports
    them, through the loop's exception handler.
    """
    loop = runner.get_loop()
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return []

    for task in tasks:
        task.cancel()

    async def settle() -> None:
        try:
            await asyncio.wait(tasks, timeout=LEFTOVER_GRACE)
        except DeadlockError:
            # In manual mode nothing moves the clock: the tasks that still
            # wait were told of the deadlock, and those that ignore it are
            # closed below.
            pass

    try:
        runner.run(settle())
    except DeadlockError:
        pass

    stubborn = [task for task in tasks if not task.done()]
    described = [_blocked_task(task).describe() for task in stubborn]
    for task in stubborn:
        # GeneratorExit at its await ends the coroutine; the task, cancelled
        # once more, then finishes on the loop's next turn. (A coroutine that
        # swallows GeneratorExit too cannot be ended from outside at all.)
        with contextlib.suppress(RuntimeError):
            task.get_coro().close()
        task.cancel()
    if stubborn:
        runner.run(asyncio.wait(stubborn, timeout=LEFTOVER_GRACE))

    for task in tasks:
        if not task.done() or task.cancelled():
            continue
        if task in stubborn:
            task.exception()  # the closed coroutine's error: already reported
            continue
        if task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during the test's teardown",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    return described


def _set_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    # Setting the current loop is deprecated on some Python versions for
    # some policies; it only serves legacy synchronous code, so quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop(loop)
