"""Fixtures for the real services: PostgreSQL (a fresh test database) and Redis (db 13).

A missing service fails the test with a message saying how to start it — never a skip.
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
TEST_DATABASE = os.environ.get("ARCHIBOT_TEST_DATABASE", "archibot_test")
TEST_REDIS_DB = int(os.environ.get("ARCHIBOT_TEST_REDIS_DB", "13"))
HOW_TO_START = "run the tests with ./dev test, which starts private services when none answer"


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
    redis_url = _with_redis_db(base.redis_url, TEST_REDIS_DB)
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
                     " products_cache, logins, login_budget_resets, api_tokens RESTART IDENTITY CASCADE")


@pytest.fixture()
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    """The test Redis db, flushed before and after the test."""
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
