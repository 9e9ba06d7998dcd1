"""The PostgreSQL schema of `PostgresStore`: names, statements, version checks.

A store lives in one PostgreSQL schema (namespace) under a table prefix, so
several stores - or several test runs - share a database without meeting.
With the default prefix ``phyxius`` the objects are::

    phyxius_meta(key PRIMARY KEY, value)
        ('format', 'phyxius-journal'), ('schema_version', '1')
    phyxius_journals(journal_id PRIMARY KEY, name UNIQUE, codec,
                     first_sequence, next_sequence)
    phyxius_entries(journal_id, sequence, id, wall_ns, mono_ns, data, metadata)
        PRIMARY KEY (journal_id, sequence), UNIQUE (journal_id, id)
    phyxius_append(...)    the append, as one server-side function
    phyxius_append_one(...)    the same for one entry, taking plain values
    phyxius_notify(...)    wakes followers after an append committed

A journal's row in ``phyxius_journals`` is its *head*: ``next_sequence`` is
kept there, never derived from the entries, so retention cannot make a number
come back, and the row is the journal's write lock. ``phyxius_append`` locks
it (``FOR NO KEY UPDATE``), checks ``expected_sequence``, the codec and the
retention cap, inserts the entries at ``next_sequence``, drops what retention
drops and moves the head - in one statement, so an append is one round trip
and holds the lock only for its own work. The common case (the journal
exists and every check passes) runs as a plain ``UPDATE ... RETURNING`` of
the head feeding an ``INSERT``, which PostgreSQL executes in about half the
time of the function, and falls back to the function when it moves nothing.
Because each append keeps the head locked until it commits, appends to one
journal commit in sequence order: whoever sees entry ``n + 1`` sees entry
``n``, and a rejected or rolled-back append leaves the head as it was, so it
uses up no number. That is what lets `Journal.follow` read ``sequence >= position`` and
never skip an entry that committed late.

Followers are woken by ``phyxius_notify``, called in a transaction of its own
right after the append commits, with ``synchronous_commit`` off. Not by a
NOTIFY inside the append: PostgreSQL serialises the commits of every
transaction that notifies, database-wide, through their disk flush, which
would cap all appends to all journals at one flush at a time. Outside it, the
appends of different journals commit together (one flush for several), and
the notification costs no flush; it is sent on a side connection without
waiting for its answer (see `phyxius.journal._postgres_pool`).

The names come from the caller, so they are checked against a strict pattern
(lower-case letters, digits and ``_``) and still quoted with
``psycopg.sql.Identifier`` wherever they appear; nothing else is ever
formatted into SQL.

The ``meta`` table marks the tables as a journal store of a schema version.
Opening a store checks it before anything is written: tables under the prefix
that lack the mark, another format, or a newer or unknown version are refused
with a message naming them, and never modified.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, final

from phyxius._errors import InvalidArgumentError
from phyxius.journal._errors import StoreFormatError

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Names",
    "Statements",
    "check_prefix",
    "check_schema",
    "prepare_schema",
]

FORMAT: Final = "phyxius-journal"
"""The ``format`` row of the meta table."""

SCHEMA_VERSION: Final = 1
"""The ``schema_version`` row of the meta table this Phyxius reads and writes."""

_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]*")
_MAX_SCHEMA: Final = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1)
_MAX_PREFIX: Final = 40  # leaves room for the longest suffix below

# Append outcomes, the ``r_status`` of the append function.
STATUS_OK: Final = 0
STATUS_CONFLICT: Final = 1
STATUS_OVERFLOW: Final = 2
STATUS_CODEC: Final = 3
STATUS_COLLISION: Final = 4


def check_schema(schema: object) -> str:
    """Return ``schema`` if it is a name this store accepts for a schema."""
    if not isinstance(schema, str):
        raise InvalidArgumentError(
            f"schema={schema!r} (type={type(schema).__name__}) is not a schema "
            "name; pass a str such as 'public', or None for the connection's "
            "current schema"
        )
    if (
        not _IDENTIFIER.fullmatch(schema)
        or len(schema) > _MAX_SCHEMA
        or schema.startswith("pg_")
        or schema == "information_schema"
    ):
        # pg_* and information_schema belong to PostgreSQL itself; a superuser
        # could create the tables there, where they must never be.
        raise InvalidArgumentError(
            f"schema={schema!r} is not a schema name this store accepts; use "
            f"1 to {_MAX_SCHEMA} lower-case letters, digits and '_', starting "
            "with a letter or '_', not with 'pg_' and not information_schema"
        )
    return schema


def check_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is a table prefix this store accepts."""
    if not isinstance(prefix, str):
        raise InvalidArgumentError(
            f"prefix={prefix!r} (type={type(prefix).__name__}) is not a table "
            "prefix; pass a str such as 'phyxius'"
        )
    if not _IDENTIFIER.fullmatch(prefix) or len(prefix) > _MAX_PREFIX:
        raise InvalidArgumentError(
            f"prefix={prefix!r} is not a table prefix this store accepts; use 1 "
            f"to {_MAX_PREFIX} lower-case letters, digits and '_', starting with "
            "a letter or '_'"
        )
    return prefix


