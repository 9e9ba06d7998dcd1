"""``--phyxius-runs``: N seeded runs per test, the same seeds with and without xdist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phyxius.testing import derive_seed

from .sim_plugin_helpers import DIST, RACE, failed_ids, run_pytest, seeds_seen


@pytest.mark.parametrize("dist", DIST)
def test_runs_multiply_each_simulated_test_and_find_the_race(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, "--phyxius-runs=12", *dist)

    seen = seeds_seen(pytester)
    runs = {node for node in seen if "test_handoff" in node}
    assert runs == {
        f"test_race.py::test_handoff[phyxius-run-{k}]" for k in range(1, 13)
    }
    for k in range(1, 13):
        node = f"test_race.py::test_handoff[phyxius-run-{k}]"
        assert seen[node] == derive_seed("test_race.py::test_handoff", k)
    # Every async test on the virtual-time loop is multiplied; a test that
    # pins its seed, and a test without the loop, run once.
    assert "test_race.py::test_plain[phyxius-run-12]" in seen
    assert seen["test_race.py::test_pinned"] == 3

    failed = failed_ids(result)
    assert failed, "twelve seeded runs of the race found nothing"
    assert all("test_handoff[phyxius-run-" in node for node in failed)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == len(failed)
    # The rest of test_handoff, test_param and test_plain (12 runs each, two
    # parameters), test_pinned and test_sync.
    assert outcomes["passed"] == 12 - len(failed) + 24 + 12 + 2


def test_xdist_workers_give_each_run_the_seed_a_single_process_gives(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_race=RACE)

    serial = run_pytest(pytester, "--phyxius-runs=8")
    serial_seeds = seeds_seen(pytester)
    serial_failed = failed_ids(serial)
    (pytester.path / "seeds.txt").unlink()
    distributed = run_pytest(pytester, "--phyxius-runs=8", "-n", "2")

    assert seeds_seen(pytester) == serial_seeds
    assert failed_ids(distributed) == serial_failed
    # Every run of every test has its own seed, but the pinned one.
    assert len(set(serial_seeds.values())) == len(serial_seeds)


def test_a_runs_id_follows_the_tests_own_parameters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_race=RACE)

    run_pytest(pytester, "--phyxius-runs=2", "-k", "param")

    seen = seeds_seen(pytester)
    assert sorted(seen) == [
        "test_race.py::test_param[1-phyxius-run-1]",
        "test_race.py::test_param[1-phyxius-run-2]",
        "test_race.py::test_param[2-phyxius-run-1]",
        "test_race.py::test_param[2-phyxius-run-2]",
    ]
    assert seen["test_race.py::test_param[2-phyxius-run-2]"] == derive_seed(
        "test_race.py::test_param[2]", 2
    )


@pytest.mark.parametrize("dist", DIST)
def test_each_failing_run_reports_the_command_that_replays_it(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, "--phyxius-runs=12", "-k", "handoff", *dist)

    text = result.stdout.str()
    commands = re.findall(
        r"^pytest 'test_race\.py::test_handoff' --phyxius-seed=\d+$", text, re.M
    )
    failed = failed_ids(result)
    assert len(set(commands)) == len(failed)
    first = min(failed, key=lambda node: int(node.rsplit("-", 1)[1].rstrip("]")))
    run = int(first.rsplit("-", 1)[1].rstrip("]"))
    seed = derive_seed("test_race.py::test_handoff", run)
    result.stdout.fnmatch_lines(
        [
            "*- phyxius simulation -*",
            f"seed: {seed} (run {run} of 12, --phyxius-runs)",
            "schedule: * choice points, * reordered, in * loop turns",
            f"replay: pytest 'test_race.py::test_handoff' --phyxius-seed={seed}",
        ]
    )
    result.stdout.fnmatch_lines(["*= phyxius simulation: replay a failing run =*"])

    # The command replays that very run: it fails, and the same way.
    (pytester.path / "seeds.txt").unlink()
    replayed = run_pytest(
        pytester, "test_race.py::test_handoff", f"--phyxius-seed={seed}"
    )
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines(["*the consumer ran before the producer*"])
    assert seeds_seen(pytester) == {"test_race.py::test_handoff": seed}


def test_the_header_says_how_many_runs_each_test_gets(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, "--phyxius-runs=3", "-k", "plain")

    result.stdout.fnmatch_lines(
        [
            "phyxius: simulation explores 3 seeded run(s) per async Phyxius test "
            "(--phyxius-runs)"
        ]
    )


def test_runs_apply_to_tests_using_the_simulation_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_world="""
        def test_sync_world(simulation):
            with open("worlds.txt", "a") as file:
                file.write(f"{simulation.seed}\\n")
        """
    )

    result = run_pytest(pytester, "--phyxius-runs=4")

    result.assert_outcomes(passed=4)
    seeds = Path(pytester.path / "worlds.txt").read_text().split()
    assert seeds == [
        str(derive_seed("test_world.py::test_sync_world", k)) for k in range(1, 5)
    ]
