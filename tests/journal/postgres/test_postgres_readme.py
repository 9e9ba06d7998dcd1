"""The README's PostgreSQL section runs as written and prints what it shows.

Its examples read the server's dsn from ``DATABASE_URL``; here that is this
test's dsn with the test's schema as the current one, so the examples' stores
(which take the connection's current schema) live in it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest

from tests.journal.postgres._pg_harness import Postgres, import_psycopg
from tests.readme_blocks import python_blocks

pytestmark = pytest.mark.postgres


def test_every_postgres_example_runs_and_prints_what_the_readme_shows(
    pg: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    psycopg = import_psycopg()
    pg.admin.execute(f'CREATE SCHEMA "{pg.schema}"')
    dsn = psycopg.conninfo.make_conninfo(pg.dsn, options=f"-c search_path={pg.schema}")
    monkeypatch.setenv("DATABASE_URL", dsn)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    blocks = python_blocks("Journals in PostgreSQL")
    assert len(blocks) == 3

    for block in blocks:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block.code, "README.md", "exec"), namespace)
        if block.output is not None:
            assert output.getvalue() == block.output, block.code

    # Everything the examples wrote is in this test's schema.
    assert pg.value("SELECT count(*) FROM phyxius_journals") == 4