@final
@dataclass(frozen=True, slots=True)
class Names:
    """The checked names of one store's objects."""

    schema: str
    prefix: str

    @property
    def meta(self) -> str:
        """The meta table's name."""
        return f"{self.prefix}_meta"

    @property
    def journals(self) -> str:
        """The heads table's name."""
        return f"{self.prefix}_journals"

    @property
    def entries(self) -> str:
        """The entries table's name."""
        return f"{self.prefix}_entries"

    @property
    def append(self) -> str:
        """The append function's name."""
        return f"{self.prefix}_append"

    @property
    def append_one(self) -> str:
        """The one-entry append function's name."""
        return f"{self.prefix}_append_one"

    @property
    def notify(self) -> str:
        """The notify function's name."""
        return f"{self.prefix}_notify"

    @property
    def id_constraint(self) -> str:
        """The unique constraint on ``(journal_id, id)``: a retried append hits it."""
        return f"{self.prefix}_entries_id_key"

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel; the payload is the journal's ``journal_id``.

        Derived from the schema and the prefix by a hash, so that it fits in an
        identifier whatever their lengths, and two stores share a channel only
        when they share tables.
        """
        digest = hashlib.sha256(f"{self.schema}.{self.prefix}".encode()).hexdigest()
        return f"phyxius_{digest[:20]}"

    def describe(self) -> str:
        """``schema.prefix_*`` for messages."""
        return f"{self.schema}.{self.prefix}_*"


@final
class Statements:
    """Every SQL statement of a store, composed once from its checked names.

    Kept as text: psycopg would render a composed statement again on every
    execution, while the text of a statement keys its cache of parsed and
    prepared queries directly.
    """

    __slots__ = (
        "append",
        "append_one",
        "append_plain",
        "append_plain_one",
        "bounds",
        "by_ids",
        "find",
        "head",
        "journal",
        "journals",
        "load_entries",
        "load_head",
        "load_move",
        "notify_bytes",
        "read",
        "read_limit",
        "read_stop",
        "read_stop_limit",
    )

    def __init__(self, names: Names) -> None:
        from psycopg import sql

        schema = sql.Identifier(names.schema)
        journals = sql.SQL("{}.{}").format(schema, sql.Identifier(names.journals))
        entries = sql.SQL("{}.{}").format(schema, sql.Identifier(names.entries))
        function = sql.SQL("{}.{}").format(schema, sql.Identifier(names.append))
        columns = sql.SQL("id, sequence, wall_ns, mono_ns, data, metadata")

        # Arrays are sent in binary (``%b``): psycopg adapts a list of a
        # hundred values to the text format about five times slower.
        self.append = _text(
            sql.SQL(
                "SELECT * FROM {}(%s, %s, %s, %s, %s, "
                "%b::text[], %b::int8[], %b::int8[], %b::bytea[], %b::bytea[])"
            ).format(function)
        )
        # Arrays cost psycopg far more to adapt than plain values: one entry
        # goes through the wrapper that builds them on the server.
        self.append_one = _text(
            sql.SQL(
                "SELECT * FROM {}(%s, %s, %s, %s, %s, %s::text, %s::int8, %s::int8, "
                "%s::bytea, %s::bytea)"
            ).format(sql.SQL("{}.{}").format(schema, sql.Identifier(names.append_one)))
        )
        # The common case as one plain statement, which PostgreSQL runs in
        # about half the time of the function; see `_PLAIN_APPEND`.
        self.append_plain_one = _text(
            sql.SQL(_PLAIN_APPEND).format(
                journals=journals,
                entries=entries,
                count=sql.SQL("1"),
                rows=sql.SQL(
                    "SELECT head.journal_id, head.sequence, %(ids)s::text, "
                    "%(wall)s::int8, %(mono)s::int8, %(data)s::bytea, "
                    "%(meta)s::bytea FROM head"
                ),
            )
        )
        self.append_plain = _text(
            sql.SQL(_PLAIN_APPEND).format(
                journals=journals,
                entries=entries,
                count=sql.SQL("cardinality(%(ids)b::text[])"),
                rows=sql.SQL(
                    "SELECT head.journal_id, head.sequence + d.n - 1, d.id, d.wall, "
                    "d.mono, d.data, d.meta FROM head, unnest(%(ids)b::text[], "
                    "%(wall)b::int8[], %(mono)b::int8[], %(data)b::bytea[], "
                    "%(meta)b::bytea[]) WITH ORDINALITY "
                    "AS d (id, wall, mono, data, meta, n)"
                ),
            )
        )
        self.journal = _text(
            sql.SQL("SELECT journal_id, codec FROM {} WHERE name = %s").format(journals)
        )
        self.bounds = _text(
            sql.SQL(
                "SELECT first_sequence, next_sequence FROM {} WHERE name = %s"
            ).format(journals)
        )
        self.journals = _text(
            sql.SQL('SELECT name FROM {} ORDER BY name COLLATE "C"').format(journals)
        )
        select = sql.SQL(
            "SELECT {} FROM {} WHERE journal_id = %s AND sequence >= %s "
        ).format(columns, entries)
        order = sql.SQL("ORDER BY sequence")
        self.read = _text(select + order)
        self.read_stop = _text(select + sql.SQL("AND sequence < %s ") + order)
        self.read_limit = _text(select + order + sql.SQL(" LIMIT %s"))
        self.read_stop_limit = _text(
            select + sql.SQL("AND sequence < %s ") + order + sql.SQL(" LIMIT %s")
        )
        self.find = _text(
            sql.SQL("SELECT {} FROM {} WHERE journal_id = %s AND id = %s").format(
                columns, entries
            )
        )
        self.by_ids = _text(
            sql.SQL(
                "SELECT {} FROM {} WHERE journal_id = %s AND id = ANY(%b::text[])"
            ).format(columns, entries)
        )
        self.head = _text(
            sql.SQL(
                "SELECT journal_id, codec, first_sequence, next_sequence FROM {} "
                "WHERE name = %s FOR NO KEY UPDATE"
            ).format(journals)
        )
        self.load_head = _text(
            sql.SQL(
                "INSERT INTO {} (name, codec, first_sequence, next_sequence) "
                "VALUES (%s, %s, 0, 0) ON CONFLICT (name) DO NOTHING"
            ).format(journals)
        )
        self.load_move = _text(
            sql.SQL(
                "UPDATE {} SET first_sequence = %s, next_sequence = %s "
                "WHERE journal_id = %s"
            ).format(journals)
        )
        self.load_entries = _text(
            sql.SQL(
                "INSERT INTO {} (journal_id, sequence, id, wall_ns, mono_ns, data, "
                "metadata) SELECT %s, d.sequence, d.id, d.wall_ns, d.mono_ns, "
                "d.data, d.metadata FROM unnest(%b::int8[], %b::text[], %b::int8[], "
                "%b::int8[], %b::bytea[], %b::bytea[]) AS d (sequence, id, wall_ns, "
                "mono_ns, data, metadata)"
            ).format(entries)
        )
        # Sent with libpq's own placeholders, bypassing psycopg's adaptation.
        self.notify_bytes = (
            sql.SQL("SELECT {}($1::bigint)")
            .format(sql.SQL("{}.{}").format(schema, sql.Identifier(names.notify)))
            .as_bytes(None)
        )


def _text(statement: sql.Composable) -> str:
    return statement.as_string(None)


def _create_statements(names: Names) -> list[sql.Composed]:
    from psycopg import sql

    schema = sql.Identifier(names.schema)

    def qualified(name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(schema, sql.Identifier(name))

    meta = qualified(names.meta)
    journals = qualified(names.journals)
    entries = qualified(names.entries)
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema),
        sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, value text NOT NULL)").format(
            meta
        ),
        sql.SQL(
            """
            CREATE TABLE {} (
                journal_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name text NOT NULL CONSTRAINT {} UNIQUE,
                codec text NOT NULL,
                first_sequence bigint NOT NULL,
                next_sequence bigint NOT NULL
            )
            """
        ).format(journals, sql.Identifier(f"{names.journals}_name_key")),
        # No foreign key to the heads: the append function is the only
        # writer, and a key check per row would cost more than the insert.
        sql.SQL(
            """
            CREATE TABLE {} (
                journal_id bigint NOT NULL,
                sequence bigint NOT NULL,
                id text NOT NULL,
                wall_ns bigint NOT NULL,
                mono_ns bigint NOT NULL,
                data bytea NOT NULL,
                metadata bytea,
                CONSTRAINT {} PRIMARY KEY (journal_id, sequence),
                CONSTRAINT {} UNIQUE (journal_id, id)
            )
            """
        ).format(
            entries,
            sql.Identifier(f"{names.entries}_pkey"),
            sql.Identifier(names.id_constraint),
        ),
        sql.SQL(_APPEND_FUNCTION).format(
            function=qualified(names.append),
            journals=journals,
            entries=entries,
        ),
        sql.SQL(_APPEND_ONE_FUNCTION).format(
            function=qualified(names.append_one), append=qualified(names.append)
        ),
        sql.SQL(_NOTIFY_FUNCTION).format(
            function=qualified(names.notify), channel=sql.Literal(names.channel)
        ),
        sql.SQL(
            "INSERT INTO {} (key, value) VALUES ('format', {}), ('schema_version', {})"
        ).format(meta, sql.Literal(FORMAT), sql.Literal(str(SCHEMA_VERSION))),
    ]


# The append, server side. Each statement of a VOLATILE PL/pgSQL function
# takes a fresh snapshot under READ COMMITTED, so every statement after the
# head lock sees all that earlier holders of the lock committed.
_APPEND_FUNCTION: Final = """
CREATE FUNCTION {function}(
    p_name text, p_codec text, p_expected bigint, p_max bigint, p_drop boolean,
    p_ids text[], p_wall bigint[], p_mono bigint[], p_data bytea[],
    p_meta bytea[],
    OUT r_status integer, OUT r_journal bigint, OUT r_codec text,
    OUT r_first bigint, OUT r_next bigint, OUT r_dropped bigint)
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    v_count bigint := coalesce(cardinality(p_ids), 0);
    v_keep bigint;
