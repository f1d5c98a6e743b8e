"""What one worker process holds: settings, the store, the agent lock, the browser pool.

Built once at worker boot on the AsyncIO middleware's event loop (pyppeteer and
redis.asyncio objects belong to that loop) and torn down at shutdown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from actors.breaker import ErpBreaker
from actors.keepalive import KeepAlive
from actors.lock import AgentLock
from actors.sweeper import Sweeper
from archibot.backoff import compute_backoff_ms
from archibot.client import Client
from archibot.connections import async_redis
from archibot.settings import Settings
from pool.pool import BrowserPool
from store.agents import AgentStore
from store.cache import Cache
from store.crypto import SecretBox
from store.db import Database
from store.journal import Journal

T = TypeVar("T")

log = logging.getLogger("archibot.worker")

#: Threads that run the blocking PostgreSQL calls off the event loop.
DEFAULT_DB_THREADS = 8
#: Boot retries are spaced base·2^n ms apart, capped.
DEFAULT_BOOT_RETRY_BASE_MS = 1_000
DEFAULT_BOOT_RETRY_MAX_MS = 15_000


class BootFailed(RuntimeError):
    """The worker could not reach PostgreSQL, Redis or Chromium within its boot timeout."""


class WorkerContext:
    """The per-process services the actors use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.db = Database(settings.database_url, max_size=DEFAULT_DB_THREADS,
                           statement_timeout_ms=settings.statement_timeout_ms)
        self.journal = Journal(self.db)
        self.cache = Cache(self.db)
        self.agents = AgentStore(self.db, SecretBox(settings.secret_key_list()))
        self.pool = BrowserPool(
            chromium_path=settings.chromium,
            contexts_per_browser=settings.contexts_per_browser,
            lang=settings.erp_lang,
            max_browser_age_s=settings.browser_max_age_s,
            degraded_new_page_ms=settings.browser_degraded_new_page_ms,
        )
        self._db_threads = concurrent.futures.ThreadPoolExecutor(
            DEFAULT_DB_THREADS, thread_name_prefix="archibot-db"
        )
        self._sender: Client | None = None
        #: Set when the worker begins to stop: no new operation is claimed after it.
        self.stopping = False
        #: Why this worker cannot work (no Chromium…); set, it stops and exits non-zero.
        self.unhealthy: str | None = None
        self.redis: aioredis.Redis | None = None
        self._lock: AgentLock | None = None
        self._breaker: ErpBreaker | None = None
        self._sweeper_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        #: Operations running in this process: their tasks (a shutdown may hand them back).
        self.running: dict[str, asyncio.Task[Any]] = {}
        #: Operations whose save may be in flight: a shutdown lets them finish.
        self.committing: set[str] = set()
        #: Operations cancelled by the shutdown: they go back to the journal, unfailed.
        self.handing_back: set[str] = set()

    @property
    def lock(self) -> AgentLock:
        """The agent lock (available after :meth:`start`)."""
        if self._lock is None:
            raise RuntimeError("the worker context has not been started")
        return self._lock

    @property
    def breaker(self) -> ErpBreaker:
        """The ERP's circuit breaker (available after :meth:`start`)."""
        if self._breaker is None:
            raise RuntimeError("the worker context has not been started")
        return self._breaker

    @property
    def sender(self) -> Client:
        """A client for work the worker itself sends (periodic syncs, re-sent wake-ups)."""
        if self._sender is None:
            self._sender = Client(self.settings)
        return self._sender

    async def start(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Connect to PostgreSQL and Redis and launch Chromium, retrying with backoff.

        Raises BootFailed after ``settings.boot_timeout_s`` (or when ``should_stop``), so
        the process exits non-zero and its supervisor starts it again.
        """
        deadline = time.monotonic() + self.settings.boot_timeout_s
        attempt = 0
        while True:
            try:
                await self._connect()
                break
            except Exception as exc:
                left_s = deadline - time.monotonic()
                if left_s <= 0 or should_stop():
                    await self._disconnect()
                    raise BootFailed(
                        f"worker boot gave up after {self.settings.boot_timeout_s} s "
                        f"(ARCHIBOT_BOOT_TIMEOUT_S): {type(exc).__name__}: {exc}"
                    ) from exc
                delay_ms = compute_backoff_ms(attempt, base_ms=DEFAULT_BOOT_RETRY_BASE_MS,
                                              max_ms=DEFAULT_BOOT_RETRY_MAX_MS)
                log.warning("boot_retry attempt=%d delay_ms=%d error=%s: %s", attempt + 1,
                            delay_ms, type(exc).__name__, exc)
                attempt += 1
                await asyncio.sleep(min(delay_ms / 1000, max(0.0, left_s)))
        self._sweeper_task = asyncio.create_task(Sweeper(self).run())
        if self.settings.keepalive_s > 0:
            self._keepalive_task = asyncio.create_task(KeepAlive(self).run())

    async def _connect(self) -> None:
        await self.db_call(self.db.open)
        await self.db_call(self.journal.recent, 1)  # the schema is there
        if self.redis is None:
            self.redis = async_redis(self.settings)
        await self.redis.ping()
        self._lock = AgentLock(self.redis, ttl_ms=self.settings.lock_ttl_ms)
        self._breaker = ErpBreaker(self.redis, erp_url=self.settings.erp_base(),
                                   threshold=self.settings.erp_breaker_errors)
        await self.pool.start()

    async def _disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self.pool.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        with contextlib.suppress(Exception):
            self.db.close()

    async def close(self) -> None:
        """Close Chromium and every connection."""
        for task in (self._sweeper_task, self._keepalive_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.pool.close()
        if self.redis is not None:
            await self.redis.aclose()
        self.db.close()
        if self._sender is not None:
            self._sender.close()
        self._db_threads.shutdown(wait=False)

    async def hand_back_after(self, grace_s: float) -> None:
        """Shutdown: after ``grace_s``, cancel the operations that have not reached their save
        (they go back to the journal unfailed); a save in flight is left to finish."""
        deadline = time.monotonic() + grace_s
        while self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        for op_id, task in list(self.running.items()):
            if op_id not in self.committing and not task.done():
                log.warning("op_handed_back op_id=%s reason=shutdown", op_id)
                self.handing_back.add(op_id)
                task.cancel()

    async def db_call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call on the database threads."""
        return await asyncio.get_running_loop().run_in_executor(self._db_threads, fn, *args)


_current: WorkerContext | None = None


def set_current(context: WorkerContext | None) -> None:
    """Install this process's worker context (the browser middleware does it at boot)."""
    global _current
    _current = context


def current() -> WorkerContext:
    """This process's worker context."""
    if _current is None:
        raise RuntimeError("no worker context: is the BrowserPoolMiddleware installed?")
    return _current


def current_or_none() -> WorkerContext | None:
    """This process's worker context, or None before boot and after shutdown."""
    return _current
