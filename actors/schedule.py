"""The periodic actors, scheduled by periodiq (run exactly one ``periodiq actors``).

* ``keep_syncs_fresh`` (every minute) keeps each agent's caches within a target age per list
  instead of syncing everything on a fixed cron: tighter for an agent who wrote something in
  the last hour, one sync for everyone of the catalogue (the same for all), nothing for an
  agent whose write is pending, and never more than ``ARCHIBOT_BACKGROUND_SYNCS_MAX``
  background syncs queued or running at once, so writes never wait behind a wall of them
  (the rest wait for the next tick). The rules are :func:`store.freshness.plan`; the targets
  are ``ARCHIBOT_FRESHNESS_*`` (minutes). A "skipped: unchanged" check is a fresh look too.
  It never runs a sync itself: it journals and sends one per stale list, so a requeued sync
  is never the periodic message (periodiq drops those older than its skip delay).
* ``resend_stuck`` re-sends a wake-up for every pending operation whose message may be
  lost (a flushed Redis, a worker killed before it re-enqueued); the worker that takes the
  agent's lease claims it — reconciling with the ERP first if an earlier attempt may have
  reached it. A duplicate wake-up costs nothing: the operation runs once, under the lease.
  Recovery does not rest on this: every worker process also sweeps (actors/sweeper.py).

A second scheduler started by mistake sends a second message per tick; the Redis key of the
period (``Client.claim_period``) lets only the first one act. The actors' names and crons
are periodiq's schedule. ``schedule_order_and_customer_syncs`` and ``schedule_products_sync``
(the fixed fan-out of earlier releases) are still actors, with no cron: a scheduler of the
previous release still running during a deploy sends them, and they run the freshness tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dramatiq
from periodiq import cron

from actors.services import WorkerProcess
from archibot.client import Client
from archibot.errors import ConfigError, InvalidOperation
from archibot.operations import CATALOGUE_SYNCS, SYNC_TYPES
from archibot.settings import Settings
from store.freshness import Freshness, Plan, Policy, Target, plan

log = logging.getLogger("archibot.schedule")

#: Pending this long without a change: its message may be lost.
DEFAULT_STUCK_AFTER_S = 90
#: The period key the freshness tick claims (one tick per period, whatever sends it).
FRESHNESS_PERIOD_NAME = "keep_syncs_fresh"


def freshness_policy(settings: Settings) -> Policy:
    """The targets of every sync type, read from ``ARCHIBOT_FRESHNESS_*`` and divided by
    ``ARCHIBOT_FRESHNESS_SPEEDUP``. A sync type's targets are ``freshness_<list>_min``, or
    ``freshness_<list>_active_min`` and ``..._idle_min`` (``sync-orders`` → ``orders``);
    ConfigError names the setting a new sync type lacks."""
    speedup = max(1, settings.freshness_speedup)
    targets = {op_type: _target(settings, op_type, speedup) for op_type in SYNC_TYPES}
    return Policy(
        targets=targets,
        shared=frozenset(CATALOGUE_SYNCS) & set(SYNC_TYPES),
        active_window_s=max(1, settings.freshness_active_window_min) * 60 / speedup,
        cap=max(0, settings.background_syncs_max),
    )


def _target(settings: Settings, op_type: str, speedup: int) -> Target:
    name = op_type.removeprefix("sync-").replace("-", "_")
    one = getattr(settings, f"freshness_{name}_min", None)
    active = getattr(settings, f"freshness_{name}_active_min", one)
    idle = getattr(settings, f"freshness_{name}_idle_min", one)
    if not isinstance(active, int) or not isinstance(idle, int):
        raise ConfigError(
            f"the sync type {op_type!r} has no freshness target: add freshness_{name}_min (or "
            f"freshness_{name}_active_min and freshness_{name}_idle_min) to archibot/settings.py"
        )
    return Target(active_s=max(1, active) * 60 / speedup, idle_s=max(1, idle) * 60 / speedup)


def keep_fresh(client: Client, settings: Settings | None = None) -> Plan | None:
    """One freshness tick: send the syncs that are due (see the module docstring); what it
    decided, or None when this period's tick already ran (another scheduler's message)."""
    settings = settings or client.settings
    if not client.claim_period(FRESHNESS_PERIOD_NAME, max(1, settings.freshness_tick_s)):
        log.info("periodic_duplicate name=%s (already ran this period)", FRESHNESS_PERIOD_NAME)
        return None
    policy = freshness_policy(settings)
    decided = plan(Freshness(client.db).snapshot(policy), policy)
    for due in decided.send:
        try:
            client.send(due.op_type, due.agent, {})
        except InvalidOperation as exc:  # the agent's credentials were removed meanwhile
            log.warning("freshness_send_refused agent=%s type=%s error=%s", due.agent, due.op_type, exc)
            continue
        overdue = "never_synced" if due.overdue_s == float("inf") else f"{due.overdue_s:.0f}"
        log.info("freshness_sync agent=%s type=%s overdue_s=%s", due.agent, due.op_type, overdue)
    if decided.send or decided.deferred:
        log.info("freshness_tick sent=%d deferred=%d busy_agents=%d", len(decided.send),
                 len(decided.deferred), len(decided.busy))
    return decided


def register(broker: dramatiq.Broker, process: WorkerProcess) -> dict[str, dramatiq.Actor[[], None]]:
    """Declare the periodic actors on ``broker``; actor name → actor."""

    def sender() -> Client:
        return process.require_services().sender

    def keep_syncs_fresh() -> None:
        """Every minute: a sync for each list older than its target, within the cap."""
        keep_fresh(sender(), process.settings)

    def schedule_order_and_customer_syncs() -> None:
        """An earlier release's 15-minute fan-out: now the freshness tick."""
        keep_fresh(sender(), process.settings)

    def schedule_products_sync() -> None:
        """An earlier release's nightly products sync: now the freshness tick."""
        keep_fresh(sender(), process.settings)

    def resend_stuck() -> None:
        """Re-send a wake-up for every pending operation untouched for a while."""
        client = sender()
        if not client.claim_period("resend_stuck", 60):
            log.info("periodic_duplicate name=resend_stuck (another scheduler sent it this minute)")
            return
        resent = client.resend_pending(DEFAULT_STUCK_AFTER_S)
        if resent:
            log.warning("resent_stuck count=%d", resent)

    schedule: list[tuple[Callable[[], None], str | None]] = [
        (keep_syncs_fresh, "* * * * *"),
        (resend_stuck, "* * * * *"),
        (schedule_order_and_customer_syncs, None),
        (schedule_products_sync, None),
    ]
    actors: dict[str, dramatiq.Actor[[], None]] = {}
    for fn, spec in schedule:
        options = {} if spec is None else {"periodic": cron(spec)}
        actors[fn.__name__] = dramatiq.actor(actor_name=fn.__name__, queue_name=process.settings.queue,
                                             broker=broker, **options)(fn)
    return actors
