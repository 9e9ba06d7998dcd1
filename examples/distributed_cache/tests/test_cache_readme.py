"""The README's "Distributed cache" example runs as written, on this test's fixtures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from phyxius.clock import ControlledClock
from phyxius.journal import Journal
from pytest_phyxius import SupervisorFixture

README = Path(__file__).resolve().parents[3] / "README.md"


def section_code() -> tuple[str, int]:
    """The ``python`` block of the section, and the README line it starts on."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n### Distributed cache\n")
    end = re.compile(r"^##", re.MULTILINE).search(text, start + 2)
    section = text[start : end.start() if end else len(text)]
    (block,) = re.finditer(r"^```python\n(.*?)^```", section, re.DOTALL | re.M)
    line = text.count("\n", 0, start + block.start(1)) + 1
    return block.group(1), line


async def test_the_readme_example_passes(
    supervisor: SupervisorFixture, journal: Journal, controlled_clock: ControlledClock
) -> None:
    code, line = section_code()
    namespace: dict[str, Any] = {}

    # Blank lines in front make a traceback point at README.md's own lines.
    exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
    (name,) = [name for name in namespace if name.startswith("test_")]
    await namespace[name](supervisor, journal, controlled_clock)

    assert name == "test_a_session_outlives_a_crash_and_expires_on_the_nanosecond"
