"""Per-test settings: the ``phyxius`` marker over the ini options over defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pytest

from phyxius._time import NANOS_PER_SECOND, wall_to_nanoseconds
from phyxius.clock import DEFAULT_IO_GRACE, DEFAULT_START

__all__ = [
    "INI_OPTIONS",
    "MARKER_KEYS",
    "Settings",
    "parse_start",
    "settings_for",
]

MARKER_KEYS: Final = frozenset({"start", "autojump", "freeze_time", "seed", "io_grace"})
"""Keyword arguments the ``@pytest.mark.phyxius`` marker accepts."""

INI_OPTIONS: Final = {
    "phyxius_start": (
        "Wall time at which controlled_clock starts: ISO-8601 with a time zone "
        "(2024-01-01T00:00:00Z) or epoch seconds. Default 2024-01-01T00:00:00Z.",
        "string",
    ),
    "phyxius_autojump": (
        "Whether virtual time jumps to the next timer when every task is "
        "blocked (true) or moves only when the test advances it (false). "
        "Default true.",
        "bool",
    ),
}
"""Ini options of the plugin: name -> (help, type)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What one test asked of Phyxius, after the marker and ini are combined."""

    start_wall_ns: int
    autojump: bool
    io_grace: float
    freeze_time: bool | str
    seed: int | None


def parse_start(value: object, *, source: str) -> int:
    """Turn a start given as a datetime, ISO string or epoch seconds into epoch ns."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise pytest.UsageError(
                    f"{source}={value!r} is not a start time; use ISO-8601 with a "
                    "time zone such as 2024-01-01T00:00:00Z, or epoch seconds"
                ) from None
            value = parsed
        else:
            if not math.isfinite(number):
                raise pytest.UsageError(
                    f"{source}={value!r} is not a finite number of epoch seconds"
                )
            value = int(number) if number.is_integer() else number
    try:
        return wall_to_nanoseconds(value, name=source)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def settings_for(item: pytest.Item) -> Settings:
    """Combine the test's ``phyxius`` marker (closest wins) with the ini options."""
    config = item.config
    options: dict[str, Any] = {}
    # Marks closest to the test come first; apply the farthest first so the
    # closest one wins.
    for mark in reversed(list(item.iter_markers("phyxius"))):
        if mark.args:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.phyxius takes keyword arguments only "
                f"({', '.join(sorted(MARKER_KEYS))}), got positional {mark.args!r}"
            )
        unknown = set(mark.kwargs) - MARKER_KEYS
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.phyxius got unknown option(s) "
                f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(MARKER_KEYS))}"
            )
        options.update(mark.kwargs)

    if "start" in options:
        start_ns = parse_start(options["start"], source="phyxius(start)")
    else:
        ini_start = config.getini("phyxius_start")
        start_ns = (
            parse_start(ini_start, source="phyxius_start")
            if ini_start
            else wall_to_nanoseconds(DEFAULT_START)
        )

    autojump = options.get("autojump", config.getini("phyxius_autojump"))
    if not isinstance(autojump, bool):
        raise pytest.UsageError(
            f"{item.nodeid}: phyxius(autojump={autojump!r}) must be True or False"
        )

    io_grace = options.get("io_grace", DEFAULT_IO_GRACE)
    if (
        isinstance(io_grace, bool)
        or not isinstance(io_grace, int | float)
        or not 0 <= io_grace < math.inf
    ):
        raise pytest.UsageError(
            f"{item.nodeid}: phyxius(io_grace={io_grace!r}) must be a number of "
            "real seconds, zero or more"
        )

    freeze_time = options.get("freeze_time", False)
    seed = options.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise pytest.UsageError(
            f"{item.nodeid}: phyxius(seed={seed!r}) must be an integer"
        )
    return Settings(start_ns, autojump, float(io_grace), freeze_time, seed)


def start_seconds(settings: Settings) -> float:
    """The start as epoch seconds, for messages."""
    return settings.start_wall_ns / NANOS_PER_SECOND
