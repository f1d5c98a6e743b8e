"""What one API process holds: the client (journal, agents, queue), Redis, tokens, the hub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool

from archibot.api.auth import TokenChecker
from archibot.api.notify import Hub
from archibot.api.webhooks import Deliverer, forget_webhook_deliveries
from archibot.client import Client, status_dict
from archibot.settings import Settings
from store.tokens import TokenStore

#: PostgreSQL connections per API process: the route thread pool shares them.
DEFAULT_API_DB_POOL = 16
#: How often an API process deletes expired idempotency keys and old webhook deliveries.
DEFAULT_HOUSEKEEPING_S = 600.0

log = logging.getLogger("archibot.api")


class Services:
    """Built by the app's lifespan, closed when it ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = Client(settings, db_pool_size=DEFAULT_API_DB_POOL)
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.token_store = TokenStore(self.client.db)
        self.tokens = TokenChecker(settings.api_token_list(), self.token_store)
        self.hub = Hub(settings.database_url)
        self.deliverer: Deliverer | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        if settings.webhook_url:
            self.deliverer = Deliverer(self.client.db, settings.webhook_url, settings.webhook_secret)

    def read_status(self, op_id: str) -> dict[str, Any] | None:
        """The public view of an operation, or None."""
        row = self.client.journal.get(op_id)
        return status_dict(row) if row is not None else None

    async def start(self) -> None:
        """Listen to the journal and start the webhook deliverer."""
        await self.hub.start()
        self._housekeeping = asyncio.create_task(self._keep_tidy(), name="archibot-housekeeping")
        if self.deliverer is not None:
            self.hub.on_event(self.deliverer.wake)
            self.deliverer.start()
            self.deliverer.wake()

    async def close(self) -> None:
        """Stop everything started and close the connections."""
        await self.hub.stop()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        if self.deliverer is not None:
            self.deliverer.stop()
        self.redis.close()
        self.client.close()

    async def _keep_tidy(self) -> None:
        """Forget idempotency keys past their retention, webhook rows past their use, and
        documents not fetched for ARCHIBOT_DOCUMENTS_RETENTION_DAYS."""
        retention_s = self.settings.idempotency_retention_s
        while True:
            try:
                await run_in_threadpool(self.client.journal.forget_expired_keys, retention_s)
                await run_in_threadpool(forget_webhook_deliveries, self.client.db)
                await run_in_threadpool(self.client.documents.purge,
                                        self.settings.documents_retention_days)
            except Exception:  # housekeeping must never stop the API
                log.warning("housekeeping_failed", exc_info=True)
            await asyncio.sleep(DEFAULT_HOUSEKEEPING_S)
