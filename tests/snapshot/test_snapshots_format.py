"""The text of snapshot files: layout, escapes, reading, atomic writes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from pytest_phyxius._snapshot_files import (
    parse_file,
    read_file,
    remove_snapshots,
    render_file,
    write_atomic,
)
from pytest_phyxius.snapshot import SnapshotFileError

AT = {"mono": "1.500000000", "wall": "2024-01-01T00:00:01.500000000Z"}
AT_LINE = '          "at": ' + json.dumps(AT) + ","


def snapshot(*data: object) -> dict[str, object]:
    entries = [
        {"sequence": n, "id": f"id-{n}", "at": AT, "data": value}
        for n, value in enumerate(data)
    ]
    return {"journal": "default", "entries": entries}


def test_a_file_is_laid_out_for_review() -> None:
    text = render_file(
        "TestCart::test_add[card]",
        {
            "after": snapshot({"b": 2}),
            "1": snapshot({"a": 1}, [1, 2]),
            "10": snapshot(),
        },
        "../../test_cart.py",
    )

    assert text == (
        "{\n"
        '  "format": "phyxius.journal-snapshots",\n'
        '  "version": 1,\n'
        '  "test": "TestCart::test_add[card]",\n'
        '  "module": "../../test_cart.py",\n'
        '  "snapshots": {\n'
        '    "1": {\n'
        '      "journal": "default",\n'
        '      "entries": [\n'
        "        {\n"
        '          "sequence": 0,\n'
        '          "id": "id-0",\n'
        f"{AT_LINE}\n"
        '          "data": {"a": 1}\n'
        "        },\n"
        "        {\n"
        '          "sequence": 1,\n'
        '          "id": "id-1",\n'
        f"{AT_LINE}\n"
        '          "data": [1, 2]\n'
        "        }\n"
        "      ]\n"
        "    },\n"
        '    "10": {\n'
        '      "journal": "default",\n'
        '      "entries": []\n'
        "    },\n"
        '    "after": {\n'
        '      "journal": "default",\n'
        '      "entries": [\n'
        "        {\n"
        '          "sequence": 0,\n'
        '          "id": "id-0",\n'
        f"{AT_LINE}\n"
        '          "data": {"b": 2}\n'
        "        }\n"
        "      ]\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    stored = parse_file(Path("test_cart.json"), text.encode())
    assert (stored.test, stored.module) == (
        "TestCart::test_add[card]",
        "../../test_cart.py",
    )
    assert list(stored.snapshots) == ["1", "10", "after"]


def test_a_value_too_long_for_its_line_is_expanded() -> None:
    data = {"items": [{"sku": f"sku-{n}", "quantity": n} for n in range(6)], "n": 1}

    text = render_file("test_x", {"1": snapshot(data)})

    assert '          "data": {\n            "items": [\n' in text
    assert '              {"sku": "sku-0", "quantity": 0},\n' in text
    assert '            "n": 1\n          }\n' in text
    assert max(len(line) for line in text.splitlines()) <= 88
    assert json.loads(text)["snapshots"]["1"]["entries"][0]["data"] == data


TRICKY = [
    "carriage\rreturn",
    "windows\r\nline",
    "unix\nline",
    "line\u2028separator",
    "paragraph\u2029separator",
    "next\x85line",
    "nul\x00byte",
    "delete\x7f",
    "tab\there",
    "vertical\x0btab\x0cfeed",
    "file\x1cseparators\x1d\x1e",
    "bom\ufeff",
    "no-break\u00a0space",
    "zero\u200bwidth",
    "bidi\u202eoverride",
    "lone\ud800surrogate",
    "tag\U000e0001char",
    'quote" and back\\slash',
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_string_reads_back_exactly_and_the_file_stays_plain(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "test_x.json"

    write_atomic(path, render_file("test_x", {"1": snapshot({text: text})}))
    data = path.read_bytes()
    stored = read_file(path)

    assert stored is not None
    assert stored.snapshots["1"]["entries"][0]["data"] == {text: text}
    assert data.isascii()
    assert b"\r" not in data
    assert data.decode().splitlines() == data.decode().split("\n")[:-1]


def test_readable_characters_stay_readable(tmp_path: Path) -> None:
    text = "caf\u00e9 \u65e5\u672c \U0001f600 e\u0301"
    path = tmp_path / "test_x.json"

    write_atomic(path, render_file("test_x", {"1": snapshot(text)}))

    assert text in path.read_text(encoding="utf-8")
    stored = read_file(path)
    assert stored is not None
    assert stored.snapshots["1"]["entries"][0]["data"] == text


def test_a_byte_order_mark_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    text = render_file("test_x", {"1": snapshot({"a": "b\r\n"})})
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()

    stored = parse_file(tmp_path / "test_x.json", data)

    assert stored.test == "test_x"
    assert stored.snapshots["1"]["entries"][0]["data"] == {"a": "b\r\n"}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xff\xfe", r"it is not UTF-8 \(.*\)"),
        (b"<<<<<<< HEAD\n{}", r"it is not JSON \(.*\)"),
        (b'{"format": NaN}', r"it is not JSON \(NaN is not JSON\)"),
        (b'{"a": -Infinity}', r"it is not JSON \(-Infinity is not JSON\)"),
        (b'{"a": 1e400}', r"it is not JSON \(1e400 is out of the range of a float\)"),
        (b"[]", r'it has no "format": "phyxius\.journal-snapshots" field'),
        (b'{"format": "other"}', r'it has no "format": "phyxius\.journal-snapshots"'),
        (
            b'{"format": "phyxius.journal-snapshots", "version": 2}',
            r"it has version 2 and this plugin reads version 1 \(upgrade phyxius to "
            r"read newer files\)",
        ),
        (
            b'{"format": "phyxius.journal-snapshots", "version": 1, "test": 1}',
            r'it needs "test" as a str and "snapshots" as an object',
        ),
        (
            b'{"format": "phyxius.journal-snapshots", "version": 1, "test": "t", '
            b'"snapshots": {"1": {"entries": {}}}}',
            r"snapshot '1' has no \"entries\" list",
        ),
        (
            b'{"format": "phyxius.journal-snapshots", "version": 1, "test": "t", '
            b'"module": ["m.py"], "snapshots": {}}',
            r'its "module" is not a str',
        ),
    ],
)
def test_a_damaged_file_is_refused_naming_it(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "test_x.json"
    path.write_bytes(data)

    with pytest.raises(
        SnapshotFileError,
        match=rf"^snapshot file {path} is damaged: {problem}.*; repair it from "
        r"version control, delete it, or rewrite it with pytest --phyxius-update$",
    ):
        read_file(path)

    assert path.read_bytes() == data


def test_a_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert read_file(tmp_path / "nothing.json") is None


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "folder" / "test_x.json"

    write_atomic(path, "first\n")
    write_atomic(path, "second\n")

    assert path.read_bytes() == b"second\n"
    assert os.listdir(path.parent) == ["test_x.json"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_a_reader_sees_the_old_file_or_the_new_one_never_a_mix(
    tmp_path: Path,
) -> None:
    # Two large texts written in turn by one thread while another reads: with
    # a write in place, the reader would catch a truncated or mixed file.
    path = tmp_path / "test_x.json"
    texts = [
        render_file("test_x", {"1": snapshot(*([letter * 100] * 2000))})
        for letter in "ab"
    ]
    write_atomic(path, texts[0])
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(path.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(60):
            write_atomic(path, texts[round_ % 2])
    finally:
        done.set()
        reader.join()

    assert seen
    assert all(text in texts for text in seen)
    assert os.listdir(tmp_path) == ["test_x.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "test_x.json"
    write_atomic(path, "old\n")

    def refuse(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match=r"^disk full$"):
        write_atomic(path, "new\n")

    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["test_x.json"]


def test_removing_some_snapshots_rewrites_and_removing_all_deletes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "__snapshots__" / "test_module"
    path = folder / "test_x.json"
    write_atomic(path, render_file("test_x", {"1": snapshot(), "2": snapshot()}))

    assert remove_snapshots(path, {"2", "7"})
    stored = read_file(path)
    assert stored is not None
    assert list(stored.snapshots) == ["1"]
    assert not remove_snapshots(path, {"7"})

    assert remove_snapshots(path, None)
    assert not path.exists()
    assert not (tmp_path / "__snapshots__").exists()
    assert not remove_snapshots(path, None)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
