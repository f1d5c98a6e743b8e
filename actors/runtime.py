"""How a worker runs an agent's operations: lock → claim → session → erp → journal.

Every actor hands its operation id to :func:`handle`. The worker takes the
agent's lease and then drains the agent's queue from the journal — the oldest
pending write first (per-agent FIFO), else a ready sync — so the agent's next
operation starts the moment the last one ends (fast handoff) without polling
Redis. Messages are only wake-ups: one whose operation another worker already
ran is dropped.

How an attempt ends decides what happens next:

* done, or refused by the ERP (a business rule, a rejected login): terminal at once;
* transient (ERP 5xx, timeouts, refused connections, a crashed browser, PostgreSQL or
  Redis trouble): back to the queue with a capped backoff, for as long as the retry
  budget (``ARCHIBOT_RETRY_BUDGET_S``) lasts — timed on the database's clock;
* this worker's own trouble (no Chromium, a broken profile) or its shutdown: handed back
  without using an attempt; an unhealthy worker then stops and says why;
* only what the operation itself causes is counted: an unexpected error
  (``ARCHIBOT_MAX_ATTEMPTS``) and claims whose worker died under it
  (``ARCHIBOT_MAX_WORKER_DEATHS``, poison).

A write that reached its save (``about_to_commit``) never ends ``failed`` before the ERP
had ``commit_settle_s`` to commit it and a look found no effect: when it must give up it
runs once more in verify-only mode, where reaching the save again means "the ERP does not
hold it" — and while the ERP cannot be read it stays queued, retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage

from actors import browser, login_budget, worker
from actors.errors import (
    AgentBusy,
    DependencyFailed,
    ErpDown,
    LockLost,
    LoginBlocked,
    LoginBudgetSpent,
    NotCommitted,
    SyncCancelled,
    SyncPreempted,
    WorkerStopping,
)
from actors.executors import EXECUTORS, Executor
from actors.lock import Lease
from actors.worker import WorkerContext
from archibot.backoff import compute_backoff_ms
from archibot.client import make_message
from archibot.errors import InvalidOperation
from archibot.logs import operation_context
from archibot.operations import operation_type
from erp.errors import (
    ErpRejected,
    ErpUnavailable,
    LoginRejected,
    LoginThrottled,
    LoginUnreached,
    SessionExpired,
)
from erp.session import login
from erp.waits import leaving
from pool import AgentSession, PoolError, export_cookies, import_cookies
from pool.errors import ChromiumNotFound, LaunchFailed
from store.agents import LOGIN_POSTED, LOGIN_REJECTED, LOGIN_THROTTLED, LOGIN_UNREACHED
from store.errors import CredentialsUnreadable, StaleFence, StoreError, UnknownAgent
from store.journal import TERMINAL, Operation

log = logging.getLogger("archibot.runtime")

#: A transient failure's retry waits base·2^n ms, capped at ``settings.retry_max_ms``.
DEFAULT_RETRY_BASE_MS = 1_000
#: Marks an operation in flight in this worker; found by the next claim, it means the
#: worker died under the operation (its holder never reached the end of execute()).
DEFAULT_INFLIGHT_PREFIX = "archibot:inflight:"
#: How long stopping a failed attempt's page may take.
DEFAULT_QUIESCE_TIMEOUT_MS = 3_000
#: Extra life of the in-flight mark beyond the operation's own time limit.
DEFAULT_INFLIGHT_MARGIN_S = 600
#: How often, at most, an agent's use of their ERP session is recorded for the keep-alive.
DEFAULT_SEEN_MARK_S = 60

@dataclass
class Job:
    """One attempt of one operation, as an executor sees it (implements erp Hooks)."""

    ctx: WorkerContext
    op: Operation
    lease: Lease
    page: Any
    reconcile: bool
    reached_commit: bool = field(default=False)
    #: Only look for the effect of earlier attempts: reaching the save means there is none.
    verify_only: bool = field(default=False)

    async def before_commit(self) -> None:
        """Re-check the lease and journal ``about_to_commit`` before the irreversible click."""
        if self.verify_only:
            raise NotCommitted(f"operation {self.op.id}: no trace of an earlier save in the ERP")
        await self.ctx.lock.check(self.lease)
        if self.ctx.stopping and self.op.id in self.ctx.handing_back:
            raise asyncio.CancelledError()
        self.ctx.committing.add(self.op.id)
        self.reached_commit = True
        await self.ctx.db_call(self.ctx.journal.set_phase, self.op, "about_to_commit")
        _maybe_crash(self.ctx, self.op, "before_click")

    async def after_click(self) -> None:
        """The irreversible click was dispatched; its response is not in yet."""
        _maybe_crash(self.ctx, self.op, "after_click")

    async def checkpoint(self, point: str) -> None:
        """A named point of an order write (``after_line_1``, ``before_save_close``)."""
        _maybe_crash(self.ctx, self.op, point)

    @property
    def dom_node_budget(self) -> int:
        """Reload an order form past this many DOM nodes (``ARCHIBOT_DOM_NODE_BUDGET``)."""
        return self.ctx.settings.dom_node_budget

    async def committed(self) -> None:
        """Journal that the ERP holds the effect."""
        _maybe_crash(self.ctx, self.op, "before_journal")
        await self.ctx.db_call(self.ctx.journal.set_phase, self.op, "erp_committed")

    async def progress(self, info: dict[str, Any]) -> None:
        """Journal progress."""
        await self.ctx.db_call(self.ctx.journal.set_progress, self.op, info)


async def run_message(op_id: str) -> None:
    """What every operation actor does with its message: :func:`handle` it.

    The lock token names the message (its id), as the design asks.
    """
    ctx = worker.current_or_none()
    if ctx is None or ctx.stopping:
        raise WorkerStopping(op_id)
    message = CurrentMessage.get_current_message()
    await handle(ctx, op_id, message.message_id if message is not None else new_token())


async def handle(ctx: WorkerContext, op_id: str, token: str) -> None:
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
    row = await ctx.db_call(ctx.journal.get, op_id)
    if row is None or row["status"] in TERMINAL:
        log.debug("op_skipped op_id=%s reason=finished_or_unknown", op_id)
        return
    if await ctx.breaker.is_open():
        log.info("op_deferred op_id=%s reason=erp_breaker_open", op_id)
        return
    own_agent = str(row["agent"])
    if not ctx.settings.handoff:
        await _run_only(ctx, own_agent, op_id, token)
        return
    tried: set[str] = set()
    own_busy = False
    rounds = 0
    while not ctx.stopping:
        if rounds and await ctx.breaker.is_open():
            break  # the ERP went down meanwhile: claim nothing more; its return wakes the rest
        rounds += 1
        candidates = [a for a in await ctx.db_call(ctx.journal.free_agents_by_work) if a not in tried]
        if own_agent not in tried:
            # Last: the picker calls an agent with an orphaned 'running' row busy; only its lock tells.
            candidates.append(own_agent)
        ran = False
        for agent in candidates:
            tried.add(agent)
            try:
                ran = await drain(ctx, agent, token, op_id)
            except AgentBusy:
                own_busy = own_busy or agent == own_agent
                continue
            if ran:
                tried.discard(agent)  # it may have more work later in this wake-up
                break
        if not ran:
            break
    if ctx.stopping and not await ctx.db_call(ctx.journal.is_finished, op_id):
        raise WorkerStopping(op_id)
    if own_busy and not await ctx.db_call(ctx.journal.is_finished, op_id):
        raise AgentBusy(own_agent, op_id)


def _may_claim(ctx: WorkerContext) -> bool:
    return not ctx.stopping and ctx.unhealthy is None


async def drain(ctx: WorkerContext, agent: str, token: str, op_id: str) -> bool:
    """Hold the agent's lease and run their operations until none is ready; whether any ran.

    Raises AgentBusy only if the lease could not be taken at all. Every claim first
    re-checks the lease (a worker paused past it claims nothing) and the ERP's breaker.
    """
    first = True
    ran = False
    while True:
        floor = await ctx.db_call(ctx.journal.max_fence, agent)
        try:
            async with ctx.lock.held(agent, token, op_id, floor) as lease:
                while not lease.lost and _may_claim(ctx):
                    if ran and await ctx.breaker.is_open():
                        break
                    await ctx.lock.check(lease)
                    op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name)
                    if op is None:
                        break
                    ran = True
                    await execute(ctx, op, lease)
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
        if (not _may_claim(ctx) or not ran or await ctx.breaker.is_open()
                or not await ctx.db_call(ctx.journal.has_ready, agent)):
            return ran


async def _run_only(ctx: WorkerContext, agent: str, op_id: str, token: str) -> None:
    """Without fast handoff: run this message's operation only, when it is the agent's turn."""
    floor = await ctx.db_call(ctx.journal.max_fence, agent)
    async with ctx.lock.held(agent, token, op_id, floor) as lease:
        op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name, op_id)
        if op is None:
            raise AgentBusy(agent, op_id)  # not its turn yet (FIFO): back off
        await execute(ctx, op, lease)


async def _mark_inflight(ctx: WorkerContext, op: Operation) -> bool:
    """Mark ``op`` in flight here; True if a previous holder's mark was still there (it died)."""
    assert ctx.redis is not None
    ttl_ms = (ctx.settings.op_time_limit_s(op.op_type, op.payload) + DEFAULT_INFLIGHT_MARGIN_S) * 1000
    previous = await ctx.redis.set(DEFAULT_INFLIGHT_PREFIX + op.id, ctx.name, px=ttl_ms, get=True)
    return previous is not None


