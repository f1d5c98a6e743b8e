"""The Dramatiq broker of a worker process (and of the scheduler), built by :func:`build_broker`.

The entry points (``dramatiq actors``, ``periodiq actors``: actors/__init__.py) call it; no
module builds anything at import. Dramatiq's Retries, TimeLimit and AgeLimit are left out
on purpose: the runtime retries writes itself, after checking the ERP, with the journal as
the record; a busy agent is RequeueBusy's business; and an agent's drained queue may run
longer than any fixed time limit (each operation has its own timeout).
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import AsyncIO, CurrentMessage, ShutdownNotifications
from periodiq import PeriodiqMiddleware

from actors.boot import WorkerBoot
from actors.doorbell import WorkerBroker
from actors.heartbeat import Heartbeat
from actors.operation_actors import register as register_operation_actors
from actors.requeue import RequeueBusy
from actors.schedule import register as register_periodic_actors
from actors.services import WorkerProcess
from archibot.connections import sync_redis
from archibot.logs import configure_logging
from archibot.settings import Settings

#: Consider a worker dead (and re-deliver its unacked messages) after this long without
#: a heartbeat; Dramatiq's 60 s default leaves a crashed worker's messages idle too long.
DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000
#: Redis maintenance (re-delivering dead workers' messages) runs on this many commands in
#: a million; Dramatiq's default of 1,000 rarely fires in a small deployment.
DEFAULT_MAINTENANCE_CHANCE = 20_000
#: periodiq drops a scheduled message that waited longer than this (a minute's tick).
DEFAULT_PERIODIC_SKIP_DELAY_S = 50


def build_broker(settings: Settings) -> tuple[dramatiq.Broker, WorkerProcess]:
    """The broker with its middleware and every actor, installed as Dramatiq's global
    broker, and the worker process its middleware and actors share (booted by WorkerBoot)."""
    configure_logging(settings)
    process = WorkerProcess(settings)
    broker = WorkerBroker(
        client=sync_redis(settings),
        heartbeat_timeout=DEFAULT_HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=DEFAULT_MAINTENANCE_CHANCE,
        middleware=[
            AsyncIO(),
            CurrentMessage(),
            ShutdownNotifications(),
            PeriodiqMiddleware(skip_delay=DEFAULT_PERIODIC_SKIP_DELAY_S),
            RequeueBusy(process, max_requeue_age_s=settings.max_requeue_age_s,
                        retry_budget_s=settings.retry_budget_s),
            WorkerBoot(process),
            Heartbeat(process, settings.heartbeat_ttl_s),
        ],
    )
    # Installed first: an actor declared without its broker would otherwise make Dramatiq
    # build a default one.
    dramatiq.set_broker(broker)
    register_operation_actors(broker, process)
    register_periodic_actors(broker, process)
    return broker, process
