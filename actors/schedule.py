"""The periodic actors, scheduled by periodiq (run exactly one ``periodiq actors``).

* The sync fan-out never runs a sync itself: it journals and sends one sync operation per
  agent that has none pending, so a requeued sync is never the periodic message (periodiq
  drops those older than its skip delay).
* ``resend_stuck`` re-sends a wake-up for every pending operation whose message may be
  lost (a flushed Redis, a worker killed before it re-enqueued); the worker that takes the
  agent's lease claims it — reconciling with the ERP first if an earlier attempt may have
  reached it. A duplicate wake-up costs nothing: the operation runs once, under the lease.
  Recovery does not rest on this: every worker process also sweeps (actors/sweeper.py).

A second scheduler started by mistake sends a second message per tick; the Redis key of the
period (``Client.claim_period``) lets only the first one act. The actors' names and crons
are periodiq's schedule: keep them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dramatiq
from periodiq import cron

from actors.services import WorkerProcess
from archibot.client import Client
from archibot.operations import CATALOGUE_SYNC, PERIODIC_SYNCS

log = logging.getLogger("archibot.schedule")

#: Pending this long without a change: its message may be lost.
DEFAULT_STUCK_AFTER_S = 90
#: The fan-out period of the agents' order and customer syncs.
DEFAULT_AGENT_SYNC_PERIOD_S = 15 * 60
#: The fan-out period of the products sync (the catalogue is the same for everyone).
DEFAULT_PRODUCTS_SYNC_PERIOD_S = 24 * 3600


def register(broker: dramatiq.Broker, process: WorkerProcess) -> dict[str, dramatiq.Actor[[], None]]:
    """Declare the periodic actors on ``broker``; actor name → actor."""

    def sender() -> Client:
        return process.require_services().sender

    def schedule_order_and_customer_syncs() -> None:
        """Every 15 minutes: a customers and an orders sync for each agent without one pending."""
        for op_type in PERIODIC_SYNCS:
            _fan_out(sender(), op_type, DEFAULT_AGENT_SYNC_PERIOD_S)

    def schedule_products_sync() -> None:
        """Nightly: one products sync (the catalogue is the same for everyone)."""
        agents = sender().agents_with_credentials()[:1]
        _fan_out(sender(), CATALOGUE_SYNC, DEFAULT_PRODUCTS_SYNC_PERIOD_S, agents)

    def resend_stuck() -> None:
        """Re-send a wake-up for every pending operation untouched for a while."""
        client = sender()
        if not client.claim_period("resend_stuck", 60):
            log.info("periodic_duplicate name=resend_stuck (another scheduler sent it this minute)")
            return
        resent = client.resend_pending(DEFAULT_STUCK_AFTER_S)
        if resent:
            log.warning("resent_stuck count=%d", resent)

    schedule: list[tuple[Callable[[], None], str]] = [
        (schedule_order_and_customer_syncs, "*/15 * * * *"),
        (schedule_products_sync, "30 2 * * *"),
        (resend_stuck, "* * * * *"),
    ]
    return {
        fn.__name__: dramatiq.actor(actor_name=fn.__name__, queue_name=process.settings.queue,
                                    broker=broker, periodic=cron(spec))(fn)
        for fn, spec in schedule
    }


def _fan_out(sender: Client, op_type: str, period_s: int, agents: list[str] | None = None) -> int:
    if not sender.claim_period(f"fan_out:{op_type}", period_s):
        # Two schedulers started by mistake: the other one's message already did it.
        log.info("periodic_duplicate type=%s (already sent this period)", op_type)
        return 0
    sent = sender.send_to_idle_agents(op_type, agents)
    if sent:
        log.info("periodic_sync type=%s sent=%d", op_type, sent)
    return sent
