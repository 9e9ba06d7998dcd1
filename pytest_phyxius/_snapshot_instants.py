"""Instants in snapshots: readable, and exact to the nanosecond.

``{"mono": "1.500000000", "wall": "2024-01-01T00:00:01.500000000Z"}``: the
monotonic reading in seconds and the wall time in ISO 8601 with nine
fractional digits. A wall time outside the years 1 to 9999 is written as
its nanoseconds, ``"<n>ns"``.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from phyxius import Instant
from pytest_phyxius._snapshot_errors import SnapshotReplayError

__all__ = ["format_instant", "parse_instant"]

_NANOS: Final = 1_000_000_000
_EPOCH: Final = datetime(1970, 1, 1)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_instant(instant: Instant) -> dict[str, str]:
    """The readable, exact form of an `Instant`: ``{"mono": ..., "wall": ...}``."""
    return {
        "mono": _format_mono(instant.mono_ns),
        "wall": _format_wall(instant.wall_ns),
    }


def _format_mono(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    seconds, nanos = divmod(abs(ns), _NANOS)
    return f"{sign}{seconds}.{nanos:09d}"


def _format_wall(ns: int) -> str:
    seconds, nanos = divmod(ns, _NANOS)
    try:
        text = _format_seconds(seconds)
    except OverflowError:
        # Outside datetime's years 1..9999: keep it exact, if less readable.
        return f"{ns}ns"
    return f"{text}.{nanos:09d}Z"


@functools.lru_cache(maxsize=256)
def _format_seconds(seconds: int) -> str:
    # Journals append many entries within one second: each is formatted once.
    return (_EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def parse_instant(value: object, where: str) -> Instant:
    """Read an ``at`` written by `format_instant`.

    Raises:
        SnapshotReplayError: ``value`` is not such an object.
    """
    if not isinstance(value, dict) or set(value) != {"mono", "wall"}:
        raise SnapshotReplayError(
            f"{where}={_short(value)} is not a time written by the snapshot "
            'writer ({"mono": ..., "wall": ...}); it was excluded or replaced, '
            "so this snapshot cannot seed a journal"
        )
    return Instant(
        mono_ns=_parse_mono(value["mono"], f"{where}.mono"),
        wall_ns=_parse_wall(value["wall"], f"{where}.wall"),
    )


def _parse_mono(text: object, where: str) -> int:
    if isinstance(text, str) and re.fullmatch(r"-?[0-9]+\.[0-9]{9}", text):
        return int(Decimal(text) * _NANOS)
    raise SnapshotReplayError(
        f"{where}={_short(text)} is not monotonic seconds such as '1.500000000'"
    )


def _parse_wall(text: object, where: str) -> int:
    if isinstance(text, str):
        if re.fullmatch(r"-?[0-9]+ns", text):
            return int(text[:-2])
        match = re.fullmatch(
            r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\.([0-9]{9})Z",
            text,
        )
        if match is not None:
            try:
                moment = datetime.fromisoformat(match[1])
            except ValueError:
                pass
            else:
                seconds = (moment - _EPOCH) // timedelta(seconds=1)
                return seconds * _NANOS + int(match[2])
    raise SnapshotReplayError(
        f"{where}={_short(text)} is not a wall time such as "
        "'2024-01-01T00:00:00.000000000Z'"
    )
