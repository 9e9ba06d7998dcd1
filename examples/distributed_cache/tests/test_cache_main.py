"""``python -m examples.distributed_cache``: the cache on the real clock, end to end.

The entry is run as users run it, in a subprocess on the `SystemClock`, for
a fraction of a second. What it prints depends on real timing, so the test
checks only what every run must show: the crashes, the rejoins, the retries'
outcome, the surviving key, agreement, and the journal it kept on disk.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.distributed_cache import DEFAULT_NODES, CacheCluster, Ring, Slot
from examples.distributed_cache.__main__ import disagreements, parse
from phyxius.journal import create_journal

ROOT = Path(__file__).resolve().parents[3]


def test_the_entry_runs_crashes_and_recovers_and_reports_agreement(
    tmp_path: Path,
) -> None:
    journal_path = tmp_path / "cache.sqlite"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.distributed_cache",
            "--seconds",
            "0.6",
            "--journal",
            str(journal_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    out = result.stdout
    assert (result.returncode, result.stderr) == (0, ""), out
    lines = out.splitlines()
    assert lines[0].endswith(
        "cluster started: node-a, node-b, node-c; 2 replicas per key"
    )
    assert len(re.findall(r"  chaos: crashing ", out)) == 2
    assert re.search(r"  supervisor restarts node-\w in \d+\.\d{3}s \(attempt 1\)", out)
    assert re.search(r"  node-\w joined \(incarnation 2\) with \d+ keys", out)
    assert re.search(r"^\d+ sets, \d+ gets \(\d+ hits, \d+ misses\), ", out, re.M)
    assert "config after the crashes: {'feature': 'on'}" in lines
    assert lines[-1] == "every live replica agrees on every key"

    # The journal on disk holds the run: the boot write with its request id,
    # and a crash for each node the chaos hit.
    journal = create_journal(journal_path, name="distributed-cache")
    try:
        data = [(entry.data, entry.metadata) for entry in journal]
    finally:
        journal.close()
    boot = [meta for entry, meta in data if entry.get("key") == "config"]
    crashes = [
        entry["node"]
        for entry, _ in data
        if entry["type"] == "cluster.member_left"
        and "SimulatedCrash" in entry["reason"]
    ]
    assert boot[0] == {"request_id": "req-boot"}
    owners = Ring(DEFAULT_NODES, 2).owners("config")
    # The primary of config, then both of its replicas.
    assert (crashes[0], sorted(crashes[1:])) == (owners[0], sorted(owners))
    assert data[0][0]["type"] == "cluster.started"


@pytest.mark.parametrize("seconds", ["0", "-1", "soon", "inf"])
def test_the_entry_refuses_a_run_length_that_is_not_positive(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(["--seconds", seconds])

    assert exit_.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert re.fullmatch(
        r"python -m examples\.distributed_cache: error: argument --seconds: "
        rf"'{re.escape(seconds)}' is not a positive number of seconds",
        last,
    )


async def test_disagreements_names_a_key_whose_replicas_differ(
    cluster: CacheCluster,
) -> None:
    web = cluster.client("web")
    await web.set("k", "v").run_or_raise()
    await web.set("same", 1).run_or_raise()
    agreed = disagreements(cluster)
    primary = cluster.owners("k")[0]

    # Corrupt one replica behind the cache's back.
    held = cluster.store(primary).get()
    cluster.store(primary).set({**held, "k": Slot("w", held["k"].version, None)})

    assert agreed == []
    (found,) = disagreements(cluster)
    assert re.fullmatch(r"k: 'v' at Version\(.*\) / 'w' at Version\(.*\)", found)