async def _clear_inflight(ctx: WorkerContext, op: Operation) -> None:
    assert ctx.redis is not None
    try:
        await ctx.redis.delete(DEFAULT_INFLIGHT_PREFIX + op.id)
    except redis.RedisError:
        log.warning("inflight_clear_failed op_id=%s", op.id)


async def execute(ctx: WorkerContext, op: Operation, lease: Lease) -> None:
    """Run one claimed operation and journal how it ended; every log line inside carries
    the operation's id, agent, type, attempt and fence."""
    with operation_context(op_id=op.id, agent=op.agent, type=op.op_type, attempt=op.attempts,
                           fence=op.fence):
        await _execute(ctx, op, lease)


async def _execute(ctx: WorkerContext, op: Operation, lease: Lease) -> None:
    journal = ctx.journal
    started = time.monotonic()
    log.info("op_start op_id=%s agent=%s type=%s attempt=%d fence=%d phase=%s",
             op.id, op.agent, op.op_type, op.attempts, op.fence, op.phase)
    keep_mark = False
    deaths = op.dead_claims
    spent_s = 0.0
    try:
        died_before = await _mark_inflight(ctx, op)
        deaths = op.dead_claims
        if op.orphaned and died_before:
            deaths = await ctx.db_call(journal.count_death, op)
            log.warning("op_orphaned op_id=%s agent=%s deaths=%d (its worker died under it)",
                        op.id, op.agent, deaths)
        executor = EXECUTORS.get(op.op_type)
        if executor is None:
            await ctx.db_call(journal.fail, op, f"operation type {op.op_type!r} is not supported by this worker")
            return
        kind = operation_type(op.op_type)
        poison = deaths >= ctx.settings.max_worker_deaths
        spent_s = await ctx.db_call(journal.transient_for_s, op) if op.attempts > 1 else 0.0
        verify_only = poison or spent_s >= ctx.settings.retry_budget_s
        if verify_only and not await _may_still_hold(op):
            await _fail(ctx, op, _give_up_reason(op, _why(ctx, poison, deaths, spent_s), op.last_error))
            return
        if poison and deaths >= ctx.settings.max_worker_deaths + 2:
            await _fail(ctx, op, (
                f"poison: it killed its worker {deaths} times, also while only looking for "
                f"the effect of its save (phase {op.phase}); the ERP MAY hold it — look for "
                f"marker AB-{op.id.replace('-', '')} before sending it again"))
            return
        # The limit grows with the order's lines (a 40-line order takes ~17 min on the live
        # ERP); the agent's lease is renewed by its own task all along.
        task = asyncio.ensure_future(asyncio.wait_for(
            _in_session(ctx, op, lease, executor, verify_only),
            timeout=ctx.settings.op_time_limit_s(op.op_type, op.payload),
        ))
        ctx.running[op.id] = task
        try:
            result = await task
        finally:
            ctx.running.pop(op.id, None)
        await ctx.db_call(journal.finish, op, result)
        await ctx.breaker.success()
        log.info("op_done op_id=%s agent=%s type=%s ms=%d write=%s", op.id, op.agent,
                 op.op_type, (time.monotonic() - started) * 1000, kind.is_write)
    except asyncio.CancelledError:
        if op.id not in ctx.handing_back:
            raise
        await _hand_back(ctx, op, lease, "the worker stopped before the operation reached a safe point")
    except SyncPreempted as exc:
        reason = "worker_stopping" if ctx.stopping else "write_waiting"
        log.info("sync_preempted op_id=%s agent=%s reason=%s progress=%s", op.id, op.agent, reason,
                 exc.progress)
        try:
            await ctx.db_call(journal.requeue_preempted, op, exc.progress)
        except StaleFence as stale:
            lease.lost = True
            log.warning("op_abandoned op_id=%s reason=%s", op.id, stale)
    except SyncCancelled as exc:
        log.info("sync_cancelled op_id=%s agent=%s progress=%s", op.id, op.agent, exc.progress)
        try:
            await ctx.db_call(journal.mark_cancelled, op, exc.progress)
        except StaleFence as stale:
            lease.lost = True
            log.warning("op_abandoned op_id=%s reason=%s", op.id, stale)
    except (LockLost, StaleFence) as exc:
        # The lease passed to another worker, which will reconcile; record nothing more.
        lease.lost = True
        keep_mark = True
        log.warning("op_abandoned op_id=%s agent=%s reason=%s", op.id, op.agent, exc)
    except NotCommitted:
        deaths = max(deaths, op.dead_claims)
        await _fail(ctx, op, _give_up_reason(
            op, _why(ctx, deaths >= ctx.settings.max_worker_deaths, deaths, spent_s), op.last_error))
    except LoginRejected as exc:
        error = (f"the ERP refused the login of agent {op.agent!r}: {exc}. Their login breaker is "
                 f"open (no more logins) until the password is stored again: "
                 f"archibot agents add {op.agent}")
        await _quietly(ctx.db_call(ctx.agents.reject_login, op.agent, str(exc)))
        log.warning("login_breaker_open agent=%s", op.agent)
        await _fail(ctx, op, error)
    except LoginBudgetSpent as exc:
        # Not a failure and no attempt used: it waits, queued, for the login budget.
        await login_budget.wait(ctx, op, lease, exc)
    except (LoginBlocked, DependencyFailed, UnknownAgent, CredentialsUnreadable,
            InvalidOperation) as exc:
        await _fail(ctx, op, str(exc))
    except ErpRejected as exc:
        where = f" (field {exc.field})" if exc.field else ""
        await _fail(ctx, op, f"the ERP rejected the operation{where}: {exc.erp_message}")
    except (ChromiumNotFound, LaunchFailed) as exc:
        # This worker's trouble, not the operation's: hand it back, stop, say why.
        ctx.unhealthy = f"{type(exc).__name__}: {exc}"
        log.error("worker_unhealthy worker=%s reason=%s (it stops taking work and exits)",
                  ctx.name, ctx.unhealthy)
        await _hand_back(ctx, op, lease, f"worker {ctx.name} cannot run a browser: {exc}")
        browser.stop_this_worker()
    except TimeoutError:
        limit_s = ctx.settings.op_time_limit_s(op.op_type, op.payload)
        await _quietly(ctx.breaker.transport_error(op.agent, "timeout"))
        await _retry_transient(ctx, op, f"timed out after {limit_s} s (ARCHIBOT_OP_TIMEOUTS, "
                                        "ARCHIBOT_OP_TIMEOUT_PER_LINE_S)")
    except ErpDown as exc:
        await _wait_for_erp(ctx, op, lease, str(exc))
    except LoginUnreached as exc:
        # The login page did not answer: is the ERP down? A probe says at once; if so, this
        # and every other agent's login waits for it to return instead of trying again.
        # (Without Redis nobody can tell: the usual backoff then.)
        try:
            down = await ctx.breaker.transport_error(op.agent, str(exc), confirm_now=True)
        except redis.RedisError:
            down = False
        if down:
            await _wait_for_erp(ctx, op, lease, _describe(exc))
        else:
            await _retry_transient(ctx, op, _describe(exc))
    except ErpUnavailable as exc:
        await _quietly(ctx.breaker.transport_error(op.agent, str(exc)))
        await _retry_transient(ctx, op, _describe(exc))
    except (SessionExpired, PoolError, StoreError, redis.RedisError) as exc:
        await _retry_transient(ctx, op, _describe(exc))
    except Exception as exc:  # a bug or an untranslated library error: a bounded count
        log.exception("op_error op_id=%s agent=%s", op.id, op.agent)
        error = f"unexpected error: {_describe(exc)}"
        if op.attempts >= ctx.settings.max_attempts:
            await _give_up(ctx, op, f"gave up after {op.attempts} attempts (ARCHIBOT_MAX_ATTEMPTS): {error}")
        else:
            await _retry_transient(ctx, op, error)
    finally:
        ctx.committing.discard(op.id)
        ctx.handing_back.discard(op.id)
        if not keep_mark:
            await _clear_inflight(ctx, op)


