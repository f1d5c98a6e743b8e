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
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from actors.lock import DEFAULT_LOCK_PREFIX

if TYPE_CHECKING:
    from actors.worker import WorkerContext

log = logging.getLogger("archibot.sweeper")

DEFAULT_SWEEP_KEY = "archibot:sweep"


async def take_turn(redis: Any, key: str, holder: str, for_s: float) -> bool:
    """True for the one process of all that takes `key` first in each period of `for_s`."""
    return bool(await redis.set(key, holder, nx=True, px=max(1, int(for_s * 1000))))
#: How often the loop wakes up (the breaker's probes are spaced by their own backoff).
DEFAULT_TICK_S = 2.0
#: The longest one step of the loop (a probe, a sweep) may take.
DEFAULT_STEP_TIMEOUT_S = 60.0
#: An idle agent's next operation untouched this long may have lost its message: wake it.
#: (A busy agent's queue is drained by its holder; an orphan is found by its lease.)
DEFAULT_STUCK_AFTER_S = 30


class Sweeper:
    """The housekeeping loop of one worker process (started and stopped with its context)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.sweeps = 0

    async def run(self) -> None:
        """Loop until the worker stops; errors are logged, never fatal."""
        ctx = self.ctx
        next_sweep = 0.0
        while not ctx.stopping:
            await asyncio.sleep(DEFAULT_TICK_S)
            try:
                # Bounded: one stuck call must not end this process's housekeeping.
                if await asyncio.wait_for(ctx.breaker.probe(), DEFAULT_STEP_TIMEOUT_S):
                    await asyncio.wait_for(self.erp_is_back(), DEFAULT_STEP_TIMEOUT_S)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + ctx.settings.sweep_interval_s
                    if await self._my_turn():
                        await asyncio.wait_for(self.sweep(), DEFAULT_STEP_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Redis or PostgreSQL down: the next tick tries again)
                log.warning("sweep_failed error=%r", exc)

    async def _my_turn(self) -> bool:
        assert self.ctx.redis is not None
        interval_s = self.ctx.settings.sweep_interval_s * 0.9
        return await take_turn(self.ctx.redis, DEFAULT_SWEEP_KEY, self.ctx.name, interval_s)

    async def sweep(self) -> int:
        """Re-send wake-ups for orphaned and stuck operations; how many."""
        ctx = self.ctx
        assert ctx.redis is not None
        self.sweeps += 1
        running = await ctx.db_call(ctx.journal.orphan_candidates)
        orphans: list[tuple[str, str]] = []
        if running:
            pipe = ctx.redis.pipeline(transaction=False)
            for row in running:
                pipe.exists(DEFAULT_LOCK_PREFIX + str(row["agent"]))
            for row, exists in zip(running, await pipe.execute(), strict=True):
                if not exists:
                    orphans.append((str(row["id"]), str(row["op_type"])))
        stuck = await ctx.db_call(ctx.journal.stuck_heads, DEFAULT_STUCK_AFTER_S)
        targets = dict(orphans)
        targets.update({str(r["id"]): str(r["op_type"]) for r in stuck})
        for op_id, op_type in targets.items():
            await ctx.db_call(ctx.sender.wake, op_type, op_id)
        if targets:
            log.warning("sweep_resent orphans=%d stuck=%d", len(orphans), len(stuck))
        return len(targets)

    async def erp_is_back(self) -> None:
        """The breaker closed: operations waiting out a transient backoff run now."""
        ctx = self.ctx
        woken = await ctx.db_call(ctx.journal.wake_transient, ctx.settings.commit_settle_s)
        heads = await ctx.db_call(ctx.journal.ready_heads)
        for row in heads:
            await ctx.db_call(ctx.sender.wake, str(row["op_type"]), str(row["id"]))
        log.warning("erp_back made_ready=%d woken_agents=%d", woken, len(heads))
