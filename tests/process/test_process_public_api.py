"""The public names of phyxius.process are exactly the ones the README documents."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import phyxius
import phyxius.process
from pytest_phyxius import SupervisorFixture

README = Path(__file__).resolve().parents[2] / "README.md"

ALIASES_AND_CONSTANTS = {
    "DEFAULT_ASK_TIMEOUT",
    "DEFAULT_SHUTDOWN",
    "MailboxPolicy",
    "RestartType",
    "Strategy",
}


def documented_names() -> set[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Process\n")
    section = text[start : text.index("\n## ", start + 1)]
    table = section.split("### Public names", 1)[1].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", line.split("|")[1]))
    return names


def test_the_public_names_are_exactly_the_documented_ones() -> None:
    assert set(phyxius.process.__all__) == documented_names()
    assert len(phyxius.process.__all__) == len(set(phyxius.process.__all__))


def test_nothing_public_hides_outside_all() -> None:
    public = {
        name
        for name, value in vars(phyxius.process).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }

    assert public == set(phyxius.process.__all__)


def test_every_class_and_function_has_a_docstring() -> None:
    missing = [
        name
        for name in phyxius.process.__all__
        if name not in ALIASES_AND_CONSTANTS
        and not inspect.getdoc(getattr(phyxius.process, name))
    ]

    assert missing == []


def test_every_public_method_and_property_has_a_docstring() -> None:
    classes = [
        getattr(phyxius.process, name)
        for name in phyxius.process.__all__
        if inspect.isclass(getattr(phyxius.process, name))
    ] + [SupervisorFixture]
    missing = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, member in vars(cls).items()
        if not name.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, property))
        and not (member.__doc__ or "").strip()
    ]

    assert missing == []


def test_the_top_level_reexports_are_the_same_objects() -> None:
    for name in (
        "Backoff",
        "ProcessError",
        "ProcessRef",
        "ProcessSpec",
        "Supervisor",
        "SupervisorFailedError",
        "create_supervisor",
    ):
        assert getattr(phyxius, name) is getattr(phyxius.process, name)


def test_errors_are_phyxius_errors_and_the_builtins_callers_catch() -> None:
    process = phyxius.process

    assert issubclass(process.ProcessError, phyxius.PhyxiusError)
    assert issubclass(process.AskTimeoutError, TimeoutError)
    for error in (
        process.ProcessStoppedError,
        process.ProcessCrashedError,
        process.ProcessStartError,
        process.MailboxFullError,
        process.NoReplyError,
        process.ProcessUsageError,
        process.SupervisorFailedError,
    ):
        assert issubclass(error, process.ProcessError)
        assert issubclass(error, RuntimeError)