async def _may_still_hold(op: Operation) -> bool:
    """Whether an earlier attempt of ``op`` may have left its effect in the ERP."""
    return op.is_write and op.phase in ("about_to_commit", "erp_committed")


def _why(ctx: WorkerContext, poison: bool, deaths: int, spent_s: float) -> str:
    if poison:
        return f"poison: its worker died under it {deaths} times (ARCHIBOT_MAX_WORKER_DEATHS)"
    if spent_s > 1e9:  # the budget was spent on purpose (see Journal.spend_budget)
        return f"more than ARCHIBOT_MAX_ATTEMPTS={ctx.settings.max_attempts} unexpected errors"
    return (f"transient errors for {spent_s:.0f} s, more than the retry budget "
            f"(ARCHIBOT_RETRY_BUDGET_S={ctx.settings.retry_budget_s})")


def _give_up_reason(op: Operation, why: str, last: str | None) -> str:
    """The error of a write that gives up: whether the ERP holds it, then why."""
    if not op.is_write:
        return f"gave up: {why}"
    if op.phase in ("about_to_commit", "erp_committed"):
        holds = ("the ERP does not hold it: after its save had time to settle, a look in the "
                 "ERP found no trace of it")
    else:
        holds = "the ERP does not hold it: no attempt reached the save"
    return f"{holds}; gave up: {why}" + (f"; last error: {last}" if last else "")


