"""The readable difference between a stored snapshot and a journal.

Entries are aligned on their content (everything but ``sequence``, ``id``
and ``at``), so an entry inserted in the middle of a journal shows as one
added entry rather than as every later entry changing. Each aligned pair
that still differs is listed field by field, with paths in the syntax of
``exclude=``/``replace=``, so a path can be copied from the diff to there.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Final

from pytest_phyxius._snapshot_values import canonical

__all__ = ["describe_difference"]

_SHOWN: Final = 100
_MAX_FIELDS: Final = 12
_ALIGN_IGNORES: Final = frozenset({"sequence", "id", "at"})


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True, separators=(", ", ": "))
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _alignment_key(entry: object) -> str:
    if isinstance(entry, dict):
        return canonical({k: v for k, v in entry.items() if k not in _ALIGN_IGNORES})
    return canonical(entry)


def _brief(entry: object) -> str:
    # The label already names the sequence; the time is rarely the point.
    if isinstance(entry, dict):
        return _show({k: v for k, v in entry.items() if k not in ("sequence", "at")})
    return _show(entry)


def _label(entry: object, fallback: int) -> str:
    if isinstance(entry, dict) and type(entry.get("sequence")) is int:
        return f"sequence {entry['sequence']}"
    return f"#{fallback}"


def describe_difference(stored: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Lines describing how ``actual`` differs from ``stored``.

    The first line counts what differs; the others give the details, entry
    by entry in journal order.
    """
    details: list[str] = []

    # Fields of the snapshot itself: the journal's name, its first sequence.
    for key in [*stored, *(k for k in actual if k not in stored)]:
        if key == "entries":
            continue
        if key not in actual:
            details.append(f"{key}: {_show(stored[key])} in the snapshot, absent now")
        elif key not in stored:
            details.append(f"{key}: absent in the snapshot, {_show(actual[key])} now")
        elif canonical(stored[key]) != canonical(actual[key]):
            details.append(
                f"{key}: {_show(stored[key])} in the snapshot, {_show(actual[key])} now"
            )

    old: list[Any] = stored.get("entries", [])
    new: list[Any] = actual.get("entries", [])
    matcher = difflib.SequenceMatcher(
        None,
        [_alignment_key(e) for e in old],
        [_alignment_key(e) for e in new],
        autojunk=False,
    )
    changed = moved = added = missing = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = list(zip(range(i1, i2), range(j1, j2), strict=False))
        if tag in ("equal", "replace"):
            for i, j in pairs:
                if canonical(old[i]) == canonical(new[j]):
                    continue
                renumbered = _renumbered(old[i], new[j])
                if renumbered is not None:
                    moved += 1
                    details.append(renumbered)
                    continue
                changed += 1
                details.append(
                    f"entry {_label(new[j], j)} differs from the snapshot's "
                    f"entry {_label(old[i], i)}:"
                )
                details.extend("    " + line for line in _fields(old[i], new[j]))
        if tag == "equal":
            continue
        for i in range(i1 + len(pairs), i2):
            missing += 1
            details.append(
                f"entry {_label(old[i], i)} is missing (in the snapshot only): "
                f"{_brief(old[i])}"
            )
        for j in range(j1 + len(pairs), j2):
            added += 1
            details.append(
                f"entry {_label(new[j], j)} was added (not in the snapshot): "
                f"{_brief(new[j])}"
            )

    counts = [
        f"{count} {what}"
        for count, what in (
            (changed, "changed"),
            (moved, "moved"),
            (added, "added"),
            (missing, "missing"),
        )
        if count
    ]
    summary = (
        f"entries: {', '.join(counts) or 'none changed'} "
        f"(snapshot {len(old)}, journal {len(new)})"
    )
    return [summary, *details]


def _renumbered(old: object, new: object) -> str | None:
    """One line for an entry that only moved (an entry before it was added or
    removed): its sequence changed, and nothing else but its id and time."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return None

    # A sequence that is not a number (a hand-edited or damaged file) did not
    # move: it changed, and the field by field diff says from what to what.
    old_sequence, new_sequence = old.get("sequence"), new.get("sequence")
    if type(old_sequence) is not int or type(new_sequence) is not int:
        return None
    if old_sequence == new_sequence:
        return None
    if _alignment_key(old) != _alignment_key(new):
        return None
    also = [
        key
        for key in ("id", "at")
        if canonical(old.get(key)) != canonical(new.get(key))
    ]
    extra = f" ({' and '.join(also)} changed with it)" if also else ""
    return f"entry {_label(new, -1)} moved from {_label(old, -1)}{extra}"


def _fields(old: object, new: object) -> list[str]:
    lines: list[str] = []
    _compare(old, new, "", lines)
    if len(lines) > _MAX_FIELDS:
        hidden = len(lines) - _MAX_FIELDS
        lines = [*lines[:_MAX_FIELDS], f"... and {hidden} more differences"]
    return lines


def _compare(old: object, new: object, path: str, lines: list[str]) -> None:
    if canonical(old) == canonical(new):
        return
    where = path or "(entry)"
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            child = f"{path}.{key}" if path else str(key)
            if key not in new:
                lines.append(f"{child}: removed (snapshot: {_show(old[key])})")
            elif key not in old:
                lines.append(f"{child}: added {_show(new[key])}")
            else:
                _compare(old[key], new[key], child, lines)
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            child = f"{path}.{index}" if path else str(index)
            if index >= len(new):
                lines.append(f"{child}: removed (snapshot: {_show(old[index])})")
            elif index >= len(old):
                lines.append(f"{child}: added {_show(new[index])}")
            else:
                _compare(old[index], new[index], child, lines)
        return
    lines.append(f"{where}: {_show(old)} in the snapshot, {_show(new)} now")
