"""Periodic housekeeping, scheduled by periodiq (run exactly one ``periodiq actors``).

The journal is the source of truth: an operation still pending long after its
last change may have lost its message (a flushed Redis, a worker killed before
it re-enqueued). ``resend_stuck`` sends it a fresh wake-up message; the worker
that takes the agent's lease claims it — reconciling with the ERP first if an
earlier attempt may have reached it. A duplicate wake-up costs nothing: the
operation runs once, under the lease, and the spare message is dropped.
"""

from __future__ import annotations

import logging

import dramatiq
from periodiq import cron

from actors import worker
from actors.broker import settings

log = logging.getLogger("archibot.maintenance")

#: Pending this long without a change: its message may be lost.
DEFAULT_STUCK_AFTER_S = 90


@dramatiq.actor(queue_name=settings.queue, periodic=cron("* * * * *"))
def resend_stuck() -> None:
    """Re-send a wake-up for every pending operation untouched for a while."""
    resent = worker.current().sender.resend_pending(DEFAULT_STUCK_AFTER_S)
    if resent:
        log.warning("resent_stuck count=%d", resent)
