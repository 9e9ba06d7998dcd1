"""Who is in a document, where their cursors are, and who has gone idle.

A document's presence is one atom holding a tuple of `Participant` records,
sorted by client id. Every change is one atomic update, so every session
watching the atom sees the same sequence of versions, and a test keeping the
atom's history can assert every state presence went through.

Idleness runs on the clock: each participant has a timer due ``idle_after``
seconds after their last activity (joining, an edit, a cursor move); when it
fires, the participant is marked `Status.IDLE`. Any activity makes them
active again and restarts the timer. Under a `ControlledClock` a participant
goes idle exactly ``idle_after`` after their last activity, to the
nanosecond.

Presence is not journaled: it describes connections, which do not outlive
the server, so it lives outside the document process and survives the
process's restarts unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar, final

from examples.realtime_collaboration._operation import Operation, transform_index
from phyxius import (
    Atom,
    Change,
    Clock,
    Duration,
    Instant,
    create_atom,
    to_nanoseconds,
)
from phyxius.clock import Handle

__all__ = ["AtomFactory", "Participant", "Presence", "Status"]

_T = TypeVar("_T")


class AtomFactory(Protocol):
    """Makes an atom: `phyxius.create_atom`, or the plugin's ``atom`` fixture."""

    def __call__(self, initial: _T, /, **options: Any) -> Atom[_T]:
        """Create an atom holding ``initial``."""
        ...


class Status(enum.Enum):
    """Whether a participant has done anything lately."""

    ACTIVE = "active"
    IDLE = "idle"


@final
@dataclass(frozen=True, slots=True)
class Participant:
    """One connection to a document, as the others see it."""

    client: str
    """The connection's id."""

    user: str
    """The name of whoever is typing."""

    cursor: int
    """The caret, as a position in the server's current text."""

    status: Status
    """Active, or idle since ``idle_after`` passed without activity."""

    active_at: Instant
    """The clock's reading at the participant's last activity."""

    def to_json(self) -> dict[str, object]:
        """The participant as the wire protocol sends it."""
        return {
            "client": self.client,
            "user": self.user,
            "cursor": self.cursor,
            "status": self.status.value,
        }


Participants = tuple[Participant, ...]


@final
class Presence:
    """The participants of one document, in an atom, with idle timers on a clock."""

    def __init__(
        self,
        clock: Clock,
        *,
        idle_after: Duration = 60.0,
        atoms: AtomFactory | None = None,
        name: str = "presence",
    ) -> None:
        to_nanoseconds(idle_after, name="idle_after")
        self.clock = clock
        self.idle_after = idle_after
        self.atom: Atom[Participants]
        """The participants, sorted by client id; watch it to hear of changes."""
        if atoms is None:
            self.atom = create_atom((), clock=clock, name=name)
        else:
            self.atom = atoms((), clock=clock, name=name)

        # Invariant: exactly one pending idle timer per ACTIVE participant,
        # none for an idle one.
        self._timers: dict[str, Handle] = {}

    @property
    def participants(self) -> Participants:
        """The current participants, sorted by client id."""
        return self.atom.get()

    def get(self, client: str) -> Participant | None:
        """The participant with that client id, or None."""
        for participant in self.atom.get():
            if participant.client == client:
                return participant
        return None

    def watch(
        self, watcher: Callable[[Change[Participants]], object]
    ) -> Callable[[], Any]:
        """Call ``watcher(change)`` after every change; returns the unsubscribe."""
        return self.atom.watch(watcher)

    # -- changes ---------------------------------------------------------------

    def join(self, client: str, user: str) -> None:
        """Add an active participant with the caret at the start."""
        now = self.clock.now()
        newcomer = Participant(client, user, 0, Status.ACTIVE, now)
        self.atom.update(
            lambda everyone: _sorted(
                [p for p in everyone if p.client != client] + [newcomer]
            ),
            cause=f"{client} joined",
        )
        self._restart_timer(client)

    def touch(self, client: str, *, cursor: int | None = None) -> None:
        """Record activity (and a caret move, when ``cursor`` is given)."""
        now = self.clock.now()

        def active(participant: Participant) -> Participant:
            return replace(
                participant,
                status=Status.ACTIVE,
                active_at=now,
                cursor=participant.cursor if cursor is None else cursor,
            )

        if self._change(client, active, cause=f"{client} active"):
            self._restart_timer(client)

    def edited(self, client: str, operation: Operation) -> None:
        """Move every caret past ``client``'s edit; ``client`` becomes active."""
        now = self.clock.now()

        def shift(everyone: Participants) -> Participants:
            moved = []
            for participant in everyone:
                own = participant.client == client
                cursor = transform_index(participant.cursor, operation, own=own)
                if own:
                    participant = replace(
                        participant, status=Status.ACTIVE, active_at=now
                    )
                moved.append(replace(participant, cursor=cursor))
            return tuple(moved)

        self.atom.update(shift, cause=f"{client} edited")
        if self.get(client) is not None:
            self._restart_timer(client)

    def leave(self, client: str) -> None:
        """Remove the participant (a disconnection)."""
        timer = self._timers.pop(client, None)
        if timer is not None:
            timer.cancel()
        self.atom.update(
            lambda everyone: tuple(p for p in everyone if p.client != client),
            cause=f"{client} left",
        )

    def close(self) -> None:
        """Cancel every idle timer."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- idleness --------------------------------------------------------------

    def _restart_timer(self, client: str) -> None:
        timer = self._timers.pop(client, None)
        if timer is not None:
            timer.cancel()
        self._timers[client] = self.clock.call_later(
            self.idle_after, self._went_idle, client
        )

    def _went_idle(self, client: str) -> None:
        self._timers.pop(client, None)
        self._change(
            client,
            lambda participant: replace(participant, status=Status.IDLE),
            cause=f"{client} idle",
        )

    def _change(
        self, client: str, fn: Callable[[Participant], Participant], *, cause: str
    ) -> bool:
        """Apply ``fn`` to one participant; False when there is none."""
        found = False

        def change(everyone: Participants) -> Participants:
            nonlocal found
            found = False
            updated = []
            for participant in everyone:
                if participant.client == client:
                    found = True
                    participant = fn(participant)
                updated.append(participant)
            return tuple(updated)

        self.atom.update(change, cause=cause)
        return found

    def __repr__(self) -> str:
        who = ", ".join(f"{p.user}:{p.status.value}" for p in self.participants)
        return f"<Presence [{who}]>"


def _sorted(participants: list[Participant]) -> Participants:
    return tuple(sorted(participants, key=lambda participant: participant.client))
