"""Presence: who is in a document, in an atom, with idle timers on the clock.

The atoms come from the plugin's ``atom`` fixture, which keeps every version,
so a test can assert each state presence went through; the idle timers run on
``controlled_clock``, so going idle is exact to the nanosecond.
"""

from __future__ import annotations

import pytest

from examples.realtime_collaboration import (
    Operation,
    Participant,
    Presence,
    Status,
)
from phyxius import InvalidDurationError
from phyxius.clock import ControlledClock
from pytest_phyxius import AtomFactory

NANOSECOND = 1e-9


@pytest.fixture
def presence(controlled_clock: ControlledClock, atom: AtomFactory) -> Presence:
    return Presence(controlled_clock, idle_after=30, atoms=atom, name="presence:doc")


def summary(presence: Presence) -> list[tuple[str, int, str]]:
    return [(p.user, p.cursor, p.status.value) for p in presence.participants]


def test_participants_join_sorted_by_client_and_leave(presence: Presence) -> None:
    presence.join("c2", "bob")
    presence.join("c1", "ada")
    presence.touch("c2", cursor=4)
    presence.leave("c1")

    assert [
        [p.user for p in snapshot.value] for snapshot in presence.atom.get_history()
    ] == [[], ["bob"], ["ada", "bob"], ["ada", "bob"], ["bob"]]
    assert summary(presence) == [("bob", 4, "active")]
    assert presence.get("c1") is None
    assert presence.atom.name == "presence:doc"
    assert repr(presence) == "<Presence [bob:active]>"


def test_a_participant_goes_idle_exactly_when_idle_after_has_passed(
    presence: Presence, controlled_clock: ControlledClock
) -> None:
    presence.join("c1", "ada")

    controlled_clock.advance(30 - NANOSECOND)
    assert summary(presence) == [("ada", 0, "active")]
    controlled_clock.advance(NANOSECOND)
    assert summary(presence) == [("ada", 0, "idle")]
    idle = presence.atom.get_history()[-1]
    assert idle.at.mono_ns == 30_000_000_000


def test_activity_makes_a_participant_active_again_and_restarts_the_wait(
    presence: Presence, controlled_clock: ControlledClock
) -> None:
    presence.join("c1", "ada")
    controlled_clock.advance(30)
    assert summary(presence) == [("ada", 0, "idle")]

    controlled_clock.advance(5)
    presence.touch("c1", cursor=2)
    assert summary(presence) == [("ada", 2, "active")]
    participant = presence.get("c1")
    assert isinstance(participant, Participant)
    assert participant.active_at.mono_ns == 35_000_000_000

    controlled_clock.advance(29)
    presence.edited("c1", Operation.insert(2, "x", length=2))  # activity again
    controlled_clock.advance(29)
    assert summary(presence) == [("ada", 3, "active")]
    controlled_clock.advance(1)
    assert summary(presence) == [("ada", 3, "idle")]


def test_an_edit_moves_every_caret_and_pushes_the_editors_own(
    presence: Presence,
) -> None:
    presence.join("c1", "ada")
    presence.join("c2", "bob")
    presence.join("c3", "cy")
    presence.touch("c1", cursor=3)
    presence.touch("c2", cursor=3)
    presence.touch("c3", cursor=8)

    # Ada types two characters at her caret, in a text of 10.
    presence.edited("c1", Operation.insert(3, "xy", length=10))

    assert summary(presence) == [
        ("ada", 5, "active"),
        ("bob", 3, "active"),
        ("cy", 10, "active"),
    ]
    assert presence.atom.get_history()[-1].value == presence.participants


def test_a_departure_cancels_the_idle_timer_and_close_cancels_them_all(
    presence: Presence, controlled_clock: ControlledClock
) -> None:
    presence.join("c1", "ada")
    presence.join("c2", "bob")
    presence.leave("c1")
    assert len(controlled_clock.pending()) == 1

    presence.close()
    assert controlled_clock.pending() == []
    controlled_clock.advance(60)
    assert summary(presence) == [("bob", 0, "active")]


def test_activity_of_someone_not_present_changes_nothing(
    presence: Presence, controlled_clock: ControlledClock
) -> None:
    presence.touch("nobody", cursor=3)
    presence.edited("nobody", Operation.insert(0, "x", length=0))

    assert presence.participants == ()
    assert controlled_clock.pending() == []


def test_a_watcher_hears_every_change(presence: Presence) -> None:
    seen: list[list[str]] = []
    unwatch = presence.watch(lambda change: seen.append([p.user for p in change.new]))

    presence.join("c1", "ada")
    presence.join("c2", "bob")
    unwatch()
    presence.leave("c1")

    assert seen == [["ada"], ["ada", "bob"]]


def test_participants_go_on_the_wire_as_plain_values(presence: Presence) -> None:
    presence.join("c1", "ada")
    (participant,) = presence.participants

    assert participant.to_json() == {
        "client": "c1",
        "user": "ada",
        "cursor": 0,
        "status": "active",
    }
    assert participant.status is Status.ACTIVE


def test_a_bad_idle_after_is_refused(controlled_clock: ControlledClock) -> None:
    with pytest.raises(
        InvalidDurationError,
        match=r"^idle_after=-1 is negative; durations must be zero or more seconds$",
    ):
        Presence(controlled_clock, idle_after=-1)
