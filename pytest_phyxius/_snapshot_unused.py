"""Unused snapshots: the decision at the end of a session, and its report.

The records of every process that ran tests (one, or each pytest-xdist
worker) are merged, then `decide_unused` applies the rule written in
`pytest_phyxius._snapshot_session`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

from pytest_phyxius._snapshot_errors import SnapshotError
from pytest_phyxius._snapshot_files import read_file, snapshot_order

__all__ = ["Unused", "decide_unused", "merge_payloads", "summary_lines"]


@final
@dataclass(frozen=True, slots=True)
class Unused:
    """Unused snapshots found at the end of a session."""

    path: str
    """The snapshot file."""

    names: tuple[str, ...] | None
    """The unused snapshots in it, or None: the whole file."""

    test: str | None
    """The node id of the test owning the file, or None: no collected test."""


def merge_payloads(payloads: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine the records of several processes (pytest-xdist workers)."""
    folders: dict[str, dict[str, Any]] = {}
    merged: dict[str, Any] = {
        "files": {},
        "blocked": set(),
        "completed": set(),
        "finished": set(),
        "uses": {},
        "reads": {},
        "counts": Counter(),
        "changes": {"written": [], "updated": []},
    }
    for payload in payloads:
        for folder in payload["folders"]:
            known = folders.get(folder["path"])
            if known is None:
                folders[folder["path"]] = {
                    "path": folder["path"],
                    "complete": folder["complete"],
                    "modules": set(folder["modules"]),
                    "stored": set(folder["stored"]),
                    "known": set(folder["known"]),
                    "tests": set(folder["tests"]),
                }
            else:
                # Workers collect the same tests; should they ever disagree,
                # the folder is not trusted to be complete.
                known["complete"] = known["complete"] and folder["complete"]
                known["complete"] &= known["tests"] == set(folder["tests"])
                known["complete"] &= known["modules"] == set(folder["modules"])
                known["stored"] |= set(folder["stored"])
                known["known"] |= set(folder["known"])
        merged["files"].update(payload["files"])
        merged["blocked"].update(payload["blocked"])
        merged["completed"].update(payload["completed"])
        merged["finished"].update(payload["finished"])
        merged["uses"].update(payload["uses"])
        for path, names in payload["reads"].items():
            merged["reads"].setdefault(path, set()).update(names)
        merged["counts"].update(payload["counts"])
        for what, lines in payload["changes"].items():
            merged["changes"].setdefault(what, []).extend(lines)
    merged["folders"] = list(folders.values())
    return merged


def decide_unused(merged: Mapping[str, Any], problems: list[str]) -> list[Unused]:
    """The unused snapshots, from the merged records of a whole session."""
    blocked: set[str] = merged["blocked"]
    reads: Mapping[str, set[str]] = merged["reads"]
    files: Mapping[str, str] = merged["files"]
    uses: Mapping[str, Mapping[str, Any]] = merged["uses"]
    found: list[Unused] = []
    seen: set[str] = set()

    for nodeid in sorted(merged["completed"]):
        path = files.get(nodeid)
        if path is None or path in blocked or path in seen:
            continue
        seen.add(path)
        use = uses.get(nodeid)
        if use is not None:
            stale = set(use["stale"]) - reads.get(path, set())
            if stale:
                found.append(
                    Unused(path, tuple(sorted(stale, key=snapshot_order)), nodeid)
                )
        else:
            unused = _unread(path, reads.get(path, set()), problems)
            if unused is None or unused:
                found.append(Unused(path, unused, nodeid))

    finished: set[str] = merged["finished"]
    for folder in sorted(merged["folders"], key=lambda f: f["path"]):
        if not folder["complete"] or not folder["tests"] <= finished:
            continue
        for name in sorted(folder["stored"] - folder["known"]):
            path = os.path.join(folder["path"], name)
            if path in blocked:
                continue
            # Only a file of one of the folder's modules is an orphan: a
            # folder shared through the dir hook also holds the files of
            # modules this session did not collect.
            unused = _unread(
                path, reads.get(path, set()), problems, modules=folder["modules"]
            )
            if unused is None or unused:
                found.append(Unused(path, unused, None))
    return found


def _unread(
    path: str,
    read: set[str],
    problems: list[str],
    modules: set[str] | None = None,
) -> tuple[str, ...] | None:
    """The snapshots of ``path`` nobody read: None for the whole file, () for none.

    With ``modules``, a file that does not belong to one of them (see
    `_of_modules`) is left alone: () as well.
    """
    if not read and modules is None:
        return None
    try:
        stored = read_file(Path(path))
    except SnapshotError as error:
        problems.append(str(error))
        return ()
    if stored is None:
        return ()
    if modules is not None and not _of_modules(stored.module, modules, path):
        return ()
    if not read:
        return None
    left = sorted(set(stored.snapshots) - read, key=snapshot_order)
    return tuple(left)


def _of_modules(module: str | None, modules: set[str], path: str) -> bool:
    """Whether a file recording ``module`` belongs to one of ``modules``.

    A file that records no module (written before files recorded theirs) is
    taken to belong to the one module whose default folder holds it, and to
    no module in any other folder.
    """
    if module is not None:
        return module in modules
    stem = os.path.basename(os.path.dirname(path))
    return modules == {f"../../{stem}.py"}


def summary_lines(
    counts: Mapping[str, int],
    changes: Mapping[str, list[str]],
    unused: list[Unused],
    removed: bool,
    problems: list[str],
    base: Path,
) -> list[str]:
    """The lines of the terminal summary (empty when there is nothing to say)."""

    def shown(path: str) -> str:
        try:
            return os.path.relpath(path, base)
        except ValueError:  # another drive, on Windows
            return path

    parts = [
        f"{counts.get(what, 0)} {what}"
        for what in ("passed", "written", "updated", "failed")
        if counts.get(what, 0)
    ]
    if unused:
        counted = sum(1 if u.names is None else len(u.names) for u in unused)
        verb = "removed" if removed else "unused"
        parts.append(f"{counted} {verb}")
    if not parts and not problems:
        return []
    lines = ["journal snapshots: " + ", ".join(parts)]

    for what in ("written", "updated"):
        changed = changes.get(what, [])
        if changed:
            lines.append(f"{what.capitalize()}:")
            lines.extend(f"  {shown(line)}" for line in changed[:10])
            if len(changed) > 10:
                lines.append(f"  ... and {len(changed) - 10} more")
    if unused:
        if removed:
            lines.append("Removed unused snapshots:")
        else:
            lines.append("Unused snapshots (pytest --phyxius-update removes them):")
        for item in unused:
            which = (
                "whole file"
                if item.names is None
                else ", ".join(repr(name) for name in item.names)
            )
            owner = f" of {item.test}" if item.test else " (no such test)"
            lines.append(f"  {shown(item.path)}: {which}{owner}")
    lines.extend(problems)
    return lines
