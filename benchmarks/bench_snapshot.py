"""Journal snapshots against syrupy: 1,000 tests, each asserting a 20-entry journal.

Three generated test modules build the same 20-entry journal in each of
1,000 parametrized tests:

- ``phyxius``: ``assert journal == journal_snapshot`` (one JSON file per test);
- ``syrupy``: ``assert entries == snapshot`` with the same entries as plain
  dicts (syrupy's default amber format: one file per module);
- ``baseline``: builds the journal and asserts nothing, to show what the
  snapshot work itself costs on top of pytest running 1,000 tests.

Each is run through pytest in a subprocess (``python -m pytest``), as a user
runs it: an *update* run that writes every snapshot from scratch
(``--phyxius-update`` / ``--snapshot-update``) and a *read* run that compares
with every stored snapshot. The runs alternate for several rounds in one
invocation and the best of each is kept, so a noisy machine moves every
figure together. Each run is timed twice: the CPU time of the pytest process
(user and system, which other jobs on a shared machine disturb least) and
its wall-clock time. Printed ratios are phyxius / syrupy: below 1.0 is
faster; the target holds for both.
Run it with ``.venv/bin/python benchmarks/bench_snapshot.py`` (``--tests N``,
``--rounds R``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.0
"""Phyxius may take at most this multiple of syrupy's time (no slower)."""

SCENARIO = """
import pytest

from phyxius.clock import ControlledClock
from phyxius.journal import SortableIds, create_journal

def scenario(n):
    clock = ControlledClock(1_704_067_200)
    journal = create_journal(clock=clock, ids=SortableIds(seed=n))
    for step in range(20):
        journal.append(
            {
                "type": "order.placed" if step % 2 == 0 else "order.paid",
                "order": f"o-{n}-{step}",
                "items": [{"sku": f"sku-{k}", "quantity": k + 1} for k in range(3)],
                "total": 12.5 * (step + 1),
                "note": None,
            },
            metadata={"request": f"r-{n}"},
        )
        clock.advance(0.25)
    return journal

def as_dicts(journal):
    return [
        {
            "sequence": entry.sequence,
            "id": entry.id,
            "at": {"wall_ns": entry.at.wall_ns, "mono_ns": entry.at.mono_ns},
            "data": entry.data,
            "metadata": dict(entry.metadata),
        }
        for entry in journal
    ]
"""

TESTS = {
    "phyxius": """
@pytest.mark.parametrize("n", range({count}))
def test_case(journal_snapshot, n):
    assert scenario(n) == journal_snapshot
""",
    "syrupy": """
@pytest.mark.parametrize("n", range({count}))
def test_case(snapshot, n):
    assert as_dicts(scenario(n)) == snapshot
""",
    "baseline": """
@pytest.mark.parametrize("n", range({count}))
def test_case(n):
    assert as_dicts(scenario(n))
""",
}

# Plugins neither side needs: every run leaves them out alike, so that the
# figures are about snapshots, not about loading hypothesis.
COMMON = [
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:benchmark",
    "-p",
    "no:asyncio",
    "-p",
    "no:anyio",
    "-p",
    "no:looptime_plugin",
    "-p",
    "no:looptime_chronometers",
    "-p",
    "no:looptime_timeproxies",
    "-p",
    "no:time_machine",
    "-p",
    "no:xdist",
    "-p",
    "no:xdist.looponfail",
]
OWN_PLUGIN_OFF = {
    "phyxius": ["-p", "no:syrupy"],
    "syrupy": ["-p", "no:phyxius"],
    "baseline": ["-p", "no:syrupy", "-p", "no:phyxius"],
}
UPDATE_FLAG = {"phyxius": "--phyxius-update", "syrupy": "--snapshot-update"}


def make_project(root: Path, count: int) -> None:
    """One folder per side, each with its test module."""
    for side, test in TESTS.items():
        folder = root / side
        folder.mkdir()
        (folder / f"test_{side}_bench.py").write_text(
            SCENARIO + test.format(count=count), encoding="utf-8"
        )
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def run(root: Path, side: str, update: bool, count: int) -> tuple[float, float]:
    """One pytest run in a subprocess; returns its CPU and wall-clock seconds."""
    folder = root / side
    if update:
        shutil.rmtree(folder / "__snapshots__", ignore_errors=True)
    args = [sys.executable, "-m", "pytest", *COMMON, *OWN_PLUGIN_OFF[side]]
    if update and side in UPDATE_FLAG:
        args.append(UPDATE_FLAG[side])
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    environment.pop("CI", None)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        args, cwd=folder, env=environment, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    if result.returncode != 0 or f"{count} passed" not in result.stdout:
        raise SystemExit(
            f"the {side} run failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return cpu, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as folder:
        root = Path(folder)
        make_project(root, options.tests)
        best: dict[tuple[str, str, str], float] = {}
        for _ in range(options.rounds):
            for side in ("phyxius", "syrupy", "baseline"):
                for mode in ("update", "read"):
                    timings = run(root, side, mode == "update", options.tests)
                    for clock, seconds in zip(("cpu", "wall"), timings, strict=True):
                        key = (clock, side, mode)
                        best[key] = min(best.get(key, seconds), seconds)
        sizes = {
            side: sum(
                p.stat().st_size for p in (root / side).rglob("__snapshots__/**/*")
            )
            for side in ("phyxius", "syrupy")
        }

    print(
        f"{options.tests} tests x 20-entry journal, best of {options.rounds} "
        "rounds, one pytest subprocess per run"
    )
    print(
        f"{'run':<14}{'phyxius':>10}{'syrupy':>10}{'baseline':>10}{'ratio':>8}"
        f"{'over baseline':>16}"
    )
    worst = 0.0
    for clock in ("cpu", "wall"):
        for mode in ("update", "read"):
            ours, theirs, base = (
                best[(clock, side, mode)] for side in ("phyxius", "syrupy", "baseline")
            )
            ratio = ours / theirs
            # The snapshot work alone: each side's time beyond the baseline's.
            overhead = (ours - base) / max(theirs - base, 1e-9)
            worst = max(worst, ratio)
            print(
                f"{mode + ' (' + clock + ')':<14}{ours:>9.2f}s{theirs:>9.2f}s"
                f"{base:>9.2f}s{ratio:>8.2f}{overhead:>16.2f}"
            )
    print(
        f"snapshot files: phyxius {sizes['phyxius'] / 1e6:.1f} MB "
        f"(one per test), syrupy {sizes['syrupy'] / 1e6:.1f} MB (one per module)"
    )
    verdict = "ok" if worst <= TARGET_RATIO else "SLOWER THAN TARGET"
    print(f"worst ratio {worst:.2f} (target <= {TARGET_RATIO:.2f}): {verdict}")


if __name__ == "__main__":
    main()
