"""Periodic housekeeping, scheduled by periodiq (run exactly one ``periodiq actors``).

Recovery does not rest on this: every worker process also sweeps (actors/sweeper.py).
A second scheduler started by mistake sends a second message per tick; the Redis key
of the period lets only the first one act.

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
    sender = worker.current().sender
    if not sender.claim_period("resend_stuck", 60):
        log.info("periodic_duplicate name=resend_stuck (another scheduler sent it this minute)")
        return
    resent = sender.resend_pending(DEFAULT_STUCK_AFTER_S)
    if resent:
        log.warning("resent_stuck count=%d", resent)
