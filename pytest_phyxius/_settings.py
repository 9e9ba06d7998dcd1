"""Per-test settings: the ``phyxius`` marker over the ini options over defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import pytest

from phyxius._time import NANOS_PER_SECOND, wall_ns_in_range, wall_to_nanoseconds
from phyxius.clock import DEFAULT_IO_GRACE, DEFAULT_START, FreezeBackend

__all__ = [
    "INI_OPTIONS",
    "MARKER_KEYS",
    "Settings",
    "parse_autojump",
    "parse_freeze_time",
    "parse_io_grace",
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
        "string",
    ),
    "phyxius_freeze_time": (
        "Whether datetime.now(), time.time() and friends follow "
        "controlled_clock in tests that use it: false (default), true or "
        "freezegun (freeze with freezegun), time-machine (with time-machine).",
        "string",
    ),
    "phyxius_io_grace": (
        "Real seconds the virtual-time loop waits for socket I/O before "
        "jumping to the next timer. Default 0.05.",
        "string",
    ),
}
"""Ini options of the plugin: name -> (help, type)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What one test asked of Phyxius, after the marker and ini are combined."""

    start_wall_ns: int
    autojump: bool
    io_grace: float
    freeze_time: FreezeBackend | None
    """The wall-time freeze backend, or None when wall time stays real."""
    seed: int | None


def parse_start(value: object, *, source: str) -> int:
    """Turn a start given as a datetime, ISO string or epoch seconds into epoch ns."""
    if isinstance(value, str):
        value = _parse_start_text(value, source=source)
    try:
        start_ns = wall_to_nanoseconds(value, name=source)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    # The clock's reading is shown as a datetime in every failure report.
    if not wall_ns_in_range(start_ns):
        raise pytest.UsageError(
            f"{source}={value!r} is outside the years 1 to 9999 that a datetime "
            "can hold; pass a start within them"
        )
    return start_ns


def _parse_start_text(value: str, *, source: str) -> int | float | datetime:
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            raise pytest.UsageError(
                f"{source}={value!r} is not a finite number of epoch seconds"
            )
        return number

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise pytest.UsageError(
            f"{source}={value!r} is not a start time; use ISO-8601 with a "
            "time zone such as 2024-01-01T00:00:00Z, or epoch seconds"
        ) from None
    if parsed.tzinfo is None:
        raise pytest.UsageError(
            f"{source}={value!r} has no time zone; add one, as in "
            "2024-01-01T00:00:00Z or 2024-01-01T00:00:00+00:00"
        )
    return parsed


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
        start_ns = parse_start(
            options["start"], source=f"{item.nodeid}: phyxius(start)"
        )
    else:
        ini_start = config.getini("phyxius_start")
        start_ns = (
            parse_start(ini_start, source="phyxius_start")
            if ini_start
            else wall_to_nanoseconds(DEFAULT_START)
        )

    autojump = options.get("autojump")
    if autojump is None:
        autojump = parse_autojump(
            config.getini("phyxius_autojump"), source="phyxius_autojump"
        )
    elif not isinstance(autojump, bool):
        raise pytest.UsageError(
            f"{item.nodeid}: phyxius(autojump={autojump!r}) must be True or False"
        )

    if "io_grace" in options:
        io_grace = parse_io_grace(
            options["io_grace"], source=f"{item.nodeid}: phyxius(io_grace)"
        )
    else:
        io_grace = parse_io_grace(
            config.getini("phyxius_io_grace"), source="phyxius_io_grace"
        )

    if "freeze_time" in options:
        freeze_time = parse_freeze_time(
            options["freeze_time"], source=f"{item.nodeid}: phyxius(freeze_time)"
        )
    else:
        freeze_time = parse_freeze_time(
            config.getini("phyxius_freeze_time"), source="phyxius_freeze_time"
        )
    seed = options.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
    ):
        raise pytest.UsageError(
            f"{item.nodeid}: phyxius(seed={seed!r}) must be an integer, 0 or more"
        )
    return Settings(start_ns, autojump, io_grace, freeze_time, seed)


_TRUE_WORDS: Final = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS: Final = frozenset({"false", "no", "off", "0", ""})


def parse_autojump(value: str, *, source: str) -> bool:
    """Turn the ``phyxius_autojump`` ini text into a bool; empty means True."""
    word = value.strip().lower()
    if not word or word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise pytest.UsageError(
        f"{source}={value!r} is not an autojump setting; use true or false"
    )


def parse_freeze_time(value: object, *, source: str) -> FreezeBackend | None:
    """Turn a ``freeze_time`` setting into a backend name, or None for "off".

    The marker takes True, False, ``"freezegun"`` or ``"time-machine"``; the
    ini option takes those as words (``true``, ``false``, ...).
    """
    if value is None or value is False:
        return None
    if value is True:
        return "freezegun"
    if isinstance(value, str):
        word = value.strip().lower().replace("_", "-")
        if word in _FALSE_WORDS:
            return None
        if word in _TRUE_WORDS or word == "freezegun":
            return "freezegun"
        if word == "time-machine":
            return "time-machine"
    raise pytest.UsageError(
        f"{source}={value!r} is not a freeze_time setting; use True or False "
        "(freezegun), or a backend name: 'freezegun' or 'time-machine'"
    )


def parse_io_grace(value: object, *, source: str) -> float:
    """Turn an ``io_grace`` setting (seconds, or the ini's text) into seconds.

    An empty ini value means the default, `phyxius.clock.DEFAULT_IO_GRACE`.
    """
    number: object = value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return DEFAULT_IO_GRACE
        try:
            number = float(text)
        except ValueError:
            number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or not 0 <= number < math.inf
    ):
        raise pytest.UsageError(
            f"{source}={value!r} is not a grace period; give a finite number "
            "of real seconds, zero or more"
        )
    return float(number)


def start_seconds(settings: Settings) -> float:
    """The start as epoch seconds, for messages."""
    return settings.start_wall_ns / NANOS_PER_SECOND
