"""Which snapshots are unused, from the records of one or many processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_phyxius._snapshot_files import render_file, write_atomic
from pytest_phyxius._snapshot_session import ci_enabled
from pytest_phyxius._snapshot_unused import Unused, decide_unused, merge_payloads


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "folders": [],
        "files": {},
        "blocked": [],
        "completed": [],
        "finished": [],
        "uses": {},
        "reads": {},
        "counts": {},
        "changes": {"written": [], "updated": []},
    }
    base.update(overrides)
    return base


def folder(path: str, complete: bool = True, **fields: list[str]) -> dict[str, Any]:
    return {
        "path": path,
        "complete": complete,
        "modules": fields.get("modules", ["../m.py"]),
        "stored": fields.get("stored", []),
        "known": fields.get("known", []),
        "tests": fields.get("tests", []),
    }


def test_only_completed_tests_stale_snapshots_are_unused() -> None:
    merged = merge_payloads(
        [
            payload(
                files={"m::a": "/s/a.json", "m::b": "/s/b.json"},
                completed=["m::a"],
                uses={
                    "m::a": {"path": "/s/a.json", "used": ["1"], "stale": ["2", "10"]},
                    "m::b": {"path": "/s/b.json", "used": [], "stale": ["1"]},
                },
            )
        ]
    )

    assert decide_unused(merged, []) == [Unused("/s/a.json", ("2", "10"), "m::a")]


def test_a_completed_test_without_the_fixture_leaves_its_whole_file_unused() -> None:
    merged = merge_payloads([payload(files={"m::a": "/s/a.json"}, completed=["m::a"])])

    assert decide_unused(merged, []) == [Unused("/s/a.json", None, "m::a")]


def orphan(folder_path: Path, name: str, module: str | None = "../m.py") -> None:
    """Write a snapshot file no collected test owns, of ``module``."""
    document: dict[str, dict[str, Any]] = {"1": {"entries": []}}
    write_atomic(folder_path / name, render_file(name[:-5], document, module))


def test_orphans_count_only_in_complete_folders_whose_tests_all_finished(
    tmp_path: Path,
) -> None:
    orphan(tmp_path, "gone.json")
    stored = ["a.json", "gone.json"]
    s = str(tmp_path)
    complete = folder(s, stored=stored, known=["a.json"], tests=["m::a", "m::b"])

    finished = merge_payloads([payload(folders=[complete], finished=["m::a", "m::b"])])
    unfinished = merge_payloads([payload(folders=[complete], finished=["m::a"])])
    partial = merge_payloads(
        [payload(folders=[folder(s, False, stored=stored, known=["a.json"])])]
    )

    gone = str(tmp_path / "gone.json")
    assert decide_unused(finished, []) == [Unused(gone, None, None)]
    assert decide_unused(unfinished, []) == []
    assert decide_unused(partial, []) == []


def test_an_orphan_of_a_module_the_session_did_not_collect_is_left_alone(
    tmp_path: Path,
) -> None:
    # A folder the dir hook gives to several modules: only test_one.py ran.
    orphan(tmp_path, "mine.json", "../test_one.py")
    orphan(tmp_path, "theirs.json", "../test_two.py")
    orphan(tmp_path, "unknown.json", None)
    shared = folder(
        str(tmp_path),
        stored=["mine.json", "theirs.json", "unknown.json"],
        modules=["../test_one.py"],
        tests=["test_one.py::test_a"],
    )
    merged = merge_payloads(
        [payload(folders=[shared], finished=["test_one.py::test_a"])]
    )
    problems: list[str] = []

    assert decide_unused(merged, problems) == [
        Unused(str(tmp_path / "mine.json"), None, None)
    ]
    assert problems == []


def test_a_file_without_its_module_is_an_orphan_only_in_its_default_folder(
    tmp_path: Path,
) -> None:
    default = tmp_path / "__snapshots__" / "test_one"
    orphan(default, "gone.json", None)
    orphan(tmp_path, "gone.json", None)
    merged = merge_payloads(
        [
            payload(
                folders=[
                    folder(str(place), stored=["gone.json"], modules=[module])
                    for place, module in (
                        (default, "../../test_one.py"),
                        (tmp_path, "../test_one.py"),
                    )
                ]
            )
        ]
    )

    assert decide_unused(merged, []) == [Unused(str(default / "gone.json"), None, None)]


def test_workers_records_merge_and_disagreeing_workers_trust_nothing(
    tmp_path: Path,
) -> None:
    orphan(tmp_path, "gone.json")
    s = str(tmp_path)
    first = folder(s, stored=["gone.json"], tests=["m::a", "m::b"])
    other = folder(s, stored=["gone.json"], tests=["m::a"])
    elsewhere = folder(s, stored=["gone.json"], tests=["m::a", "m::b"], modules=[])

    agreeing = merge_payloads(
        [
            payload(folders=[first], finished=["m::a"]),
            payload(folders=[first], finished=["m::b"]),
        ]
    )
    disagreeing = [
        merge_payloads(
            [
                payload(folders=[first], finished=["m::a", "m::b"]),
                payload(folders=[different], finished=[]),
            ]
        )
        for different in (other, elsewhere)
    ]

    assert decide_unused(agreeing, []) == [
        Unused(str(tmp_path / "gone.json"), None, None)
    ]
    assert [decide_unused(merged, []) for merged in disagreeing] == [[], []]


def test_blocked_files_are_never_unused() -> None:
    merged = merge_payloads(
        [
            payload(
                folders=[folder("/s", stored=["x.json"], tests=[])],
                files={"m::a": "/s/a.json"},
                completed=["m::a"],
                blocked=["/s/a.json", "/s/x.json"],
            )
        ]
    )

    assert decide_unused(merged, []) == []


def test_snapshots_read_for_replay_stay_in_use(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_atomic(path, render_file("a", {"1": {"entries": []}, "2": {"entries": []}}))
    merged = merge_payloads(
        [
            payload(
                files={"m::a": str(path)},
                completed=["m::a"],
                uses={"m::a": {"path": str(path), "used": [], "stale": ["1", "2"]}},
                reads={str(path): ["2"]},
            ),
            payload(files={"m::b": str(path)}, completed=["m::b"]),
        ]
    )

    assert decide_unused(merged, []) == [Unused(str(path), ("1",), "m::a")]


def test_a_damaged_file_is_reported_as_a_problem_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("{")
    problems: list[str] = []
    merged = merge_payloads(
        [
            payload(
                files={"m::a": str(path)}, completed=["m::a"], reads={str(path): ["1"]}
            )
        ]
    )

    assert decide_unused(merged, problems) == []
    assert len(problems) == 1
    assert problems[0].startswith(f"snapshot file {path} is damaged")


@pytest.mark.parametrize(
    ("value", "ci"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        (" FALSE ", False),
        ("no", False),
        ("Off", False),
        ("true", True),
        ("1", True),
        ("yes", True),
        ("woodpecker", True),
    ],
)
def test_the_ci_variable_reads_like_a_flag(value: str | None, ci: bool) -> None:
    environ = {} if value is None else {"CI": value}

    assert ci_enabled(environ) is ci
