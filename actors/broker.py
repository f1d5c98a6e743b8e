"""The Dramatiq broker every actor module declares its actors on.

Built at import from the environment (this is the worker boot). Dramatiq's
Retries, TimeLimit and AgeLimit are left out on purpose: the runtime retries
writes itself, after checking the ERP, with the journal as the record; a busy
agent is RequeueBusy's business; and an agent's drained queue may run longer
than any fixed time limit (each operation has its own timeout).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, CurrentMessage, ShutdownNotifications
from periodiq import PeriodiqMiddleware

from actors.browser import BrowserPoolMiddleware
from actors.errors import AgentBusy, WorkerStopping
from actors.heartbeat import Heartbeat
from actors.requeue import RequeueBusy
from archibot.connections import sync_redis
from archibot.logs import configure_logging
from archibot.operations import OPERATION_TYPES
from archibot.settings import Settings
from store.db import Database
from store.journal import Journal

#: Consider a worker dead (and re-deliver its unacked messages) after this long without
#: a heartbeat; Dramatiq's 60 s default leaves a crashed worker's messages idle too long.
DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000
#: Redis maintenance (re-delivering dead workers' messages) runs on this many commands in
#: a million; Dramatiq's default of 1,000 rarely fires in a small deployment.
DEFAULT_MAINTENANCE_CHANCE = 20_000

#: periodiq drops a scheduled message that waited longer than this (a minute's tick).
DEFAULT_PERIODIC_SKIP_DELAY_S = 50

settings = Settings.from_env()
configure_logging(settings)

_db = Database(settings.database_url, max_size=2, statement_timeout_ms=settings.statement_timeout_ms)
requeue = RequeueBusy(Journal(_db), max_requeue_age_s=settings.max_requeue_age_s,
                      retry_budget_s=settings.retry_budget_s)

broker = RedisBroker(  # type: ignore[no-untyped-call]
    client=sync_redis(settings),
    heartbeat_timeout=DEFAULT_HEARTBEAT_TIMEOUT_MS,
    maintenance_chance=DEFAULT_MAINTENANCE_CHANCE,
    middleware=[
        AsyncIO(),
        CurrentMessage(),
        ShutdownNotifications(),
        PeriodiqMiddleware(skip_delay=DEFAULT_PERIODIC_SKIP_DELAY_S),
        requeue,
        BrowserPoolMiddleware(settings),
        Heartbeat(settings.redis_url, settings.heartbeat_ttl_s),
    ],
)
dramatiq.set_broker(broker)


def operation_actor(fn: Callable[[str], Awaitable[None]]) -> dramatiq.Actor[[str], None]:
    """Declare an operation actor: one queue for all (cheap idle polling), AgentBusy
    expected (RequeueBusy re-enqueues it). Its name must be a registered type's actor name."""
    if fn.__name__ not in {t.actor_name for t in OPERATION_TYPES.values()}:
        raise RuntimeError(f"actor {fn.__name__} runs no registered operation type (archibot.operations)")
    decorate = dramatiq.actor(queue_name=settings.queue, throws=(AgentBusy, WorkerStopping))
    return decorate(fn)
