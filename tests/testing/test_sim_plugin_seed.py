"""``--phyxius-seed`` and the marker's ``seed=``: replay one run; no seed is FIFO."""

from __future__ import annotations

import pytest

from phyxius.testing import derive_seed

from .sim_plugin_helpers import DIST, RACE, failed_ids, run_pytest, seeds_seen


def failing_seed() -> int:
    """A seed under which ``test_handoff`` of `RACE` fails: that of its run 3.

    Seeds derive from the node id alone, so this one is the same everywhere;
    ``test_sim_plugin_runs`` shows run 3 among the failing runs.
    """
    return derive_seed("test_race.py::test_handoff", 3)


@pytest.mark.parametrize("dist", DIST)
def test_no_seed_keeps_plain_fifo_order_and_no_scheduler(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, *dist)

    result.assert_outcomes(passed=6)
    seen = seeds_seen(pytester)
    assert seen["test_race.py::test_handoff"] is None
    assert seen["test_race.py::test_pinned"] == 3


@pytest.mark.parametrize("dist", DIST)
def test_the_seed_option_replays_one_run_of_every_simulated_test(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_race=RACE)
    seed = failing_seed()

    result = run_pytest(pytester, f"--phyxius-seed={seed}", *dist)

    assert failed_ids(result) == {"test_race.py::test_handoff"}
    seen = seeds_seen(pytester)
    # The option wins over the marker, so every test runs with the seed.
    assert set(seen.values()) == {seed}
    result.stdout.fnmatch_lines(
        [
            f"seed: {seed} (--phyxius-seed)",
            "*",
            f"replay: pytest 'test_race.py::test_handoff' --phyxius-seed={seed}",
        ]
    )


def test_the_same_seed_fails_the_same_way_every_time(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_race=RACE)
    seed = failing_seed()

    outputs = []
    for _ in range(3):
        result = run_pytest(pytester, f"--phyxius-seed={seed}", "-k", "handoff")
        result.assert_outcomes(failed=1)
        report = result.stdout.str()
        outputs.append(report[report.index("phyxius simulation") :].splitlines()[:4])

    assert outputs[0] == outputs[1] == outputs[2]


def test_the_header_names_the_seed_being_replayed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, "--phyxius-seed=5", "-k", "plain")

    result.stdout.fnmatch_lines(["phyxius: simulation replays seed 5 (--phyxius-seed)"])


def test_a_marker_seed_replays_that_run_and_its_replay_needs_no_option(
    pytester: pytest.Pytester,
) -> None:
    seed = failing_seed()
    pytester.makepyfile(
        test_race=RACE.replace(
            "async def test_handoff(",
            f"@pytest.mark.phyxius(seed={seed})\nasync def test_handoff(",
        )
    )

    result = run_pytest(pytester, "-k", "handoff")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"seed: {seed} (the phyxius marker)",
            "*",
            "replay: pytest 'test_race.py::test_handoff'",
        ]
    )
    # Under --phyxius-runs a pinned test runs once, with its own seed.
    explored = run_pytest(pytester, "--phyxius-runs=5", "-k", "handoff")
    explored.assert_outcomes(failed=1)


def test_the_marker_seed_also_seeds_the_journal_ids(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ids="""
        import pytest

        @pytest.mark.phyxius(seed=41)
        def test_a(journal, phyxius_settings):
            assert phyxius_settings.seed == 41
            with open("ids.txt", "a") as file:
                file.write(journal.append({"n": 1}).id + "\\n")

        def test_b(journal, phyxius_settings):
            with open("ids.txt", "a") as file:
                file.write(f"{phyxius_settings.seed}\\n")
        """
    )

    run_pytest(pytester, "--phyxius-seed=41", "-k", "test_b").assert_outcomes(passed=1)
    run_pytest(pytester, "-k", "test_a").assert_outcomes(passed=1)
    run_pytest(pytester, "-k", "test_a").assert_outcomes(passed=1)

    lines = (pytester.path / "ids.txt").read_text().split()
    # --phyxius-seed replays schedules: a plain test, which has none, keeps
    # its own seed.
    assert lines[0] == "None"
    assert lines[1] == lines[2]


@pytest.mark.parametrize("dist", DIST)
def test_the_seed_option_leaves_the_tests_it_does_not_simulate_alone(
    pytester: pytest.Pytester, dist: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        test_scope="""
        async def test_loop(controlled_clock, phyxius_settings):
            assert phyxius_settings.seed == 8

        def test_plain_clock(controlled_clock, phyxius_settings):
            assert phyxius_settings.seed is None

        def test_plain_journal(journal, phyxius_settings):
            assert phyxius_settings.seed is None
        """
    )

    result = run_pytest(pytester, "--phyxius-seed=8", *dist)

    result.assert_outcomes(passed=3)


def test_the_journal_ids_of_every_run_are_the_test_s_own(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_ids="""
        async def test_ids(controlled_clock, journal, phyxius_run):
            with open("ids.txt", "a") as file:
                file.write(f"{phyxius_run} {journal.append({'n': 1}).id}\\n")
        """
    )

    run_pytest(pytester).assert_outcomes(passed=1)
    run_pytest(pytester, "--phyxius-runs=3").assert_outcomes(passed=3)
    run_pytest(pytester, "--phyxius-seed=5").assert_outcomes(passed=1)

    lines = (pytester.path / "ids.txt").read_text().splitlines()
    runs = sorted(line.split()[0] for line in lines)
    assert runs == ["1", "2", "3", "None", "None"]
    # The seed changes the schedule, not the ids: runs compare with snapshots.
    assert len({line.split()[1] for line in lines}) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--phyxius-seed=-1",),
            "ERROR: --phyxius-seed='-1' is not a seed; pass an integer, 0 or more",
        ),
        (
            ("--phyxius-seed=soon",),
            "ERROR: --phyxius-seed='soon' is not a seed; pass an integer, 0 or more",
        ),
        (
            ("--phyxius-runs=0",),
            "ERROR: --phyxius-runs='0' is not a number of runs; pass an integer, 1 "
            "or more",
        ),
        (
            ("--phyxius-runs=99999999999999999999",),
            "ERROR: --phyxius-runs=99999999999999999999 is more runs than pytest "
            "can hold as test items (one item per run); pass at most 1,000,000, or "
            "call explore(scenario, runs=...) in a test for longer explorations",
        ),
        (
            ("--phyxius-seed=1", "--phyxius-runs=2"),
            "ERROR: --phyxius-seed=1 replays one run and --phyxius-runs=2 explores "
            "many; pass one of them",
        ),
    ],
    ids=["negative-seed", "word-seed", "zero-runs", "huge-runs", "both"],
)
def test_bad_options_stop_the_run_before_any_test(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_race=RACE)

    result = run_pytest(pytester, *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == message


def test_a_negative_marker_seed_is_a_collection_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.phyxius(seed=-4)
        async def test_x(controlled_clock):
            pass
        """
    )

    result = run_pytest(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_bad.py::test_x: phyxius(seed=-4) must be an integer, 0 or more*"]
    )
