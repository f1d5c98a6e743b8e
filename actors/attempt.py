"""Run one claimed operation: its in-flight mark, its limits, its session, its executor — and
journal how it ended (done here; any other end through actors/outcomes.py → endings.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import redis

from actors.agent_session import ensure_session, mark_seen, renew_session
from actors.endings import end, fail, give_up_reason, may_still_hold, why_giving_up
from actors.executors import executor_for
from actors.job import Attempt, Job
from actors.lock import Lease
from actors.login_budget import clear_wait
from actors.outcomes import Outcome, outcome_for
from actors.services import Services, WorkerState
from archibot import results
from archibot.keys import inflight_key
from archibot.logs import operation_context
from archibot.operations import OperationType, operation_type
from erp import steps
from erp.errors import SessionExpired
from erp.operations import marker_for
from erp.waits import leaving
from pool import AgentSession
from store.rows import Operation
from store.states import Phase

log = logging.getLogger("archibot.runtime")

#: How long stopping a failed attempt's page may take.
DEFAULT_QUIESCE_TIMEOUT_MS = 3_000
#: Extra life of the in-flight mark beyond the operation's own time limit.
DEFAULT_INFLIGHT_MARGIN_S = 600
#: An attempt's executor runs at most this often in a row: it may adopt the session another
#: process saved since, then log in.
DEFAULT_SESSION_TRIES = 3


async def execute(svc: Services, state: WorkerState, op: Operation, lease: Lease) -> None:
    """Run one claimed operation and journal how it ended; every log line inside carries
    the operation's id, agent, type, attempt and fence."""
    with operation_context(op_id=op.id, agent=op.agent, type=op.op_type, attempt=op.attempts,
                           fence=op.fence):
        a = Attempt(svc, state, op, lease, deaths=op.dead_claims)
        try:
            await _run(a)
        except BaseException as exc:
            outcome = outcome_for(exc)
            if outcome is None or (outcome is Outcome.HAND_BACK
                                   and op.id not in state.handing_back):
                raise  # not ours to end (a cancellation that is not the shutdown's, an exit)
            await end(a, outcome, exc)
        finally:
            state.committing.discard(op.id)
            state.handing_back.discard(op.id)
            if not a.keep_mark:
                await _clear_inflight(svc, op)


async def _run(a: Attempt) -> None:
    svc, state, op = a.svc, a.state, a.op
    settings = svc.settings
    started = time.monotonic()
    log.info("op_start op_id=%s agent=%s type=%s attempt=%d fence=%d phase=%s",
             op.id, op.agent, op.op_type, op.attempts, op.fence, op.phase)
    kind = operation_type(op.op_type)
    died_before = await _mark_inflight(svc, op, kind)
    if op.orphaned and died_before:
        a.deaths = await svc.db_call(svc.claims.count_death, op)
        log.warning("op_orphaned op_id=%s agent=%s deaths=%d (its worker died under it)",
                    op.id, op.agent, a.deaths)
    poison = a.deaths >= settings.max_worker_deaths
    a.spent_s = await svc.db_call(svc.claims.transient_for_s, op) if op.attempts > 1 else 0.0
    verify_only = poison or a.spent_s >= settings.retry_budget_s
    if verify_only and not may_still_hold(op):
        why = why_giving_up(a, poison, a.deaths, a.spent_s)
        await fail(a, give_up_reason(op, why, op.last_error))
        return
    if poison and a.deaths >= settings.max_worker_deaths + 2:
        await fail(a, (
            f"poison: it killed its worker {a.deaths} times, also while only looking for "
            f"the effect of its save (phase {op.phase}); the ERP MAY hold it — look for "
            f"marker {marker_for(op.id)} before sending it again"))
        return
    # The limit grows with the order's lines (a 40-line order takes ~17 min on the live
    # ERP); the agent's lease is renewed by its own task all along.
    timings = steps.StepTimings()
    task = asyncio.ensure_future(asyncio.wait_for(
        steps.recording(timings, _in_session(a, kind, verify_only)),
        timeout=kind.time_limit_for(settings, op.payload)))
    state.running[op.id] = task
    try:
        result = await task
    finally:
        state.running.pop(op.id, None)
    # Where this attempt's time went in the browser (erp/steps.py), beside what it did.
    result = {**result, steps.RESULT_FIELD: timings.to_json()}
    await svc.db_call(svc.claims.finish, op, results.checked(kind.result, result))
    await svc.breaker.success()
    log.info("op_done op_id=%s agent=%s type=%s ms=%d write=%s", op.id, op.agent,
             op.op_type, (time.monotonic() - started) * 1000, kind.is_write)


