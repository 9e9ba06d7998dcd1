"""The journal's behaviour suite, run again with every journal on PostgreSQL.

The tests of ``tests/journal`` that take the ``make_journal`` fixture check
behaviour every store must share. They are collected here a second time,
suffixed with their module's name, and this directory's ``make_journal`` hands them
journals on a `PostgresStore` in the test's own schema - so the PostgreSQL
store is held to exactly the same rules as the others, as they grow.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.postgres

_SUITE = Path(__file__).parents[1]


def _load(name: str) -> ModuleType:
    """The sibling test module ``name``, imported once."""
    package = (__package__ or "").rpartition(".")[0]
    if package:  # tests/ is a package: the suite is tests.journal.<name>
        return importlib.import_module(f"{package}.{name}")
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(name, _SUITE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Every module of the suite, whatever its name: a test belongs to the shared
# behaviour when it takes `make_journal`.
for _path in sorted(_SUITE.glob("test_*.py")):
    _module = _load(_path.stem)
    for _attribute, _test in list(vars(_module).items()):
        if (
            _attribute.startswith("test_")
            and inspect.isfunction(_test)
            and "make_journal" in inspect.signature(_test).parameters
        ):
            # test_x of test_journal_api.py is collected here as
            # test_x__test_journal_api.
            globals()[f"{_attribute}__{_path.stem}"] = _test
