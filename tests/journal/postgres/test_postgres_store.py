"""Opening a PostgresStore: arguments, names, the schema and its version."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from phyxius import InvalidArgumentError, InvalidDurationError
from phyxius.journal import (
    ConcurrencyError,
    JournalClosedError,
    PostgresStore,
    Store,
    StoreError,
    StoreFormatError,
    create_journal,
)
from phyxius.journal._postgres_schema import SCHEMA_VERSION
from tests.journal.postgres._pg_harness import Postgres, import_psycopg

pytestmark = pytest.mark.postgres

psycopg = import_psycopg()


def tables(pg: Postgres) -> list[str]:
    rows = pg.admin.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (pg.schema,),
    ).fetchall()
    return [row[0] for row in rows]


# -- creating and checking the schema ---------------------------------------------


def test_first_use_creates_the_schema_tables_and_marks_the_version(
    pg: Postgres,
) -> None:
    store = pg.store()

    assert isinstance(store, Store)
    assert tables(pg) == ["phyxius_entries", "phyxius_journals", "phyxius_meta"]
    rows = pg.admin.execute("SELECT key, value FROM phyxius_meta").fetchall()
    marks: dict[str, str] = dict(rows)
    assert marks == {"format": "phyxius-journal", "schema_version": str(SCHEMA_VERSION)}
    assert store.schema == pg.schema
    assert store.prefix == "phyxius"
    assert store.journals() == []


def test_reopening_keeps_the_journals(pg: Postgres) -> None:
    pg.journal("orders", store=pg.store()).append({"n": 1})

    again = pg.store()

    assert again.journals() == ["orders"]
    assert [entry.data for entry in pg.journal("orders", store=again)] == [{"n": 1}]


def test_a_prefix_keeps_stores_in_one_schema_apart(pg: Postgres) -> None:
    first = pg.journal("orders", store=pg.store(prefix="billing"))
    second = pg.journal("orders", store=pg.store(prefix="shipping"))

    first.append("billed")

    assert second.get_all() == []
    assert tables(pg) == [
        "billing_entries",
        "billing_journals",
        "billing_meta",
        "shipping_entries",
        "shipping_journals",
        "shipping_meta",
    ]


def test_stores_opened_together_create_the_schema_once(pg: Postgres) -> None:
    import threading

    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_store() -> None:
        barrier.wait()
        try:
            stores.append(pg.store())
        except BaseException as error:  # collected and checked below
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(stores) == 6
    assert tables(pg) == ["phyxius_entries", "phyxius_journals", "phyxius_meta"]


def test_the_default_schema_is_the_connections_current_schema(pg: Postgres) -> None:
    pg.admin.execute(f'CREATE SCHEMA "{pg.schema}"')
    dsn = psycopg.conninfo.make_conninfo(pg.dsn, options=f"-c search_path={pg.schema}")

    store = pg.store(dsn=dsn, schema=None)

    assert store.schema == pg.schema
    assert tables(pg) == ["phyxius_entries", "phyxius_journals", "phyxius_meta"]


def test_a_search_path_without_a_schema_is_refused(pg: Postgres) -> None:
    dsn = psycopg.conninfo.make_conninfo(
        pg.dsn, options="-c search_path=nowhere_at_all"
    )

    with pytest.raises(
        InvalidArgumentError,
        match=r"^the connection has no current schema \(search_path='nowhere_at_all' "
        r"names none that exists\); pass schema='\.\.\.' to PostgresStore$",
    ):
        pg.store(dsn=dsn, schema=None)


def test_a_newer_schema_version_is_refused_untouched(pg: Postgres) -> None:
    pg.store()
    pg.admin.execute("UPDATE phyxius_meta SET value = '2' WHERE key = 'schema_version'")

    with pytest.raises(
        StoreFormatError,
        match=rf"^{pg.schema}\.phyxius_\* is a journal store of schema version 2, "
        r"written by a newer Phyxius; this one reads version 1: upgrade phyxius "
        r"to open it$",
    ):
        pg.store()

    assert (
        pg.value("SELECT value FROM phyxius_meta WHERE key = 'schema_version'") == "2"
    )


@pytest.mark.parametrize("version", ["0", "one", ""])
def test_an_unknown_schema_version_is_refused(pg: Postgres, version: str) -> None:
    pg.store()
    pg.admin.execute(
        "UPDATE phyxius_meta SET value = %s WHERE key = 'schema_version'", (version,)
    )

    with pytest.raises(
        StoreFormatError,
        match=rf"^{pg.schema}\.phyxius_\* is marked as a journal store but has "
        rf"unknown schema version '{version}' \(this Phyxius reads version 1\); the "
        r"tables were changed by another program: restore them from a backup$",
    ):
        pg.store()


@pytest.mark.parametrize(
    ("table", "columns", "row", "problem"),
    [
        pytest.param(
            "phyxius_entries",
            "anything text",
            "('theirs')",
            r"table {schema}\.phyxius_entries exists but is not part of a journal "
            r"store \(there is no phyxius_meta table marking one\)",
            id="entries-without-meta",
        ),
        pytest.param(
            "phyxius_meta",
            "key text, value text",
            "('format', 'something-else')",
            r"table {schema}\.phyxius_meta does not mark a journal store "
            r"\(format='something-else', expected 'phyxius-journal'\)",
            id="meta-of-another-format",
        ),
        pytest.param(
            "phyxius_meta",
            "name text, version int",
            "('theirs', 3)",
            r"table {schema}\.phyxius_meta does not mark a journal store \(it has "
            r"no key and value columns\)",
            id="meta-of-another-program",
        ),
    ],
)
def test_a_foreign_table_under_the_prefix_is_refused_untouched(
    pg: Postgres, table: str, columns: str, row: str, problem: str
) -> None:
    pg.admin.execute(f'CREATE SCHEMA "{pg.schema}"')
    pg.admin.execute(f"CREATE TABLE {table} ({columns})")
    pg.admin.execute(f"INSERT INTO {table} VALUES {row}")
    before = pg.value(f"SELECT row_to_json(t)::text FROM {table} t")

    with pytest.raises(
        StoreFormatError,
        match=rf"^{pg.schema}\.phyxius_\*: "
        + problem.format(schema=pg.schema)
        + r"; choose another prefix= or schema= for the journals$",
    ):
        pg.store()

    assert tables(pg) == [table]
    assert pg.value(f"SELECT row_to_json(t)::text FROM {table} t") == before


def test_a_store_missing_a_table_is_reported_damaged(pg: Postgres) -> None:
    pg.store()
    pg.admin.execute("DROP TABLE phyxius_entries")

    with pytest.raises(
        StoreFormatError,
        match=rf"^{pg.schema}\.phyxius_\*: the journal store is damaged: table "
        rf"{pg.schema}\.phyxius_entries is missing; restore it from a backup$",
    ):
        pg.store()


def test_tables_dropped_under_an_open_store_give_a_clear_error(pg: Postgres) -> None:
    journal = pg.journal()
    journal.append(1)
    pg.admin.execute("DROP TABLE phyxius_entries")

    with pytest.raises(
        StoreFormatError,
        match=r"^127\.0\.0\.1:5432/test: the journal store's tables or function "
        r"are gone: .*; they were dropped while the store was open",
    ):
        journal.get_all()


# -- arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        "Public",
        "my-schema",
        "1st",
        "pg_catalog",
        "information_schema",
        "a" * 64,
        "x y",
        'x"; DROP',
        "",
    ],
)
def test_a_bad_schema_name_is_refused_before_connecting(schema: str) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=rf"^schema={schema!r} is not a schema name this store accepts; use 1 "
        r"to 63 lower-case letters, digits and '_', starting with a letter or '_', "
        r"not with 'pg_' and not information_schema$".replace("(", r"\("),
    ):
        PostgresStore("host=203.0.113.1 connect_timeout=1", schema=schema)


@pytest.mark.parametrize("prefix", ["Phyxius", "a.b", "_" * 41, "", "x;", "9x"])
def test_a_bad_prefix_is_refused_before_connecting(prefix: str) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=rf"^prefix={prefix!r} is not a table prefix this store accepts; use 1 "
        r"to 40 lower-case letters, digits and '_', starting with a letter or '_'$",
    ):
        PostgresStore("host=203.0.113.1 connect_timeout=1", prefix=prefix)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"schema": 3},
            r"^schema=3 \(type=int\) is not a schema name; pass a str such as "
            r"'public', or None for the connection's current schema$",
        ),
        (
            {"prefix": None},
            r"^prefix=None \(type=NoneType\) is not a table prefix; pass a str such "
            r"as 'phyxius'$",
        ),
        (
            {"listen": "yes"},
            r"^listen='yes' \(type=str\) is not a bool; pass True or False$",
        ),
        (
            {"listen": False},
            r"^listen=False needs a poll_interval, or followers would never see "
            r"entries of other processes; pass poll_interval=0\.05 \(seconds\)$",
        ),
        (
            {"poll_interval": 0},
            r"^poll_interval=0 is zero; pass a positive number of seconds, or None "
            r"to rely on notifications$",
        ),
        (
            {"max_attempts": 0},
            r"^max_attempts=0 \(type=int\) is not a positive int; pass 1 or more$",
        ),
        (
            {"max_attempts": True},
            r"^max_attempts=True \(type=bool\) is not a positive int; pass 1 or more$",
        ),
    ],
)
def test_bad_options_are_refused_before_connecting(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        PostgresStore("host=203.0.113.1 connect_timeout=1", **options)


def test_a_negative_poll_interval_is_a_duration_error() -> None:
    with pytest.raises(InvalidDurationError, match=r"^poll_interval="):
        PostgresStore("host=203.0.113.1 connect_timeout=1", poll_interval=-1)


def test_a_dsn_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^dsn=b'host=x' \(type=bytes\) is not a connection string; pass a str "
        r"such as 'postgresql://user@host/dbname'$",
    ):
        PostgresStore(b"host=x")  # type: ignore[arg-type]


def test_a_malformed_dsn_is_refused() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"^dsn is not a PostgreSQL connection string \("
    ):
        PostgresStore("host=a =oops")


def test_a_url_of_another_database_is_refused_in_one_line() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r'^dsn is not a PostgreSQL connection string \(missing "=" after '
        r'"mysql://127\.0\.0\.1/test" in connection info string\); pass '
        r"'host=\.\.\. dbname=\.\.\. user=\.\.\.' or "
        r"'postgresql://user@host/dbname'\Z",
    ):
        PostgresStore("mysql://127.0.0.1/test")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"id": "order\x00-17"},
            r"^id='order\\x00-17' contains a NUL character, which PostgreSQL "
            r"cannot keep in text; pass an id without it$",
        ),
        (
            {"id": "order-\ud800"},
            r"^id='order-\\ud800' contains the lone surrogate '\\ud800', which "
            r"UTF-8 cannot encode; pass an id without it$",
        ),
    ],
)
def test_an_id_postgres_cannot_keep_is_refused_naming_it(
    pg: Postgres, options: dict[str, Any], message: str
) -> None:
    journal = pg.journal()
    kept = journal.append({"order": 16})

    with pytest.raises(InvalidArgumentError, match=message):
        journal.append({"order": 17}, **options)

    assert pg.stored() == [(0, kept.id)]


def test_a_journal_name_with_a_lone_surrogate_is_refused_naming_it(
    pg: Postgres,
) -> None:
    store = pg.store()

    with pytest.raises(
        InvalidArgumentError,
        match=r"^name='orders-\\udc80' contains the lone surrogate '\\udc80', "
        r"which UTF-8 cannot encode; pass a name without it$",
    ):
        create_journal(store, name="orders-\udc80")

    assert store.journals() == []


def test_an_unreachable_server_is_a_clear_error_without_the_password(
    postgres_dsn: str,
) -> None:
    dsn = psycopg.conninfo.make_conninfo(
        postgres_dsn, port="1", password="s3cret", connect_timeout="2"
    )

    with pytest.raises(
        StoreError,
        match=r"^could not connect to PostgreSQL at 127\.0\.0\.1:1/test: .*; check "
        r"that the server is running and that the dsn's host, port, database, user "
        r"and password are right$",
    ) as caught:
        PostgresStore(dsn)

    assert "s3cret" not in str(caught.value)


def test_a_missing_database_is_a_clear_error(postgres_dsn: str) -> None:
    dsn = psycopg.conninfo.make_conninfo(postgres_dsn, dbname="no_such_database_here")

    with pytest.raises(
        StoreError,
        match=r"^could not connect to PostgreSQL at 127\.0\.0\.1:5432/"
        r"no_such_database_here: .*no_such_database_here.* does not exist",
    ):
        PostgresStore(dsn)


def test_a_user_without_rights_gets_a_clear_error(pg: Postgres) -> None:
    role = f"{pg.schema}_reader"
    pg.admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        dsn = psycopg.conninfo.make_conninfo(pg.dsn, user=role)
        with pytest.raises(
            StoreError,
            match=r"^127\.0\.0\.1:5432/test: permission denied: permission denied "
            r"for database test \(SQLSTATE 42501\); grant the user of the dsn USAGE "
            r"and CREATE on the schema and rights on the store's tables$",
        ):
            pg.store(dsn=dsn)
    finally:
        pg.terminate("%")
        pg.admin.execute(f'DROP ROLE "{role}"')


def test_a_user_with_only_the_documented_rights_can_use_the_store(
    pg: Postgres,
) -> None:
    pg.store()  # the owner creates the tables
    role = f"{pg.schema}_writer"
    pg.admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        pg.admin.execute(f'GRANT USAGE ON SCHEMA "{pg.schema}" TO "{role}"')
        pg.admin.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
            f'"{pg.schema}" TO "{role}"'
        )
        store = pg.store(dsn=psycopg.conninfo.make_conninfo(pg.dsn, user=role))
        journal = pg.journal(
            "orders", store=store, max_entries=2, overflow="drop_oldest"
        )

        journal.extend(["a", "b", "c"])
        journal.append("d", expected_sequence=3)
        with pytest.raises(ConcurrencyError):
            journal.append("late", expected_sequence=3)

        assert [entry.data for entry in journal] == ["c", "d"]
        store.close()
    finally:
        pg.terminate("%")
        pg.admin.execute(f'DROP OWNED BY "{role}"')
        pg.admin.execute(f'DROP ROLE "{role}"')


# -- the driver is imported lazily --------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_phyxius_does_not_import_psycopg() -> None:
    result = run_python(
        """
        import sys
        import phyxius, phyxius.journal
        from phyxius.journal import PostgresStore
        print("psycopg" in sys.modules)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_without_psycopg_the_store_says_which_extra_to_install() -> None:
    result = run_python(
        """
        import sys
        sys.modules["psycopg"] = None  # as if it were not installed
        from phyxius.journal import JournalError, PostgresStore
        try:
            PostgresStore("host=127.0.0.1")
        except ImportError as error:
            assert isinstance(error, JournalError)
            print(error)
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PostgresStore needs psycopg 3, which could not ")
    assert result.stdout.strip().endswith(
        "install it with: pip install 'phyxius[postgres]'"
    )


# -- closing ---------------------------------------------------------------------------


def test_a_closed_store_refuses_every_call(pg: Postgres) -> None:
    store = pg.store()
    journal = create_journal(store, name="orders")
    journal.append(1)

    store.close()
    store.close()  # twice is fine

    assert store.closed
    for call in (
        lambda: journal.append(2),
        journal.get_all,
        lambda: store.bounds("orders"),
        store.journals,
        lambda: store.watch("orders", lambda: None),
    ):
        with pytest.raises(
            JournalClosedError,
            match=r"^the PostgresStore of 127\.0\.0\.1:5432/test was closed; open a "
            r"new PostgresStore to go on$",
        ):
            call()


def test_the_store_closes_as_a_context_manager_and_says_where_it_is(
    pg: Postgres,
) -> None:
    with pg.store() as store:
        assert repr(store) == (
            f"<PostgresStore 127.0.0.1:5432/test {pg.schema}.phyxius_* open>"
        )

    assert store.closed
    assert repr(store).endswith("closed>")
    # Every session ends (a backend leaves pg_stat_activity a moment after
    # its client closed the connection).
    pg.wait_until(
        lambda: (
            not pg.value(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND pid <> pg_backend_pid()",
                (pg.schema,),
            )
        ),
        "the store's sessions to end",
    )


def test_appends_from_one_thread_reuse_at_most_two_connections(
    pg: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phyxius.journal._postgres_pool import ConnectionPool

    opened: list[dict[str, Any]] = []
    connect = ConnectionPool.connect

    def counting(self: ConnectionPool, **extra: Any) -> Any:
        opened.append(extra)
        return connect(self, **extra)

    monkeypatch.setattr(ConnectionPool, "connect", counting)
    journal = pg.journal()

    for n in range(50):
        journal.append(n)
        journal.extend([n, n])

    # Each append's notification follows it on its connection; while its
    # answer is on the way, the next append may take a second connection.
    assert 1 <= len(opened) <= 2
    assert journal.next_sequence == 150
