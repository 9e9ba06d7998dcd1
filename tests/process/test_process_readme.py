"""The README's Process section runs as written and prints what it shows."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from phyxius.clock import ControlledClock, VirtualTimeEventLoop
from phyxius.journal import SortableIds, create_journal
from pytest_phyxius._process_fixtures import SupervisorFixture

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"```(python|text|console)\n(.*?)```", re.DOTALL)


def process_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Process\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def examples() -> list[tuple[str, str | None]]:
    """Each python block with the text block right after it, if any."""
    blocks = BLOCK.findall(process_section())
    pairs: list[tuple[str, str | None]] = []
    for index, (kind, body) in enumerate(blocks):
        if kind == "python":
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            expected = following[1] if following and following[0] == "text" else None
            pairs.append((body, expected))
    return pairs


def run_tests_defined(namespace: dict[str, Any]) -> int:
    """Run the test functions a block defines on a fresh ``supervisor`` fixture."""
    ran = 0
    for name, function in list(namespace.items()):
        if not name.startswith("test_") or not inspect.iscoroutinefunction(function):
            continue
        clock = ControlledClock()
        fixture = SupervisorFixture(
            clock,
            seed=1,
            journal=create_journal(name="supervisor", clock=clock, ids=SortableIds(1)),
        )
        with asyncio.Runner(
            loop_factory=partial(VirtualTimeEventLoop, clock)
        ) as runner:
            runner.run(function(fixture))
            assert runner.run(fixture._teardown()) == []
        ran += 1
    return ran


def test_the_section_has_examples() -> None:
    assert len(examples()) >= 5


@pytest.mark.parametrize(
    ("source", "expected"),
    examples(),
    ids=lambda value: (value or "").strip().splitlines()[0][:40] if value else "-",
)
def test_readme_example_runs_and_prints_what_it_shows(
    source: str, expected: str | None
) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    output = io.StringIO()

    with contextlib.redirect_stdout(output):
        exec(compile(source, "README.md", "exec"), namespace)
    ran = run_tests_defined(namespace)

    if expected is not None:
        assert output.getvalue() == expected
    else:
        assert ran > 0, "an example with no shown output must define a test"