async def _hand_back(ctx: WorkerContext, op: Operation, lease: Lease, reason: str) -> None:
    try:
        await ctx.db_call(ctx.journal.hand_back, op, reason)
    except StaleFence as exc:
        lease.lost = True
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)
        return
    except StoreError as exc:  # the row stays 'running': the sweeper re-sends it as an orphan
        log.warning("hand_back_failed op_id=%s error=%s", op.id, exc)
        return
    log.info("op_handed_back op_id=%s agent=%s reason=%r", op.id, op.agent, reason)


async def _wait_for_erp(ctx: WorkerContext, op: Operation, lease: Lease, error: str) -> None:
    """The ERP is down (its breaker is open): hand ``op`` back, no attempt used, no backoff;
    the breaker's close wakes it (the sweeper's ``erp_is_back``)."""
    await _hand_back(ctx, op, lease, f"waiting for the ERP to answer again (its breaker is "
                                     f"open; no login is tried until then): {error}")


async def _quietly(call: Any) -> None:
    """Await a best-effort store call inside an error path: its failure is logged, not raised."""
    try:
        await call
    except Exception:
        log.warning("best_effort_call_failed", exc_info=True)


async def _fail(ctx: WorkerContext, op: Operation, error: str) -> None:
    log.info("op_failed op_id=%s agent=%s type=%s error=%r", op.id, op.agent, op.op_type, error)
    try:
        await ctx.db_call(ctx.journal.fail, op, error)
    except StaleFence as exc:
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)


