"""Snapshot files: their names, their text, and how they are read and written.

One file holds the snapshots of one test, and names that test (its node id
within its module) and its module (the module file's path relative to the
file's folder, so that it does not depend on pytest's rootdir). It is JSON,
laid out for review:
the structure is indented, each journal entry is a block with one line per
field, and a field's value stays on that line while it fits in 88 columns.
Keys are in a fixed order (data keys sorted), lines end in LF only, and every
character that is invisible or that a tool could take for a line break
(control characters, U+0085, U+2028, U+2029, non-breaking and other special
spaces, format characters, lone surrogates) is written as a ``\\uXXXX``
escape, so every string reads back exactly.

A test's file name is its node id within the module, escaped: letters,
digits, ``_``, ``-``, ``[`` and ``]`` stay as they are, ``::`` becomes
``.``, and every other character becomes ``%XX`` for each byte of its UTF-8
encoding. The escape is reversible, so two test names never share a file
name, and the result never holds a folder separator or ``..``. Names longer
than 150 characters keep their first 100 and end in ``~`` and a hash of
the whole name (``~`` is never produced by the escape).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, final

from pytest_phyxius._snapshot_errors import SnapshotFileError, SnapshotNameError

__all__ = [
    "FORMAT",
    "VERSION",
    "StoredFile",
    "check_filename",
    "default_filename",
    "parse_file",
    "read_file",
    "remove_snapshots",
    "render_file",
    "snapshot_order",
    "write_atomic",
]

FORMAT: Final = "phyxius.journal-snapshots"
"""The ``format`` field of a snapshot file."""

VERSION: Final = 1
"""The version of the snapshot files this plugin writes and reads."""

SUFFIX: Final = ".json"
"""The suffix of every snapshot file."""

_WIDTH: Final = 88
_MAX_STEM: Final = 150

# -- file names --------------------------------------------------------------

_UNSAFE: Final = re.compile(r"::|[^A-Za-z0-9_\-\[\]]")
_RESERVED: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)


def _escape(match: re.Match[str]) -> str:
    text = match[0]
    if text == "::":
        return "."
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8", "surrogatepass"))


def default_filename(test_name: str) -> str:
    """The file name of the snapshots of the test ``test_name`` (see above)."""
    stem = _UNSAFE.sub(_escape, test_name)

    # Windows refuses these device names, with or without a suffix.
    if stem.split(".", 1)[0].upper() in _RESERVED:
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"

    if len(stem) > _MAX_STEM:
        digest = hashlib.sha256(test_name.encode("utf-8", "surrogatepass"))
        stem = f"{stem[:100]}~{digest.hexdigest()[:20]}"
    return stem + SUFFIX


def check_filename(name: object, test_name: str) -> str:
    """Check a file name returned by the ``pytest_phyxius_snapshot_filename`` hook.

    Raises:
        SnapshotNameError: it is not a single, visible ``.json`` file name.
    """
    if (
        isinstance(name, str)
        and name.endswith(SUFFIX)
        and len(name) > len(SUFFIX)
        and not name.startswith(".")
        and not any(separator in name for separator in ("/", "\\", "\x00"))
        and len(name.encode("utf-8", "surrogatepass")) <= 255
    ):
        return name
    raise SnapshotNameError(
        f"pytest_phyxius_snapshot_filename returned name={name!r} "
        f"(type={type(name).__name__}) for test {test_name!r}; return one file "
        f'name ending in "{SUFFIX}", without a folder separator, not starting with '
        '".", at most 255 bytes long'
    )


# -- the text of a file ------------------------------------------------------

_encoder: Final = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, check_circular=False, separators=(", ", ": ")
)
# The C encoder behind `json.dumps`, made once: `JSONEncoder.encode` makes a
# new one on every call, which is most of the cost of writing a file.
_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_c_encoder: Final = (
    None
    if _make_c_encoder is None
    else _make_c_encoder(
        None,
        None,
        json.encoder.encode_basestring,
        None,
        ": ",
        ", ",
        False,
        False,
        False,
    )
)


def _inline(value: object) -> str:
    """``value`` as JSON on one line (non-ASCII kept; see `_escape_invisible`)."""
    if type(value) is str:
        return json.encoder.encode_basestring(value)
    if _c_encoder is None:  # pragma: no cover - Pythons without the C encoder
        return _encoder.encode(value)
    return "".join(_c_encoder(value, 0))


_SPECIAL: Final = re.compile(r"[^\x00-\x7e]")


def _escape_invisible(match: re.Match[str]) -> str:
    char = match[0]
    if char.isprintable():
        return char
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def snapshot_order(key: str) -> tuple[int, int, str]:
    """Sort key of snapshot names: numbered ones in order, then named ones."""
    if key.isdigit() and key.isascii():
        return (0, int(key), "")
    return (1, 0, key)


def render_file(
    test_name: str,
    snapshots: Mapping[str, Mapping[str, Any]],
    module: str | None = None,
) -> str:
    """The text of the file holding ``snapshots`` of the test ``test_name``.

    ``module`` is the test module's path relative to the file's folder
    (written as ``"module"``; left out when None).
    """
    lines = [
        "{",
        f'  "format": {_inline(FORMAT)},',
        f'  "version": {VERSION},',
        f'  "test": {_inline(test_name)},',
    ]
    if module is not None:
        lines.append(f'  "module": {_inline(module)},')
    lines.append('  "snapshots": {')
    keys = sorted(snapshots, key=snapshot_order)
    for position, key in enumerate(keys):
        lines.append(f"    {_inline(key)}: {{")
        _render_snapshot(snapshots[key], lines)
        lines.append("    }," if position < len(keys) - 1 else "    }")
    lines.append("  }")
    lines.append("}")
    lines.append("")
    text = "\n".join(lines)

    if text.isascii() and "\x7f" not in text:
        return text
    return _SPECIAL.sub(_escape_invisible, text)


def _render_snapshot(snapshot: Mapping[str, Any], lines: list[str]) -> None:
    fields = list(snapshot.items())
    for position, (key, value) in enumerate(fields):
        comma = "," if position < len(fields) - 1 else ""
        prefix = f"      {_inline(key)}: "
        if key == "entries" and isinstance(value, list) and value:
            lines.append(prefix + "[")
            for index, entry in enumerate(value):
                _render_entry(entry, lines, last=index == len(value) - 1)
            lines.append("      ]" + comma)
        else:
            lines.append(prefix + _block(value, len(prefix), 6) + comma)


def _render_entry(entry: object, lines: list[str], *, last: bool) -> None:
    closing = "        }" if last else "        },"
    if not isinstance(entry, dict) or not entry:
        lines.append("        " + _block(entry, 8, 8) + ("" if last else ","))
        return
    lines.append("        {")
    fields = list(entry.items())
    for position, (key, value) in enumerate(fields):
        prefix = f"          {_inline(key)}: "
        comma = "," if position < len(fields) - 1 else ""
        lines.append(prefix + _block(value, len(prefix), 10) + comma)
    lines.append(closing)


def _block(value: object, column: int, indent: int) -> str:
    """``value`` on one line if it fits from ``column``, else expanded."""
    text = _inline(value)
    if column + len(text) <= _WIDTH or not isinstance(value, dict | list) or not value:
        return text

    inner = " " * (indent + 2)
    parts: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            prefix = f"{inner}{_inline(key)}: "
            parts.append(prefix + _block(item, len(prefix), indent + 2))
        opening, closing = "{", "}"
    else:
        for item in value:
            parts.append(inner + _block(item, len(inner), indent + 2))
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(parts) + "\n" + " " * indent + closing


# -- reading and writing -----------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class StoredFile:
    """The content of a snapshot file."""

    test: str
    """The node id within its module of the test the file belongs to."""

    snapshots: dict[str, dict[str, Any]]
    """Each snapshot's document, by name (``"1"``, ``"2"``, or a given name)."""

    module: str | None = None
    """The test's module, relative to the file's folder (None: not recorded)."""


