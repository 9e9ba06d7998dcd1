"""Shared fixtures: the same behaviour is checked on every store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from phyxius.journal import Journal
from pytest_phyxius._journal_fixtures import JournalFactory

MakeJournal = Callable[..., Journal]


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs once per store."""
    kind: str = request.param
    return kind


@pytest.fixture
def make_journal(journal_factory: JournalFactory, store_kind: str) -> MakeJournal:
    """``make_journal(name="default", **options)`` on the parametrized store."""

    def make(name: str = "default", **options: Any) -> Journal:
        return journal_factory(name, store=store_kind, **options)  # type: ignore[arg-type]

    return make
