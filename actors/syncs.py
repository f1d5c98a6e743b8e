"""Sync actors, and the periodic fan-out that sends them (scheduled by periodiq).

The periodic actor never runs a sync itself: it journals and sends one sync
operation per agent that has none pending, so a requeued sync is never the
periodic message (periodiq drops those older than its skip delay).
"""

from __future__ import annotations

import logging

import dramatiq
from periodiq import cron

from actors import worker
from actors.broker import operation_actor, settings
from actors.runtime import run_message

log = logging.getLogger("archibot.syncs")


@operation_actor
async def sync_customers(op_id: str) -> None:
    """Copy the agent's customers into the cache (``sync-customers``)."""
    await run_message(op_id)


@operation_actor
async def sync_orders(op_id: str) -> None:
    """Copy the agent's orders into the cache (``sync-orders``)."""
    await run_message(op_id)


@operation_actor
async def sync_products(op_id: str) -> None:
    """Copy the product catalogue into the cache (``sync-products``)."""
    await run_message(op_id)


def _fan_out(op_type: str, period_s: int, agents: list[str] | None = None) -> int:
    sender = worker.current().sender
    if not sender.claim_period(f"fan_out:{op_type}", period_s):
        # Two schedulers started by mistake: the other one's message already did it.
        log.info("periodic_duplicate type=%s (already sent this period)", op_type)
        return 0
    sent = sender.send_to_idle_agents(op_type, agents)
    if sent:
        log.info("periodic_sync type=%s sent=%d", op_type, sent)
    return sent


@dramatiq.actor(queue_name=settings.queue, periodic=cron("*/15 * * * *"))
def schedule_order_and_customer_syncs() -> None:
    """Every 15 minutes: a customers and an orders sync for each agent without one pending."""
    _fan_out("sync-orders", 15 * 60)
    _fan_out("sync-customers", 15 * 60)


@dramatiq.actor(queue_name=settings.queue, periodic=cron("30 2 * * *"))
def schedule_products_sync() -> None:
    """Nightly: one products sync (the catalogue is the same for everyone)."""
    agents = worker.current().sender.agents_with_credentials()[:1]
    _fan_out("sync-products", 24 * 3600, agents)
