"""A writer or follower in its own OS process, for the multi-process tests.

Run as ``python _pg_worker.py COMMAND JSON``, where JSON holds the dsn, the
schema, the journal and the command's settings. Every command first waits at
the gate - a shared advisory lock that the test holds exclusively until every
worker is waiting - so the workers start together. Each result is printed as
one JSON line and flushed at once: a line on stdout means the operation was
acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections.abc import Callable
from typing import Any

import psycopg

from phyxius.journal import (
    ConcurrencyError,
    Journal,
    PostgresStore,
    create_journal,
)


def say(**fields: Any) -> None:
    """One acknowledged result, as a JSON line."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def wait_at_gate(settings: dict[str, Any], key: int) -> None:
    """Block until the test releases the gate ``key``."""
    with psycopg.connect(settings["dsn"], autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock_shared(%s)", (key,))
        connection.execute("SELECT pg_advisory_unlock_shared(%s)", (key,))


def open_journal(settings: dict[str, Any]) -> tuple[PostgresStore, Journal]:
    store = PostgresStore(settings["dsn"], schema=settings["schema"])
    return store, create_journal(store, name=settings["journal"])


def mixed(settings: dict[str, Any]) -> None:
    """Appends, batches and conditional appends that often lose their race."""
    writer = settings["writer"]
    rng = random.Random(writer)
    store, journal = open_journal(settings)
    wait_at_gate(settings, settings["gate"])
    for n in range(settings["operations"]):
        kind = rng.choice(("append", "extend", "expected"))
        if kind == "append":
            entry = journal.append({"writer": writer, "n": n})
            say(kind=kind, sequences=[entry.sequence], ids=[entry.id])
        elif kind == "extend":
            entries = journal.extend(
                [
                    {"writer": writer, "n": n, "part": part}
                    for part in range(rng.randint(1, 5))
                ]
            )
            say(
                kind=kind,
                sequences=[entry.sequence for entry in entries],
                ids=[entry.id for entry in entries],
            )
        else:
            # Often stale by the time it arrives: other writers append between.
            expected = journal.next_sequence
            try:
                entry = journal.append(
                    {"writer": writer, "n": n}, expected_sequence=expected
                )
            except ConcurrencyError as error:
                say(kind="rejected", expected=error.expected, actual=error.actual)
            else:
                say(kind=kind, sequences=[entry.sequence], ids=[entry.id])
    journal.close()
    store.close()


def race(settings: dict[str, Any]) -> None:
    """Each round: wait at that round's gate, then append at one expected_sequence."""
    writer = settings["writer"]
    store, journal = open_journal(settings)
    say(ready=writer)
    for round_, expected in enumerate(settings["expected"]):
        wait_at_gate(settings, settings["gate"] + round_)
        try:
            entry = journal.append(
                {"writer": writer, "round": round_}, expected_sequence=expected
            )
        except ConcurrencyError as error:
            say(round=round_, won=False, actual=error.actual)
        else:
            say(round=round_, won=True, sequence=entry.sequence, id=entry.id)
    journal.close()
    store.close()


def write(settings: dict[str, Any]) -> None:
    """Plain appends with ids of a given prefix (``slow-`` ones hit a slow trigger)."""
    prefix = settings["prefix"]
    store, journal = open_journal(settings)
    wait_at_gate(settings, settings["gate"])
    for n in range(settings["count"]):
        entry = journal.append({"writer": prefix, "n": n}, id=f"{prefix}-{n}")
        say(sequence=entry.sequence, id=entry.id)
    journal.close()
    store.close()


def until_killed(settings: dict[str, Any]) -> None:
    """Append and acknowledge until SIGKILL arrives; ids ``<round>-<n>``.

    Every ``slow_every``-th append gets an id starting with ``slow-`` (for a
    trigger that makes its transaction slow).
    """
    _store, journal = open_journal(settings)
    n = journal.next_sequence
    slow_every = settings.get("slow_every")
    while True:
        slow = slow_every is not None and n % slow_every == 0
        entry_id = f"{'slow-' if slow else ''}{settings['round']}-{n}"
        entry = journal.append({"n": n, "payload": "x" * (n % 500)}, id=entry_id)
        say(sequence=entry.sequence, id=entry.id)
        n += 1


def append_and_vanish(settings: dict[str, Any]) -> None:
    """Append once and end the process at once: no close, no exit handlers."""
    _store, journal = open_journal(settings)
    wait_at_gate(settings, settings["gate"])
    entry = journal.append({"last": "words"})
    say(sequence=entry.sequence, id=entry.id)
    os._exit(0)


def follow(settings: dict[str, Any]) -> None:
    """Follow from 0 and report every entry until ``count`` were seen."""
    store, journal = open_journal(settings)

    async def run() -> None:
        seen = 0
        say(following=True)
        async for entry in journal.follow(0):
            say(sequence=entry.sequence, id=entry.id)
            seen += 1
            if seen == settings["count"]:
                return

    asyncio.run(run())
    journal.close()
    store.close()


COMMANDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "mixed": mixed,
    "race": race,
    "write": write,
    "until_killed": until_killed,
    "append_and_vanish": append_and_vanish,
    "follow": follow,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
