"""The public names of phyxius.testing are exactly the ones the README documents."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import phyxius.testing
import phyxius.testing.strategies
from tests.core.test_public_api import _attribute_docstrings, _has_own_docstring

README = Path(__file__).resolve().parents[2] / "README.md"


def table_names(subsection: str) -> set[str]:
    """Names in the first cells of a table in the simulation section's subsection."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Deterministic simulation\n")
    section = text[start : text.index("\n## ", start + 1)]
    part = section.split(f"### {subsection}\n", 1)[1].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in part.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", line.split("|")[1]))
    return names


def test_the_public_names_are_exactly_the_documented_ones() -> None:
    exported = phyxius.testing.__all__

    assert set(exported) == table_names("Public names")
    assert len(exported) == len(set(exported))
    assert exported == sorted(exported, key=lambda name: (not name.isupper(), name))


def test_the_strategies_are_exactly_the_documented_ones() -> None:
    assert set(phyxius.testing.strategies.__all__) == table_names("With hypothesis")


def test_nothing_public_hides_outside_all() -> None:
    public = {
        name
        for name, value in vars(phyxius.testing).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }

    assert public == set(phyxius.testing.__all__)


def test_the_strategies_module_defines_only_its_strategies() -> None:
    strategies = phyxius.testing.strategies
    defined = {
        name
        for name, value in vars(strategies).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == strategies.__name__
    }

    assert defined == set(strategies.__all__)


def test_every_public_name_has_a_docstring() -> None:
    attributes = _attribute_docstrings()
    missing = [
        name
        for module in (phyxius.testing, phyxius.testing.strategies)
        for name in module.__all__
        if not _has_own_docstring(name, getattr(module, name), attributes)
    ]

    assert missing == []


def test_importing_phyxius_testing_does_not_import_hypothesis() -> None:
    probe = (
        "import sys, phyxius.testing; "
        "print(sorted(name for name in sys.modules if name.startswith('hypothesis')))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
