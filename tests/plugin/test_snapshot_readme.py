"""The README's "Journal snapshots" section runs as written and shows what happens.

The workflow's example is run step by step (write, compare, update, clean
up, CI) and each ``text`` block of the section must appear, line for line,
in the output of its step; the ``json`` blocks must be what the files hold.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_phyxius import hooks, snapshot
from tests.readme_blocks import README, Block, blocks_with_tests, python_blocks

from .snapshot_helpers import Project

SECTION = "Journal snapshots"
BLOCKS = python_blocks(SECTION)


def fenced(kind: str) -> list[str]:
    """The section's fenced blocks of ``kind`` (``text``, ``json``), in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {SECTION}\n")
    end = text.index("\n## ", start + 1)
    return re.findall(rf"^```{kind}\n(.*?)^```", text[start:end], re.S | re.M)


def shown(starting: str) -> list[str]:
    """The lines of the section's ``text`` block whose first line holds ``starting``."""
    (block,) = [b for b in fenced("text") if starting in b.splitlines()[0]]
    return block.splitlines()


def block_named(name: str) -> Block:
    (block,) = [b for b in BLOCKS if b.file_name == name]
    return block


def assert_shows(result: pytest.RunResult, lines: list[str]) -> None:
    """``lines`` appear in the output, in order and one after the other."""
    output = [line.rstrip() for line in result.outlines]
    expected = [line.rstrip() for line in lines]
    starts = [i for i, line in enumerate(output) if line == expected[0]]
    assert any(output[i : i + len(expected)] == expected for i in starts), "\n".join(
        ["expected:", *expected, "in:", *output]
    )


def test_the_workflow_writes_compares_updates_cleans_up_and_fails_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    source = block_named("test_orders").code
    project.module("test_orders", source)

    written = project.run()

    written.assert_outcomes(passed=1)
    assert_shows(written, shown(" phyxius journal snapshots "))
    (stored_text,) = project.files().values()
    assert stored_text == fenced("json")[0]

    # "Say the total becomes 1300, the payment records it, and the order ships."
    paid = '    journal.append({"type": "order.paid", "order": order})\n'
    assert paid in source
    project.module(
        "test_orders",
        source.replace("total=1250", "total=1300").replace(
            paid,
            '    journal.append({"type": "order.paid", "order": order, "total": total})'
            '\n    journal.append({"type": "order.shipped", "order": order})\n',
        ),
    )
    compared = project.run("--tb=long")  # as the README shows it
    updated = project.run("--phyxius-update")

    compared.assert_outcomes(failed=1)
    assert_shows(compared, shown(">       assert journal == journal_snapshot"))
    updated.assert_outcomes(passed=1)
    assert_shows(updated, shown("journal snapshots: 1 updated"))

    project.add_snapshot("test_checkout.json", "after-refund")
    project.add_orphan("test_refund.json")
    unused = project.run()

    assert_shows(unused, shown("journal snapshots: 1 passed, 2 unused"))

    shutil.rmtree(project.root / "__snapshots__")
    in_ci = project.run("--tb=long", ci="true")

    in_ci.assert_outcomes(failed=1)
    assert_shows(in_ci, shown("assert journal snapshot '1' does not exist"))
    assert project.files() == {}


def test_the_examples_write_on_the_first_run_and_compare_on_the_next(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    examples = [
        block
        for block in blocks_with_tests(BLOCKS)
        if block.file_name not in ("test_orders", "test_payments")
    ]
    for block in examples:
        project.module(block.file_name or f"test_line_{block.line}", block.code)
    count = sum(len(block.tests) for block in examples)

    first = project.run()
    second = project.run(ci="true")

    assert count == 4
    first.assert_outcomes(passed=count)
    second.assert_outcomes(passed=count)
    second.stdout.fnmatch_lines(["journal snapshots: 6 passed"])
    volatile = [b for b in examples if "replace=" in b.code]
    (module,) = [b.file_name or f"test_line_{b.line}" for b in volatile]
    (document,) = project.snapshots(
        "test_refund_refers_to_its_order.json", module
    ).values()
    assert document["entries"] == json.loads("[" + fenced("json")[1] + "]")


def test_the_hooks_example_moves_and_shapes_the_files(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(pytester, monkeypatch, ())
    for name in ("money", "conftest", "test_payments"):
        (project.root / f"{name}.py").write_text(block_named(name).code)

    project.run().assert_outcomes(passed=1)
    project.run(ci="true").assert_outcomes(passed=1)

    path = project.root / "golden" / "test_payments" / "test_payment.json"
    stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    (entry,) = stored["snapshots"]["1"]["entries"]
    assert entry == json.loads(fenced("json")[2])
    # The layout too: the README shows the entry as the file has it.
    assert fenced("json")[2].strip("\n") in path.read_text(encoding="utf-8")
    assert not Path(project.root / "__snapshots__").exists()


def table_names(heading: str) -> set[str]:
    """The names in the first column of the section's table under ``heading``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {SECTION}\n")
    section = text[start : text.index("\n## ", start + 1)]
    table = section.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    return {
        re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", line.split("|")[1])[0]
        for line in table.splitlines()
        if line.startswith("| `")
    }


def test_the_public_names_and_hooks_are_the_documented_ones() -> None:
    # The module also exports the plugin's own hook implementations and the
    # fixture function, which pytest finds there; a user imports the rest.
    plugin_side = {
        "journal_snapshot",
        "pytest_addhooks_snapshot",
        "pytest_addoption_snapshot",
        "pytest_configure_snapshot",
    }

    assert table_names("Public names") == set(snapshot.__all__) - plugin_side
    assert table_names("Hooks: where snapshots live and what they hold") == set(
        hooks.__all__
    )