def read_file(path: Path) -> StoredFile | None:
    """The snapshot file at ``path``, or ``None`` when there is none.

    Raises:
        SnapshotFileError: the file exists but is not a snapshot file this
            version reads; the message names it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _file_error(path, f"it cannot be read ({error})") from None
    return parse_file(path, data)


def parse_file(path: Path, data: bytes) -> StoredFile:
    """Parse the bytes of the snapshot file at ``path``.

    A byte-order mark and CRLF line ends (a checkout with ``core.autocrlf``)
    are accepted; the next write restores LF.

    Raises:
        SnapshotFileError: the bytes are not a snapshot file this version reads.
    """
    try:
        document = json.loads(
            data.decode("utf-8-sig"),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except UnicodeDecodeError as error:
        raise _file_error(path, f"it is not UTF-8 ({error})") from None
    except ValueError as error:
        raise _file_error(path, f"it is not JSON ({error})") from None

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _file_error(path, f'it has no "format": "{FORMAT}" field')
    version = document.get("version")
    if version != VERSION:
        raise _file_error(
            path,
            f"it has version {version!r} and this plugin reads version {VERSION} "
            "(upgrade phyxius to read newer files)",
        )
    test = document.get("test")
    snapshots = document.get("snapshots")
    module = document.get("module")
    if not isinstance(test, str) or not isinstance(snapshots, dict):
        raise _file_error(path, 'it needs "test" as a str and "snapshots" as an object')
    if module is not None and not isinstance(module, str):
        raise _file_error(path, 'its "module" is not a str')
    for key, snapshot in snapshots.items():
        if not isinstance(snapshot, dict) or not isinstance(
            snapshot.get("entries"), list
        ):
            raise _file_error(path, f'snapshot {key!r} has no "entries" list')
    return StoredFile(test, snapshots, module)


def _refuse_constant(name: str) -> float:
    # The writer tags NaN and the infinities ({"__phyxius__": "float"}), so a
    # bare NaN or Infinity was put there by hand; Python's json would accept
    # it and the diff, which writes strict JSON, would then fail to print it.
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # A number too large for a float (1e400) would read as infinity, which
    # strict JSON cannot print back: refuse it like a bare Infinity.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of the range of a float")
    return value


def _file_error(path: Path, problem: str) -> SnapshotFileError:
    return SnapshotFileError(
        f"snapshot file {os.fspath(path)} is damaged: {problem}; repair it from "
        "version control, delete it, or rewrite it with pytest --phyxius-update"
    )


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step.

    The text goes to a hidden temporary file in the same folder, which is
    then renamed over ``path``: a reader, another pytest-xdist worker
    included, sees the old file or the new one, never part of either. The
    file is not fsynced; a snapshot lost to a power cut is written again by
    the next run.
    """
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".phyxius-{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with open(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def remove_snapshots(path: Path, names: set[str] | None) -> bool:
    """Remove the snapshots ``names`` (``None``: all) from the file at ``path``.

    The file is deleted when no snapshot is left in it, and so is its folder
    when that leaves it empty. Returns whether anything was removed.
    """
    stored = read_file(path)
    if stored is None:
        return False
    kept = (
        {}
        if names is None
        else {key: value for key, value in stored.snapshots.items() if key not in names}
    )
    if len(kept) == len(stored.snapshots):
        return False
    if kept:
        write_atomic(path, render_file(stored.test, kept, stored.module))
        return True

    path.unlink(missing_ok=True)
    folder = path.parent
    with suppress(OSError):
        folder.rmdir()
        if folder.parent.name == "__snapshots__":
            folder.parent.rmdir()
    return True
