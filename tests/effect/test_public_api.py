"""The public names of phyxius.effect are exactly the documented ones."""

from __future__ import annotations

import inspect

import phyxius
import phyxius.effect

DOCUMENTED = {
    "CancelToken",
    "Context",
    "ContextLogFilter",
    "Effect",
    "EffectError",
    "EffectInterruptedError",
    "EffectTimeoutError",
    "EffectTypeError",
    "Env",
    "Err",
    "Exit",
    "Fiber",
    "Interrupted",
    "NoEffectContextError",
    "Ok",
    "Result",
    "RetryOn",
    "RetryPolicy",
    "Scope",
    "acquire_use_release",
    "current_context",
    "effect",
    "fail",
    "from_awaitable",
    "gather",
    "race",
    "run_effect",
    "sleep",
    "succeed",
    "to_thread",
}


def test_the_public_names_are_exactly_the_documented_ones() -> None:
    assert set(phyxius.effect.__all__) == DOCUMENTED
    assert sorted(phyxius.effect.__all__) == phyxius.effect.__all__


TYPE_ALIASES = {"Exit", "Result", "RetryOn"}


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name
        for name in phyxius.effect.__all__
        if name not in TYPE_ALIASES
        and not inspect.getdoc(getattr(phyxius.effect, name))
    ]

    assert missing == []


def test_the_main_names_are_also_exported_by_phyxius() -> None:
    for name in (
        "Effect",
        "EffectTimeoutError",
        "Err",
        "Fiber",
        "Interrupted",
        "Ok",
        "RetryPolicy",
        "current_context",
        "run_effect",
    ):
        assert getattr(phyxius, name) is getattr(phyxius.effect, name)
        assert name in phyxius.__all__


def test_every_effect_error_is_a_phyxius_error_and_a_builtin() -> None:
    assert issubclass(phyxius.effect.EffectError, phyxius.PhyxiusError)
    assert issubclass(phyxius.effect.EffectTimeoutError, TimeoutError)
    assert issubclass(phyxius.effect.EffectInterruptedError, RuntimeError)
    assert issubclass(phyxius.effect.EffectTypeError, TypeError)
    assert issubclass(phyxius.effect.NoEffectContextError, LookupError)