async def _give_up(ctx: WorkerContext, op: Operation, error: str) -> None:
    """Stop retrying ``op``: fail it, unless its save may be in the ERP — then one more
    attempt, after the save settled, only looks for its effect."""
    if not await _may_still_hold(op) and op.id not in ctx.committing:
        await _fail(ctx, op, _give_up_reason(op, error, None))
        return
    await _retry_transient(ctx, op, error, give_up=True)


async def _retry_transient(ctx: WorkerContext, op: Operation, error: str, *, give_up: bool = False) -> None:
    """Put ``op`` back with a capped backoff, within its retry budget (timed in PostgreSQL).

    A write whose save may be in flight is not retried before the ERP had
    ``commit_settle_s`` to commit it; once the budget is spent such a write is retried in
    verify-only mode instead of failing (see the module docstring).
    """
    settle_s = ctx.settings.commit_settle_s
    try:
        spent_s = await ctx.db_call(ctx.journal.transient_for_s, op)
        may_hold = await _may_still_hold(op) or op.id in ctx.committing
        if spent_s >= ctx.settings.retry_budget_s and not may_hold:
            await _fail(ctx, op, _give_up_reason(op, _why(ctx, False, 0, spent_s), error))
            return
        delay_ms = compute_backoff_ms(
            max(0, op.attempts - 1), base_ms=DEFAULT_RETRY_BASE_MS, max_ms=ctx.settings.retry_max_ms
        )
        note = ""
        if give_up or (may_hold and spent_s >= ctx.settings.retry_budget_s):
            note = " (next try only looks in the ERP for the effect of its save)"
            await ctx.db_call(ctx.journal.spend_budget, op)
        log.info("op_retry op_id=%s agent=%s attempt=%d delay_ms=%d spent_s=%.0f error=%r%s",
                 op.id, op.agent, op.attempts, delay_ms, spent_s, error, note)
        await ctx.db_call(ctx.journal.retry_later, op, error + note, delay_ms, settle_s)
        if may_hold:
            delay_ms = max(delay_ms, int(
                1000 * await ctx.db_call(ctx.journal.settle_left_s, op.id, settle_s)))
    except StaleFence as exc:
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)
        return
    except StoreError as exc:
        # PostgreSQL is down: the row stays 'running' and the sweeper re-sends it.
        log.warning("op_retry_unrecorded op_id=%s error=%s", op.id, exc)
        return
    message = make_message(ctx.settings, operation_type(op.op_type).actor_name, op.id)
    try:
        await ctx.db_call(lambda: dramatiq.get_broker().enqueue(message, delay=delay_ms))
    except redis.RedisError as exc:  # the sweeper re-sends what is pending
        log.warning("op_retry_not_sent op_id=%s error=%s", op.id, exc)


