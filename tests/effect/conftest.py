"""Shared helpers for the Effect tests."""

from __future__ import annotations

from typing import Any

import pytest

from phyxius import Event


class Recorder:
    """Collects the events an effect emits; ``emit=recorder`` works."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def types(self, prefix: str = "effect.") -> list[str]:
        return [event.type for event in self.events if event.type.startswith(prefix)]

    def of(self, type: str) -> list[dict[str, Any]]:
        return [dict(event.data) for event in self.events if event.type == type]


@pytest.fixture
def recorder() -> Recorder:
    """An ``emit`` callable that keeps every event."""
    return Recorder()
