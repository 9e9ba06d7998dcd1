"""``@pytest.mark.phyxius(start=...)`` and the ``phyxius_start`` ini option."""

from __future__ import annotations

import pytest

ALONE = (
    "-p",
    "no:asyncio",
    "-p",
    "no:anyio",
    "-p",
    "no:looptime_plugin",
    "-p",
    "no:cacheprovider",
    "-W",
    "error",
)

EXPECT_START = """
from datetime import UTC, datetime, timedelta, timezone

import pytest

def starts_at(clock, expected):
    assert clock.now().datetime == expected, clock.now()
    assert clock.monotonic_ns() == 0
"""


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ('"2030-06-15T12:00:00Z"', "datetime(2030, 6, 15, 12, tzinfo=UTC)"),
        ('"2030-06-15T14:00:00+02:00"', "datetime(2030, 6, 15, 12, tzinfo=UTC)"),
        (
            "datetime(2030, 6, 15, 8, tzinfo=timezone(timedelta(hours=-4)))",
            "datetime(2030, 6, 15, 12, tzinfo=UTC)",
        ),
        ("0", "datetime(1970, 1, 1, tzinfo=UTC)"),
        ("1_900_000_000", "datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)"),
        ("1_900_000_000.25", "datetime(2030, 3, 17, 17, 46, 40, 250000, tzinfo=UTC)"),
        ('"1900000000"', "datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)"),
    ],
    ids=["iso-z", "iso-offset", "datetime", "epoch", "epoch-int", "epoch-float",
         "epoch-str"],
)  # fmt: skip
def test_marker_start_sets_the_clocks_wall_time(
    pytester: pytest.Pytester, start: str, expected: str
) -> None:
    pytester.makepyfile(
        EXPECT_START
        + f"""
@pytest.mark.phyxius(start={start})
def test_start(controlled_clock):
    starts_at(controlled_clock, {expected})
"""
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)


def test_the_closest_marker_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        EXPECT_START
        + """
pytestmark = pytest.mark.phyxius(start="2001-01-01T00:00:00Z")

def test_module_marker(controlled_clock):
    starts_at(controlled_clock, datetime(2001, 1, 1, tzinfo=UTC))

@pytest.mark.phyxius(start="2002-01-01T00:00:00Z")
class TestGroup:
    def test_class_marker(self, controlled_clock):
        starts_at(controlled_clock, datetime(2002, 1, 1, tzinfo=UTC))

    @pytest.mark.phyxius(start="2003-01-01T00:00:00Z")
    def test_method_marker(self, controlled_clock):
        starts_at(controlled_clock, datetime(2003, 1, 1, tzinfo=UTC))
"""
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("ini_value", "expected"),
    [
        ("2040-02-29T23:59:59Z", "datetime(2040, 2, 29, 23, 59, 59, tzinfo=UTC)"),
        ("2040-03-01T01:59:59+02:00", "datetime(2040, 2, 29, 23, 59, 59, tzinfo=UTC)"),
        ("86400", "datetime(1970, 1, 2, tzinfo=UTC)"),
        ("86400.5", "datetime(1970, 1, 2, 0, 0, 0, 500000, tzinfo=UTC)"),
    ],
    ids=["iso-z", "iso-offset", "epoch", "epoch-float"],
)
def test_ini_option_sets_the_start_for_the_whole_project(
    pytester: pytest.Pytester, ini_value: str, expected: str
) -> None:
    pytester.makeini(f"[pytest]\nphyxius_start = {ini_value}\n")
    pytester.makepyfile(
        EXPECT_START
        + f"""
def test_start(controlled_clock):
    starts_at(controlled_clock, {expected})
"""
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=1)


def test_a_marker_overrides_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nphyxius_start = 2040-01-01T00:00:00Z\n")
    pytester.makepyfile(
        EXPECT_START
        + """
def test_from_ini(controlled_clock):
    starts_at(controlled_clock, datetime(2040, 1, 1, tzinfo=UTC))

@pytest.mark.phyxius(start="1999-12-31T23:59:59Z")
def test_from_marker(controlled_clock):
    starts_at(controlled_clock, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
"""
    )

    result = pytester.runpytest(*ALONE)

    result.assert_outcomes(passed=2)


