"""Pytest plugin: how the suite runs in parallel (pytest-xdist) and in which order.

The default run (``-n auto --dist loadgroup``, from pyproject.toml) takes
DEFAULT_TEST_WORKERS workers, each with a database and a Redis db of its own
(tests.fix_services). A run pinned to a Redis db outside the parallel ones
(``ARCHIBOT_TEST_REDIS_DB=3``) runs in one process, as before; ``-n 0`` does too.

Tests go to the workers one at a time, except a module whose tests share a module- or
class-scoped fixture, which goes to one worker whole (its xdist group) so the fixture is
built once. The slowest kinds of test are handed out first, so none of them starts at the
end of the run and makes its tail long.
"""

from __future__ import annotations

import os

import pytest

from tests.fix_services import parallel_redis_dbs, too_many_workers

#: Workers of a default run. On a 2-core machine the tests mostly wait (on the simulator,
#: on worker processes, on the ERP's time windows): a 145-test subset took 293 s in one
#: process, 158 s on 2 workers, 133 s on 3, 120 s on 4; a Chromium-heavy 56-test one 496 s,
#: 241 s on 3 and 239 s on 4, where its CPU-bound tests took up to 1.4× as long as on 3
#: (the group-SIGTERM fault test: 60 s against 44 s), closer to the time limits tests assert.
DEFAULT_TEST_WORKERS = 3
#: Fixtures that tell a test's cost, slowest first: real worker groups (or a whole
#: deployment) driving the simulator, then real API processes, then an in-process Chromium.
SLOW_FIXTURES = (("stack_settings",), ("api_servers", "start_api_process"), ("browser",))
#: Among those, the modules of the longest tests (measured: 60-115 s for test_scheduling's
#: first, 20-30 s for the others' longest), handed out first in this order.
SLOWEST_MODULES = ("test_hosts.py", "test_scheduling.py", "test_long_orders.py", "test_faults.py",
                   "test_login_budget.py", "test_kill_points.py")
#: Fixture scopes that a module's tests share, so the module runs on one worker.
SHARED_SCOPES = ("module", "class", "package")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: PYTEST_XDIST_AUTO_NUM_WORKERS when set (xdist's own variable), else
    DEFAULT_TEST_WORKERS or as many as there are Redis dbs for (one db: 0, in-process)."""
    asked = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")
    if asked.isdigit():
        return int(asked)
    dbs = len(parallel_redis_dbs())
    return min(DEFAULT_TEST_WORKERS, dbs) if dbs > 1 else 0


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, up front, more workers than there are Redis dbs for them."""
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > 1:
        problem = too_many_workers(workers)
        if problem:
            raise pytest.UsageError(problem)


def _cost(item: pytest.Item) -> int:
    names = set(getattr(item, "fixturenames", ()))
    ranks = (rank for rank, fixtures in enumerate(SLOW_FIXTURES) if names.intersection(fixtures))
    return next(ranks, len(SLOW_FIXTURES))


def _module_rank(path: str, module_items: list[pytest.Item]) -> tuple[int, int]:
    name = path.rsplit("/", 1)[-1]
    known = SLOWEST_MODULES.index(name) if name in SLOWEST_MODULES else len(SLOWEST_MODULES)
    return min(_cost(item) for item in module_items), known


def _shares_a_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs[-1].scope in SHARED_SCOPES for defs in info.name2fixturedefs.values() if defs)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the modules that share a fixture, and put the slowest kinds of test first.

    A module keeps its tests together and in order (its cost is its costliest test's), so
    a module-scoped fixture is still set up once per worker.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    for path, module_items in modules.items():
        if any(_shares_a_fixture(item) for item in module_items):
            for item in module_items:
                item.add_marker(pytest.mark.xdist_group(path))
    order = sorted(modules, key=lambda path: _module_rank(path, modules[path]))
    items[:] = [item for path in order for item in modules[path]]
