"""Volatile values: ``exclude=`` and ``replace=`` paths in entry documents.

A path names values inside each entry's document, as the snapshot file shows
it: ``"id"``, ``"at"``, ``"at.wall"``, ``"data.order.id"``,
``"metadata.request_id"``. A segment ``*`` matches every key of an object
or every item of a list; a segment of digits also matches that list index
(``"data.items.0.sku"``). A key that holds a dot is named with a tuple of
segments inside the list of paths: ``exclude=["id", ("data", "a.b")]``.

``exclude`` removes the values. ``replace`` puts a placeholder in their
place, ``"<label:n>"``: ``label`` is the path's last named segment and
``n`` counts the distinct values in the order they are met, entry by entry.
Equal values get the same placeholder wherever they are, so a snapshot still
checks that the id an entry refers to is the id of an earlier entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from phyxius import InvalidArgumentError
from pytest_phyxius._snapshot_values import canonical

__all__ = ["Paths", "apply_volatile", "parse_paths"]

Paths: TypeAlias = tuple[tuple[str, ...], ...]
"""Parsed paths: each a tuple of segments, ``"*"`` matching anything."""

_Match: TypeAlias = tuple[Any, Any]


def parse_paths(value: object, argument: str) -> Paths:
    """Parse an ``exclude=``/``replace=`` argument.

    ``value`` is ``None``, one dotted ``str`` path, or an iterable of paths,
    each a dotted ``str`` or a tuple of ``str`` segments.

    Raises:
        InvalidArgumentError: a path is empty, has an empty segment, or is
            not a str or tuple of str.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (_parse_one(value, argument, value),)
    if not isinstance(value, Iterable) or isinstance(value, bytes | dict):
        raise _bad(argument, value, "is not a path or a list of paths")
    return tuple(_parse_one(path, argument, value) for path in value)


def _parse_one(path: object, argument: str, whole: object) -> tuple[str, ...]:
    if isinstance(path, str):
        segments = tuple(path.split("."))
    elif isinstance(path, tuple) and all(isinstance(s, str) for s in path):
        segments = path
    else:
        raise _bad(
            argument, whole, f"holds {path!r}, which is not a str or tuple of str"
        )
    if not segments or any(not segment for segment in segments):
        raise _bad(
            argument, whole, f"holds the path {path!r}, which has an empty segment"
        )
    return segments


def _bad(argument: str, value: object, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{argument}={value!r} (type={type(value).__name__}) {problem}; pass "
        'dotted paths such as "id", "at" or "data.items.*.sku", or tuples of '
        'segments such as ("data", "a.b") inside the list'
    )


def _find(node: Any, segments: tuple[str, ...], found: list[_Match]) -> None:
    segment = segments[0]
    keys: Iterable[Any]
    if isinstance(node, dict):
        keys = list(node) if segment == "*" else ([segment] if segment in node else [])
    elif isinstance(node, list):
        if segment == "*":
            keys = range(len(node))
        elif segment.isdigit() and segment.isascii() and int(segment) < len(node):
            keys = [int(segment)]
        else:
            keys = []
    else:
        keys = []
    rest = segments[1:]
    for key in keys:
        if rest:
            _find(node[key], rest, found)
        else:
            found.append((node, key))


def _label(path: tuple[str, ...]) -> str:
    for segment in reversed(path):
        if segment != "*" and not segment.isdigit():
            return segment
    return "value"


def apply_volatile(
    entries: list[dict[str, Any]], exclude: Paths, replace: Paths
) -> None:
    """Apply ``exclude`` then ``replace`` to ``entries``, in place.

    Raises:
        InvalidArgumentError: a path matched no value in any entry (a typo,
            most likely); checked only when there are entries.
    """
    unmatched = set(exclude) | set(replace)

    for entry in entries:
        matches: list[_Match] = []
        for path in exclude:
            before = len(matches)
            _find(entry, path, matches)
            if len(matches) > before:
                unmatched.discard(path)
        _remove(matches)

    placeholders: dict[str, str] = {}
    for entry in entries:
        for path in replace:
            found: list[_Match] = []
            _find(entry, path, found)
            if found:
                unmatched.discard(path)
            for container, key in found:
                text = canonical(container[key])
                placeholder = placeholders.get(text)
                if placeholder is None:
                    placeholder = f"<{_label(path)}:{len(placeholders) + 1}>"
                    placeholders[text] = placeholder
                container[key] = placeholder

    if entries and unmatched:
        names = ", ".join(repr(".".join(path)) for path in sorted(unmatched))
        raise InvalidArgumentError(
            f"exclude/replace path {names} matched no value in any of the "
            f"{len(entries)} entries; check the spelling against the snapshot "
            "file (paths start at an entry: id, at, data, metadata)"
        )


def _remove(matches: list[_Match]) -> None:
    # Remove list items from the highest index down, so that each removal
    # leaves the indexes still to be removed where they were.
    by_list: dict[int, tuple[list[Any], set[int]]] = {}
    for container, key in matches:
        if isinstance(container, list):
            by_list.setdefault(id(container), (container, set()))[1].add(key)
        else:
            container.pop(key, None)
    for container, indexes in by_list.values():
        for index in sorted(indexes, reverse=True):
            del container[index]
