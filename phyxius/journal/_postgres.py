"""`PostgresStore`: journals in PostgreSQL, shared by processes on many machines.

The store keeps the rules of `Store` with several writers on several
machines. How (the details are in `phyxius.journal._postgres_schema`):

* **One statement per append.** The journal's head row holds its next
  sequence. An append moves it (which locks the row until the commit) only
  if the codec, ``expected_sequence`` and the retention cap allow, and
  inserts the entries at the numbers it had - one plain statement, its own
  transaction, one round trip. When it moves nothing (a new journal, a rule
  that does not hold, entries for ``drop_oldest`` to drop), a server-side
  function does the same with each check spelled out, creating the journal
  or saying which rule failed.
* **Gapless, never reused, in commit order.** Sequences come from the head
  row under its lock, not from a SEQUENCE object, so a rejected or
  rolled-back append uses up no number. The lock is held until commit, so
  appends to one journal commit in sequence order: a reader that sees entry
  ``n + 1`` sees entry ``n``. Followers read ``sequence >= position`` and
  cannot skip an entry that committed late. The price is that the appends of
  *one* journal are serialised, one commit (one WAL flush) at a time; appends
  to different journals run in parallel.
* **Retries.** Serialization failures and deadlocks are run again after a
  randomised back-off, up to ``max_attempts``. A connection lost during an
  append is not retried behind the caller's back (the append may have
  committed): the `StoreError` names the ids, and appending again with the
  same id stores the entry once - the store finds it by id and returns it.
* **Live followers.** Once an append has committed, the store notifies its
  channel (on the append's connection, without waiting for the answer);
  `Journal.follow` on any machine is woken through a LISTEN connection (one
  per store and process) instead of polling, and after that connection
  drops and returns, every follower reads what it may have missed.
* **Durability** is the server's: with PostgreSQL's default
  ``synchronous_commit = on``, an acknowledged append is in the write-ahead
  log on disk and survives the writer, the server or the machine crashing.

psycopg 3 is imported when a store is opened, not before: install it with
``pip install phyxius[postgres]``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, final

from phyxius._errors import InternalError, InvalidArgumentError
from phyxius._time import NANOS_PER_SECOND, Instant, to_nanoseconds
from phyxius.journal._codec import Codec
from phyxius.journal._entry import (
    EMPTY_METADATA,
    Appended,
    Bounds,
    Draft,
    Entry,
    Retention,
    new_entry,
)
from phyxius.journal._errors import JournalClosedError, JournalError, StoreError
from phyxius.journal._postgres_pool import describe_error
from phyxius.journal._postgres_schema import (
    STATUS_CODEC,
    STATUS_COLLISION,
    STATUS_CONFLICT,
    STATUS_OK,
    STATUS_OVERFLOW,
)
from phyxius.journal._store import (
    check_codec,
    check_load,
    concurrency_error,
    overflow_error,
    resolve_retry,
)

if TYPE_CHECKING:
    import psycopg

    from phyxius.journal._postgres_listen import Listener
    from phyxius.journal._postgres_schema import Names, Statements

__all__ = ["DEFAULT_MAX_ATTEMPTS", "MissingDriverError", "PostgresStore"]

DEFAULT_MAX_ATTEMPTS: Final = 10
"""How many times a statement is run when it keeps hitting serialization
failures or deadlocks, before `StoreBusyError`."""

_logger: Final = logging.getLogger("phyxius.journal")


class MissingDriverError(JournalError, ImportError):
    """psycopg 3, which `PostgresStore` needs, is not installed."""


class _Collision(Exception):
    """An append met stored ids: decide what it is, outside the statement."""


@final
class PostgresStore:
    """Journals in a PostgreSQL database; see the module documentation.

    Args:
        dsn: a libpq connection string or URI, such as
            ``"postgresql://app@db.internal/app"`` or
            ``"host=db.internal dbname=app user=app connect_timeout=5"``.
            Passwords are best left to ``~/.pgpass`` or ``PGPASSWORD``.
        schema: the PostgreSQL schema holding the store's tables; None
            (default) uses the connection's current schema, usually
            ``public``. Created if missing.
        prefix: the store's tables are ``<prefix>_journals``,
            ``<prefix>_entries`` and ``<prefix>_meta`` (default
            ``"phyxius"``), so one schema can hold several stores.
        listen: wake `Journal.follow` through LISTEN/NOTIFY (default True).
            Turn it off behind a connection pooler in transaction mode, which
            cannot LISTEN, and give a ``poll_interval`` instead.
        poll_interval: seconds between `Journal.follow`'s reads for entries
            of other processes; None (default) reads only when notified.
        max_attempts: how many times a statement is run when PostgreSQL
            rolls it back for a serialization failure or a deadlock
            (default 10), with a randomised back-off in between.

    Schema names and prefixes are 1 to 63 (40 for prefixes) lower-case
    letters, digits and ``_``; other names are refused, never quoted into SQL
    as they are.

    Raises:
        MissingDriverError: psycopg 3 is not installed (an `ImportError`).
        StoreError: the server cannot be reached, refused the login, or the
            user may not create or use the tables.
        StoreFormatError: tables under the prefix that are not a journal
            store, or one of a newer or unknown schema version.
    """

    __slots__ = (
        "__weakref__",
        "_journal_ids",
        "_listen",
        "_listener",
        "_names",
        "_poll_interval",
        "_pool",
        "_sql",
        "_watch_lock",
        "_watchers",
    )

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        prefix: str = "phyxius",
        listen: bool = True,
        poll_interval: float | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        psycopg = _import_driver()
        from phyxius.journal._postgres_listen import Listener
        from phyxius.journal._postgres_pool import ConnectionPool
        from phyxius.journal._postgres_schema import (
            Names,
            Statements,
            check_prefix,
            check_schema,
            prepare_schema,
        )

        if not isinstance(dsn, str):
            raise InvalidArgumentError(
                f"dsn={dsn!r} (type={type(dsn).__name__}) is not a connection "
                "string; pass a str such as 'postgresql://user@host/dbname'"
            )
        try:
            params = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.Error as error:
            # libpq ends its message with a newline, which would split ours.
            reason = str(error).strip()
            raise InvalidArgumentError(
                f"dsn is not a PostgreSQL connection string ({reason}); pass "
                "'host=... dbname=... user=...' or 'postgresql://user@host/dbname'"
            ) from None
        if schema is not None:
            check_schema(schema)
        check_prefix(prefix)
        if not isinstance(listen, bool):
            raise InvalidArgumentError(
                f"listen={listen!r} (type={type(listen).__name__}) is not a bool; "
                "pass True or False"
            )
        if poll_interval is not None:
            poll_ns = to_nanoseconds(poll_interval, name="poll_interval")
            if poll_ns == 0:
                raise InvalidArgumentError(
                    f"poll_interval={poll_interval!r} is zero; pass a positive "
                    "number of seconds, or None to rely on notifications"
                )
            poll_interval = poll_ns / NANOS_PER_SECOND
        elif not listen:
            raise InvalidArgumentError(
                "listen=False needs a poll_interval, or followers would never see "
                "entries of other processes; pass poll_interval=0.05 (seconds)"
            )
        if (
            isinstance(max_attempts, bool)
            or not isinstance(max_attempts, int)
            or max_attempts < 1
        ):
            raise InvalidArgumentError(
                f"max_attempts={max_attempts!r} (type={type(max_attempts).__name__}) "
                "is not a positive int; pass 1 or more"
            )

        options = (
            {} if "application_name" in params else {"application_name": "phyxius"}
        )
        self._pool = ConnectionPool(dsn, options, _describe(params), max_attempts)
        self._listen = listen
        self._poll_interval = poll_interval
        # name -> (journal_id, codec); head rows are never deleted, so this holds.
        self._journal_ids: dict[str, tuple[int, str]] = {}
        self._watch_lock = threading.Lock()
        self._watchers: dict[str, list[Callable[[], object]]] = {}
        self._listener: Listener | None = None

        try:
            if schema is None:
                schema = self._pool.run(_current_schema)
            self._names: Names = Names(schema, prefix)
            names = self._names
            self._pool.run(lambda connection: prepare_schema(connection, names))
        except BaseException:
            self._pool.close()
            raise
        self._sql: Statements = Statements(self._names)
        if listen:
            self._listener = Listener(
                self._connect_listener, self._names.channel, self._notified
            )

    # -- properties ---------------------------------------------------------------

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the store's tables."""
        return self._names.schema

    @property
    def prefix(self) -> str:
        """The prefix of the store's table names."""
        return self._names.prefix

    @property
    def channel(self) -> str:
        """The NOTIFY channel of every append; the payload is the ``journal_id``."""
        return self._names.channel

    @property
    def poll_interval(self) -> float | None:
        """Seconds between `Journal.follow`'s reads, or None: notified only."""
        return self._poll_interval

    @property
    def closed(self) -> bool:
        """True once `close` was called."""
        return self._pool.closed

    # -- writing --------------------------------------------------------------------

    def append(
        self,
        journal: str,
        drafts: Sequence[Draft],
        *,
        codec: Codec,
        expected_sequence: int | None = None,
        retention: Retention | None = None,
    ) -> Appended:
        """Store ``drafts`` at the next sequences, in one transaction.

        See `Store.append` for the rules.

        Raises:
            StoreError: the connection was lost during the append, so whether
                it committed is unknown; the message names the ids. Appending
                the same drafts again (``Journal.append(data, id=...)``)
                stores them once: if the first try committed, the retry
                returns the stored entries.
            StoreBusyError: serialization failures or deadlocks ``max_attempts``
                times in a row.
        """
        from psycopg import errors

        encode = codec.encode
        ids = [draft[0] for draft in drafts]
        values: dict[str, Any] = {
            "name": journal,
            "codec": codec.name,
            "expected": expected_sequence,
            "max": None if retention is None else retention.max_entries,
        }
        if len(drafts) == 1:
            entry_id, at, data, metadata = drafts[0]
            values["ids"] = entry_id
            values["wall"] = at.wall_ns
            values["mono"] = at.mono_ns
            values["data"] = encode(data)
            values["meta"] = encode(dict(metadata)) if metadata else None
            plain, function = self._sql.append_plain_one, self._sql.append_one
        else:
            values["ids"] = ids
            values["wall"] = [draft[1].wall_ns for draft in drafts]
            values["mono"] = [draft[1].mono_ns for draft in drafts]
            values["data"] = [encode(draft[2]) for draft in drafts]
            values["meta"] = [
                encode(dict(draft[3])) if draft[3] else None for draft in drafts
            ]
            plain, function = self._sql.append_plain, self._sql.append
        drop = retention is not None and retention.overflow == "drop_oldest"
        # With drop_oldest a full journal drops entries on every append, which
        # only the function does: going there at once saves a round trip.
        try_plain = not drop
        id_constraint = self._names.id_constraint

        def write(connection: psycopg.Connection[Any]) -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = None
            try:
                if try_plain:
                    row = connection.execute(plain, values).fetchone()
                if row is None:
                    # A new journal, or a rule that does not hold: the
                    # function creates the journal or says which rule.
                    arguments = (
                        journal,
                        codec.name,
                        expected_sequence,
                        values["max"],
                        drop,
                        values["ids"],
                        values["wall"],
                        values["mono"],
                        values["data"],
                        values["meta"],
                    )
                    row = connection.execute(function, arguments).fetchone()
            except errors.UniqueViolation as error:
                if error.diag.constraint_name == id_constraint:
                    raise _Collision() from None
                raise
            assert row is not None
            if row[0] == STATUS_OK:
                self._notify(connection, journal, row[1])
            return row

        def lost(reason: str) -> str:
            return _lost_message(self._pool.target, journal, ids, reason)

        # A collision of ids is decided outside the append; if the colliding
        # entries are gone by then (retention), append again.
        for _ in range(8):
            try:
                row = self._pool.run(write, lost=lost)
            except _Collision:
                row = None
            if row is not None:
                status, journal_id, recorded, first, following, dropped = row
                if status == STATUS_OK:
                    self._journal_ids.setdefault(journal, (journal_id, recorded))
                    entries = tuple(
                        new_entry(draft[0], sequence, draft[1], draft[2], draft[3])
                        for sequence, draft in enumerate(drafts, following)
                    )
                    return Appended(entries, True, dropped)
                if status == STATUS_CONFLICT:
                    assert expected_sequence is not None
                    raise concurrency_error(journal, expected_sequence, following)
                if status == STATUS_OVERFLOW:
                    assert retention is not None
                    raise overflow_error(
                        journal, retention, following - first, len(drafts)
                    )
                if status == STATUS_CODEC:
                    check_codec(journal, recorded, codec)
                if status != STATUS_COLLISION:
                    raise InternalError(
                        f"journal {journal!r}: the append function returned the "
                        f"unknown status {status!r}; please report this"
                    )
            # Some of the ids are stored already: a retry, or a reused id.
            retried = self._resolve(journal, drafts, codec)
            if retried is not None:
                return retried
        raise InternalError(
            f"journal {journal!r}: an append kept colliding with ids that then "
            "vanished; please report this"
        )

    def _resolve(
        self, journal: str, drafts: Sequence[Draft], codec: Codec
    ) -> Appended | None:
        statement = self._sql.by_ids
        ids = [draft[0] for draft in drafts]

        def work(connection: psycopg.Connection[Any]) -> list[Entry | None]:
            known = self._journal_id(connection, journal, codec)
            if known is None:
                return [None] * len(drafts)
            rows = connection.execute(statement, (known[0], ids), binary=True)
            stored = {entry.id: entry for entry in (_entry(row, codec) for row in rows)}
            return [stored.get(entry_id) for entry_id in ids]

        return resolve_retry(journal, drafts, self._pool.run(work), _same)

    def load(self, journal: str, entries: Sequence[Entry], *, codec: Codec) -> None:
        """Store ``entries`` as they are in a new journal (see `Store.load`)."""
        encode = codec.encode
        columns = (
            [entry.sequence for entry in entries],
            [entry.id for entry in entries],
            [entry.at.wall_ns for entry in entries],
            [entry.at.mono_ns for entry in entries],
            [encode(entry.data) for entry in entries],
            [
                encode(dict(entry.metadata)) if entry.metadata else None
                for entry in entries
            ],
        )
        statements = self._sql

        def write(connection: psycopg.Connection[Any]) -> None:
            with connection.transaction():
                connection.execute(statements.load_head, (journal, codec.name))
                row = connection.execute(statements.head, (journal,)).fetchone()
                assert row is not None
                journal_id, recorded, first, following = row
                check_load(journal, entries, Bounds(first, following))
                check_codec(journal, recorded, codec)
                if entries:
                    connection.execute(
                        statements.load_move,
                        (entries[0].sequence, entries[-1].sequence + 1, journal_id),
                    )
                    connection.execute(statements.load_entries, (journal_id, *columns))
            if entries:
                self._notify(connection, journal, journal_id)

        def lost(reason: str) -> str:
            return (
                f"{self._pool.target}: the connection was lost while loading "
                f"journal {journal!r} ({reason}), so whether the load committed is "
                "unknown; it is all or nothing: check the journal's length and "
                "load again if it is empty"
            )

        self._pool.run(write, lost=lost)

    def _notify(
        self, connection: psycopg.Connection[Any], journal: str, journal_id: int
    ) -> None:
        """Wake the followers of other processes; the entries are committed.

        The notification follows the append on its connection without
        waiting for the answer: it is on its way when the append returns and
        costs the appender no round trip (see `ConnectionPool.send_after`).
        """
        import psycopg

        statement = (self._sql.notify_bytes, (str(journal_id).encode(),))
        try:
            self._pool.send_after(connection, *statement)
        except psycopg.Error:
            # That connection broke after the commit: the side one carries it.
            try:
                self._pool.send_aside(*statement)
            except (psycopg.Error, StoreError) as error:
                # The append stands; only the wake-up is lost.
                _logger.warning(
                    "journal %r: the entries committed, but waking the followers "
                    "of other processes failed (%s); they see them with the next "
                    "notification of the journal",
                    journal,
                    describe_error(error),
                )

    # -- reading --------------------------------------------------------------------

    def read(
        self,
        journal: str,
        start: int,
        stop: int | None = None,
        limit: int | None = None,
        *,
        codec: Codec,
    ) -> list[Entry]:
        """Entries with ``start <= sequence < stop``, at most ``limit``."""
        statements = self._sql
        if stop is None:
            statement = statements.read if limit is None else statements.read_limit
        else:
            statement = (
                statements.read_stop if limit is None else statements.read_stop_limit
            )
        extra = [value for value in (stop, limit) if value is not None]

        def work(connection: psycopg.Connection[Any]) -> list[Entry]:
            known = self._journal_id(connection, journal, codec)
            if known is None:
                return []
            rows = connection.execute(
                statement, (known[0], start, *extra), binary=True
            ).fetchall()
            return [_entry(row, codec) for row in rows]

        return self._pool.run(work)

    def find(self, journal: str, entry_id: str, *, codec: Codec) -> Entry | None:
        """The retained entry with id ``entry_id``, or None."""
        statement = self._sql.find

        def work(connection: psycopg.Connection[Any]) -> Entry | None:
            known = self._journal_id(connection, journal, codec)
            if known is None:
                return None
            row = connection.execute(
                statement, (known[0], entry_id), binary=True
            ).fetchone()
            return None if row is None else _entry(row, codec)

        return self._pool.run(work)

    def bounds(self, journal: str) -> Bounds:
        """The first retained and the next sequence of ``journal``."""
        statement = self._sql.bounds

        def work(connection: psycopg.Connection[Any]) -> Bounds:
            row = connection.execute(statement, (journal,)).fetchone()
            return Bounds(0, 0) if row is None else Bounds(row[0], row[1])

        return self._pool.run(work)

    def journals(self) -> list[str]:
        """Names of the journals in the store, sorted."""
        statement = self._sql.journals

        def work(connection: psycopg.Connection[Any]) -> list[str]:
            return [row[0] for row in connection.execute(statement)]

        return self._pool.run(work)

    def _journal_id(
        self, connection: psycopg.Connection[Any], journal: str, codec: Codec
    ) -> tuple[int, str] | None:
        known = self._journal_ids.get(journal)
        if known is None:
            row = connection.execute(self._sql.journal, (journal,)).fetchone()
            if row is None:
                return None
            known = self._journal_ids.setdefault(journal, (row[0], row[1]))
        if known[1] != codec.name:
            check_codec(journal, known[1], codec)
        return known

    # -- following -------------------------------------------------------------------

    def watch(self, journal: str, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback()`` when another process may have appended to ``journal``.

        The call comes from the store's listener thread, soon after such an
        append commits, and after the listener reconnected from a dropped
        connection (appends in between may have gone unnoticed). A spurious
        call is possible; a missed one is not while the listener is up.
        Returns a function that stops the calls. With ``listen=False`` this
        does nothing: followers rely on ``poll_interval``.

        Raises:
            StoreError: the first LISTEN failed (unreachable server, or a
                pooler that cannot LISTEN).
        """
        if self.closed:
            raise JournalClosedError(
                f"the PostgresStore of {self._pool.target} was closed; open a new "
                "PostgresStore to go on"
            )
        listener = self._listener
        if listener is None:
            return _nothing
        with self._watch_lock:
            self._watchers.setdefault(journal, []).append(callback)

        def unwatch() -> None:
            with self._watch_lock:
                callbacks = self._watchers.get(journal, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._watchers.pop(journal, None)

        try:
            listener.start()
        except BaseException:
            unwatch()
            raise
        return unwatch

    def _notified(self, payload: str | None) -> None:
        """On the listener thread: wake the watchers of the journal in ``payload``."""
        with self._watch_lock:
            watched = [
                (name, list(callbacks)) for name, callbacks in self._watchers.items()
            ]
        for name, callbacks in watched:
            if payload is not None:
                known = self._journal_ids.get(name)
                # Unknown until the journal's first read or append here: wake.
                if known is not None and str(known[0]) != payload:
                    continue
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    _logger.exception("a follower's wake-up of journal %r failed", name)

    def _connect_listener(self) -> psycopg.Connection[Any]:
        # Keepalives, so a silently dead network is noticed within a minute.
        return self._pool.connect(
            keepalives=1, keepalives_idle=15, keepalives_interval=5, keepalives_count=4
        )

    # -- closing ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections; later calls raise `JournalClosedError`.

        Connections in use by other threads close when their call finishes.
        Followers waiting for a notification are woken, and their next read
        raises `JournalClosedError`, as on a store that polls.
        """
        self._pool.close()
        if self._listener is not None:
            self._listener.close()

        # No notification will come any more: without this wake-up a follower
        # would wait for ever on a store that is closed.
        self._notified(None)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<PostgresStore {self._pool.target} {self._names.describe()} {state}>"


def _import_driver() -> Any:
    try:
        import psycopg
    except ImportError as error:
        raise MissingDriverError(
            f"PostgresStore needs psycopg 3, which could not be imported ({error}); "
            "install it with: pip install 'phyxius[postgres]'"
        ) from None
    if not hasattr(psycopg, "conninfo") or int(psycopg.__version__.split(".")[0]) < 3:
        raise MissingDriverError(
            f"PostgresStore needs psycopg 3, found {psycopg.__version__}; "
            "install it with: pip install 'phyxius[postgres]'"
        )
    return psycopg


def _describe(params: dict[str, Any]) -> str:
    """``host:port/dbname`` of a parsed dsn, for messages; never the password."""
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST")
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or "(default)"
    return f"{host or 'localhost'}:{port}/{dbname}"


def _current_schema(connection: psycopg.Connection[Any]) -> str:
    from phyxius.journal._postgres_schema import check_schema

    row = connection.execute(
        "SELECT current_schema(), current_setting('search_path')"
    ).fetchone()
    assert row is not None
    schema, search_path = row
    if schema is None:
        raise InvalidArgumentError(
            f"the connection has no current schema (search_path={search_path!r} "
            "names none that exists); pass schema='...' to PostgresStore"
        )
    try:
        return check_schema(schema)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"the connection's current schema {schema!r} is not a name this store "
            "accepts; pass schema='...' of lower-case letters, digits and '_'"
        ) from None


def _lost_message(target: str, journal: str, ids: Sequence[str], reason: str) -> str:
    if len(ids) == 1:
        what = f"its entry (id {ids[0]!r})"
        again = f"append it again with id={ids[0]!r}"
    else:
        what = f"its {len(ids)} entries (ids {ids[0]!r} to {ids[-1]!r})"
        again = "repeat the append with the same ids"
    return (
        f"{target}: the connection was lost during an append to journal "
        f"{journal!r} ({reason}), so whether {what} was stored is unknown; it "
        f"was stored once or not at all: {again}, which stores it once and "
        "returns the stored entry if the first try committed"
    )


def _nothing() -> None:
    return None


def _entry(row: Sequence[Any], codec: Codec) -> Entry:
    entry_id, sequence, wall_ns, mono_ns, data, metadata = row
    return new_entry(
        entry_id,
        sequence,
        Instant(wall_ns=wall_ns, mono_ns=mono_ns),
        codec.decode(data),
        EMPTY_METADATA if metadata is None else codec.decode(metadata),
    )


def _same(draft: Draft, entry: Entry) -> bool:
    return bool(draft.data == entry.data and draft.metadata == entry.metadata)
