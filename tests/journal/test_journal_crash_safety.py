"""An acknowledged append survives the writer being killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from phyxius.journal import SqliteStore, create_journal

CHILD = """
import sys
from phyxius.journal import SqliteStore, create_journal

store = SqliteStore(sys.argv[1], synchronous=sys.argv[2])
journal = create_journal(store, name="crash")
n = journal.next_sequence
while True:
    entry = journal.append({"n": n, "payload": "x" * (n % 700)})
    # Acknowledged: append returned, so the entry must survive from here on.
    sys.stdout.write(f"{entry.sequence}\\n")
    sys.stdout.flush()
    n += 1
"""

BATCH = 2000

BATCH_CHILD = f"""
import sys
from phyxius.journal import SqliteStore, create_journal

store = SqliteStore(sys.argv[1], synchronous=sys.argv[2])
journal = create_journal(store, name="crash")
while True:
    n = journal.next_sequence
    entries = journal.extend(
        [{{"n": n + i, "payload": "y" * 400}} for i in range({BATCH})]
    )
    sys.stdout.write(f"{{entries[-1].sequence}}\\n")
    sys.stdout.flush()
"""


def append_until_killed(
    path: Path, synchronous: str, acknowledged_before_kill: int, child_code: str = CHILD
) -> int:
    """Run the child, SIGKILL it mid-loop; the highest sequence it acknowledged."""
    child = subprocess.Popen(
        [sys.executable, "-c", child_code, str(path), synchronous],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    last = -1
    try:
        for _ in range(acknowledged_before_kill):
            line = child.stdout.readline()
            assert line, "the child stopped before it was killed"
            last = int(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        # Acknowledgements still in the pipe count too: they were written
        # after their appends returned.
        for line in child.stdout.read().splitlines():
            last = int(line)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_every_acknowledged_entry_survives_sigkill(
    tmp_path: Path, synchronous: str
) -> None:
    path = tmp_path / "crash.sqlite3"
    acknowledged = -1

    for round_ in range(3):
        acknowledged = append_until_killed(path, synchronous, 150 + 97 * round_)

        with SqliteStore(path) as store:
            entries = create_journal(store, name="crash").get_all()
            store.check()
        sequences = [entry.sequence for entry in entries]
        # Every acknowledged entry is there; at most the one in flight beyond.
        assert sequences == list(range(len(entries)))
        assert len(entries) - 1 in (acknowledged, acknowledged + 1)
        # No partial entry: each one reads back whole.
        for entry in entries:
            assert entry.data == {
                "n": entry.sequence,
                "payload": "x" * (entry.sequence % 700),
            }

    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        raw.close()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_an_extend_killed_midway_is_stored_whole_or_not_at_all(
    tmp_path: Path,
) -> None:
    path = tmp_path / "batches.sqlite3"

    for round_ in range(3):
        # Killed right after an acknowledgement, the child is usually inside
        # its next extend: a transaction of BATCH inserts.
        acknowledged = append_until_killed(path, "full", 2 + round_, BATCH_CHILD)

        with SqliteStore(path) as store:
            entries = create_journal(store, name="crash").get_all()
            store.check()
        assert len(entries) % BATCH == 0
        assert len(entries) - 1 >= acknowledged
        assert [entry.data["n"] for entry in entries] == list(range(len(entries)))
