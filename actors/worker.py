"""What one worker process holds: settings, the store, the agent lock, the browser pool.

Built once at worker boot on the AsyncIO middleware's event loop (pyppeteer and
redis.asyncio objects belong to that loop) and torn down at shutdown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from actors.lock import AgentLock
from archibot.client import Client
from archibot.settings import Settings
from pool.pool import BrowserPool
from store.agents import AgentStore
from store.cache import Cache
from store.crypto import SecretBox
from store.db import Database
from store.journal import Journal

T = TypeVar("T")

#: Threads that run the blocking PostgreSQL calls off the event loop.
DEFAULT_DB_THREADS = 8


class WorkerContext:
    """The per-process services the actors use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.db = Database(settings.database_url, max_size=DEFAULT_DB_THREADS)
        self.journal = Journal(self.db)
        self.cache = Cache(self.db)
        self.agents = AgentStore(self.db, SecretBox(settings.secret_key))
        self.pool = BrowserPool(
            chromium_path=settings.chromium,
            contexts_per_browser=settings.contexts_per_browser,
            lang=settings.erp_lang,
        )
        self._db_threads = concurrent.futures.ThreadPoolExecutor(
            DEFAULT_DB_THREADS, thread_name_prefix="archibot-db"
        )
        self._sender: Client | None = None
        #: Set when the worker begins to stop: no new operation is claimed after it.
        self.stopping = False
        self.redis: aioredis.Redis | None = None
        self._lock: AgentLock | None = None

    @property
    def lock(self) -> AgentLock:
        """The agent lock (available after :meth:`start`)."""
        if self._lock is None:
            raise RuntimeError("the worker context has not been started")
        return self._lock

    @property
    def sender(self) -> Client:
        """A client for work the worker itself sends (periodic syncs, re-sent wake-ups)."""
        if self._sender is None:
            self._sender = Client(self.settings)
        return self._sender

    async def start(self) -> None:
        """Connect to PostgreSQL and Redis and launch Chromium."""
        await self.db_call(self.db.open)
        self.redis = aioredis.Redis.from_url(self.settings.redis_url)
        self._lock = AgentLock(self.redis, ttl_ms=self.settings.lock_ttl_ms)
        await self.pool.start()

    async def close(self) -> None:
        """Close Chromium and every connection."""
        await self.pool.close()
        if self.redis is not None:
            await self.redis.aclose()
        self.db.close()
        if self._sender is not None:
            self._sender.close()
        self._db_threads.shutdown(wait=False)

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
