"""Run the README's code blocks as written: the checks behind its examples.

A section's ``python`` blocks are of three kinds, told apart the way a reader
tells them apart:

* a **module** the text refers to, headed by a comment naming its file
  (``# app.py``); blocks naming the same file are joined in order, so later
  examples can import from every earlier one;
* a **test**, a block that defines ``test_`` functions (headed
  ``# test_app.py`` or not): each is written to a file of its own and run by
  pytest with the plugin and no other async plugin, as a user would run it;
* a **script**, anything else: run top to bottom as one ``__main__`` per
  section, as a reader typing the section into one interpreter would, with
  the section's modules importable. A ``text`` block right after a script
  is what it prints, exactly.

Line numbers in a failing script's traceback are README.md's own.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE_HEADER = re.compile(r"\A# (\w+)\.py\n")
_TEST_FUNCTION = re.compile(r"^(?:async )?def (test_\w+)\(", re.MULTILINE)
_SCRIPT = "readme_script"

# The other async plugins of the dev set-up, turned off in the inner runs: the
# README promises its async tests need none of them.
INNER_RUN_ARGS = (
    *(
        option
        for plugin in ("asyncio", "anyio", "looptime_plugin", "cacheprovider")
        for option in ("-p", f"no:{plugin}")
    ),
    "-W",
    "error",
)


@dataclass(frozen=True)
class Block:
    """One fenced ``python`` block of the README."""

    code: str
    line: int
    """README.md's line number of the block's first line of code."""
    output: str | None = None
    """The ``text`` block right after it, when there is one: what it prints."""

    @property
    def file_name(self) -> str | None:
        """The module name its header comment gives (``app`` for ``# app.py``)."""
        header = _FILE_HEADER.match(self.code)
        return header.group(1) if header else None

    @property
    def tests(self) -> list[str]:
        """The names of the test functions it defines."""
        return _TEST_FUNCTION.findall(self.code)


def python_blocks(title: str) -> list[Block]:
    """The ``python`` blocks of the README's ``## title`` section, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    first_line = text.count("\n", 0, start) + 1
    fences = list(_FENCE.finditer(section))
    blocks = []
    for index, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        line = first_line + section.count("\n", 0, fence.start(2))
        following = fences[index + 1] if index + 1 < len(fences) else None
        # Only a text block that comes right after the code shows its output.
        shows_output = (
            following is not None
            and following.group(1) == "text"
            and not section[fence.end() : following.start()].strip()
        )
        output = following.group(2) if following and shows_output else None
        blocks.append(Block(fence.group(2), line, output))
    return blocks


def modules_of(blocks: list[Block]) -> dict[str, str]:
    """Module name to source, joining the blocks that name the same file."""
    modules: dict[str, str] = {}
    for block in blocks:
        name = block.file_name
        if name is not None and not block.tests:
            modules[name] = modules.get(name, "") + block.code + "\n"
    return modules


def scripts_of(blocks: list[Block]) -> list[Block]:
    """The blocks that are neither modules nor tests."""
    return [b for b in blocks if b.file_name is None and not b.tests]


def blocks_with_tests(blocks: list[Block]) -> list[Block]:
    """The blocks that define test functions."""
    return [b for b in blocks if b.tests]


@contextlib.contextmanager
def importable(directory: Path, names: list[str]) -> Iterator[None]:
    """Make the modules in ``directory`` importable, and forget them afterwards."""
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in names:
            sys.modules.pop(name, None)


def run_scripts(blocks: list[Block], modules_dir: Path, modules: list[str]) -> None:
    """Run ``blocks`` in order as one ``__main__``; each prints what README shows.

    The namespace is a real module in `sys.modules`, as a script's
    ``__main__`` is, because a wall-time freeze patches the names that
    loaded modules imported (``from datetime import datetime``). Tracebacks
    show README.md's line numbers.
    """
    script = types.ModuleType("__main__")
    with importable(modules_dir, [*modules, _SCRIPT]):
        sys.modules[_SCRIPT] = script
        for block in blocks:
            # Padding with blank lines makes the code's line numbers README's.
            source = "\n" * (block.line - 1) + block.code
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(source, str(README), "exec"), script.__dict__)
            if block.output is not None:
                assert printed.getvalue() == block.output, (
                    f"README.md:{block.line} printed\n{printed.getvalue()}"
                )


def run_tests(
    pytester: pytest.Pytester, blocks: list[Block], modules: dict[str, str]
) -> None:
    """Run every test block with pytest and the plugin; all of them must pass."""
    for name, source in modules.items():
        pytester.makepyfile(**{name: source})
    tests = blocks_with_tests(blocks)
    for block in tests:
        pytester.makepyfile(**{f"test_readme_line_{block.line}": block.code})

    result = pytester.runpytest(*INNER_RUN_ARGS)

    result.assert_outcomes(passed=sum(len(block.tests) for block in tests))
