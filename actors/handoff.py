"""How a worker picks the work it runs: lock → claim → attempt, agent after agent.

Every operation actor hands its operation id to :func:`handle`. The worker takes the agent's
lease and then drains the agent's queue from the journal — the oldest pending write first
(per-agent FIFO), else a ready sync — so the agent's next operation starts the moment the
last one ends (fast handoff) without polling Redis. Messages are only wake-ups: one whose
operation another worker already ran is dropped. How each attempt runs and ends is
actors/attempt.py's business.
"""

from __future__ import annotations

import logging
import uuid

from dramatiq.middleware import CurrentMessage

from actors.attempt import execute
from actors.errors import AgentBusy, LockLost, WorkerStopping
from actors.services import Services, WorkerProcess, WorkerState
from store.states import TERMINAL

log = logging.getLogger("archibot.runtime")


async def run_message(process: WorkerProcess, op_id: str) -> None:
    """What every operation actor does with its message: :func:`handle` it.

    The lock token names the message (its id), as the design asks.
    """
    svc = process.services
    if svc is None or process.state.stopping:
        raise WorkerStopping(op_id)
    message = CurrentMessage.get_current_message()
    await handle(svc, process.state, op_id,
                 message.message_id if message is not None else new_token())


async def handle(svc: Services, state: WorkerState, op_id: str, token: str) -> None:
    """Wake up for operation ``op_id``: run free agents' queues while there are any.

    A message is a wake-up, not an assignment. The worker takes the free agent
    with the most pending work (longest first keeps a burst's tail short) —
    the message's own agent when nothing bigger waits — drains that agent's
    queue, and goes on with the next free agent until none is left. Raises
    AgentBusy when the message's own operation is still pending behind a busy
    agent: the requeue middleware backs it off (the safety net should the
    holder die; normally the holder drains it first). While the ERP's breaker is
    open nothing is claimed: the message is dropped, and the operation is woken
    again when the breaker closes.
    """
    claims = svc.claims
    row = await svc.db_call(claims.get, op_id)
    if row is None or row.status in TERMINAL:
        log.debug("op_skipped op_id=%s reason=finished_or_unknown", op_id)
        return
    if await svc.breaker.is_open():
        log.info("op_deferred op_id=%s reason=erp_breaker_open", op_id)
        return
    own_agent = row.agent
    if not svc.settings.handoff:
        await _run_only(svc, state, own_agent, op_id, token)
        return
    tried: set[str] = set()
    own_busy = False
    rounds = 0
    while not state.stopping:
        if rounds and await svc.breaker.is_open():
            break  # the ERP went down meanwhile: claim nothing more; its return wakes the rest
        rounds += 1
        candidates = [a for a in await svc.db_call(claims.free_agents_by_work) if a not in tried]
        if own_agent not in tried:
            # Last: the picker calls an agent with an orphaned 'running' row busy; only its lock tells.
            candidates.append(own_agent)
        ran = False
        for agent in candidates:
            tried.add(agent)
            try:
                ran = await drain(svc, state, agent, token, op_id)
            except AgentBusy:
                own_busy = own_busy or agent == own_agent
                continue
            if ran:
                tried.discard(agent)  # it may have more work later in this wake-up
                break
        if not ran:
            break
    if state.stopping and not await svc.db_call(claims.is_finished, op_id):
        raise WorkerStopping(op_id)
    if own_busy and not await svc.db_call(claims.is_finished, op_id):
        raise AgentBusy(own_agent, op_id)


def _may_claim(state: WorkerState) -> bool:
    return not state.stopping and state.unhealthy is None


async def drain(svc: Services, state: WorkerState, agent: str, token: str, op_id: str) -> bool:
    """Hold the agent's lease and run their operations until none is ready; whether any ran.

    Raises AgentBusy only if the lease could not be taken at all. Every claim first
    re-checks the lease (a worker paused past it claims nothing) and the ERP's breaker.
    """
    claims = svc.claims
    first = True
    ran = False
    while True:
        floor = await svc.db_call(claims.max_fence, agent)
        try:
            async with svc.lock.held(agent, token, op_id, floor) as lease:
                while not lease.lost and _may_claim(state):
                    if ran and await svc.breaker.is_open():
                        break
                    await svc.lock.check(lease)
                    op = await svc.db_call(claims.claim_next, agent, lease.fence, svc.name)
                    if op is None:
                        break
                    ran = True
                    await execute(svc, state, op, lease)
        except AgentBusy:
            if first:
                raise
            return ran  # the new holder drains what is left
        except LockLost as exc:
            log.warning("drain_stopped agent=%s reason=%s", agent, exc)
            return ran
        first = False
        # An operation sent while we held the lease saw "busy" and waits out a backoff;
        # take it now rather than after the rest of that backoff. (Not while the ERP's
        # breaker is open: that would spin on the lease.)
        if (not _may_claim(state) or not ran or await svc.breaker.is_open()
                or not await svc.db_call(claims.has_ready, agent)):
            return ran


async def _run_only(svc: Services, state: WorkerState, agent: str, op_id: str, token: str) -> None:
    """Without fast handoff: run this message's operation only, when it is the agent's turn."""
    floor = await svc.db_call(svc.claims.max_fence, agent)
    async with svc.lock.held(agent, token, op_id, floor) as lease:
        op = await svc.db_call(svc.claims.claim_next, agent, lease.fence, svc.name, op_id)
        if op is None:
            raise AgentBusy(agent, op_id)  # not its turn yet (FIFO): back off
        await execute(svc, state, op, lease)


def new_token() -> str:
    """A lock token for work that has no message (tests, tools)."""
    return f"tool-{uuid.uuid4().hex}"