async def _in_session(
    ctx: WorkerContext, op: Operation, lease: Lease, executor: Executor, verify_only: bool = False
) -> dict[str, Any]:
    """Run the executor in the agent's browser context, logged in; re-login once if expired."""
    if op.phase == "about_to_commit":
        # An earlier holder clicked (or was about to click) the save; a slow ERP may still be
        # committing it. Let it settle before looking for its effect — timed on the
        # database's clock, which every worker shares.
        left_s = await ctx.db_call(ctx.journal.settle_left_s, op.id, ctx.settings.commit_settle_s)
        if left_s > 0:
            log.info("op_settle op_id=%s wait_s=%.1f", op.id, left_s)
            await asyncio.sleep(left_s)
    async with ctx.pool.context(op.agent) as session:
        try:
            await _ensure_session(ctx, session)
            await login_budget.clear_wait(ctx, op)
            reconcile = op.needs_reconcile or verify_only
            # At most: adopt the session another process saved since, then log in.
            for attempt in range(3):
                job = Job(ctx, op, lease, session.page, reconcile=reconcile, verify_only=verify_only)
                try:
                    result = await executor(job)
                    await _mark_seen(ctx, session)
                    return result
                except SessionExpired:
                    if attempt == 2:
                        raise
                    log.info("session_expired op_id=%s agent=%s", op.id, op.agent)
                    await _renew_session(ctx, session)
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


async def _ensure_session(ctx: WorkerContext, session: AgentSession) -> None:
    if session.logged_in:
        return
    stored = await ctx.db_call(ctx.agents.load_session, session.agent)
    if stored is not None and stored.cookies:
        # Another process logged this agent in: reuse its session. If it has expired,
        # the first page lands on Login.aspx and the SessionExpired path logs in.
        await import_cookies(session, stored.cookies)
        session.cookies_saved_at = stored.saved_at
        session.logged_in = True
        return
    await _login(ctx, session)


