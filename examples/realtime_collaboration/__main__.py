"""Run a collaboration server and a few editors for a few seconds, on the real clock.

``python -m examples.realtime_collaboration`` serves one document on a
loopback WebSocket port and connects three editors to it. Each types words,
deletes and moves its caret at random moments (seeded, so every run makes
the same choices, though the real network decides their order); one of them
stops typing half-way and goes idle. Half-way through, the document process
is made to crash right after committing an edit: its supervisor restarts it,
it rebuilds the text from its journal, and the editors never notice.

It prints each committed revision, who joined, left or went idle, the crash
and the restart, and at the end every editor's text and the server's, which
must be the same, and the text replayed from the SQLite journal file, which
must be too. ``--seconds``, ``--editors``, ``--seed`` and ``--journal`` (a
SQLite file to keep; default: a temporary one) change the run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from examples.realtime_collaboration._presence import Participants, Status
from examples.realtime_collaboration._server import EditRecord, ServerDocument
from examples.realtime_collaboration._service import CollaborationService
from examples.realtime_collaboration._websocket import (
    CollaborationClient,
    CollaborationServer,
)
from phyxius import Event, SqliteStore, SystemClock, create_supervisor
from phyxius.journal import Entry, Journal, create_journal

EDITORS: Final = ("ada", "grace", "linus", "barbara", "edsger", "frances")
WORDS: Final = ("shared ", "text ", "edited ", "at once ", "by ", "everyone ")
DOCUMENT: Final = "notes"


class Timeline:
    """Prints one line per thing that happened, stamped with seconds since start."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        """Print ``text`` after the time since the start."""
        print(f"{time.monotonic() - self.started:6.3f}s  {text}", flush=True)


async def editor(
    client: CollaborationClient,
    rng: random.Random,
    until: float,
    stop_typing_at: float,
) -> int:
    """Type, delete and move the caret at random moments; return the edits made."""
    edits = 0
    while (now := time.monotonic()) < until:
        await asyncio.sleep(rng.uniform(0.02, 0.25))
        if now >= stop_typing_at or client.closed:
            continue  # idle from here on, but still connected
        length = len(client.text)
        roll = rng.random()
        if roll < 0.7 or length < 8:
            await client.insert(rng.randint(0, length), rng.choice(WORDS))
            edits += 1
        elif roll < 0.9:
            index = rng.randint(0, length - 1)
            await client.delete(index, min(rng.randint(1, 4), length - index))
            edits += 1
        else:
            await client.move_cursor(rng.randint(0, length))
    return edits


def replay(journal: Journal) -> ServerDocument:
    """The document as its journal says it is: every record applied in order."""
    document = ServerDocument()
    for entry in journal:
        document.apply(EditRecord.from_json(entry.data))
    return document


async def main(seconds: float, editors: int, seed: int, journal_path: Path) -> bool:
    """Run the server and the editors; return True when every copy converged."""
    timeline = Timeline()
    clock = SystemClock()

    def lifecycle(event: Event) -> None:
        data = event.data
        if event.type == "process.crashed":
            timeline.say(f"{data['name']} crashed: {data['error']}")
        elif event.type == "process.restarted":
            timeline.say(
                f"{data['name']} restarted (incarnation {data['incarnation']}), "
                "rebuilt from its journal"
            )

    # The timeline reports the crash; the traceback the process module logs
    # for every crash would only repeat it.
    logging.getLogger("phyxius.process").disabled = True
    root = create_supervisor(clock=clock, emit=lifecycle, seed=seed)
    store = SqliteStore(journal_path)
    service = await CollaborationService.start(
        root, store=store, idle_after=max(seconds / 4, 0.2)
    )
    server = CollaborationServer(service)
    await server.start()
    timeline.say(f"serving {server.url(DOCUMENT, '<name>')}")

    document = await service.document(DOCUMENT)
    document.journal.subscribe(lambda entry: report_entry(timeline, entry))
    statuses: dict[str, Status] = {}
    document.presence.watch(
        lambda change: report_presence(timeline, statuses, change.new)
    )

    names = [EDITORS[i] if i < len(EDITORS) else f"editor{i}" for i in range(editors)]
    clients = [
        await CollaborationClient.connect(server.url(DOCUMENT, name)) for name in names
    ]
    rng = random.Random(seed)
    until = time.monotonic() + seconds
    typing = [
        asyncio.create_task(
            editor(
                client,
                random.Random(rng.random()),
                until,
                # The last editor stops half-way and goes idle.
                until - seconds / 2 if index == editors - 1 else until,
            )
        )
        for index, client in enumerate(clients)
    ]

    await asyncio.sleep(seconds / 2)
    timeline.say("crashing the document process right after its next commit")
    document.crash("demonstration crash", after_commit=True)
    await clients[0].insert(0, "* ")  # so that there is a next commit
    made = await asyncio.gather(*typing)

    # Once every editor's own edits are acknowledged, the server has its last
    # revision; once every editor has that revision too, the copies must be
    # the same.
    await asyncio.gather(*(client.synced(0, timeout=10) for client in clients))
    final = await document.snapshot()
    await asyncio.gather(
        *(client.synced(final.revision, timeout=10) for client in clients)
    )
    for client in clients:
        await client.close()
    await document.presence.atom.wait_for(lambda everyone: not everyone, timeout=5)
    timeline.say(f"done: {final.revision} revisions")
    for client, count in zip(clients, made, strict=True):
        print(f"  {client.user:>8} ({count:2} edits): {shorten(client.text)}")
    log = create_journal(store, name=f"document:{DOCUMENT}", clock=clock)
    rebuilt = replay(log)
    log.close()
    print(f"  {'server':>8}            : {shorten(final.text)}")
    print(f"  {'journal':>8}            : {shorten(rebuilt.text)}")

    converged = all(client.text == final.text for client in clients) and (
        rebuilt.text == final.text
    )
    print("every copy converged" if converged else "THE COPIES DIFFER")

    await server.close()
    await service.close()
    await root.shutdown()
    store.close()
    return converged


def report_entry(timeline: Timeline, entry: Entry) -> None:
    """Print one committed revision."""
    data = entry.data
    unseen = data["revision"] - 1 - data["base"]
    transformed = f"  (past {unseen} it had not seen)" if unseen else ""
    timeline.say(
        f"revision {data['revision']:3} by {data['user']:>8}: {data['op']}{transformed}"
    )


def report_presence(
    timeline: Timeline, statuses: dict[str, Status], participants: Participants
) -> None:
    """Print who joined, left, went idle or came back since the last change."""
    now = {participant.user: participant.status for participant in participants}
    for user, status in now.items():
        before = statuses.get(user)
        if before is None:
            timeline.say(f"{user} joined")
        elif before is not status:
            timeline.say(f"{user} is {status.value}")
    for user in statuses.keys() - now.keys():
        timeline.say(f"{user} left")
    statuses.clear()
    statuses.update(now)


def shorten(text: str, width: int = 60) -> str:
    """``text`` as a repr, cut to ``width`` characters."""
    shown = repr(text)
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.realtime_collaboration",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--editors", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--journal", type=Path, default=None)
    options = parser.parse_args(argv)
    if not options.seconds > 0:
        parser.error(f"--seconds {options.seconds} must be more than 0")
    if options.editors < 1:
        parser.error(f"--editors {options.editors} must be 1 or more")
    return options


if __name__ == "__main__":
    options = parse()
    with tempfile.TemporaryDirectory() as directory:
        path = options.journal or Path(directory) / "collaboration.sqlite3"
        converged = asyncio.run(
            main(options.seconds, options.editors, options.seed, path)
        )
    sys.exit(0 if converged else 1)
