"""Each worker process's housekeeping: probe the ERP when its breaker is open, and re-send
wake-ups for operations whose worker died or whose message was lost.

Recovery must not rest on the scheduler (periodiq has no leader election and may not run)
nor on Dramatiq's redelivery (only after its heartbeat timeout, only during random
maintenance). Every worker process runs this loop; a Redis key lets one of them sweep per
interval. An operation journaled ``running`` whose agent has no lease in Redis lost its
worker: its wake-up goes out within an interval of the lease expiring. An agent with
nothing running whose next ready operation has waited a while gets one wake-up (a worker
that takes it drains the agent's queue). A spare wake-up costs little — the operation runs
once, under its agent's lease — but a wake-up per waiting operation would flood a burst.
Every few minutes one process also prunes the journal's old ended rows (store/retention.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING

from actors.periodic import Periodic, take_turn
from archibot.keys import PRUNE_KEY, SWEEP_KEY
from store.retention import Retention

if TYPE_CHECKING:
    from actors.services import Services, WorkerState

log = logging.getLogger("archibot.sweeper")

#: How often the loop wakes up (the breaker's probes are spaced by their own backoff).
DEFAULT_TICK_S = 2.0
#: The longest one step of the loop (a probe, a sweep) may take.
DEFAULT_STEP_TIMEOUT_S = 60.0
#: An idle agent's next operation untouched this long may have lost its message: wake it.
#: (A busy agent's queue is drained by its holder; an orphan is found by its lease.)
DEFAULT_STUCK_AFTER_S = 30
#: How often one process prunes the journal's old ended rows (a bounded number of batches
#: per turn: a backlog drains over several turns, never in one long statement).
PRUNE_INTERVAL_S = 300


class Sweeper:
    """The housekeeping loop of one worker process (:attr:`loop`, started with its services)."""

    def __init__(self, services: Services, state: WorkerState) -> None:
        self.services = services
        self.state = state
        self.sweeps = 0
        self._next_sweep = 0.0
        self._next_prune = 0.0
        self._retention = Retention(services.db)
        # Each of the tick's calls is bounded by itself: one stuck call must not end this
        # process's housekeeping, nor hold up the others.
        self.loop = Periodic("sweep", self.tick, tick_s=DEFAULT_TICK_S,
                             stopping=lambda: state.stopping, step_timeout_s=None, logger=log)

    async def tick(self) -> None:
        """Probe the ERP if its breaker is open; sweep when an interval is up and it is our turn."""
        services = self.services
        if await asyncio.wait_for(services.breaker.probe(), DEFAULT_STEP_TIMEOUT_S):
            await asyncio.wait_for(self.erp_is_back(), DEFAULT_STEP_TIMEOUT_S)
        if time.monotonic() >= self._next_sweep:
            interval_s = services.settings.sweep_interval_s
            self._next_sweep = time.monotonic() + interval_s
            if await take_turn(services.redis, SWEEP_KEY, services.name, interval_s * 0.9):
                await asyncio.wait_for(self.sweep(), DEFAULT_STEP_TIMEOUT_S)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_INTERVAL_S
            if await take_turn(services.redis, PRUNE_KEY, services.name, PRUNE_INTERVAL_S * 0.9):
                await asyncio.wait_for(self.prune(), DEFAULT_STEP_TIMEOUT_S)

    async def sweep(self) -> int:
        """Re-send wake-ups for orphaned and stuck operations (``Client.wake_lost``, as
        ``archibot resend`` does); how many."""
        services = self.services
        self.sweeps += 1
        targets = await services.db_call(
            functools.partial(services.sender.wake_lost, DEFAULT_STUCK_AFTER_S, only_free_slots=True,
                              recent_orphans_leased=True))
        if targets:
            orphans = sum(1 for w in targets if w.orphan)
            log.warning("sweep_resent orphans=%d stuck=%d", orphans, len(targets) - orphans)
        return len(targets)

    async def prune(self) -> int:
        """Delete the journal's ended rows older than its retention (store/retention.py); how many."""
        settings = self.services.settings
        pruned = await self.services.db_call(functools.partial(
            self._retention.prune, settings.journal_retention_days,
            key_retention_s=settings.idempotency_retention_s))
        if pruned.deleted:
            log.info("journal_pruned rows=%d more=%s", pruned.deleted, pruned.more)
        return int(pruned.deleted)

    async def erp_is_back(self) -> None:
        """The breaker closed: operations waiting out a transient backoff run now."""
        services = self.services
        recovery = services.recovery
        woken = await services.db_call(recovery.wake_transient, services.settings.commit_settle_s)
        heads = await services.db_call(recovery.ready_heads)
        for row in heads:
            await services.db_call(services.sender.wake, str(row["op_type"]), str(row["id"]))
        log.warning("erp_back made_ready=%d woken_agents=%d", woken, len(heads))
