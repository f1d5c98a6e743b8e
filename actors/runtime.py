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

from actors.errors import AgentBusy, LockLost, SyncPreempted
from actors.executors import EXECUTORS, Executor
from actors.lock import Lease
from actors import worker
from actors.worker import WorkerContext
from archibot.backoff import compute_backoff_ms
from archibot.client import make_message
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
    with the most pending work (longest first keeps a burst's tail short) — the
    message's own agent when nothing bigger waits — drains that agent's queue,
    and goes on with the next free agent until none is left. Raises AgentBusy
    when the message's own operation is still pending behind a busy agent and
    this wake-up ran nothing: the requeue middleware backs it off (the safety
    net should the holder die; normally the holder drains it first).
    """
    row = await ctx.db_call(ctx.journal.get, op_id)
    if row is None or row["status"] in TERMINAL:
        log.debug("op_skipped op_id=%s reason=finished_or_unknown", op_id)
        return
    own_agent = str(row["agent"])
    if not ctx.settings.handoff:
        await _run_only(ctx, own_agent, op_id, token)
        return
    ran_any = False
    while True:
        candidates = await ctx.db_call(ctx.journal.free_agents_by_work)
        if not ran_any and own_agent not in candidates:
            candidates.append(own_agent)  # its op may be orphaned 'running': only the lock tells
        for agent in candidates:
            try:
                await drain(ctx, agent, token, op_id)
            except AgentBusy:
                continue
            ran_any = True
            break
        else:
            break
    if not ran_any and not await ctx.db_call(ctx.journal.is_finished, op_id):
        raise AgentBusy(own_agent, op_id)


async def drain(ctx: WorkerContext, agent: str, token: str, op_id: str) -> None:
    """Hold the agent's lease and run their operations until none is ready.

    Raises AgentBusy only if the lease could not be taken at all.
    """
    first = True
    while True:
        try:
            async with ctx.lock.held(agent, token, op_id) as lease:
                while not lease.lost:
                    op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name)
                    if op is None:
                        break
                    await execute(ctx, op, lease)
        except AgentBusy:
            if first:
                raise
            return  # the new holder drains what is left
        first = False
        # An operation sent while we held the lease saw "busy" and waits out a backoff;
        # take it now rather than after the rest of that backoff.
        if not await ctx.db_call(ctx.journal.has_ready, agent):
            return


async def _run_only(ctx: WorkerContext, agent: str, op_id: str, token: str) -> None:
    """Without fast handoff: run this message's operation only, when it is the agent's turn."""
    async with ctx.lock.held(agent, token, op_id) as lease:
        op = await ctx.db_call(ctx.journal.claim_next, agent, lease.fence, ctx.name, op_id)
        if op is None:
            raise AgentBusy(agent, op_id)  # not its turn yet (FIFO): back off
        await execute(ctx, op, lease)


async def execute(ctx: WorkerContext, op: Operation, lease: Lease) -> None:
    """Run one claimed operation and journal how it ended."""
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
        await ctx.db_call(journal.requeue_preempted, op, exc.progress)
    except (LockLost, StaleFence) as exc:
        # The lease passed to another worker, which will reconcile; record nothing.
        log.warning("op_abandoned op_id=%s agent=%s reason=%s", op.id, op.agent, exc)
    except LoginRejected as exc:
        await ctx.db_call(ctx.agents.forget_cookies, op.agent)
        await _fail(ctx, op, f"the ERP refused the login of agent {op.agent!r}: {exc}. "
                    f"Store the right password with: archibot agents add {op.agent}")
    except (UnknownAgent, CredentialsUnreadable) as exc:
        await _fail(ctx, op, str(exc))
    except ErpRejected as exc:
        where = f" (field {exc.field})" if exc.field else ""
        await _fail(ctx, op, f"the ERP rejected the operation{where}: {exc.erp_message}")
    except asyncio.TimeoutError:
        limit_s = ctx.settings.timeout_s(op.op_type)
        await _retry_or_fail(ctx, op, f"timed out after {limit_s} s (ARCHIBOT_OP_TIMEOUTS)")
    except (ErpUnavailable, SessionExpired, PoolError) as exc:
        await _retry_or_fail(ctx, op, _describe(exc))
    except Exception as exc:  # a bug or an untranslated library error: bounded retries
        log.exception("op_error op_id=%s agent=%s", op.id, op.agent)
        await _retry_or_fail(ctx, op, f"unexpected error: {_describe(exc)}")


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
