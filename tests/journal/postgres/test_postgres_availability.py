"""Without a server the PostgreSQL tests skip, saying why; where required they fail.

``.ci/run`` sets ``PHYXIUS_REQUIRE_POSTGRES=1``, so CI cannot pass by skipping
them. Checked here on the helpers the fixtures use, and end to end on a test
session pointed at a port where no server listens.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.journal.postgres._pg_harness import (
    DSN_VARIABLE,
    REQUIRE_VARIABLE,
    find_server,
    import_psycopg,
)

pytestmark = pytest.mark.postgres

NOWHERE = "host=127.0.0.1 port=1 dbname=test user=postgres connect_timeout=2"
ROOT = Path(__file__).resolve().parents[3]


def test_without_a_server_the_tests_skip_naming_the_dsn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DSN_VARIABLE, NOWHERE)
    monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)

    with pytest.raises(
        pytest.skip.Exception,
        match=rf"^no PostgreSQL server reachable at '{NOWHERE}' \(.+\); start one "
        r"or set PHYXIUS_POSTGRES_DSN to run the PostgreSQL tests$",
    ):
        find_server()


def test_without_a_server_the_tests_fail_where_they_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DSN_VARIABLE, NOWHERE)
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")

    with pytest.raises(
        pytest.fail.Exception,
        match=rf"^no PostgreSQL server reachable at '{NOWHERE}' \(.+\); "
        r"PHYXIUS_REQUIRE_POSTGRES=1 requires the PostgreSQL tests to run$",
    ):
        find_server()


@pytest.mark.parametrize(
    ("required", "outcome"),
    [("", pytest.skip.Exception), ("1", pytest.fail.Exception)],
)
def test_without_psycopg_the_tests_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    monkeypatch.setenv(REQUIRE_VARIABLE, required)

    with pytest.raises(
        outcome,
        match=r"^psycopg is not installed \(pip install 'phyxius\[postgres\]'\); ",
    ):
        import_psycopg()


def test_the_server_named_by_the_variable_is_used(
    monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    dsn = f"{postgres_dsn} application_name=phyxius_availability"
    monkeypatch.setenv(DSN_VARIABLE, dsn)

    assert find_server() == dsn


@pytest.mark.parametrize(
    ("required", "summary"),
    [("0", "1 skipped"), ("1", "1 error")],
)
def test_a_session_without_a_server_skips_or_errors_as_required(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    required: str,
    summary: str,
) -> None:
    monkeypatch.setenv(DSN_VARIABLE, NOWHERE)
    monkeypatch.setenv(REQUIRE_VARIABLE, required)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest(
        "from tests.journal.postgres.conftest import make_journal, pg, postgres_dsn"
    )
    pytester.makepyfile(
        test_needs_the_server="""
        def test_append(pg):
            assert pg.journal().append("x").sequence == 0
        """
    )

    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")

    result.stdout.fnmatch_lines([f"*{summary}*"])
    if required == "1":
        result.stdout.fnmatch_lines(
            ["*PHYXIUS_REQUIRE_POSTGRES=1 requires the PostgreSQL tests to run*"]
        )
    else:
        result.stdout.fnmatch_lines(
            ["SKIPPED*no PostgreSQL server reachable at*start one or set*"]
        )