BEGIN
    r_dropped := 0;
    SELECT j.journal_id, j.codec, j.first_sequence, j.next_sequence
      INTO r_journal, r_codec, r_first, r_next
      FROM {journals} AS j WHERE j.name = p_name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        -- A new journal; a concurrent creator may win, then we lock its row.
        INSERT INTO {journals} (name, codec, first_sequence, next_sequence)
        VALUES (p_name, p_codec, 0, 0) ON CONFLICT (name) DO NOTHING;
        SELECT j.journal_id, j.codec, j.first_sequence, j.next_sequence
          INTO STRICT r_journal, r_codec, r_first, r_next
          FROM {journals} AS j WHERE j.name = p_name FOR NO KEY UPDATE;
    END IF;

    IF r_codec <> p_codec THEN
        r_status := 3;
        RETURN;
    END IF;
    IF (p_expected IS NOT NULL AND p_expected <> r_next)
       OR (p_max IS NOT NULL AND NOT p_drop
           AND r_next - r_first + v_count > p_max) THEN
        -- A retry of an append that succeeded must not fail its check now.
        IF EXISTS (SELECT 1 FROM {entries} AS e
                   WHERE e.journal_id = r_journal AND e.id = ANY (p_ids)) THEN
            r_status := 4;
        ELSIF p_expected IS NOT NULL AND p_expected <> r_next THEN
            r_status := 1;
        ELSE
            r_status := 2;
        END IF;
        RETURN;
    END IF;

    -- A stored id fails the unique constraint here, undoing the whole call.
    INSERT INTO {entries}
        (journal_id, sequence, id, wall_ns, mono_ns, data, metadata)
    SELECT r_journal, r_next + d.n - 1, d.id, d.wall, d.mono, d.data, d.meta
      FROM unnest(p_ids, p_wall, p_mono, p_data, p_meta)
           WITH ORDINALITY AS d (id, wall, mono, data, meta, n);

    v_keep := r_first;
    IF p_drop AND r_next + v_count - r_first > p_max THEN
        v_keep := r_next + v_count - p_max;
        DELETE FROM {entries} AS e
         WHERE e.journal_id = r_journal
           AND e.sequence >= r_first AND e.sequence < v_keep;
        r_dropped := v_keep - r_first;
    END IF;
    UPDATE {journals} AS j
       SET first_sequence = v_keep, next_sequence = r_next + v_count
     WHERE j.journal_id = r_journal;
    r_status := 0;
