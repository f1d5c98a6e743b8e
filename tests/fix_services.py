"""Fixtures for the real services: PostgreSQL (a fresh test database) and Redis (db 13).

A missing service fails the test with a message saying how to start it — never a skip.
Under pytest-xdist each worker has a database and a Redis db of its own (see
:func:`worker_redis_db`), so parallel workers never see each other's journal or queues.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import psycopg
import pytest
import redis

from archibot.settings import Settings
from store.db import Database

#: Overridable so two checkouts can run their suites at once without sharing state.
BASE_TEST_DATABASE = os.environ.get("ARCHIBOT_TEST_DATABASE", "archibot_test")
BASE_TEST_REDIS_DB = int(os.environ.get("ARCHIBOT_TEST_REDIS_DB", "13"))
#: The Redis dbs parallel (xdist) workers may take; the lower ones are left to other runs.
PARALLEL_REDIS_DBS = range(8, 16)
#: The xdist worker this process is ("gw0", "gw1", …), or "" when the run is not parallel.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
HOW_TO_START = "run the tests with ./dev test, which starts private services when none answer"


def parallel_redis_dbs(base: int = BASE_TEST_REDIS_DB) -> list[int]:
    """The Redis dbs a parallel run takes, one per worker: the base first, then the free ones
    above it, then below it (13: 13, 14, 15, 12, 11, 10, 9, 8). A base outside
    PARALLEL_REDIS_DBS pins the run to that one db (no parallel workers)."""
    if base not in PARALLEL_REDIS_DBS:
        return [base]
    above = range(base + 1, PARALLEL_REDIS_DBS.stop)
    below = range(base - 1, PARALLEL_REDIS_DBS.start - 1, -1)
    return [base, *above, *below]


def too_many_workers(workers: int, base: int = BASE_TEST_REDIS_DB) -> str | None:
    """Why ``workers`` parallel workers cannot each have a Redis db of their own, if so."""
    dbs = parallel_redis_dbs(base)
    if workers <= len(dbs):
        return None
    return (f"{workers} test workers need {workers} Redis dbs of their own, but "
            f"ARCHIBOT_TEST_REDIS_DB={base} leaves {len(dbs)} ({', '.join(map(str, dbs))}): run "
            f"with -n {len(dbs)} or fewer, or pick a base in "
            f"{PARALLEL_REDIS_DBS.start}-{PARALLEL_REDIS_DBS.stop - 1}")


def worker_redis_db(worker: str = XDIST_WORKER, base: int = BASE_TEST_REDIS_DB) -> int:
    """This worker's Redis db (the base when the run is not parallel)."""
    if not worker:
        return base
    index = int(worker.removeprefix("gw"))
    problem = too_many_workers(index + 1, base)
    if problem:
        pytest.fail(problem, pytrace=False)
    return parallel_redis_dbs(base)[index]


#: This process's database: a parallel worker's is suffixed with its id (archibot_test_gw1).
TEST_DATABASE = f"{BASE_TEST_DATABASE}_{XDIST_WORKER}" if XDIST_WORKER else BASE_TEST_DATABASE


def _base_settings() -> Settings:
    return Settings.from_env()


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def _with_redis_db(url: str, db: int) -> str:
    head, sep, tail = url.rpartition("/")
    return f"{head}/{db}" if sep and tail.isdigit() else f"{url.rstrip('/')}/{db}"


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at a fresh test database and a test Redis db."""
    base = _base_settings()
    try:
        with psycopg.connect(base.database_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {TEST_DATABASE}")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {base.database_url} ({exc}). Start it with "
            f"`pg_ctlcluster 15 main start` or {HOW_TO_START}.", pytrace=False,
        )
    redis_url = _with_redis_db(base.redis_url, worker_redis_db())
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is not reachable at {redis_url} ({exc}). Start it with "
            f"`redis-server --daemonize yes` or {HOW_TO_START}.", pytrace=False,
        )
    if not os.path.exists(base.chromium):
        pytest.fail(f"Chromium not found at {base.chromium}: run `apt-get install -y chromium` (or ./dev test)", pytrace=False)
    return dataclasses.replace(
        base,
        database_url=_with_database(base.database_url, TEST_DATABASE),
        redis_url=redis_url,
        secret_key="test-secret-key",
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    """The migrated test database."""
    db = Database(settings.database_url)
    db.migrate()
    yield db
    db.close()


@pytest.fixture()
def db(database: Database) -> Iterator[Database]:
    """The test database, emptied before and after the test."""
    _truncate(database)
    yield database
    _truncate(database)


def _truncate(db: Database) -> None:
    with db.connection() as conn:
        conn.execute("TRUNCATE operations, agent_sessions, agents, customers_cache, orders_cache,"
                     " products_cache, ddt_cache, invoices_cache, prices_cache, line_discounts_cache,"
                     " customer_records_cache, documents, operation_documents, sync_state,"
                     " logins, login_budget_resets, api_tokens RESTART IDENTITY CASCADE")


@pytest.fixture()
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    """The test Redis db, flushed before and after the test."""
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