async def _renew_session(ctx: WorkerContext, session: AgentSession) -> None:
    """The ERP dropped the context's session: adopt a newer one that another process saved
    since (a login there), else forget the dead one and log in — within the budget."""
    stored = await ctx.db_call(ctx.agents.load_session, session.agent)
    if stored is not None and (session.cookies_saved_at is None
                               or stored.saved_at > session.cookies_saved_at):
        await import_cookies(session, stored.cookies)
        session.cookies_saved_at = stored.saved_at
        log.info("session_adopted agent=%s (saved by another login; no login here)", session.agent)
        return
    if stored is not None:
        await ctx.db_call(ctx.agents.forget_session, session.agent, stored.saved_at)
    await _login(ctx, session)


async def _mark_seen(ctx: WorkerContext, session: AgentSession) -> None:
    """Record that an operation used the agent's session (the keep-alive counts from here);
    at most every ``DEFAULT_SEEN_MARK_S`` (or a quarter of the keep-alive interval)."""
    if not session.logged_in or ctx.settings.keepalive_s <= 0:
        return
    now = time.monotonic()
    every_s = min(DEFAULT_SEEN_MARK_S, ctx.settings.keepalive_s / 4)
    if now - session.seen_marked_monotonic < every_s:
        return
    session.seen_marked_monotonic = now
    await _quietly(ctx.db_call(ctx.agents.mark_used, session.agent))


async def _login(ctx: WorkerContext, session: AgentSession) -> None:
    blocked = await ctx.db_call(ctx.agents.login_breaker, session.agent)
    if blocked is not None:
        at, error = blocked
        raise LoginBlocked(
            f"agent {session.agent!r}: no login tried — the ERP refused their login at "
            f"{at:%Y-%m-%d %H:%M:%S %Z} ({error}); their login breaker stays open until the "
            f"password is stored again: archibot agents add {session.agent}"
        )
    if await ctx.breaker.is_open():
        # The ERP is down: a login now could only fail, or flood it the moment it returns.
        raise ErpDown(f"agent {session.agent!r}: no login while the ERP's breaker is open")
    creds = await ctx.db_call(ctx.agents.credentials, session.agent)
    # Reserved before it is tried, so no two workers take the last login; past the budget,
    # LoginBudgetSpent makes the operation wait instead. It costs nothing if nothing was
    # posted (the login page did not answer).
    login_id = await login_budget.reserve(ctx, session.agent)
    outcome = LOGIN_POSTED
    try:
        await login(session.page, ctx.settings.erp_base(), creds.username, creds.password)
    except LoginUnreached:
        outcome = LOGIN_UNREACHED
        raise
    except LoginRejected:
        outcome = LOGIN_REJECTED
        raise
    except LoginThrottled as exc:
        outcome = LOGIN_THROTTLED if exc.posted else LOGIN_UNREACHED
        raise await login_budget.throttled(ctx, session.agent, exc) from exc
    finally:
        await _quietly(ctx.db_call(ctx.agents.settle_login, login_id, outcome))
    cookies = await export_cookies(session)
    session.cookies_saved_at = await ctx.db_call(ctx.agents.save_cookies, session.agent, cookies)
    session.seen_marked_monotonic = time.monotonic()
    session.logged_in = True
    log.info("login agent=%s", session.agent)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _maybe_crash(ctx: WorkerContext, op: Operation, point: str) -> None:
    """Crash-test fault injection (``ARCHIBOT_TEST_CRASH_AT``): SIGKILL this worker, once."""
    spec = ctx.settings.test_crash_at
    if not spec:
        return
    op_type, crash_point, flag_file = spec.split(":", 2)
    if op_type != op.op_type or crash_point != point or os.path.exists(flag_file):
        return
    with open(flag_file, "w", encoding="utf-8") as flag:
        flag.write(op.id)
    log.warning("test_crash op_id=%s point=%s", op.id, point)
    os.kill(os.getpid(), signal.SIGKILL)


def new_token() -> str:
    """A lock token for work that has no message (tests, tools)."""
    return f"tool-{uuid.uuid4().hex}"