END
$body$
"""


# The append without the function, for the common case: the journal exists,
# its codec matches, and there is no expected_sequence mismatch, no overflow
# and nothing for drop_oldest to drop. Moving the head locks it until the
# commit, exactly as the function's SELECT ... FOR NO KEY UPDATE does, and
# under READ COMMITTED an UPDATE that waited for the lock checks its WHERE
# against the head as the previous holder committed it. When the WHERE does
# not hold, nothing is written and no row comes back: the caller then runs the
# function, which tells which rule failed (or creates the journal). Retention
# that drops entries is left to the function, since a DELETE in this
# statement would not see entries committed while it waited for the lock.
_PLAIN_APPEND: Final = """
WITH head AS (
    UPDATE {journals} AS j
       SET next_sequence = j.next_sequence + {count}
     WHERE j.name = %(name)s AND j.codec = %(codec)s
       AND (%(expected)s::int8 IS NULL OR j.next_sequence = %(expected)s::int8)
       AND (%(max)s::int8 IS NULL
            OR j.next_sequence - j.first_sequence + {count} <= %(max)s::int8)
    RETURNING j.journal_id, j.first_sequence, j.next_sequence - {count} AS sequence
), stored AS (
    INSERT INTO {entries}
        (journal_id, sequence, id, wall_ns, mono_ns, data, metadata)
    {rows}
)
SELECT 0, head.journal_id, %(codec)s::text, head.first_sequence, head.sequence,
       0::int8
  FROM head
