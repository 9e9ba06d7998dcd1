"""The README's Journal section runs as written and prints what it shows."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import re
from pathlib import Path
from typing import Any

import pytest

from phyxius import ControlledClock, create_journal
from phyxius.journal import SortableIds
from pytest_phyxius._journal_fixtures import JournalFactory

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.DOTALL)


def journal_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Journal\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def examples() -> list[tuple[str, str | None]]:
    """Each python block with the text block right after it, if any."""
    blocks = BLOCK.findall(journal_section())
    pairs: list[tuple[str, str | None]] = []
    for index, (kind, body) in enumerate(blocks):
        if kind == "python":
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            expected = following[1] if following and following[0] == "text" else None
            pairs.append((body, expected))
    return pairs


def run_tests_defined(namespace: dict[str, Any], tmp_path: Path) -> None:
    """Call the test functions a block defines, with fresh fixtures."""
    for name, function in list(namespace.items()):
        if not name.startswith("test_") or not callable(function):
            continue
        clock = ControlledClock()
        factory = JournalFactory(clock, 1, tmp_path)
        fixtures = {
            "journal": create_journal(clock=clock, ids=SortableIds(seed=1)),
            "journal_factory": factory,
        }
        arguments = [fixtures[p] for p in inspect.signature(function).parameters]
        if inspect.iscoroutinefunction(function):
            asyncio.run(function(*arguments))
        else:
            function(*arguments)
        factory.close()
        del namespace[name]


def test_every_journal_example_runs_and_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"pytest": pytest}
    pairs = examples()
    assert len(pairs) >= 10

    for code, expected in pairs:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, "README.md", "exec"), namespace)
        run_tests_defined(namespace, tmp_path)
        if expected is not None:
            assert output.getvalue() == expected, code
