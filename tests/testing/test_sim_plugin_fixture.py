"""The ``simulation`` fixture: a world on the test's loop; faults and invariants."""

from __future__ import annotations

import pytest

from .sim_plugin_helpers import DIST, run_pytest

PAYMENTS = """
import asyncio

from phyxius.process import ProcessSpec
from phyxius.testing import AppendFailure, FaultPlan, FaultSpace


def spec(ledger):
    def handle(state, message, tools):
        ledger.append({"request": message})
        tools.reply("charged")
        return state

    return ProcessSpec(handle=handle)


async def charge(ref, request):
    for _ in range(3):
        try:
            return await ref.ask(request, timeout=1)
        except Exception:
            await asyncio.sleep(0.1)


async def test_charges_once(simulation):
    ledger = simulation.journal("ledger")

    @simulation.invariant
    def charged_once(world):
        requests = [entry.data["request"] for entry in ledger]
        assert len(requests) == len(set(requests)), requests

    simulation.inject(FaultPlan(AppendFailure("ledger", 1, point="after")))
    ref = await simulation.supervisor.spawn(spec(ledger), name="payments")
    await charge(ref, "order-1")


def test_sync_world(simulation):
    async def scenario(world):
        await asyncio.sleep(1)
        raise KeyError("order-7")

    simulation.run(scenario)


async def test_drawn_faults(simulation):
    space = FaultSpace(processes=("payments",), kinds=("drop",), max_faults=1)
    simulation.inject(space)
    with open("plans.txt", "a") as file:
        file.write(f"{simulation.seed} {simulation.plan}\\n")
"""


@pytest.mark.parametrize("dist", DIST)
def test_a_failed_invariant_is_reported_with_its_faults_and_replay(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_payments=PAYMENTS)

    result = run_pytest(pytester, "-k", "charges_once", *dist)

    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "InvariantViolationError: invariant 'charged_once' failed after step" in (
        text
    )
    assert "CancelledError" not in text
    result.stdout.fnmatch_lines(
        [
            "*- phyxius simulation -*",
            "seed: 0 (first-in, first-out order)",
            "faults: append_failure(journal='ledger', append=1, point='after')",
            "injected: append_failure(journal='ledger', append=1, point='after') at "
            "mono 0s: failed append 1 to 'ledger' after writing",
            "invariant: invariant 'charged_once' failed after step * of virtual time "
            "(seed 0, faults: append_failure(journal='ledger', append=1, "
            "point='after')): it raised AssertionError: *'order-1', 'order-1'*",
            "schedule: * choice points, 0 reordered, in * loop turns",
            "replay: pytest 'test_payments.py::test_charges_once'",
        ]
    )


def test_a_plain_test_runs_a_scenario_and_fails_with_its_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_payments=PAYMENTS)

    result = run_pytest(pytester, "-k", "sync_world", "--phyxius-seed=9")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *SimulationFailedError: simulated run failed: KeyError: 'order-7'",
            "E     seed:      9",
            "E     faults:    none",
            "*",
            "E     replay:    simulate(scenario, seed=9)",
        ]
    )
    result.stdout.fnmatch_lines(
        ["replay: pytest 'test_payments.py::test_sync_world' --phyxius-seed=9"]
    )


def test_a_fault_space_draws_each_runs_plan_from_its_seed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_payments=PAYMENTS)

    run_pytest(pytester, "-k", "drawn", "--phyxius-runs=20").assert_outcomes(passed=20)
    first = (pytester.path / "plans.txt").read_text().splitlines()
    (pytester.path / "plans.txt").unlink()
    run_pytest(pytester, "-k", "drawn", "--phyxius-runs=20", "-n", "2")
    second = (pytester.path / "plans.txt").read_text().splitlines()

    assert sorted(first) == sorted(second)
    plans = {line.split(" ", 1)[1] for line in first}
    assert "none" in plans
    assert any(plan.startswith("drop(to='payments', message=") for plan in plans)


def test_the_fixture_shuts_its_supervisors_down_at_teardown(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_teardown="""
        from phyxius.process import ProcessSpec

        def on_stop(state, reason):
            with open("stopped.txt", "a") as file:
                file.write(f"{reason}\\n")

        async def test_spawns(simulation):
            spec = ProcessSpec(
                handle=lambda state, message, tools: state, on_stop=on_stop
            )
            await simulation.supervisor.spawn(spec, name="worker")
        """
    )

    run_pytest(pytester).assert_outcomes(passed=1)

    assert (pytester.path / "stopped.txt").read_text() == "shutdown\n"
