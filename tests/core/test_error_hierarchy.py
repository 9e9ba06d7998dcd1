"""Every error Phyxius raises is a `PhyxiusError` and the builtin a caller expects."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import phyxius
from phyxius import (
    ClockTimeoutError,
    DeadlockError,
    InternalError,
    InvalidArgumentError,
    InvalidDurationError,
    PhyxiusError,
)
from phyxius.clock import ClockError


def _phyxius_exception_classes() -> list[type[BaseException]]:
    classes: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(phyxius.__path__, "phyxius."):
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            # A private exception that never leaves the module (a signal
            # caught where it is raised) is not an error the library raises.
            if (
                issubclass(value, BaseException)
                and value.__module__.startswith("phyxius")
                and not value.__name__.startswith("_")
            ):
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return [classes[name] for name in sorted(classes)]


def test_every_exception_class_in_the_package_is_a_phyxius_error() -> None:
    classes = _phyxius_exception_classes()
    strays = [cls.__qualname__ for cls in classes if not issubclass(cls, PhyxiusError)]

    assert len(classes) >= 7
    assert strays == []


def test_every_exception_class_says_what_it_means() -> None:
    undocumented = [
        cls.__qualname__
        for cls in _phyxius_exception_classes()
        if not (cls.__doc__ or "").strip()
    ]

    assert undocumented == []


@pytest.mark.parametrize(
    ("error", "builtins"),
    [
        (InvalidArgumentError, (ValueError,)),
        (InvalidDurationError, (ValueError, TypeError, InvalidArgumentError)),
        (InternalError, (RuntimeError,)),
        (ClockError, (RuntimeError,)),
        (ClockTimeoutError, (TimeoutError,)),
        (DeadlockError, (RuntimeError,)),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_errors_subclass_the_builtin_a_caller_would_catch(
    error: type[Exception], builtins: tuple[type[Exception], ...]
) -> None:
    assert issubclass(error, PhyxiusError)
    for builtin in builtins:
        assert issubclass(error, builtin)


def test_internal_error_asks_to_be_reported() -> None:
    assert "report" in (InternalError.__doc__ or "")
