"""The ``phyxius`` section of a failing test's report: clock, journals, crashes.

When a test that uses Phyxius fixtures fails (in setup, call or teardown),
its report gets a section named ``phyxius`` that shows what the test's world
looked like: the reading of every controlled clock it used, the last entries
of every journal its fixtures hold (``journal``, ``journal_factory``, the
``supervisor`` fixture's lifecycle journal), and every process crash of the
``supervisor`` fixture's tree, with its traceback. pytest prints it under the
failure, beside the captured output.
"""

from __future__ import annotations

import reprlib
from collections.abc import Generator
from typing import Any, Final

import pytest

from phyxius._events import Event
from phyxius._time import format_seconds
from phyxius.clock import ControlledClock
from phyxius.journal import Entry, Journal
from pytest_phyxius._process_fixtures import SupervisorFixture, format_event

__all__ = ["JOURNAL_TAIL", "phyxius_report", "pytest_runtest_makereport"]

JOURNAL_TAIL: Final = 10
"""How many of a journal's last entries the report shows."""

_SECTION: Final = "phyxius"

_entry_repr = reprlib.Repr()
_entry_repr.maxstring = 160
_entry_repr.maxother = 160


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the ``phyxius`` section to the report of a failing phase."""
    report = yield
    if report.failed:
        text = phyxius_report(item)
        if text:
            report.sections.append((_SECTION, text))
    return report


def phyxius_report(item: pytest.Item) -> str | None:
    """The report text for a test, or None when it used no Phyxius fixture."""
    values = list((getattr(item, "funcargs", None) or {}).values())
    clocks = _unique(
        [v for v in values if isinstance(v, ControlledClock)]
        + [v.clock for v in values if isinstance(v, SupervisorFixture)]
    )
    journals = _unique([journal for value in values for journal in _journals_of(value)])
    supervisors = [v for v in values if isinstance(v, SupervisorFixture)]
    if not clocks and not journals and not supervisors:
        return None

    lines: list[str] = []
    for clock in clocks:
        lines.append(_describe_clock(clock))
    for journal in journals:
        lines.extend(_describe_journal(journal))
    for fixture in supervisors:
        lines.extend(fixture._report())
    return "\n".join(lines)


def _journals_of(value: object) -> list[Journal]:
    if isinstance(value, Journal):
        return [value]
    if isinstance(value, SupervisorFixture):
        return [value.journal]
    # A journal factory keeps the journals it made in `journals`.
    made = getattr(value, "journals", None)
    if isinstance(made, list):
        return [journal for journal in made if isinstance(journal, Journal)]
    return []


def _unique(objects: list[Any]) -> list[Any]:
    seen: set[int] = set()
    unique = []
    for obj in objects:
        if id(obj) not in seen:
            seen.add(id(obj))
            unique.append(obj)
    return unique


def _describe_clock(clock: ControlledClock) -> str:
    now = clock.now()
    pending = clock.pending()
    text = (
        f"clock: {now.datetime.isoformat()} (monotonic "
        f"{format_seconds(now.mono_ns)}), {len(pending)} timer(s) pending"
    )
    if pending:
        text += f", next at monotonic {format_seconds(pending[0].due.mono_ns)}"
    return text


def _describe_journal(journal: Journal) -> list[str]:
    try:
        last = journal.last()
        total = len(journal)
        tail = (
            []
            if last is None
            else journal.read(max(0, last.sequence - JOURNAL_TAIL + 1))
        )
    except Exception as error:  # a closed or broken journal must not hide the rest
        return [f"journal {journal.name!r}: cannot be read ({error})"]
    if not tail:
        return [f"journal {journal.name!r}: empty"]
    lines = [f"journal {journal.name!r} (last {len(tail)} of {total} entries):"]
    lines.extend(f"  {_describe_entry(entry)}" for entry in tail)
    return lines


def _describe_entry(entry: Entry) -> str:
    data = entry.data
    if isinstance(data, Event):
        return f"#{entry.sequence} {format_event(data)}"
    return (
        f"#{entry.sequence} +{format_seconds(entry.at.mono_ns)} "
        f"{_entry_repr.repr(data)}"
    )
