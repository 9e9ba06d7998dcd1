"""What importing Phyxius loads: the standard library, and third parties only on use.

`phyxius` imports nothing outside the standard library (psycopg only inside
the PostgreSQL store, hypothesis only in `phyxius.testing.strategies`), and
the plugin loads freezegun, time-machine and hypothesis only when a test
asks for what needs them. Each check runs in a fresh interpreter, since this
one has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys

before = set(sys.modules)
package = importlib.import_module({package!r})
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name not in {skip!r}:
        importlib.import_module(info.name)
loaded = sorted({{name.partition(".")[0] for name in set(sys.modules) - before}})
print(json.dumps(loaded))
"""


def top_level_modules_loaded_by(package: str, skip: tuple[str, ...] = ()) -> set[str]:
    """The top-level modules a fresh interpreter loads to import all of ``package``."""
    code = IMPORT_EVERYTHING.format(package=package, skip=skip)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return set(loaded)


def test_phyxius_loads_nothing_outside_the_standard_library() -> None:
    loaded = top_level_modules_loaded_by(
        "phyxius", skip=("phyxius.testing.strategies",)
    )

    outside = {
        name
        for name in loaded - set(sys.stdlib_module_names) - {"phyxius"}
        # CPython's own build configuration, read by sysconfig.
        if not name.startswith("_sysconfigdata")
    }
    assert outside == set()


def test_the_plugin_loads_freezegun_time_machine_and_hypothesis_only_on_use() -> None:
    loaded = top_level_modules_loaded_by("pytest_phyxius")

    assert "pytest" in loaded
    assert loaded.isdisjoint({"freezegun", "time_machine", "hypothesis", "psycopg"})
