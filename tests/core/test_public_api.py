"""The public names are exactly the documented ones, and each says what it is.

`phyxius.clock.__all__` must equal the names in the README's "Public names"
table of the Clock section. `phyxius.__all__` must contain the shared
conventions and the clock's main names, re-export each primitive's names
unchanged, and mention every name in the README. Both namespaces export
nothing public beyond ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

import phyxius
import phyxius.clock

README = Path(__file__).resolve().parents[2] / "README.md"

CORE_AND_CLOCK = {
    "Clock",
    "ClockTimeoutError",
    "ControlledClock",
    "DeadlockError",
    "Duration",
    "Emit",
    "Event",
    "Instant",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDurationError",
    "PhyxiusError",
    "SystemClock",
    "VirtualTimeEventLoop",
    "WallTime",
    "__version__",
    "create_controlled_clock",
    "create_system_clock",
    "to_nanoseconds",
}
"""What the foundation puts at the top level; each primitive adds its own."""


def _readme_section(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match is not None, f"README.md has no '## {heading}' section"
    return match.group(1)


def _documented_clock_names() -> set[str]:
    section = _readme_section("Clock")
    table = section.split("### Public names", 1)[1].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", first_cell))
    return names


def _public_namespace(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def _attribute_docstrings() -> dict[str, str]:
    """Docstrings written under module-level assignments, for constants and aliases."""
    found: dict[str, str] = {}
    for info in pkgutil.walk_packages(phyxius.__path__, "phyxius."):
        module = importlib.import_module(info.name)
        tree = ast.parse(inspect.getsource(module))
        for before, after in zip(tree.body, tree.body[1:], strict=False):
            if not (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                continue
            if isinstance(before, ast.AnnAssign) and isinstance(
                before.target, ast.Name
            ):
                found[before.target.id] = after.value.value
            elif isinstance(before, ast.Assign):
                for target in before.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = after.value.value
    return found


def _has_own_docstring(name: str, value: object, attributes: dict[str, str]) -> bool:
    if inspect.isclass(value) or inspect.isfunction(value):
        doc = value.__doc__ or ""
        # A dataclass without a docstring gets its signature as __doc__.
        return bool(doc.strip()) and not doc.startswith(f"{value.__name__}(")
    return bool(attributes.get(name, "").strip())


def test_clock_exports_exactly_the_names_the_readme_documents() -> None:
    assert set(phyxius.clock.__all__) == _documented_clock_names()


@pytest.mark.parametrize("module", [phyxius, phyxius.clock], ids=lambda m: m.__name__)
def test_all_is_sorted_unique_and_is_the_whole_public_namespace(
    module: types.ModuleType,
) -> None:
    exported = list(module.__all__)

    assert len(exported) == len(set(exported))
    assert all(hasattr(module, name) for name in exported)
    assert _public_namespace(module) == set(exported) - {"__version__"}


def test_the_top_level_carries_the_foundation_names() -> None:
    assert set(phyxius.__all__) >= CORE_AND_CLOCK


def test_top_level_names_are_the_primitives_own_objects() -> None:
    for name in set(phyxius.__all__) & set(phyxius.clock.__all__):
        assert getattr(phyxius, name) is getattr(phyxius.clock, name)


def test_every_top_level_name_is_mentioned_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        name
        for name in phyxius.__all__
        if name != "__version__"
        # In code (`Name`, `phyxius.Name`, `Name(...)`) or as a section heading.
        and not re.search(rf"`(?:[\w.]+\.)?{name}\b|^#+ {name}$", text, re.M)
    ]

    assert missing == []


@pytest.mark.parametrize("module", [phyxius, phyxius.clock], ids=lambda m: m.__name__)
def test_every_public_name_has_a_docstring(module: types.ModuleType) -> None:
    attributes = _attribute_docstrings()
    undocumented = [
        name
        for name in module.__all__
        if name != "__version__"
        and not _has_own_docstring(name, getattr(module, name), attributes)
    ]

    assert undocumented == []


def test_public_methods_of_the_clocks_have_docstrings() -> None:
    classes = [
        phyxius.clock.SystemClock,
        phyxius.clock.ControlledClock,
        phyxius.clock.ControlledTimer,
        phyxius.clock.ControlledInterval,
        phyxius.clock.SystemTimer,
        phyxius.clock.SystemInterval,
        phyxius.clock.DeadlineResult,
        phyxius.clock.Timeout,
        phyxius.Instant,
    ]
    undocumented = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, member in vars(cls).items()
        if not name.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, property))
        and not (member.__doc__ or "").strip()
    ]

    assert undocumented == []


PUBLIC_MODULES = [
    "phyxius.clock",
    "phyxius.atom",
    "phyxius.journal",
    "phyxius.effect",
    "phyxius.process",
    "phyxius.testing",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_method_and_property_of_every_module_has_a_docstring(
    module_name: str,
) -> None:
    module = importlib.import_module(module_name)
    classes = [
        value
        for value in (getattr(module, name) for name in module.__all__)
        if inspect.isclass(value)
    ]
    undocumented = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, member in vars(cls).items()
        if not name.startswith("_")
        and (
            inspect.isfunction(member)
            or isinstance(member, property | staticmethod | classmethod)
        )
        and not (inspect.getdoc(member) or "").strip()
    ]

    assert len(classes) >= 3
    assert undocumented == []


def test_the_version_is_the_packaged_one() -> None:
    from importlib.metadata import version

    assert phyxius.__version__ == version("phyxius")
