"""What one worker process holds, opened once at boot and handed to what needs it.

* :class:`Services` is immutable: the process's resources (one PostgreSQL pool for the
  journal, the agents, the sessions and the sender; the Redis clients; the browser pool; the
  breaker), opened and closed with ``async with open_services(settings, broker, state)`` on
  the AsyncIO middleware's event loop (pyppeteer and redis.asyncio objects belong to it).
  Opening also starts the process's housekeeping loops (the sweeper, the keep-alive);
  closing stops them first.
* :class:`WorkerState` is the mutable part: what the shutdown and the running operations
  change.
* :class:`WorkerProcess` is what the broker-building function (actors/broker.py) creates and
  the actors and middleware close over: the settings, the state, and the services once
  booted (actors/boot.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.breaker import ErpBreaker
from actors.errors import BootFailed
from actors.keepalive import KeepAlive
from actors.lock import AgentLock
from actors.sweeper import Sweeper
from archibot.backoff import compute_backoff_ms
from archibot.client import Client
from archibot.connections import async_redis
from erp.certificates import chromium_trust_args
from pool.pool import BrowserPool
from store.agents import AgentStore
from store.cache import Cache
from store.claims import Claims
from store.crypto import SecretBox
from store.db import Database
from store.documents import Documents
from store.recovery import Recovery

if TYPE_CHECKING:
    import dramatiq
    import redis.asyncio as aioredis

    from actors.periodic import Periodic
    from archibot.settings import Settings

log = logging.getLogger("archibot.worker")

#: Threads that run the blocking PostgreSQL calls off the event loop.
DEFAULT_DB_THREADS = 8
#: The process's one PostgreSQL pool: the database threads, plus the worker threads' own
#: calls (the requeue middleware, the periodic actors' sender).
DEFAULT_DB_POOL_SIZE = DEFAULT_DB_THREADS + 4
#: Boot retries are spaced base·2^n ms apart, capped.
DEFAULT_BOOT_RETRY_BASE_MS = 1_000
DEFAULT_BOOT_RETRY_MAX_MS = 15_000


@dataclass(frozen=True)
class Services:
    """The per-process resources the actors use (see the module docstring)."""

    settings: Settings
    #: ``host:pid``: the worker's name in the journal, the locks and the logs.
    name: str
    db: Database
    #: The worker's side of the journal: claim, phase, finish, fail, retry, hand back.
    claims: Claims
    #: The recovery queries (orphans, stuck heads, the ERP's return).
    recovery: Recovery
    agents: AgentStore
    cache: Cache
    #: Documents fetched from the ERP, stored once (store/documents.py).
    documents: Documents
    redis: aioredis.Redis
    lock: AgentLock
    breaker: ErpBreaker
    pool: BrowserPool
    #: A client for work the worker itself sends (periodic syncs, re-sent wake-ups).
    sender: Client
    broker: dramatiq.Broker
    #: Runs the blocking store calls off the event loop.
    db_threads: concurrent.futures.ThreadPoolExecutor
    #: What the worker's own HTTPS requests to the ERP trust (ARCHIBOT_ERP_CA_FILE); None:
    #: the system's.
    erp_ssl: ssl.SSLContext | None = None

    async def db_call(self, fn: Any, *args: Any) -> Any:
        """Run a blocking store call on the database threads."""
        return await asyncio.get_running_loop().run_in_executor(self.db_threads, fn, *args)


@dataclass
class WorkerState:
    """What changes while the process runs: its shutdown and its running operations."""

    #: Set when the worker begins to stop: no new operation is claimed after it.
    stopping: bool = False
    #: Why this worker cannot work (no Chromium…); set, it stops and exits non-zero.
    unhealthy: str | None = None
    #: Operations running in this process: their tasks (a shutdown may hand them back).
    running: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    #: Operations whose save may be in flight: a shutdown lets them finish.
    committing: set[str] = field(default_factory=set)
    #: Operations cancelled by the shutdown: they go back to the journal, unfailed.
    handing_back: set[str] = field(default_factory=set)


@dataclass
class WorkerProcess:
    """One worker process: built with the broker, booted by the boot middleware."""

    settings: Settings
    state: WorkerState = field(default_factory=WorkerState)
    #: Set at boot (None before it and after shutdown).
    services: Services | None = None

    def require_services(self) -> Services:
        """The booted services (RuntimeError before the boot and after the shutdown)."""
        if self.services is None:
            raise RuntimeError("this worker process is not booted (or has shut down)")
        return self.services


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, broker: dramatiq.Broker, state: WorkerState, *,
    should_stop: Callable[[], bool] | None = None,
) -> AsyncIterator[Services]:
    """Connect to PostgreSQL and Redis and launch Chromium, retrying with backoff; start the
    housekeeping loops; on exit stop them and close Chromium and every connection.

    Raises BootFailed after ``settings.boot_timeout_s`` (or as soon as ``should_stop()``,
    by default ``state.stopping``), so the process exits non-zero and its supervisor starts
    it again.
    """
    services = _build(settings, broker)
    try:
        await _connect_with_retry(services, should_stop or (lambda: state.stopping))
    except BaseException:
        await _close(services)
        raise
    loops: list[Periodic] = [Sweeper(services, state).loop]
    if settings.keepalive_s > 0:
        loops.append(KeepAlive(services, state).loop)
    for loop in loops:
        loop.start()
    try:
        yield services
    finally:
        for loop in loops:
            await loop.stop()
        await _close(services)


def _build(settings: Settings, broker: dramatiq.Broker) -> Services:
    """Every resource, none connected yet (each connects on first use or in _connect)."""
    db = Database(settings.database_url, max_size=DEFAULT_DB_POOL_SIZE,
                  statement_timeout_ms=settings.statement_timeout_ms)
    redis = async_redis(settings)
    erp_ssl = settings.erp_ssl_context()
    return Services(
        settings=settings,
        name=f"{socket.gethostname()}:{os.getpid()}",
        db=db,
        claims=Claims(db),
        recovery=Recovery(db),
        agents=AgentStore(db, SecretBox(settings.secret_key_list())),
        cache=Cache(db),
        documents=Documents(db, settings.documents_dir),
        redis=redis,
        lock=AgentLock(redis, ttl_ms=settings.lock_ttl_ms),
        breaker=ErpBreaker(redis, erp_url=settings.erp_base(), threshold=settings.erp_breaker_errors,
                           ssl_context=erp_ssl),
        pool=BrowserPool(
            chromium_path=settings.chromium,
            contexts_per_browser=settings.contexts_per_browser,
            lang=settings.erp_lang,
            max_browser_age_s=settings.browser_max_age_s,
            degraded_new_page_ms=settings.browser_degraded_new_page_ms,
            # Chromium trusts the ERP's certificate as ARCHIBOT_ERP_CA_FILE vouches for it.
            launch_args=functools.partial(
                chromium_trust_args, settings.erp_base(), settings.erp_ca_file
            ),
        ),
        sender=Client(settings, db=db),
        broker=broker,
        db_threads=concurrent.futures.ThreadPoolExecutor(DEFAULT_DB_THREADS, thread_name_prefix="archibot-db"),
        erp_ssl=erp_ssl,
    )


async def _connect_with_retry(services: Services, should_stop: Callable[[], bool]) -> None:
    settings = services.settings
    deadline = time.monotonic() + settings.boot_timeout_s
    attempt = 0
    while True:
        try:
            await _connect(services)
            return
        except Exception as exc:
            left_s = deadline - time.monotonic()
            if left_s <= 0 or should_stop():
                raise BootFailed(
                    f"worker boot gave up after {settings.boot_timeout_s} s "
                    f"(ARCHIBOT_BOOT_TIMEOUT_S): {type(exc).__name__}: {exc}"
                ) from exc
            delay_ms = compute_backoff_ms(attempt, base_ms=DEFAULT_BOOT_RETRY_BASE_MS,
                                          max_ms=DEFAULT_BOOT_RETRY_MAX_MS)
            log.warning("boot_retry attempt=%d delay_ms=%d error=%s: %s", attempt + 1,
                        delay_ms, type(exc).__name__, exc)
            attempt += 1
            await asyncio.sleep(min(delay_ms / 1000, max(0.0, left_s)))


#: An id no operation has: looking it up shows the journal's schema is there.
_NO_OPERATION = "00000000-0000-0000-0000-000000000000"


async def _connect(services: Services) -> None:
    await services.db_call(services.db.open)
    await services.db_call(services.claims.get, _NO_OPERATION)  # the schema is there
    await services.redis.ping()
    await services.pool.start()


async def _close(services: Services) -> None:
    """Close Chromium, Redis, the sender, the PostgreSQL pool and the threads; a resource
    that fails to close does not keep the others open."""
    for what, aclose in (("chromium", services.pool.close), ("redis", services.redis.aclose)):
        try:
            await aclose()
        except Exception as exc:  # noqa: BLE001 (logged; the next resource still closes)
            log.warning("close_failed resource=%s error=%r", what, exc)
    for what, close in (("sender", services.sender.close), ("postgresql", services.db.close)):
        try:
            close()
        except Exception as exc:  # noqa: BLE001 (logged; the next resource still closes)
            log.warning("close_failed resource=%s error=%r", what, exc)
    services.db_threads.shutdown(wait=False)