async def _mark_inflight(svc: Services, op: Operation, kind: OperationType) -> bool:
    """Mark ``op`` in flight here; True if a previous holder's mark was still there (it died)."""
    ttl_ms = (kind.time_limit_for(svc.settings, op.payload) + DEFAULT_INFLIGHT_MARGIN_S) * 1000
    previous = await svc.redis.set(inflight_key(op.id), svc.name, px=ttl_ms, get=True)
    return previous is not None


async def _clear_inflight(svc: Services, op: Operation) -> None:
    try:
        await svc.redis.delete(inflight_key(op.id))
    except redis.RedisError:
        log.warning("inflight_clear_failed op_id=%s", op.id)


async def _in_session(a: Attempt, kind: OperationType, verify_only: bool) -> dict[str, Any]:
    """Run the executor in the agent's browser context, logged in; re-login once if expired."""
    svc, op = a.svc, a.op
    executor = executor_for(kind)
    if op.phase == Phase.ABOUT_TO_COMMIT:
        # An earlier holder clicked (or was about to click) the save; a slow ERP may still be
        # committing it. Let it settle before looking for its effect — timed on the
        # database's clock, which every worker shares.
        left_s = await svc.db_call(svc.claims.settle_left_s, op.id, svc.settings.commit_settle_s)
        if left_s > 0:
            log.info("op_settle op_id=%s wait_s=%.1f", op.id, left_s)
            await asyncio.sleep(left_s)
    async with svc.pool.context(op.agent) as session:
        try:
            await ensure_session(svc, session)
            await clear_wait(svc, op)
            reconcile = op.needs_reconcile or verify_only
            for attempt in range(DEFAULT_SESSION_TRIES):
                job = Job(svc, a.state, op, a.lease, session.page, reconcile=reconcile,
                          verify_only=verify_only)
                try:
                    result = await executor(job)
                    await mark_seen(svc, session)
                    return result
                except SessionExpired:
                    if attempt == DEFAULT_SESSION_TRIES - 1:
                        raise
                    log.info("session_expired op_id=%s agent=%s", op.id, op.agent)
                    await renew_session(svc, session)
                    # If the save may have been clicked, look for its effect before redoing it.
                    reconcile = reconcile or job.reached_commit
        except BaseException:
            await _quiesce(session)
            raise
    raise AssertionError("unreachable")


async def _quiesce(session: AgentSession) -> None:
    """Stop whatever the agent's page still has in flight after a failed attempt.

    A navigation or a callback left running (a timeout, a crash of our side) would go on
    under the agent's ERP session while the next holder — maybe another process, with the
    same session cookies — starts: two requests of one session at once.
    """
    with contextlib.suppress(BaseException):
        # Leaving an unsaved order form asks first (beforeunload): confirm it, or the page
        # stays blocked on the dialog for the next holder.
        async with leaving(session.page):
            await asyncio.shield(asyncio.wait_for(
                session.page.goto("about:blank", {"timeout": DEFAULT_QUIESCE_TIMEOUT_MS}),
                DEFAULT_QUIESCE_TIMEOUT_MS / 1000,
            ))
