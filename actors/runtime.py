"""How a worker runs an agent's operations: lock → claim → session → erp → journal.

Every actor hands its operation id to :func:`handle`. The worker takes the
agent's lease and then drains the agent's queue from the journal — the oldest
pending write first (per-agent FIFO), else a ready sync — so the agent's next
operation starts the moment the last one ends (fast handoff) without polling
Redis. Messages are only wake-ups: one whose operation another worker already
ran is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors import worker
from actors.errors import AgentBusy, LockLost, SyncCancelled, SyncPreempted
from actors.executors import EXECUTORS, Executor
from actors.lock import Lease
from actors.worker import WorkerContext
from archibot.backoff import compute_backoff_ms
from archibot.client import make_message
from archibot.errors import InvalidOperation
from archibot.logs import operation_context
from archibot.operations import operation_type
from erp.errors import ErpRejected, ErpUnavailable, LoginRejected, SessionExpired
from erp.session import login
from pool import AgentSession, PoolError, export_cookies, import_cookies
from store.errors import CredentialsUnreadable, StaleFence, UnknownAgent
from store.journal import TERMINAL, Operation

log = logging.getLogger("archibot.runtime")

#: A transient failure's retry waits base·2^n ms, capped.
DEFAULT_RETRY_BASE_MS = 1_000
DEFAULT_RETRY_MAX_MS = 30_000

@dataclass
class Job:
    """One attempt of one operation, as an executor sees it (implements erp Hooks)."""

    ctx: WorkerContext
    op: Operation
    lease: Lease
    page: Any
    reconcile: bool
    reached_commit: bool = field(default=False)

    async def before_commit(self) -> None:
        """Re-check the lease and journal ``about_to_commit`` before the irreversible click."""
        await self.ctx.lock.check(self.lease)
        self.reached_commit = True
        await self.ctx.db_call(self.ctx.journal.set_phase, self.op, "about_to_commit")
        _maybe_crash(self.ctx, self.op, "before_click")

    async def after_click(self) -> None:
        """The irreversible click was dispatched; its response is not in yet."""
        _maybe_crash(self.ctx, self.op, "after_click")

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
    message = CurrentMessage.get_current_message()
    await handle(worker.current(), op_id, message.message_id if message is not None else new_token())


async def handle(ctx: WorkerContext, op_id: str, token: str) -> None:
    """Wake up for operation ``op_id``: run free agents' queues while there are any.

    A message is a wake-up, not an assignment. The worker takes the free agent
    with the most pending work (longest first keeps a burst's tail short) —
    the message's own agent when nothing bigger waits — drains that agent's
    queue, and goes on with the next free agent until none is left. Raises
    AgentBusy when the message's own operation is still pending behind a busy
    agent: the requeue middleware backs it off (the safety net should the
    holder die; normally the holder drains it first).
    """
    row = await ctx.db_call(ctx.journal.get, op_id)
    if row is None or row["status"] in TERMINAL:
        log.debug("op_skipped op_id=%s reason=finished_or_unknown", op_id)
        return
    own_agent = str(row["agent"])
    if not ctx.settings.handoff:
        await _run_only(ctx, own_agent, op_id, token)
        return
    tried: set[str] = set()
    own_busy = False
    while not ctx.stopping:
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
    if own_busy and not await ctx.db_call(ctx.journal.is_finished, op_id):
        raise AgentBusy(own_agent, op_id)


async def drain(ctx: WorkerContext, agent: str, token: str, op_id: str) -> bool:
    """Hold the agent's lease and run their operations until none is ready; whether any ran.

    Raises AgentBusy only if the lease could not be taken at all.
    """
    first = True
    ran = False
    while True:
        floor = await ctx.db_call(ctx.journal.max_fence, agent)
        try:
            async with ctx.lock.held(agent, token, op_id, floor) as lease:
                while not lease.lost and not ctx.stopping:
                    op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name)
                    if op is None:
                        break
                    ran = True
                    await execute(ctx, op, lease)
        except AgentBusy:
            if first:
                raise
            return ran  # the new holder drains what is left
        first = False
        # An operation sent while we held the lease saw "busy" and waits out a backoff;
        # take it now rather than after the rest of that backoff.
        if ctx.stopping or not ran or not await ctx.db_call(ctx.journal.has_ready, agent):
            return ran


async def _run_only(ctx: WorkerContext, agent: str, op_id: str, token: str) -> None:
    """Without fast handoff: run this message's operation only, when it is the agent's turn."""
    floor = await ctx.db_call(ctx.journal.max_fence, agent)
    async with ctx.lock.held(agent, token, op_id, floor) as lease:
        op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name, op_id)
        if op is None:
            raise AgentBusy(agent, op_id)  # not its turn yet (FIFO): back off
        await execute(ctx, op, lease)


async def execute(ctx: WorkerContext, op: Operation, lease: Lease) -> None:
    """Run one claimed operation and journal how it ended; every log line inside carries
    the operation's id, agent, type, attempt and fence."""
    with operation_context(op_id=op.id, agent=op.agent, type=op.op_type, attempt=op.attempts,
                           fence=op.fence):
        await _execute(ctx, op, lease)


async def _execute(ctx: WorkerContext, op: Operation, lease: Lease) -> None:
    journal = ctx.journal
    started = time.monotonic()
    log.info("op_start op_id=%s agent=%s type=%s attempt=%d fence=%d",
             op.id, op.agent, op.op_type, op.attempts, op.fence)
    try:
        executor = EXECUTORS.get(op.op_type)
        if executor is None:
            await ctx.db_call(journal.fail, op, f"operation type {op.op_type!r} is not supported by this worker")
            return
        kind = operation_type(op.op_type)
        result = await asyncio.wait_for(
            _in_session(ctx, op, lease, executor), timeout=ctx.settings.timeout_s(op.op_type)
        )
        await ctx.db_call(journal.finish, op, result)
        log.info("op_done op_id=%s agent=%s type=%s ms=%d write=%s", op.id, op.agent,
                 op.op_type, (time.monotonic() - started) * 1000, kind.is_write)
    except SyncPreempted as exc:
        log.info("sync_preempted op_id=%s agent=%s progress=%s", op.id, op.agent, exc.progress)
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
        log.warning("op_abandoned op_id=%s agent=%s reason=%s", op.id, op.agent, exc)
    except LoginRejected as exc:
        await _quietly(ctx.db_call(ctx.agents.forget_cookies, op.agent))
        await _fail(ctx, op, f"the ERP refused the login of agent {op.agent!r}: {exc}. "
                    f"Store the right password with: archibot agents add {op.agent}")
    except (UnknownAgent, CredentialsUnreadable, InvalidOperation) as exc:
        await _fail(ctx, op, str(exc))
    except ErpRejected as exc:
        where = f" (field {exc.field})" if exc.field else ""
        await _fail(ctx, op, f"the ERP rejected the operation{where}: {exc.erp_message}")
    except TimeoutError:
        limit_s = ctx.settings.timeout_s(op.op_type)
        await _retry_or_fail(ctx, op, f"timed out after {limit_s} s (ARCHIBOT_OP_TIMEOUTS)")
    except (ErpUnavailable, SessionExpired, PoolError) as exc:
        await _retry_or_fail(ctx, op, _describe(exc))
    except Exception as exc:  # a bug or an untranslated library error: bounded retries
        log.exception("op_error op_id=%s agent=%s", op.id, op.agent)
        await _retry_or_fail(ctx, op, f"unexpected error: {_describe(exc)}")


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


async def _retry_or_fail(ctx: WorkerContext, op: Operation, error: str) -> None:
    if op.attempts >= ctx.settings.max_attempts:
        await _fail(ctx, op, f"gave up after {op.attempts} attempts: {error}")
        return
    delay_ms = compute_backoff_ms(
        op.attempts - 1, base_ms=DEFAULT_RETRY_BASE_MS, max_ms=DEFAULT_RETRY_MAX_MS
    )
    log.info("op_retry op_id=%s agent=%s attempt=%d delay_ms=%d error=%r",
             op.id, op.agent, op.attempts, delay_ms, error)
    try:
        await ctx.db_call(ctx.journal.retry_later, op, error, delay_ms)
    except StaleFence as exc:
        log.warning("op_abandoned op_id=%s reason=%s", op.id, exc)
        return
    message = make_message(ctx.settings, operation_type(op.op_type).actor_name, op.id)
    await ctx.db_call(lambda: dramatiq.get_broker().enqueue(message, delay=delay_ms))


async def _in_session(ctx: WorkerContext, op: Operation, lease: Lease, executor: Executor) -> dict[str, Any]:
    """Run the executor in the agent's browser context, logged in; re-login once if expired."""
    if op.orphaned and op.phase == "about_to_commit" and op.last_update is not None:
        # The dead holder clicked (or was about to click) the save; a slow ERP may still be
        # committing it. Let it settle before looking for its effect.
        settle_until = op.last_update.timestamp() + ctx.settings.commit_settle_s
        await asyncio.sleep(max(0.0, settle_until - time.time()))
    async with ctx.pool.context(op.agent) as session:
        await _ensure_session(ctx, session)
        reconcile = op.needs_reconcile
        for attempt in range(2):
            job = Job(ctx, op, lease, session.page, reconcile=reconcile)
            try:
                return await executor(job)
            except SessionExpired:
                if attempt:
                    raise
                log.info("session_expired op_id=%s agent=%s", op.id, op.agent)
                await _login(ctx, session)
                # If the save may have been clicked, look for its effect before redoing it.
                reconcile = reconcile or job.reached_commit
    raise AssertionError("unreachable")


async def _ensure_session(ctx: WorkerContext, session: AgentSession) -> None:
    if session.logged_in:
        return
    cookies = await ctx.db_call(ctx.agents.load_cookies, session.agent)
    if cookies:
        # Another process logged this agent in: reuse its session. If it has expired,
        # the first page lands on Login.aspx and the SessionExpired path logs in.
        await import_cookies(session, cookies)
        session.logged_in = True
        return
    await _login(ctx, session)


async def _login(ctx: WorkerContext, session: AgentSession) -> None:
    creds = await ctx.db_call(ctx.agents.credentials, session.agent)
    await login(session.page, ctx.settings.erp_base(), creds.username, creds.password)
    cookies = await export_cookies(session)
    await ctx.db_call(ctx.agents.save_cookies, session.agent, cookies)
    await ctx.db_call(ctx.agents.record_login, session.agent, ctx.name)
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
