"""The README's pattern snippets are the code the tests run, so they cannot drift.

A region of a source file is marked with comment lines::

    # README: <name> start
    ...
    # README: <name> end

and the README shows it in a fenced block right after a marker naming it::

    <!-- snippet: examples/patterns/<file>.py#<name> -->

These tests check that every such block is exactly its region (dedented),
that every region is shown, that the "Architecture patterns" section holds
no Python block without a marker, and that the README's main-job command
runs this suite. The Journal section's event-sourcing example, which is a
whole program with its output, is run as it stands and its output compared.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from phyxius.journal import Journal

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
PATTERNS = ROOT / "examples" / "patterns"

SNIPPET = re.compile(
    r"^<!-- snippet: (?P<path>\S+)#(?P<region>[\w -]+?) -->\n"
    r"```python\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
REGION_LINE = re.compile(r"^\s*# README: (?P<region>[\w -]+?) (?P<edge>start|end)$")


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def regions_of(path: Path) -> dict[str, str]:
    """The marked regions of one file, dedented, without trailing blank lines."""
    regions: dict[str, str] = {}
    open_region: str | None = None
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        marker = REGION_LINE.match(line)
        if marker is None:
            if open_region is not None:
                lines.append(line)
            continue
        region, edge = marker["region"], marker["edge"]
        where = f"{path.relative_to(ROOT)}:{number}"
        if edge == "start":
            assert open_region is None, (
                f"{where}: {region!r} starts inside {open_region!r}"
            )
            assert region not in regions, f"{where}: a second region {region!r}"
            open_region, lines = region, []
        else:
            assert open_region == region, f"{where}: {region!r} ends but was not open"
            regions[region] = textwrap.dedent("\n".join(lines)).strip("\n")
            open_region = None
    assert open_region is None, f"{path.relative_to(ROOT)}: {open_region!r} never ends"
    return regions


def marked_regions() -> dict[str, str]:
    """Every region under examples/patterns, keyed ``path#region``."""
    found: dict[str, str] = {}
    for path in sorted(PATTERNS.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for region, code in regions_of(path).items():
            found[f"{relative}#{region}"] = code
    return found


def readme_snippets() -> dict[str, str]:
    """Every marked snippet of the README, keyed ``path#region``."""
    snippets: dict[str, str] = {}
    for match in SNIPPET.finditer(readme_text()):
        key = f"{match['path']}#{match['region']}"
        assert key not in snippets, f"README.md shows {key} twice"
        snippets[key] = match["code"].strip("\n")
    return snippets


def section(heading: str) -> str:
    """The README's text from ``heading`` to the next heading of its level or above."""
    text = readme_text()
    level = heading.split(" ")[0]
    start = text.find(f"\n{heading}\n")
    assert start >= 0, f"README.md has no heading {heading!r}"
    body = text[start + len(heading) + 2 :]
    pattern = rf"^#{{1,{len(level)}}} "
    end = re.search(pattern, body, re.MULTILINE)
    return body if end is None else body[: end.start()]


def test_every_readme_snippet_is_the_region_it_names() -> None:
    snippets = readme_snippets()
    regions = marked_regions()

    assert len(snippets) >= 8, "the README lost its pattern snippets"
    for key, shown in snippets.items():
        assert key in regions, f"README.md shows {key}, which no file marks"
        assert shown == regions[key], (
            f"README.md's snippet {key} differs from the file; copy the region "
            "into the README (or fix the file) so the two read the same"
        )


def test_every_marked_region_is_shown_in_the_readme() -> None:
    missing = sorted(set(marked_regions()) - set(readme_snippets()))

    assert missing == [], f"regions marked for the README but not shown: {missing}"


def test_the_patterns_section_holds_only_checked_python() -> None:
    text = section("## Architecture patterns")
    blocks = re.findall(r"^```python$", text, re.MULTILINE)
    checked = SNIPPET.findall(text)

    assert len(blocks) == len(checked) >= 8


def test_the_main_job_runs_this_suite() -> None:
    main_job = re.search(
        r"^<!-- main-job -->\n```sh\n(?P<command>.+)\n```$", readme_text(), re.MULTILINE
    )
    assert main_job is not None, "README.md lost its main-job command"
    command = main_job["command"]
    targets = re.findall(r"pytest(?: -\S+)* (\S+)", command)

    assert targets, f"the main job runs no pytest: {command!r}"
    assert any(PATTERNS.is_relative_to(ROOT / target) for target in targets)


def test_the_journal_sections_event_sourcing_program_prints_what_it_shows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    journal: Journal,
) -> None:
    text = section("### Event sourcing: state is a replay of the journal")
    program, test_code = re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)[:2]
    [output] = re.findall(r"^```text\n(.*?)^```$", text, re.M | re.S)[:1]
    monkeypatch.chdir(tmp_path)  # the program writes bank.sqlite3 where it runs

    namespace: dict[str, object] = {"__name__": "readme_bank", "pytest": pytest}
    exec(compile(program, "README.md (bank)", "exec"), namespace)
    assert capsys.readouterr().out == output
    assert (tmp_path / "bank.sqlite3").exists()

    # The section's test runs on the plugin's journal fixture, as it says.
    exec(compile(test_code, "README.md (bank test)", "exec"), namespace)
    namespace["test_a_refused_withdrawal_records_nothing"](journal)  # type: ignore[operator]