def test_the_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.phyxius(start=0)
        def test_marked(controlled_clock):
            pass
        """
    )

    listed = pytester.runpytest("--markers", *ALONE)
    strict = pytester.runpytest("--strict-markers", *ALONE)

    listed.stdout.fnmatch_lines(["@pytest.mark.phyxius(*start=...*): configure *"])
    strict.assert_outcomes(passed=1)


def test_the_ini_options_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help", *ALONE)

    result.stdout.fnmatch_lines(["  phyxius_start (string):*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            'start="yesterday"',
            "test_bad.py::test_bad: phyxius(start)='yesterday' is not a start "
            "time; use ISO-8601 with a time zone such as 2024-01-01T00:00:00Z, or "
            "epoch seconds",
        ),
        (
            'start="2024-01-01T00:00:00"',
            "test_bad.py::test_bad: phyxius(start)='2024-01-01T00:00:00' has "
            "no time zone; add one, as in 2024-01-01T00:00:00Z or "
            "2024-01-01T00:00:00+00:00",
        ),
        (
            "start=datetime(2024, 1, 1)",
            "test_bad.py::test_bad: phyxius(start)=datetime.datetime(2024, 1, "
            "1, 0, 0) is a naive datetime; pass an aware datetime *",
        ),
        (
            'start=float("nan")',
            "test_bad.py::test_bad: phyxius(start)=nan is not a finite wall "
            "time; pass epoch seconds",
        ),
        (
            'start="inf"',
            "test_bad.py::test_bad: phyxius(start)='inf' is not a finite "
            "number of epoch seconds",
        ),
        (
            "start=True",
            "test_bad.py::test_bad: phyxius(start)=True (type=bool) is not a "
            "wall time; *",
        ),
        (
            "start=1e20",
            "test_bad.py::test_bad: phyxius(start)=1e+20 is outside the years 1 "
            "to 9999 that a datetime can hold; pass a start within them",
        ),
        (
            "starts=0",
            "test_bad.py::test_bad: @pytest.mark.phyxius got unknown option(s) "
            "starts; known: autojump, freeze_time, io_grace, seed, start*",
        ),
        (
            '"2024-01-01T00:00:00Z"',
            "test_bad.py::test_bad: @pytest.mark.phyxius takes keyword "
            "arguments only (*), got positional ('2024-01-01T00:00:00Z',)",
        ),
    ],
    ids=["not-a-time", "naive-iso", "naive-datetime", "nan", "inf-text", "bool",
         "past-year-9999", "unknown-key", "positional"],
)  # fmt: skip
def test_a_bad_marker_stops_the_run_with_an_error_naming_the_test(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    pytester.makepyfile(
        test_bad=f"""
        from datetime import datetime

        import pytest

        ran = []

        @pytest.mark.phyxius({marker})
        def test_bad(controlled_clock):
            ran.append(1)

        def test_innocent():
            ran.append(2)
        """
    )

    result = pytester.runpytest(*ALONE)

    # Reported as pytest reports an unknown marker: a collection error of the
    # module, which stops the run before any test runs.
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting test_bad.py*", message])
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize(
    ("ini_value", "message"),
    [
        (
            "soon",
            "ERROR: phyxius_start='soon' is not a start time; use ISO-8601 with a "
            "time zone such as 2024-01-01T00:00:00Z, or epoch seconds",
        ),
        (
            "2024-01-01 00:00",
            "ERROR: phyxius_start='2024-01-01 00:00' has no time zone; add one, *",
        ),
        (
            "nan",
            "ERROR: phyxius_start='nan' is not a finite number of epoch seconds",
        ),
        (
            "-1e20",
            "ERROR: phyxius_start=-1e+20 is outside the years 1 to 9999 that a "
            "datetime can hold; pass a start within them",
        ),
    ],
    ids=["not-a-time", "naive", "nan", "before-year-1"],
)
def test_a_bad_ini_value_is_a_usage_error_before_any_test_runs(
    pytester: pytest.Pytester, ini_value: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\nphyxius_start = {ini_value}\n")
    pytester.makepyfile(
        """
        def test_unrelated():
            pass
        """
    )

    result = pytester.runpytest(*ALONE)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    # Configuration failed, so pytest did not even start a session.
    assert "test session starts" not in result.stdout.str()


def test_a_bad_marker_is_reported_clearly_under_xdist(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.phyxius(start="yesterday")
        def test_bad(controlled_clock):
            pass
        """
    )

    result = pytester.runpytest("-n", "2", *ALONE)

    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting test_bad.py*",
            "test_bad.py::test_bad: phyxius(start)='yesterday' is not a start time; *",
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str()