"""


_APPEND_ONE_FUNCTION: Final = """
CREATE FUNCTION {function}(
    p_name text, p_codec text, p_expected bigint, p_max bigint, p_drop boolean,
    p_id text, p_wall bigint, p_mono bigint, p_data bytea, p_meta bytea,
    OUT r_status integer, OUT r_journal bigint, OUT r_codec text,
    OUT r_first bigint, OUT r_next bigint, OUT r_dropped bigint)
LANGUAGE sql VOLATILE AS $body$
    SELECT * FROM {append}(p_name, p_codec, p_expected, p_max, p_drop,
        ARRAY[p_id], ARRAY[p_wall], ARRAY[p_mono], ARRAY[p_data], ARRAY[p_meta])
$body$
"""


# A notification only wakes followers, who then read what is committed: it
# need not wait for a disk flush, and it is sent in a transaction that holds
# PostgreSQL's notification lock only for that short while.
_NOTIFY_FUNCTION: Final = """
CREATE FUNCTION {function}(p_journal bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $body$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_notify({channel}, p_journal::text);
END
$body$
"""


def prepare_schema(connection: psycopg.Connection[Any], names: Names) -> None:
    """Check the store's objects, creating them first if there are none.

    Creation runs in one transaction under an advisory lock on the schema's
    name, so concurrent first uses create everything once; the check is
    repeated under the lock.

    Raises:
        StoreFormatError: tables under the prefix that are not a journal
            store, or are one of another format or schema version.
    """
    if _inspect(connection, names) == "store":
        return
    key = (f"phyxius:{names.schema}",)
    # A session lock taken before the transaction: a transaction that began
    # before another creator committed could still see the tables as absent.
    connection.execute("SELECT pg_advisory_lock(hashtext(%s))", key)
    try:
        with connection.transaction():
            if _inspect(connection, names) == "empty":
                for statement in _create_statements(names):
                    connection.execute(statement)
    finally:
        connection.execute("SELECT pg_advisory_unlock(hashtext(%s))", key)


def _inspect(connection: psycopg.Connection[Any], names: Names) -> str:
    """``"store"`` or ``"empty"``; raise for anything else, touching nothing."""
    from psycopg import sql

    qualified = [
        f"{names.schema}.{name}" for name in (names.meta, names.journals, names.entries)
    ]
    # to_regclass takes a name as SQL would parse it; the names are checked
    # lower-case identifiers, so no quoting is needed inside the string.
    row = connection.execute(
        "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
        "to_regclass(%s) IS NOT NULL",
        qualified,
    ).fetchone()
    assert row is not None
    has_meta, has_journals, has_entries = row
    where = names.describe()

    if not has_meta:
        present = [
            name
            for name, there in (
                (names.journals, has_journals),
                (names.entries, has_entries),
            )
            if there
        ]
        if present:
            raise StoreFormatError(
                f"{where}: table {names.schema}.{present[0]} exists but is not part "
                f"of a journal store (there is no {names.meta} table marking one); "
                "choose another prefix= or schema= for the journals"
            )
        return "empty"

    # A table of another program under the name may lack these columns;
    # reading them anyway would fail with a bare SQL error.
    columns = connection.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attname IN ('key', 'value') AND attnum > 0 AND NOT attisdropped",
        (qualified[0],),
    ).fetchone()
    if columns is None or columns[0] != 2:
        raise StoreFormatError(
            f"{where}: table {names.schema}.{names.meta} does not mark a journal "
            "store (it has no key and value columns); choose another prefix= or "
            "schema= for the journals"
        )
    rows = connection.execute(
        sql.SQL("SELECT key, value FROM {}.{}").format(
            sql.Identifier(names.schema), sql.Identifier(names.meta)
        )
    ).fetchall()
    marks = {str(key): str(value) for key, value in rows}
    if marks.get("format") != FORMAT:
        raise StoreFormatError(
            f"{where}: table {names.schema}.{names.meta} does not mark a journal "
            f"store (format={marks.get('format')!r}, expected {FORMAT!r}); choose "
            "another prefix= or schema= for the journals"
        )
    version_text = marks.get("schema_version", "")
    version = int(version_text) if version_text.isdigit() else None
    if version == SCHEMA_VERSION:
        if not (has_journals and has_entries):
            missing = names.journals if not has_journals else names.entries
            raise StoreFormatError(
                f"{where}: the journal store is damaged: table "
                f"{names.schema}.{missing} is missing; restore it from a backup"
            )
        return "store"
    if version is not None and version > SCHEMA_VERSION:
        raise StoreFormatError(
            f"{where} is a journal store of schema version {version}, written by "
            f"a newer Phyxius; this one reads version {SCHEMA_VERSION}: upgrade "
            "phyxius to open it"
        )
    raise StoreFormatError(
        f"{where} is marked as a journal store but has unknown schema version "
        f"{version_text!r} (this Phyxius reads version {SCHEMA_VERSION}); the "
        "tables were changed by another program: restore them from a backup"
    )
