"""The README's PostgreSQL section runs as written and prints what it shows.

Its examples read the server's dsn from ``DATABASE_URL``; here that is this
test's dsn with the test's schema as the current one, so the examples' stores
(which take the connection's current schema) live in it.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.journal.postgres._pg_harness import Postgres, import_psycopg

pytestmark = pytest.mark.postgres

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.DOTALL)


def postgres_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Journals in PostgreSQL\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def examples() -> list[tuple[str, str | None]]:
    """Each python block with the text block right after it, if any."""
    blocks = BLOCK.findall(postgres_section())
    pairs: list[tuple[str, str | None]] = []
    for index, (kind, body) in enumerate(blocks):
        if kind == "python":
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            expected = following[1] if following and following[0] == "text" else None
            pairs.append((body, expected))
    return pairs


def test_every_postgres_example_runs_and_prints_what_the_readme_shows(
    pg: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    psycopg = import_psycopg()
    pg.admin.execute(f'CREATE SCHEMA "{pg.schema}"')
    dsn = psycopg.conninfo.make_conninfo(pg.dsn, options=f"-c search_path={pg.schema}")
    monkeypatch.setenv("DATABASE_URL", dsn)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    pairs = examples()
    assert len(pairs) == 3

    for code, expected in pairs:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, "README.md", "exec"), namespace)
        if expected is not None:
            assert output.getvalue() == expected, code

    # Everything the examples wrote is in this test's schema.
    assert pg.value("SELECT count(*) FROM phyxius_journals") == 4
